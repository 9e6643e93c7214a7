namespace Aurigraph.Node.Carbon;

/// <summary>
/// Turns a <see cref="NodeReading"/> into kWh and gCO2e. Pure and deterministic: no clock, no I/O, no shared state;
/// the same reading and options give bit-identical results on every node.
/// </summary>
/// <remarks>
/// <para>All arithmetic is IEEE 754 <see cref="double"/>, evaluated in the fixed order written below; nothing is rounded
/// inside the model. Consumers round only for display (docs/carbon-model.md).</para>
/// <para>Model 2 (the default) counts the hardware provisioned, as the Cloud Carbon Footprint method and SCI do; model 1
/// (readings recorded before it) counted only what was consumed. Every reading records its model's version.</para>
/// <list type="bullet">
/// <item>CPU, model 2: <c>provisioned_vCPUs × interval_s × (min + u × (max − min)) / 3600 / 1000</c> kWh — the power curve
/// at utilisation u for every provisioned vCPU for the whole interval, idle included.</item>
/// <item>CPU, model 1 (and model 2's marginal view): <c>cpu_seconds × (min + u × (max − min)) / 3600 / 1000</c> kWh.</item>
/// <item>Memory: <c>GB·s / 3600 × kWh_per_GB_hour</c>.</item>
/// <item>Network: <c>(sent + ingress [+ received]) / 10⁹ × kWh_per_GB</c>.</item>
/// <item>Storage, model 2: <c>retained / 10¹² × Wh_per_TB_hour × interval_s / 3600 × replicas / 1000</c> — the bytes the
/// node keeps, for the time it keeps them.</item>
/// <item>Storage, model 1: <c>written / 10¹² × Wh_per_TB_hour × 8760 × retention_years × replicas / 1000</c>.</item>
/// <item>Consensus: <c>rounds × validators × round_kWh</c>.</item>
/// <item>Facility energy: sum × PUE; operational emissions: × grid gCO2e/kWh; embodied per SCI's M.</item>
/// </list>
/// </remarks>
public sealed class EnergyModel
{
    /// <summary>Hours in the year used by the storage term (365 days).</summary>
    public const double HoursPerYear = 8760;

    private const double BytesPerGb = 1e9;
    private const double BytesPerTb = 1e12;
    private const double SecondsPerHour = 3600;
    private const double WattsPerKilowatt = 1000;

    private readonly EnergyModelOptions _energy;
    private readonly EmbodiedEmissionsOptions _embodied;

    /// <summary>Creates a model from validated coefficients.</summary>
    /// <exception cref="ArgumentException">A coefficient is negative, not finite, a PUE is below 1 or a max is below its min.</exception>
    public EnergyModel(EnergyModelOptions energy, EmbodiedEmissionsOptions? embodied = null)
    {
        ArgumentNullException.ThrowIfNull(energy);
        _energy = Copy(energy);
        _embodied = Copy(embodied ?? new EmbodiedEmissionsOptions());
        Validate(_energy, _embodied);
    }

    /// <summary>Creates a model from the carbon options.</summary>
    public EnergyModel(CarbonOptions options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Energy, options.Embodied)
    {
    }

    /// <summary>Whether <see cref="Estimate(NodeReading, double)"/> adds embodied emissions.</summary>
    public bool EmbodiedEnabled => _embodied.Enabled;

    /// <summary>The model version this instance computes (<see cref="EnergyModelOptions.ModelVersion"/>).</summary>
    public int ModelVersion => _energy.ModelVersion;

    /// <summary>Energy of a reading by component, with the PUE of its cloud.</summary>
    public EnergyBreakdown EstimateEnergy(NodeReading reading)
    {
        ValidateReading(reading);
        var profile = _energy.For(reading.Cloud);
        var utilization = Math.Clamp(reading.CpuUtilization, 0.0, 1.0);

        var watts = profile.WattsAt(utilization);
        var consumedKwh = reading.CpuSeconds * watts / SecondsPerHour / WattsPerKilowatt;
        var provisioned = _energy.ModelVersion >= 2;
        var cpuKwh = provisioned ? reading.ProvisionedVcpus * reading.IntervalSeconds * watts / SecondsPerHour / WattsPerKilowatt : consumedKwh;

        var memoryKwh = reading.MemoryGbSeconds / SecondsPerHour * _energy.MemoryKwhPerGbHour;

        double networkBytes = reading.BytesSent + (double)reading.IngressBytes;
        if (_energy.CountReceivedBytes)
        {
            networkBytes += reading.BytesReceived;
        }

        var networkKwh = networkBytes / BytesPerGb * _energy.NetworkKwhPerGb;

        var storageKwh = provisioned
            ? reading.RetainedBytes / BytesPerTb * _energy.StorageWhPerTbHour * (reading.IntervalSeconds / SecondsPerHour) * reading.StorageReplicas / WattsPerKilowatt
            : reading.BytesStored / BytesPerTb * _energy.StorageWhPerTbHour * HoursPerYear * _energy.StorageRetentionYears * reading.StorageReplicas / WattsPerKilowatt;

        var consensusKwh = reading.ConsensusRounds * (double)reading.Validators * _energy.ConsensusRoundKwh;

        return new EnergyBreakdown(cpuKwh, memoryKwh, networkKwh, storageKwh, consensusKwh, profile.Pue, consumedKwh);
    }

    /// <summary>Energy and emissions of a reading at a grid intensity (gCO2e/kWh).</summary>
    public CarbonEstimate Estimate(NodeReading reading, double gramsPerKwh)
    {
        if (!double.IsFinite(gramsPerKwh) || gramsPerKwh < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(gramsPerKwh), gramsPerKwh, "Grid intensity must be a finite, non-negative gCO2e/kWh.");
        }

        var energy = EstimateEnergy(reading);
        var operational = energy.TotalKwh * gramsPerKwh;
        return new CarbonEstimate(energy, gramsPerKwh, operational, EmbodiedGrams(reading.IntervalSeconds));
    }

    /// <summary>Energy and emissions of a reading at a grid-intensity figure.</summary>
    public CarbonEstimate Estimate(NodeReading reading, GridIntensity intensity)
    {
        ArgumentNullException.ThrowIfNull(intensity);
        return Estimate(reading, intensity.GramsPerKwh);
    }

    /// <summary>
    /// SCI's M for an interval of <paramref name="intervalSeconds"/>: <c>TE × 1000 × (interval ÷ lifespan) × (node vCPUs ÷ host vCPUs)</c> gCO2e;
    /// 0 when embodied emissions are off.
    /// </summary>
    public double EmbodiedGrams(double intervalSeconds)
    {
        if (!double.IsFinite(intervalSeconds) || intervalSeconds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(intervalSeconds), intervalSeconds, "The interval must be finite and non-negative.");
        }

        if (!_embodied.Enabled)
        {
            return 0;
        }

        var timeShare = intervalSeconds / (_embodied.ServerLifespanHours * SecondsPerHour);
        var resourceShare = _embodied.NodeVcpus / _embodied.HostVcpus;
        return _embodied.ServerEmbodiedKgCo2e * 1000 * timeShare * resourceShare;
    }

    private static void ValidateReading(NodeReading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        RequireNonNegative(reading.CpuSeconds, nameof(reading.CpuSeconds));
        if (double.IsNaN(reading.CpuUtilization))
        {
            throw new ArgumentException("CpuUtilization is NaN.", nameof(reading));
        }

        RequireNonNegative(reading.MemoryGbSeconds, nameof(reading.MemoryGbSeconds));
        RequireNonNegative(reading.BytesSent, nameof(reading.BytesSent));
        RequireNonNegative(reading.BytesReceived, nameof(reading.BytesReceived));
        RequireNonNegative(reading.IngressBytes, nameof(reading.IngressBytes));
        RequireNonNegative(reading.BytesStored, nameof(reading.BytesStored));
        RequireNonNegative(reading.ConsensusRounds, nameof(reading.ConsensusRounds));
        RequireNonNegative(reading.Validators, nameof(reading.Validators));
        RequireNonNegative(reading.IntervalSeconds, nameof(reading.IntervalSeconds));
        RequireNonNegative(reading.ProvisionedVcpus, nameof(reading.ProvisionedVcpus));
        RequireNonNegative(reading.RetainedBytes, nameof(reading.RetainedBytes));
        if (reading.StorageReplicas < 1)
        {
            throw new ArgumentException($"StorageReplicas must be at least 1 (was {reading.StorageReplicas}).", nameof(reading));
        }
    }

    private static void RequireNonNegative(double value, string name)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and non-negative.");
        }
    }

    private static void Validate(EnergyModelOptions energy, EmbodiedEmissionsOptions embodied)
    {
        ValidateProfile(energy.Aws, "Energy:Aws");
        ValidateProfile(energy.Azure, "Energy:Azure");
        ValidateProfile(energy.Gcp, "Energy:Gcp");
        ValidateProfile(energy.Other, "Energy:Other");
        RequireCoefficient(energy.MemoryKwhPerGbHour, "Energy:MemoryKwhPerGbHour");
        RequireCoefficient(energy.NetworkKwhPerGb, "Energy:NetworkKwhPerGb");
        RequireCoefficient(energy.StorageWhPerTbHour, "Energy:StorageWhPerTbHour");
        RequireCoefficient(energy.StorageRetentionYears, "Energy:StorageRetentionYears");
        RequireCoefficient(energy.ConsensusRoundKwh, "Energy:ConsensusRoundKwh");
        if (energy.ModelVersion is not (1 or 2))
        {
            throw new ArgumentException($"{CarbonOptions.Section}:Energy:ModelVersion must be 1 (consumed CPU, bytes written charged a year) or 2 (provisioned hardware, bytes retained; the default), was {energy.ModelVersion}.");
        }
        RequireCoefficient(embodied.ServerEmbodiedKgCo2e, "Embodied:ServerEmbodiedKgCo2e");
        RequireCoefficient(embodied.NodeVcpus, "Embodied:NodeVcpus");
        RequirePositive(embodied.ServerLifespanHours, "Embodied:ServerLifespanHours");
        RequirePositive(embodied.HostVcpus, "Embodied:HostVcpus");
    }

    private static void ValidateProfile(CloudPowerProfile profile, string name)
    {
        ArgumentNullException.ThrowIfNull(profile, name);
        RequireCoefficient(profile.MinWattsPerVcpu, name + ":MinWattsPerVcpu");
        RequireCoefficient(profile.MaxWattsPerVcpu, name + ":MaxWattsPerVcpu");
        if (profile.MaxWattsPerVcpu < profile.MinWattsPerVcpu)
        {
            throw new ArgumentException($"{CarbonOptions.Section}:{name}:MaxWattsPerVcpu must not be below MinWattsPerVcpu.");
        }

        if (!double.IsFinite(profile.Pue) || profile.Pue < 1)
        {
            throw new ArgumentException($"{CarbonOptions.Section}:{name}:Pue must be at least 1 (was {profile.Pue}).");
        }
    }

    private static void RequireCoefficient(double value, string name)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentException($"{CarbonOptions.Section}:{name} must be finite and non-negative (was {value}).");
        }
    }

    private static void RequirePositive(double value, string name)
    {
        if (!double.IsFinite(value) || value <= 0)
        {
            throw new ArgumentException($"{CarbonOptions.Section}:{name} must be finite and positive (was {value}).");
        }
    }

    private static CloudPowerProfile Copy(CloudPowerProfile? p) => p is null
        ? throw new ArgumentException("A cloud power profile is missing.")
        : new() { MinWattsPerVcpu = p.MinWattsPerVcpu, MaxWattsPerVcpu = p.MaxWattsPerVcpu, Pue = p.Pue };

    private static EnergyModelOptions Copy(EnergyModelOptions e) => new()
    {
        Aws = Copy(e.Aws),
        Azure = Copy(e.Azure),
        Gcp = Copy(e.Gcp),
        Other = Copy(e.Other),
        MemoryKwhPerGbHour = e.MemoryKwhPerGbHour,
        NetworkKwhPerGb = e.NetworkKwhPerGb,
        CountReceivedBytes = e.CountReceivedBytes,
        StorageWhPerTbHour = e.StorageWhPerTbHour,
        StorageRetentionYears = e.StorageRetentionYears,
        ConsensusRoundKwh = e.ConsensusRoundKwh,
        ModelVersion = e.ModelVersion,
    };

    private static EmbodiedEmissionsOptions Copy(EmbodiedEmissionsOptions e) => new()
    {
        Enabled = e.Enabled,
        ServerEmbodiedKgCo2e = e.ServerEmbodiedKgCo2e,
        ServerLifespanHours = e.ServerLifespanHours,
        HostVcpus = e.HostVcpus,
        NodeVcpus = e.NodeVcpus,
    };
}
