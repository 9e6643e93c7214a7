using System.Globalization;
using System.Text.Json;

namespace Aurigraph.Node.Carbon;

/// <summary>One cloud region of the static table: its yearly grid intensity and its grid zones.</summary>
/// <param name="Region">The cloud region.</param>
/// <param name="Location">Where it is.</param>
/// <param name="GramsPerKwh">Yearly-average grid intensity, gCO2e/kWh.</param>
/// <param name="Source">Where <paramref name="GramsPerKwh"/> comes from.</param>
/// <param name="Year">The data year the source states for <paramref name="GramsPerKwh"/>, or <see langword="null"/> when it states none.</param>
/// <param name="ElectricityMapsZone">Electricity Maps zone, or <see langword="null"/> when there is none.</param>
/// <param name="WattTimeRegion">WattTime region, or <see langword="null"/> when there is none.</param>
/// <param name="Pue">The cloud's PUE.</param>
public sealed record GridRegionInfo(
    CloudRegion Region,
    string Location,
    double GramsPerKwh,
    string Source,
    int? Year,
    string? ElectricityMapsZone,
    string? WattTimeRegion,
    double Pue)
{
    /// <summary>The key under which live figures for this region are cached: its Electricity Maps zone, else its region key.</summary>
    public string CacheKey => ElectricityMapsZone ?? Region.Key;

    /// <summary>
    /// The <see cref="GridIntensity.ObservedAt"/> of a figure whose source states no data year: the Unix epoch, which no
    /// real figure has, rather than a year guessed for it.
    /// </summary>
    public static readonly DateTimeOffset UnstatedYear = DateTimeOffset.UnixEpoch;

    /// <summary>The table's figure for this region, stamped with the first instant of its data year (<see cref="UnstatedYear"/> when none is stated).</summary>
    public GridIntensity ToIntensity() =>
        new(GramsPerKwh, GridIntensitySources.StaticTable, Year is { } year ? new DateTimeOffset(year, 1, 1, 0, 0, 0, TimeSpan.Zero) : UnstatedYear, Region.Key);
}

/// <summary>
/// The embedded table of cloud regions (<c>grid-intensity.json</c>): yearly grid intensity with its source and year
/// (<c>null</c> where the source states none), the region-to-zone mapping and each cloud's PUE. Immutable once loaded.
/// </summary>
public sealed class StaticGridIntensityTable
{
    /// <summary>The manifest name of the embedded table.</summary>
    public const string ResourceName = "Aurigraph.Node.Carbon.grid-intensity.json";

    private readonly Dictionary<string, GridRegionInfo> _regions;
    private readonly Dictionary<CloudProvider, GridRegionInfo> _defaults;

    private StaticGridIntensityTable(Dictionary<string, GridRegionInfo> regions, Dictionary<CloudProvider, GridRegionInfo> defaults, string description)
    {
        _regions = regions;
        _defaults = defaults;
        Description = description;
    }

    /// <summary>What the table is and where its figures come from (its version), as the table states it.</summary>
    public string Description { get; }

    /// <summary>Every region of the table.</summary>
    public IReadOnlyCollection<GridRegionInfo> Regions => _regions.Values;

    /// <summary>Loads the table embedded in this assembly.</summary>
    public static StaticGridIntensityTable LoadEmbedded()
    {
        var assembly = typeof(StaticGridIntensityTable).Assembly;
        var name = Array.Find(assembly.GetManifestResourceNames(), n => string.Equals(n, ResourceName, StringComparison.Ordinal))
            ?? Array.Find(assembly.GetManifestResourceNames(), n => n.EndsWith("grid-intensity.json", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from {assembly.GetName().Name}.");
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded resource {name} cannot be opened.");
        return Load(stream);
    }

    /// <summary>Reads a table in the <c>grid-intensity.json</c> format.</summary>
    /// <exception cref="InvalidDataException">The table is malformed.</exception>
    public static StaticGridIntensityTable Load(Stream json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var defaults = new Dictionary<CloudProvider, GridRegionInfo>();
            foreach (var cloud in root.GetProperty("clouds").EnumerateObject())
            {
                var provider = CloudProviders.Parse(cloud.Name);
                var c = cloud.Value;
                defaults[provider] = new GridRegionInfo(
                    new CloudRegion(provider, "default"),
                    "unknown region",
                    Positive(c.GetProperty("defaultGramsPerKwh").GetDouble(), cloud.Name),
                    c.GetProperty("defaultSource").GetString() ?? "",
                    YearOf(c, "defaultYear"),
                    null,
                    null,
                    c.GetProperty("pue").GetDouble());
            }

            var regions = new Dictionary<string, GridRegionInfo>(StringComparer.Ordinal);
            foreach (var r in root.GetProperty("regions").EnumerateArray())
            {
                var cloud = CloudProviders.Parse(r.GetProperty("cloud").GetString());
                var region = new CloudRegion(cloud, r.GetProperty("region").GetString() ?? "");
                var pue = defaults.TryGetValue(cloud, out var d) ? d.Pue : 1.0;
                var info = new GridRegionInfo(
                    region,
                    r.GetProperty("location").GetString() ?? "",
                    Positive(r.GetProperty("gramsPerKwh").GetDouble(), region.Key),
                    r.GetProperty("source").GetString() ?? "",
                    YearOf(r, "year"),
                    OptionalString(r, "electricityMapsZone"),
                    OptionalString(r, "wattTimeRegion"),
                    pue);
                if (!regions.TryAdd(region.Key, info))
                {
                    throw new InvalidDataException($"Region {region.Key} appears twice in the grid-intensity table.");
                }
            }

            if (!defaults.ContainsKey(CloudProvider.Other))
            {
                throw new InvalidDataException("The grid-intensity table has no default for 'other'.");
            }

            var description = root.TryGetProperty("description", out var text) ? text.GetString() ?? "" : "";
            return new StaticGridIntensityTable(regions, defaults, description);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException("The grid-intensity table is malformed: " + e.Message, e);
        }
    }

    /// <summary>The table's row for a region, or <see langword="null"/> when the region is not listed.</summary>
    public GridRegionInfo? Find(CloudRegion region) => _regions.GetValueOrDefault(region.Key);

    /// <summary>The table's row for a region, or the cloud's default row (zones unknown) when the region is not listed.</summary>
    public GridRegionInfo Resolve(CloudRegion region) =>
        Find(region) ?? _defaults.GetValueOrDefault(region.Cloud) ?? _defaults[CloudProvider.Other];

    /// <summary>The yearly figure for a region (its cloud's default when not listed). Never fails, never blocks.</summary>
    public GridIntensity Lookup(CloudRegion region)
    {
        var info = Resolve(region);
        return info.ToIntensity() with { Zone = Find(region) is null ? region.Key : info.Region.Key };
    }

    /// <summary>The PUE of a cloud as the table gives it.</summary>
    public double PueOf(CloudProvider cloud) => (_defaults.GetValueOrDefault(cloud) ?? _defaults[CloudProvider.Other]).Pue;

    /// <summary>A required year property: a number, or <c>null</c> for a source that states no year.</summary>
    private static int? YearOf(JsonElement element, string name)
    {
        var value = element.GetProperty(name);
        return value.ValueKind == JsonValueKind.Null ? null : value.GetInt32();
    }

    private static string? OptionalString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s ? s : null;

    private static double Positive(double value, string what) =>
        double.IsFinite(value) && value >= 0
            ? value
            : throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"The intensity of {what} is not a non-negative number ({value})."));
}
