namespace Aurigraph.Node.Carbon;

/// <summary>
/// What a report must state to conform to the Software Carbon Intensity specification (Green Software Foundation, SCI
/// v1.0, published as ISO/IEC 21031:2024): the software boundary, the functional unit, the quantification method and
/// what was measured with which coefficients; and what in the range keeps the figure from conforming.
/// </summary>
/// <param name="ModelVersions">Energy-model versions of the readings, ascending.</param>
/// <param name="IntensityTypes">Kinds of grid intensity the readings used (see <see cref="IntensityType(GridIntensity)"/>), sorted.</param>
/// <param name="EmbodiedIncluded">Every reading counted M.</param>
/// <param name="Issues">What keeps the figure from conforming; empty when it conforms.</param>
public sealed record SciDisclosure(IReadOnlyList<int> ModelVersions, IReadOnlyList<string> IntensityTypes, bool EmbodiedIncluded, IReadOnlyList<string> Issues)
{
    /// <summary>The specification followed.</summary>
    public const string Specification = "Green Software Foundation, Software Carbon Intensity (SCI) Specification v1.0 (ISO/IEC 21031:2024)";

    /// <summary>What the figure counts.</summary>
    public const string SoftwareBoundary =
        "every member node of the cluster (validators, business and slim nodes), each as the process on its provisioned host share: "
        + "processors (the provisioned vCPUs' power curve at the measured utilisation, idle included), memory held, peer-transport and client-ingress "
        + "network bytes, the bytes kept on durable storage for the time they are kept, a per-round consensus overhead (0 by default: its work is in the "
        + "processor and network terms), the data centre's overhead (PUE) and the embodied emissions of the host share";

    /// <summary>What the figure leaves out.</summary>
    public static readonly IReadOnlyList<string> Exclusions =
    [
        "clients and the networks between clients and nodes beyond the bytes the nodes receive",
        "load balancers, monitoring, logging and backup systems outside the node processes",
        "storage copies kept by the cloud below the node's volume beyond Aurigraph:Carbon:StorageReplicas",
        "embodied emissions of network equipment and storage devices (the server's embodied figure stands for the host)",
    ];

    /// <summary>R.</summary>
    public const string FunctionalUnit = "one committed transaction";

    /// <summary>How E, I and M are obtained.</summary>
    public const string QuantificationMethod =
        "measured on each node for each block: process CPU and wall time (getrusage, monotonic clock), resident memory (/proc/self/statm), transport and "
        + "ingress byte counters, RocksDB live data size; turned into energy with the Cloud Carbon Footprint method (energy model 2: provisioned "
        + "vCPU-hours × average watts at the utilisation, retained byte-hours) and into emissions with the grid intensity the node held for its "
        + "region (location-based); committed through consensus as carbon records and summed here. Every reading carries its inputs, coefficients and "
        + "intensity, so each figure can be recomputed from the record";

    /// <summary>Where the coefficients come from.</summary>
    public const string CoefficientSource =
        "Cloud Carbon Footprint methodology (cloudcarbonfootprint.org/docs/methodology): vCPU min/max watts per cloud, memory 0.000392 kWh/GB-h, "
        + "network 0.001 kWh/GB, SSD storage 1.2 Wh/TB-h, PUE per cloud, embodied 1000 kgCO2e per server over 4 years; each reading records the values it used";

    /// <summary>The disclosure of the readings of a range.</summary>
    public static SciDisclosure Of(IEnumerable<CarbonReading> readings, ulong missing)
    {
        ArgumentNullException.ThrowIfNull(readings);
        var versions = new SortedSet<int>();
        var types = new SortedSet<string>(StringComparer.Ordinal);
        long withoutEmbodied = 0, total = 0;
        foreach (var r in readings)
        {
            total++;
            versions.Add(r.Coefficients.ModelVersion);
            types.Add(IntensityType(r.Grid));
            withoutEmbodied += r.Coefficients.EmbodiedEnabled ? 0 : 1;
        }
        var issues = new List<string>();
        if (missing > 0)
        {
            issues.Add($"{missing} readings are missing or were refused: the figures are lower bounds");
        }
        if (withoutEmbodied > 0)
        {
            issues.Add($"{withoutEmbodied} of {total} readings were made with embodied emissions off: M is incomplete");
        }
        if (types.Count > 1)
        {
            issues.Add($"the readings mix intensity types ({string.Join(", ", types)}): one SCI figure should use one");
        }
        if (versions.Contains(1))
        {
            issues.Add("readings of energy model 1 count only the CPU consumed and charge written bytes a year up front, not the hardware provisioned");
        }
        if (total == 0)
        {
            issues.Add("no readings in the range");
        }
        return new SciDisclosure([.. versions], [.. types], total > 0 && withoutEmbodied == 0, issues);
    }

    /// <summary>Whether nothing keeps the figure from conforming.</summary>
    public bool Conforms => Issues.Count == 0;

    /// <summary>The kind of intensity of a figure, from its stated type (format 3): lifecycle and direct averages, marginal rates and yearly averages are different quantities, never summed under one label.</summary>
    public static string IntensityType(GridIntensity grid)
    {
        ArgumentNullException.ThrowIfNull(grid);
        return grid.Type switch
        {
            Carbon.IntensityType.LifecycleAverage => "location-based average, lifecycle factors, hourly (Electricity Maps)",
            Carbon.IntensityType.DirectAverage => "location-based average, direct factors, hourly (Electricity Maps)",
            _ => IntensityType(grid.Source),
        };
    }

    /// <summary>The kind of intensity a grid source gives: averages and marginal rates are different quantities, never summed under one label.</summary>
    public static string IntensityType(string source) => source switch
    {
        GridIntensitySources.WattTime => "marginal, CO2 only (WattTime MOER)",
        GridIntensitySources.ElectricityMaps => "location-based average, hourly (Electricity Maps)",
        GridIntensitySources.StaticTable => "location-based average, yearly (static table)",
        _ => $"unknown ({source})",
    };
}
