namespace Aurigraph.Node.Carbon;

/// <summary>
/// Carbon metering settings, bound from the configuration section <c>Aurigraph:Carbon</c>
/// (environment: <c>AURIGRAPH__CARBON__...</c>). Every default, its source and its year are listed in docs/carbon-model.md.
/// </summary>
public sealed class CarbonOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string Section = "Aurigraph:Carbon";

    /// <summary>
    /// Whether this validator meters itself and reports readings. Default true. Off, it still stores every committed
    /// record (they come from the log), and the records mark its readings missing — nothing is invented for it. Used to
    /// measure metering's own cost (load runs with it on and off).
    /// </summary>
    public bool Metering { get; set; } = true;

    /// <summary>The cloud this node runs in. Default <see cref="CloudProvider.Other"/>.</summary>
    public CloudProvider Cloud { get; set; } = CloudProvider.Other;

    /// <summary>The cloud's name for this node's region, e.g. <c>us-east-1</c>, <c>eastus</c>, <c>us-central1</c>. Default empty (unknown).</summary>
    public string Region { get; set; } = "";

    /// <summary>The coefficients of the energy model.</summary>
    public EnergyModelOptions Energy { get; set; } = new();

    /// <summary>Embodied (manufacturing) emissions, the M of the SCI formula. Off by default.</summary>
    public EmbodiedEmissionsOptions Embodied { get; set; } = new();

    /// <summary>Caching, retries and timeouts of the grid-intensity providers.</summary>
    public GridIntensityOptions GridIntensity { get; set; } = new();

    /// <summary>The Electricity Maps API (first provider, used when a key is set).</summary>
    public ElectricityMapsOptions ElectricityMaps { get; set; } = new();

    /// <summary>The WattTime API (second provider, used when a user name and password are set).</summary>
    public WattTimeOptions WattTime { get; set; } = new();

    /// <summary>How per-block readings become carbon records committed through consensus.</summary>
    public CarbonRecordOptions Records { get; set; } = new();

    /// <summary>The cluster's carbon budget, exported for the burn-rate alerts (deploy/prometheus). None by default.</summary>
    public CarbonBudgetOptions Budget { get; set; } = new();

    /// <summary>This node's market-based (contractual) emission factor (<c>Aurigraph:Carbon:Market</c>); none by default.</summary>
    public MarketOptions Market { get; set; } = new();

    /// <summary>The hourly grid-intensity history this node keeps (<c>Aurigraph:Carbon:History</c>).</summary>
    public IntensityHistoryOptions History { get; set; } = new();

    /// <summary>Copies the storage layer keeps of each byte this node writes (e.g. 2 for a replicated cloud volume). Default 1.</summary>
    public int StorageReplicas { get; set; } = 1;

    /// <summary>
    /// vCPUs provisioned for this node, the processors model 2 charges for all the time. 0 (the default): the
    /// processors the process may use (<see cref="Environment.ProcessorCount"/>, which follows a container's CPU limit).
    /// Set it to the node's share when several nodes share one host (e.g. 0.4 for five nodes on 2 vCPUs).
    /// </summary>
    public double ProvisionedVcpus { get; set; }

    /// <summary>This node's region as a <see cref="CloudRegion"/>.</summary>
    public CloudRegion NodeRegion => new(Cloud, Region);

    /// <summary>Every problem with these settings (energy coefficients, record settings, budget, storage replicas), each naming its key; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>(Records?.Validate() ?? [$"{Section}:Records is missing"]);
        if (!double.IsFinite(ProvisionedVcpus) || ProvisionedVcpus < 0 || ProvisionedVcpus > 4096)
        {
            errors.Add($"{Section}:ProvisionedVcpus must be 0 (the processors visible) or a positive vCPU count up to 4096 (was {ProvisionedVcpus})");
        }
        errors.AddRange(Budget?.Validate() ?? [$"{Section}:Budget is missing"]);
        errors.AddRange(History?.Validate() ?? [$"{Section}:History is missing"]);
        errors.AddRange(Market?.Validate() ?? [$"{Section}:Market is missing"]);
        if (StorageReplicas < 1)
        {
            errors.Add($"{Section}:StorageReplicas must be at least 1 (was {StorageReplicas})");
        }
        try
        {
            _ = new EnergyModel(this);
        }
        catch (ArgumentException ex)
        {
            errors.Add(ex.Message);
        }
        return errors;
    }
}

/// <summary>The power curve and data-centre overhead of one cloud.</summary>
public sealed class CloudPowerProfile
{
    /// <summary>Watts drawn by one vCPU at 0 % utilisation.</summary>
    public double MinWattsPerVcpu { get; set; }

    /// <summary>Watts drawn by one vCPU at 100 % utilisation.</summary>
    public double MaxWattsPerVcpu { get; set; }

    /// <summary>Power usage effectiveness: facility energy ÷ IT energy (≥ 1).</summary>
    public double Pue { get; set; } = 1.0;

    /// <summary>Watts per vCPU at a utilisation in [0, 1], interpolated linearly between <see cref="MinWattsPerVcpu"/> and <see cref="MaxWattsPerVcpu"/>.</summary>
    public double WattsAt(double utilization) => MinWattsPerVcpu + (utilization * (MaxWattsPerVcpu - MinWattsPerVcpu));
}

/// <summary>
/// Coefficients of <see cref="EnergyModel"/>. The cloud defaults are Cloud Carbon Footprint's (CCF) published constants at
/// commit 6ae5ee8ccfbb60a9d199284e6c97fe2f18828fd9 (<c>packages/{aws,azure,gcp}/src/domain/*FootprintEstimationConstants.ts</c>),
/// the figures CCF falls back to when it does not know an instance's microarchitecture. docs/carbon-model.md lists each
/// with its source.
/// </summary>
public sealed class EnergyModelOptions
{
    /// <summary>AWS: 0.74–3.5 W per vCPU, PUE 1.135 (CCF 6ae5ee8c: <c>AWS_CLOUD_CONSTANTS.MIN_WATTS_AVG</c> / <c>MAX_WATTS_AVG</c>, the average over CCF's AWS microarchitectures from SPECpower results; <c>PUE_AVG</c>).</summary>
    public CloudPowerProfile Aws { get; set; } = new() { MinWattsPerVcpu = 0.74, MaxWattsPerVcpu = 3.5, Pue = 1.135 };

    /// <summary>Azure: 0.74–3.54 W per vCPU, PUE 1.185 (CCF 6ae5ee8c: <c>AZURE_CLOUD_CONSTANTS.MIN_WATTS_AVG</c> / <c>MAX_WATTS_AVG</c>, the average over CCF's Azure microarchitectures, AMD EPYC 3rd gen included; <c>PUE_AVG</c>).</summary>
    public CloudPowerProfile Azure { get; set; } = new() { MinWattsPerVcpu = 0.74, MaxWattsPerVcpu = 3.54, Pue = 1.185 };

    /// <summary>GCP: 0.68–4.11 W per vCPU, PUE 1.1 (CCF 6ae5ee8c: <c>GCP_CLOUD_CONSTANTS.MIN_WATTS_MEDIAN</c> / <c>MAX_WATTS_MEDIAN</c>, a median, not an average; <c>PUE_AVG</c>, Google's published fleet PUE).</summary>
    public CloudPowerProfile Gcp { get; set; } = new() { MinWattsPerVcpu = 0.68, MaxWattsPerVcpu = 4.11, Pue = 1.1 };

    /// <summary>Any other host: the arithmetic mean of the three clouds above, computed here (not a CCF figure): 0.72–3.7167 W per vCPU ((3.5 + 3.54 + 4.11) ÷ 3), PUE 1.14.</summary>
    public CloudPowerProfile Other { get; set; } = new() { MinWattsPerVcpu = 0.72, MaxWattsPerVcpu = (3.5 + 3.54 + 4.11) / 3, Pue = 1.14 };

    /// <summary>Memory energy, kWh per GB-hour held. Default 0.000392 (CCF 6ae5ee8c: <c>MEMORY_COEFFICIENT</c>, the same for all three clouds).</summary>
    public double MemoryKwhPerGbHour { get; set; } = 0.000392;

    /// <summary>Network energy, kWh per GB (10⁹ bytes) transferred. Default 0.001 (CCF 6ae5ee8c: <c>NETWORKING_COEFFICIENT</c>, commented "kWh / Gb"; CCF's methodology applies it to data moved between data centres).</summary>
    public double NetworkKwhPerGb { get; set; } = 0.001;

    /// <summary>
    /// Whether peer bytes a node <em>received</em> are charged to it as well. Default <see langword="false"/>: every peer byte is
    /// charged once, to its sender (a received byte is some other node's sent byte, and the block footprint sums all nodes).
    /// </summary>
    public bool CountReceivedBytes { get; set; }

    /// <summary>SSD storage energy, Wh per TB (10¹² bytes) per hour stored. Default 1.2 (CCF 6ae5ee8c: <c>SSDCOEFFICIENT</c>; CCF's HDD coefficient, 0.65, is not used: a node's store is on SSD).</summary>
    public double StorageWhPerTbHour { get; set; } = 1.2;

    /// <summary>Model 1 only: how many years a written byte is charged for. Default 1.</summary>
    public double StorageRetentionYears { get; set; } = 1.0;

    /// <summary>
    /// Fixed energy per consensus round per validator, kWh, on top of the CPU seconds and bytes already metered.
    /// Default 0: a round's work is CPU time and peer bytes, which the CPU and network terms already count.
    /// </summary>
    public double ConsensusRoundKwh { get; set; }

    /// <summary>
    /// Which model turns a reading into energy. 2 (the default): the provisioned processors' power curve for the
    /// whole interval, idle included, and the bytes the node retains for the time it retains them (Cloud Carbon Footprint
    /// method, SCI). 1: only the CPU-seconds consumed, and every byte written charged <see cref="StorageRetentionYears"/>
    /// up front — the model of readings recorded before version 2, kept so they recompute.
    /// </summary>
    public int ModelVersion { get; set; } = 2;

    /// <summary>The power profile of a cloud.</summary>
    public CloudPowerProfile For(CloudProvider cloud) => cloud switch
    {
        CloudProvider.Aws => Aws,
        CloudProvider.Azure => Azure,
        CloudProvider.Gcp => Gcp,
        _ => Other,
    };
}

/// <summary>
/// Embodied emissions per the Green Software Foundation's SCI specification:
/// <c>M = TE × (TiR ÷ EL) × (RR ÷ ToR)</c> — total embodied × time share × resource share.
/// </summary>
public sealed class EmbodiedEmissionsOptions
{
    /// <summary>
    /// Whether embodied emissions (SCI's M) are added. Default <see langword="true"/>: the SCI specification counts M,
    /// and a report without it does not conform. Turn it off only for a figure that says so.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// TE: manufacturing emissions of the host server, kgCO2e. Default 1000, this project's assumption for a whole host:
    /// CCF 6ae5ee8c publishes no single server figure (its EmbodiedEmissions page takes TE per instance type from the
    /// Teads dataset and the ccf-coefficients repository).
    /// </summary>
    public double ServerEmbodiedKgCo2e { get; set; } = 1000;

    /// <summary>EL: expected lifespan of the server, hours. Default 35 040 (4 years; CCF 6ae5ee8c: <c>SERVER_EXPECTED_LIFESPAN</c>).</summary>
    public double ServerLifespanHours { get; set; } = 35_040;

    /// <summary>ToR: vCPUs of the whole host. Default 96, this project's choice following CCF's rule (CCF 6ae5ee8c uses the vCPUs of the family's largest instance); 96 is a 24xlarge-class host.</summary>
    public double HostVcpus { get; set; } = 96;

    /// <summary>RR: vCPUs reserved by this node. Default 2.</summary>
    public double NodeVcpus { get; set; } = 2;
}

/// <summary>How grid-intensity figures are fetched, retried and cached.</summary>
public sealed class GridIntensityOptions
{
    /// <summary>A fetched figure is reused, without asking the provider again, for this long. Default 1 hour.</summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A live figure older than this is no longer served; the static table is. Default 24 hours.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Timeout of one HTTP attempt. Default 5 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Timeout of one provider across all its attempts and back-off delays. Default 30 s.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries after the first attempt. Default 3.</summary>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>First back-off delay; it doubles on each retry (1 s, 2 s, 4 s). Default 1 s.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the host's background refresh runs. Default 5 minutes (the cache keeps provider calls to one per hour per zone).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Further regions to keep fresh besides this node's own, e.g. <c>azure/eastus</c>.</summary>
    public List<string> Regions { get; set; } = [];
}

/// <summary>The hourly grid-intensity history (configuration section <c>Aurigraph:Carbon:History</c>).</summary>
public sealed class IntensityHistoryOptions
{
    /// <summary>Whether the node records the history. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Days of history kept; older hours are deleted a bounded batch at a time. Default 90.</summary>
    public int RetentionDays { get; set; } = 90;

    /// <summary>How often the ingester looks for an hour not yet recorded. Default 5 minutes (each zone's hour is recorded once).</summary>
    public TimeSpan IngestInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most old hours one ingestion pass deletes. Default 256.</summary>
    public int PruneBatch { get; set; } = 256;

    /// <summary>Every problem with these settings, each naming its key; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        const string prefix = CarbonOptions.Section + ":History:";
        var errors = new List<string>();
        if (RetentionDays is < 1 or > 3660)
        {
            errors.Add($"{prefix}RetentionDays must be between 1 and 3660 (was {RetentionDays})");
        }
        if (IngestInterval < TimeSpan.FromSeconds(1) || IngestInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"{prefix}IngestInterval must be between 00:00:01 and 01:00:00 (was {IngestInterval})");
        }
        if (PruneBatch is < 1 or > 100_000)
        {
            errors.Add($"{prefix}PruneBatch must be between 1 and 100000 (was {PruneBatch})");
        }
        return errors;
    }
}

/// <summary>Electricity Maps API v3.</summary>
public sealed class ElectricityMapsOptions
{
    /// <summary>Base address. Default <c>https://api.electricitymap.org</c>.</summary>
    public Uri BaseAddress { get; set; } = new("https://api.electricitymap.org");

    /// <summary>The <c>auth-token</c> key. The provider is skipped while it is empty.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Optional <c>emissionFactorType</c> query value (<c>lifecycle</c> or <c>direct</c>); empty leaves the API's default (lifecycle).</summary>
    public string? EmissionFactorType { get; set; }
}

/// <summary>
/// WattTime API v3. What an account gets: the provider asks <c>/v3/forecast</c> for the current marginal rate, which
/// WattTime serves to subscribers only; an account without a subscription may ask for region <c>CAISO_NORTH</c> alone
/// (docs.watttime.org, API v3 introduction), and none of the static table's regions is CAISO_NORTH. With a free account
/// every other region is refused and the chain serves the static table. The signal index a free account may
/// read (<c>/v3/signal-index</c>) is a 0–100 percentile, not gCO2/kWh, and is not used.
/// </summary>
public sealed class WattTimeOptions
{
    /// <summary>Base address. Default <c>https://api.watttime.org</c>.</summary>
    public Uri BaseAddress { get; set; } = new("https://api.watttime.org");

    /// <summary>User name for <c>/login</c>. The provider is skipped while it or the password is empty. Only a subscriber's account gets figures for regions other than <c>CAISO_NORTH</c>.</summary>
    public string? Username { get; set; }

    /// <summary>Password for <c>/login</c>.</summary>
    public string? Password { get; set; }

    /// <summary>The signal asked for. Default <c>co2_moer</c> (marginal operating emissions rate, lbs CO2/MWh).</summary>
    public string SignalType { get; set; } = "co2_moer";
}

/// <summary>
/// When the leader turns the validators' per-block readings into a carbon record (configuration section
/// <c>Aurigraph:Carbon:Records</c>). These settings only shape when records are proposed; what a committed record
/// means is decided by the log alone, so nodes may differ in them without diverging.
/// </summary>
public sealed class CarbonRecordOptions
{
    /// <summary>
    /// A reading that has not reached the leader once the ledger is this many blocks past the reading's height is recorded
    /// as missing. Default 16.
    /// </summary>
    public int DeadlineBlocks { get; set; } = 16;

    /// <summary>A reading that has not reached the leader this long after the leader applied its height is recorded as missing. Default 3000 ms.</summary>
    public int DeadlineMilliseconds { get; set; } = 3000;

    /// <summary>
    /// A proposed record that has not committed after this long is proposed again (the first committed copy wins), and a
    /// reading not yet seen in a committed record is sent to the leader again. Default 5000 ms.
    /// </summary>
    public int RetryMilliseconds { get; set; } = 5000;

    /// <summary>
    /// Records wait this long for a transaction block to carry them before the leader cuts a block of carbon records
    /// alone. Under load they always ride in transaction blocks; at low load this bounds the extra consensus rounds to
    /// about one per interval instead of one per transaction block. Default 1000 ms.
    /// </summary>
    public int IdleFlushMilliseconds { get; set; } = 1000;

    /// <summary>Records one block may carry. Default 256.</summary>
    public int MaxRecordsPerBlock { get; set; } = 256;

    /// <summary>Readings a validator keeps until it sees them in a committed record; beyond it the oldest are dropped. Default 4096.</summary>
    public int OutboxCapacity { get; set; } = 4096;

    /// <summary>Every problem with these settings, each naming its key; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        const string prefix = CarbonOptions.Section + ":Records:";
        if (DeadlineBlocks < 1)
        {
            errors.Add($"{prefix}DeadlineBlocks must be at least 1 (was {DeadlineBlocks})");
        }
        if (DeadlineMilliseconds < 1)
        {
            errors.Add($"{prefix}DeadlineMilliseconds must be positive (was {DeadlineMilliseconds})");
        }
        if (IdleFlushMilliseconds < 0)
        {
            errors.Add($"{prefix}IdleFlushMilliseconds must not be negative (was {IdleFlushMilliseconds})");
        }
        if (RetryMilliseconds < 1)
        {
            errors.Add($"{prefix}RetryMilliseconds must be positive (was {RetryMilliseconds})");
        }
        if (MaxRecordsPerBlock < 1 || MaxRecordsPerBlock > ushort.MaxValue)
        {
            errors.Add($"{prefix}MaxRecordsPerBlock must be between 1 and {ushort.MaxValue} (was {MaxRecordsPerBlock})");
        }
        if (OutboxCapacity < 1)
        {
            errors.Add($"{prefix}OutboxCapacity must be at least 1 (was {OutboxCapacity})");
        }
        return errors;
    }
}

/// <summary>
/// A carbon budget in gCO2e (configuration section <c>Aurigraph:Carbon:Budget</c>). It bounds the cluster's emissions, the
/// figure every node counts from committed records (<c>aurigraph_carbon_emissions_grams_total</c>, the same on every node),
/// not one node's own share. The node only exports it (<c>aurigraph_carbon_budget_grams{period}</c>); the burn-rate alerts
/// compare the emission rate with it. Nothing is throttled.
/// </summary>
public sealed class CarbonBudgetOptions
{
    /// <summary>gCO2e the cluster may emit per day. Default 0: no daily budget.</summary>
    public double GramsPerDay { get; set; }

    /// <summary>gCO2e the cluster may emit per month (the alerts take a month as 30 days). Default 0: no monthly budget.</summary>
    public double GramsPerMonth { get; set; }

    /// <summary>Every problem with these settings, each naming its key; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        const string prefix = CarbonOptions.Section + ":Budget:";
        foreach (var (key, value) in new[] { (nameof(GramsPerDay), GramsPerDay), (nameof(GramsPerMonth), GramsPerMonth) })
        {
            if (!double.IsFinite(value) || value < 0)
            {
                errors.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{prefix}{key} must be a finite, non-negative number of grams, 0 for none (was {value})"));
            }
        }
        return errors;
    }
}
