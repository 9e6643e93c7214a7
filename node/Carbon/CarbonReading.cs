namespace Aurigraph.Node.Carbon;

/// <summary>
/// What one node measured for one block height, in the integers the meter counts: its share of the interval's process
/// CPU time, wall time and bytes, the resident memory at the end of the interval, and the consensus rounds.
/// </summary>
/// <param name="CpuMicros">Process CPU time (user + system, all threads) attributed to the block, µs.</param>
/// <param name="WallMicros">Wall time attributed to the block, µs (the block's share of the interval).</param>
/// <param name="ResidentBytes">Resident set size of the process when the interval closed, bytes.</param>
/// <param name="Vcpus">Processors visible to the process.</param>
/// <param name="CpuUtilization">Interval CPU time ÷ (interval wall time × <paramref name="Vcpus"/>), clamped to [0, 1].</param>
/// <param name="BytesSent">Peer-transport bytes sent, every copy to every peer counted.</param>
/// <param name="BytesReceived">Peer-transport bytes received.</param>
/// <param name="IngressBytes">Body + signature bytes of transactions clients submitted to this node.</param>
/// <param name="BytesStored">Raft-log bytes written plus the bytes of the apply write batches.</param>
/// <param name="ConsensusRounds">AppendEntries round trips for the block plus a share of election rounds and of other entries' rounds.</param>
/// <param name="Validators">Voting members of the cluster.</param>
/// <param name="StorageReplicas">Copies the node's storage layer keeps of each byte.</param>
/// <param name="ProvisionedVcpus">vCPUs provisioned for the node (format 2; 0 in readings of format 1).</param>
/// <param name="RetainedBytes">Bytes the node keeps on durable storage when the interval closed (format 2; 0 in format 1).</param>
public readonly record struct MeterUsage(
    long CpuMicros,
    long WallMicros,
    long ResidentBytes,
    int Vcpus,
    double CpuUtilization,
    long BytesSent,
    long BytesReceived,
    long IngressBytes,
    long BytesStored,
    long ConsensusRounds,
    int Validators,
    int StorageReplicas,
    double ProvisionedVcpus = 0,
    long RetainedBytes = 0);

/// <summary>
/// The energy-model coefficients one node used for its estimate, carried in every reading so that an auditor can
/// recompute the figure from the record alone: <c>ToModel().Estimate(reading.ToNodeReading(), reading.Grid.GramsPerKwh)</c>.
/// </summary>
public sealed record CarbonCoefficients(
    double MinWattsPerVcpu,
    double MaxWattsPerVcpu,
    double Pue,
    double MemoryKwhPerGbHour,
    double NetworkKwhPerGb,
    bool CountReceivedBytes,
    double StorageWhPerTbHour,
    double StorageRetentionYears,
    double ConsensusRoundKwh,
    bool EmbodiedEnabled,
    double ServerEmbodiedKgCo2e,
    double ServerLifespanHours,
    double HostVcpus,
    double NodeVcpus,
    int ModelVersion = 2)
{
    /// <summary>The coefficients <paramref name="options"/> give a node in its own cloud.</summary>
    public static CarbonCoefficients From(CarbonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var e = options.Energy;
        var profile = e.For(options.Cloud);
        var m = options.Embodied;
        return new CarbonCoefficients(
            profile.MinWattsPerVcpu,
            profile.MaxWattsPerVcpu,
            profile.Pue,
            e.MemoryKwhPerGbHour,
            e.NetworkKwhPerGb,
            e.CountReceivedBytes,
            e.StorageWhPerTbHour,
            e.StorageRetentionYears,
            e.ConsensusRoundKwh,
            m.Enabled,
            m.ServerEmbodiedKgCo2e,
            m.ServerLifespanHours,
            m.HostVcpus,
            m.NodeVcpus,
            e.ModelVersion);
    }

    /// <summary>An energy model with exactly these coefficients (every cloud profile set to the recorded one).</summary>
    public EnergyModel ToModel()
    {
        CloudPowerProfile Profile() => new() { MinWattsPerVcpu = MinWattsPerVcpu, MaxWattsPerVcpu = MaxWattsPerVcpu, Pue = Pue };
        var energy = new EnergyModelOptions
        {
            Aws = Profile(),
            Azure = Profile(),
            Gcp = Profile(),
            Other = Profile(),
            MemoryKwhPerGbHour = MemoryKwhPerGbHour,
            NetworkKwhPerGb = NetworkKwhPerGb,
            CountReceivedBytes = CountReceivedBytes,
            StorageWhPerTbHour = StorageWhPerTbHour,
            StorageRetentionYears = StorageRetentionYears,
            ConsensusRoundKwh = ConsensusRoundKwh,
            ModelVersion = ModelVersion,
        };
        var embodied = new EmbodiedEmissionsOptions
        {
            Enabled = EmbodiedEnabled,
            ServerEmbodiedKgCo2e = ServerEmbodiedKgCo2e,
            ServerLifespanHours = ServerLifespanHours,
            HostVcpus = HostVcpus,
            NodeVcpus = NodeVcpus,
        };
        return new EnergyModel(energy, embodied);
    }
}

/// <summary>
/// One validator's reading for one block height as it travels to the leader and into a committed carbon record: what was
/// measured, the node's cloud and region, the grid intensity it used (value, source, time, zone), the coefficients, and the
/// resulting estimate, and (format 3) its market-based factor. Everything a reader shows comes from these fields; nothing is recomputed at apply.
/// </summary>
public sealed record CarbonReading(
    ulong Height,
    ulong NodeId,
    MeterUsage Usage,
    CloudProvider Cloud,
    string Region,
    GridIntensity Grid,
    CarbonCoefficients Coefficients,
    CarbonEstimate Estimate,
    MarketFactor? Market = null)
{
    /// <summary>The market factor the reading carries, or (readings before carbon format 3) the location-based figure standing in.</summary>
    public MarketFactor MarketOrFallback => Market ?? new MarketFactor(Estimate.GramsPerKwh, MarketBasis.LocationFallback, "reading made before market-based factors (carbon format 3): " + MarketFactor.FallbackSource);

    /// <summary>Market-based emissions, gCO2e: the facility energy E at the market factor, plus M.</summary>
    public double MarketGrams => (Estimate.Energy.TotalKwh * MarketOrFallback.GramsPerKwh) + Estimate.EmbodiedGrams;

    private const double MicrosPerSecond = 1e6;
    private const double BytesPerGb = 1e9;

    /// <summary>The energy model's input for this reading. Memory is resident GB × the block's wall-time share.</summary>
    public NodeReading ToNodeReading() => ToNodeReading(Usage, Cloud, Region);

    /// <summary>The energy model's input for a metered usage.</summary>
    public static NodeReading ToNodeReading(MeterUsage usage, CloudProvider cloud, string region)
    {
        var seconds = usage.WallMicros / MicrosPerSecond;
        return new NodeReading
        {
            CpuSeconds = usage.CpuMicros / MicrosPerSecond,
            CpuUtilization = usage.CpuUtilization,
            MemoryGbSeconds = usage.ResidentBytes / BytesPerGb * seconds,
            BytesSent = usage.BytesSent,
            BytesReceived = usage.BytesReceived,
            IngressBytes = usage.IngressBytes,
            BytesStored = usage.BytesStored,
            StorageReplicas = Math.Max(1, usage.StorageReplicas),
            ConsensusRounds = usage.ConsensusRounds,
            Validators = usage.Validators,
            IntervalSeconds = seconds,
            ProvisionedVcpus = usage.ProvisionedVcpus,
            RetainedBytes = usage.RetainedBytes,
            Cloud = cloud,
            Region = region ?? "",
        };
    }
}
