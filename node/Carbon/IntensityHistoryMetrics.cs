using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// The intensity history's instruments (meter "Aurigraph.Node.Carbon"): the age of each zone's latest stored hour
/// (<c>aurigraph_carbon_intensity_history_age_seconds{zone}</c>), hours stored by zone, type and origin
/// (<c>aurigraph_carbon_intensity_history_hours_total</c>), old hours pruned (<c>aurigraph_carbon_intensity_history_pruned_total</c>)
/// and failed ingestion passes (<c>aurigraph_carbon_intensity_history_failures_total</c>). This node's own figures.
/// </summary>
public sealed class IntensityHistoryMetrics : IDisposable
{
    /// <summary>The most zones the age gauge reports.</summary>
    public const int MaxZones = 256;

    private readonly Meter _meter = new(CarbonMetrics.MeterName);
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _latest = new(StringComparer.Ordinal);
    private readonly Counter<long> _hours;
    private readonly Counter<long> _pruned;
    private readonly Counter<long> _failures;

    /// <summary>Creates the instruments; ages are measured with <paramref name="time"/>.</summary>
    public IntensityHistoryMetrics(TimeProvider time)
    {
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _meter.CreateObservableGauge("aurigraph.carbon.intensity_history.age", ObserveAges, "s",
            "Seconds since the start of the latest hour stored in this node's grid-intensity history, by zone (absent until a zone has one)");
        _hours = _meter.CreateCounter<long>("aurigraph.carbon.intensity_history.hours", "{hour}", "Hours stored in the grid-intensity history, by zone, type and origin (live, backfill)");
        _pruned = _meter.CreateCounter<long>("aurigraph.carbon.intensity_history.pruned", "{hour}", "Hours deleted from the grid-intensity history past its retention");
        _failures = _meter.CreateCounter<long>("aurigraph.carbon.intensity_history.failures", "{pass}", "Ingestion passes of the grid-intensity history that failed (storage errors)");
    }

    /// <summary>The meter of these instruments (tests listen to it alone).</summary>
    internal Meter Meter => _meter;

    /// <summary>The latest stored hour of each zone, as last reported.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Latest => _latest;

    /// <summary>Seconds from the start of each zone's latest stored hour to now.</summary>
    public IEnumerable<Measurement<double>> ObserveAges()
    {
        var now = _time.GetUtcNow();
        foreach (var (zone, hour) in _latest)
        {
            yield return new Measurement<double>((now - hour).TotalSeconds, new KeyValuePair<string, object?>("zone", zone));
        }
    }

    /// <summary>Notes that <paramref name="zone"/> holds an hour; the gauge follows the latest.</summary>
    public void Holds(string zone, DateTimeOffset hour)
    {
        if (_latest.Count >= MaxZones && !_latest.ContainsKey(zone))
        {
            return;
        }
        _latest.AddOrUpdate(zone, hour, (_, held) => hour > held ? hour : held);
    }

    /// <summary>Counts one stored hour.</summary>
    public void Stored(string zone, IntensityHour hour)
    {
        ArgumentNullException.ThrowIfNull(hour);
        Holds(zone, hour.Hour);
        _hours.Add(1, new("zone", zone), new("type", IntensityLabels.Of(hour.Type)), new("origin", IntensityLabels.Of(hour.Origin)));
    }

    /// <summary>Counts pruned hours.</summary>
    public void Pruned(int hours)
    {
        if (hours > 0)
        {
            _pruned.Add(hours);
        }
    }

    /// <summary>Counts a failed pass.</summary>
    public void Failed() => _failures.Add(1);

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
