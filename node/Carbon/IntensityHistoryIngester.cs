using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurigraph.Node.Carbon;

/// <summary>A zone of the intensity history: its key, the region whose figures stand for it, and its Electricity Maps zone.</summary>
public sealed record HistoryZone(string Zone, CloudRegion Region, string? ElectricityMapsZone);

/// <summary>What one ingestion pass did.</summary>
public sealed record IngestResult(int Recorded, int Backfilled, int Pruned);

/// <summary>
/// Records each configured zone's grid intensity once per hour into the <see cref="IntensityHistoryStore"/>: the provider
/// chain's figure for the hour (Electricity Maps, WattTime, or the static table when no live figure is to be had) with its
/// type and estimation details, and Electricity Maps' power breakdown. Hours missed within the last 24 are filled in from
/// Electricity Maps' recent history. Each pass also deletes a bounded batch of hours past the retention. Time comes only
/// from the injected <see cref="TimeProvider"/>; <see cref="IngestAsync"/> is called by one caller at a time.
/// </summary>
public sealed partial class IntensityHistoryIngester
{
    /// <summary>The most zones recorded (regions beyond them are left out).</summary>
    public const int MaxZones = 64;

    /// <summary>The longest text kept from a provider's answer (zone names, estimation methods).</summary>
    public const int MaxTextLength = 128;

    /// <summary>How far back a missed hour is filled in: Electricity Maps' <c>/history</c> covers the last 24 hours.</summary>
    public const int BackfillHours = 24;

    private readonly GridIntensityProviderChain _chain;
    private readonly ElectricityMapsProvider _electricityMaps;
    private readonly ElectricityMapsHistory _history;
    private readonly IntensityHistoryStore _store;
    private readonly IntensityHistoryOptions _options;
    private readonly TimeProvider _time;
    private readonly IntensityHistoryMetrics _metrics;
    private readonly ILogger _logger;

    /// <summary>Creates the ingester for <paramref name="regions"/> (this node's first; regions on one zone share its history).</summary>
    public IntensityHistoryIngester(
        IEnumerable<CloudRegion> regions,
        GridIntensityProviderChain chain,
        ElectricityMapsProvider electricityMaps,
        IntensityHistoryStore store,
        IntensityHistoryOptions options,
        TimeProvider time,
        IntensityHistoryMetrics metrics,
        ILogger<IntensityHistoryIngester>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(regions);
        _chain = chain ?? throw new ArgumentNullException(nameof(chain));
        _electricityMaps = electricityMaps ?? throw new ArgumentNullException(nameof(electricityMaps));
        _history = new ElectricityMapsHistory(electricityMaps);
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Zones = ZonesOf(regions, chain.Table);
        foreach (var zone in Zones)
        {
            if (_store.LatestHour(zone.Zone) is { } latest)
            {
                _metrics.Holds(zone.Zone, latest);
            }
        }
    }

    /// <summary>The zones recorded, in order.</summary>
    public IReadOnlyList<HistoryZone> Zones { get; }

    /// <summary>
    /// The regions a node's history covers: those <see cref="GridIntensityRefresher"/> keeps fresh, and the node's own even when
    /// its region is not set (the cloud's default figure then stands for zone <c>{cloud}/default</c>), so the history is never silent.
    /// </summary>
    public static IReadOnlyList<CloudRegion> RegionsOf(CarbonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var regions = GridIntensityRefresher.RegionsOf(options);
        return string.IsNullOrWhiteSpace(options.Region) ? [new CloudRegion(options.Cloud, ""), .. regions] : regions;
    }

    /// <summary>The history's zones of some regions: each region's Electricity Maps zone, else its region key (<c>{cloud}/default</c> when unnamed); first region first.</summary>
    public static IReadOnlyList<HistoryZone> ZonesOf(IEnumerable<CloudRegion> regions, StaticGridIntensityTable table)
    {
        ArgumentNullException.ThrowIfNull(regions);
        ArgumentNullException.ThrowIfNull(table);
        var zones = new List<HistoryZone>();
        foreach (var region in regions)
        {
            var info = table.Find(region);
            var key = info?.CacheKey ?? (string.IsNullOrWhiteSpace(region.Name) ? CloudProviders.ToKey(region.Cloud) + "/default" : region.Key);
            if (zones.Count < MaxZones && IntensityHistoryCodec.IsValidZone(key) && !zones.Exists(z => z.Zone == key))
            {
                zones.Add(new HistoryZone(key, region, info?.ElectricityMapsZone));
            }
        }
        return zones;
    }

    /// <summary>
    /// Records the current hour of every zone that has no record for it yet (filling in missed recent hours from Electricity
    /// Maps when it is configured), then prunes. Provider failures are logged and recorded as the chain's fallback figure;
    /// storage errors propagate.
    /// </summary>
    public async Task<IngestResult> IngestAsync(CancellationToken cancellationToken = default)
    {
        var recorded = 0;
        var backfilled = 0;
        foreach (var zone in Zones)
        {
            var hour = Hours.Floor(_time.GetUtcNow());
            if (_store.Contains(zone.Zone, hour))
            {
                continue;
            }
            var figure = await _chain.RefreshForHourAsync(zone.Region, hour, cancellationToken).ConfigureAwait(false);
            var breakdown = figure.Source == GridIntensitySources.ElectricityMaps && zone.ElectricityMapsZone is { } emZone
                ? await _chain.TryRunAsync(GridIntensitySources.ElectricityMaps, emZone, t => _history.PowerBreakdownLatestAsync(emZone, t), cancellationToken).ConfigureAwait(false)
                : null;
            Store(zone, Describe(hour, figure, _electricityMaps.Answered(figure), breakdown, IntensityOrigin.Live));
            recorded++;
            backfilled += await BackfillAsync(zone, hour, cancellationToken).ConfigureAwait(false);
        }
        var pruned = _store.Prune(Hours.Floor(_time.GetUtcNow()) - TimeSpan.FromDays(_options.RetentionDays), _options.PruneBatch);
        _metrics.Pruned(pruned);
        return new IngestResult(recorded, backfilled, pruned);
    }

    /// <summary>Fills in the hours before <paramref name="hour"/> (at most <see cref="BackfillHours"/>, within the retention) that have no record.</summary>
    private async Task<int> BackfillAsync(HistoryZone zone, DateTimeOffset hour, CancellationToken cancellationToken)
    {
        if (!_history.IsConfigured || zone.ElectricityMapsZone is not { } emZone)
        {
            return 0;
        }
        var oldest = Hours.Floor(_time.GetUtcNow()) - TimeSpan.FromDays(_options.RetentionDays);
        var missing = new HashSet<DateTimeOffset>();
        for (var h = hour - Hours.One; h >= hour - (BackfillHours * Hours.One) && h >= oldest; h -= Hours.One)
        {
            if (!_store.Contains(zone.Zone, h))
            {
                missing.Add(h);
            }
        }
        if (missing.Count == 0)
        {
            return 0;
        }
        var figures = await _chain.TryRunAsync(GridIntensitySources.ElectricityMaps, emZone, t => _history.CarbonIntensityHistoryAsync(emZone, t), cancellationToken).ConfigureAwait(false);
        if (figures is null)
        {
            return 0;
        }
        var mixes = await _chain.TryRunAsync(GridIntensitySources.ElectricityMaps, emZone, t => _history.PowerBreakdownHistoryAsync(emZone, t), cancellationToken).ConfigureAwait(false) ?? [];
        var filled = 0;
        foreach (var figure in figures)
        {
            var at = Hours.Floor(figure.Intensity.ObservedAt);
            if (missing.Remove(at))
            {
                var mix = mixes.FirstOrDefault(m => Hours.Floor(m.Datetime) == at);
                Store(zone, Describe(at, figure.Intensity, figure, mix, IntensityOrigin.Backfill));
                filled++;
            }
        }
        if (filled > 0)
        {
            LogBackfilled(_logger, filled, zone.Zone);
        }
        return filled;
    }

    private IntensityHour Describe(DateTimeOffset hour, GridIntensity figure, ElectricityMapsFigure? answer, PowerBreakdown? breakdown, IntensityOrigin origin) => new(
        hour,
        figure.GramsPerKwh,
        figure.Source,
        IntensityLabels.TypeOf(figure.Source, answer?.EmissionFactorType ?? _electricityMaps.EmissionFactorType),
        figure.ObservedAt,
        Bounded(figure.Zone)!,
        answer?.IsEstimated,
        Bounded(answer?.EstimationMethod),
        origin,
        _time.GetUtcNow(),
        breakdown);

    private static string? Bounded(string? text) => text is { Length: > MaxTextLength } ? text[..MaxTextLength] : text;

    private void Store(HistoryZone zone, IntensityHour hour)
    {
        _store.Put(zone.Zone, hour);
        _metrics.Stored(zone.Zone, hour);
    }

    [LoggerMessage(EventId = 4111, Level = LogLevel.Information, Message = "Filled in {Hours} missed hours of the grid-intensity history of zone {Zone}")]
    private static partial void LogBackfilled(ILogger logger, int hours, string zone);
}
