using System.Diagnostics.Metrics;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// The carbon instruments (meter "Aurigraph.Node.Carbon"), exported on the Prometheus scrape endpoint. Every figure comes
/// from committed carbon records, so every node reports the same cluster-wide emissions; the grid-intensity gauge is this
/// node's own current figure.
/// </summary>
internal sealed class CarbonMetrics : IDisposable
{
    public const string MeterName = "Aurigraph.Node.Carbon";

    private static readonly KeyValuePair<string, object?> Cpu = new("component", "cpu");
    private static readonly KeyValuePair<string, object?> Memory = new("component", "memory");
    private static readonly KeyValuePair<string, object?> Network = new("component", "network");
    private static readonly KeyValuePair<string, object?> Storage = new("component", "storage");
    private static readonly KeyValuePair<string, object?> Consensus = new("component", "consensus");
    private static readonly KeyValuePair<string, object?> Present = new("status", "present");
    private static readonly KeyValuePair<string, object?> Missing = new("status", "missing");
    private static readonly KeyValuePair<string, object?> Late = new("status", "late");

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<double> _emissions;
    private readonly Counter<double> _energy;
    private readonly Counter<double> _facility;
    private readonly Counter<long> _transactions;
    private readonly Counter<long> _readings;
    private long _missingNow;
    private double _lastGramsPerTransaction;
    private int _pendingHeights;

    private static readonly KeyValuePair<string, object?> Sent = new("direction", "sent");
    private static readonly KeyValuePair<string, object?> Received = new("direction", "received");

    public CarbonMetrics(Func<GridIntensity> grid, Func<MeterTotals?> meter)
    {
        _emissions = _meter.CreateCounter<double>("aurigraph.carbon.emissions", "g", "gCO2e of committed carbon records (all members' readings; late readings when their record commits)");
        _energy = _meter.CreateCounter<double>("aurigraph.carbon.energy", "kWh", "IT energy of committed carbon records by component (before PUE)");
        _facility = _meter.CreateCounter<double>("aurigraph.carbon.facility_energy", "kWh", "Facility energy (IT energy × PUE, the E of SCI) of committed carbon records");
        _transactions = _meter.CreateCounter<long>("aurigraph.carbon.transactions", "{transaction}", "Transactions of the heights whose carbon record committed");
        _readings = _meter.CreateCounter<long>("aurigraph.carbon.readings", "{reading}", "Member readings in committed carbon records, by status (present, missing, late)");
        _meter.CreateObservableGauge("aurigraph.carbon.per_transaction", () => Volatile.Read(ref _lastGramsPerTransaction), "g", "gCO2e per transaction of the last height whose carbon record committed");
        _meter.CreateObservableGauge("aurigraph.carbon.pending_heights", () => Volatile.Read(ref _pendingHeights), "{height}", "Heights with transactions waiting for their carbon record");
        // A level, not a count: a late reading that fills a missing entry takes one off (the readings counter cannot).
        _meter.CreateObservableGauge("aurigraph.carbon.missing_readings", () => Volatile.Read(ref _missingNow), "{reading}", "Readings missing (or refused) in committed records now, late ones that filled an entry taken off: while above 0 the totals are lower bounds");
        _meter.CreateObservableGauge("aurigraph.carbon.grid_intensity", () =>
        {
            var g = grid();
            return new Measurement<double>(g.GramsPerKwh, new KeyValuePair<string, object?>("source", g.Source), new KeyValuePair<string, object?>("zone", g.Zone));
        }, "g/kWh", "This node's current grid carbon intensity, gCO2e per kWh, with its source");

        // This node's meter: what it has attributed to blocks, equal to the process's counters from the meter's start to its
        // last close. Comparing these with the sums of the node's readings in committed records checks conservation.
        _meter.CreateObservableCounter("aurigraph.carbon.meter.cpu", () => Observe(meter, t => t.CpuMicros / 1e6), "s", "Process CPU time this node's meter attributed to blocks");
        _meter.CreateObservableCounter("aurigraph.carbon.meter.wall", () => Observe(meter, t => t.WallMicros / 1e6), "s", "Wall time this node's meter attributed to blocks");
        _meter.CreateObservableCounter("aurigraph.carbon.meter.peer_bytes", () => meter() is { } t
            ? [new Measurement<long>(t.PeerBytesSent, Sent), new Measurement<long>(t.PeerBytesReceived, Received)]
            : (IEnumerable<Measurement<long>>)[], "By", "Peer-transport bytes this node's meter attributed to blocks");
        _meter.CreateObservableCounter("aurigraph.carbon.meter.stored_bytes", () => Observe(meter, t => t.StoredBytes), "By", "Storage bytes this node's meter attributed to blocks");
        _meter.CreateObservableGauge("aurigraph.carbon.meter.carried_cpu", () => Observe(meter, t => t.Carried.CpuMicros / 1e6), "s", "Process CPU time of the previous run's open interval that this run's meter carried into its first close (in the meter's CPU total)");
        _meter.CreateObservableCounter("aurigraph.carbon.meter.blocks", () => Observe(meter, t => t.Blocks), "{block}", "Blocks with transactions this node's meter closed");
    }

    private static IEnumerable<Measurement<T>> Observe<T>(Func<MeterTotals?> meter, Func<MeterTotals, T> value)
        where T : struct => meter() is { } t ? [new Measurement<T>(value(t))] : [];

    /// <summary>The levels of what the ledger holds (at start, before any new record).</summary>
    public void Loaded(CarbonLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        Volatile.Write(ref _pendingHeights, ledger.Pending.Count);
        Volatile.Write(ref _missingNow, (long)ledger.Totals.MissingReadings);
    }

    /// <summary>Counts the records one block's carbon section committed.</summary>
    public void Recorded(IReadOnlyList<CarbonRecord> records, CarbonLedger ledger)
    {
        foreach (var record in records)
        {
            var summary = CarbonSummary.Zero;
            foreach (var entry in record.Entries)
            {
                if (entry.Reading is { } reading)
                {
                    summary = summary.Add(reading);
                }
                _readings.Add(1, entry.Status switch
                {
                    CarbonReadingStatus.Present => Present,
                    CarbonReadingStatus.Missing => Missing,
                    _ => Late,
                });
            }
            _emissions.Add(summary.TotalGrams);
            _energy.Add(summary.CpuKwh, Cpu);
            _energy.Add(summary.MemoryKwh, Memory);
            _energy.Add(summary.NetworkKwh, Network);
            _energy.Add(summary.StorageKwh, Storage);
            _energy.Add(summary.ConsensusKwh, Consensus);
            _facility.Add(summary.FacilityKwh);
            if (record.Kind == CarbonRecordKind.Main)
            {
                _transactions.Add(record.TransactionCount);
            }
        }
        if (records.Count > 0)
        {
            Volatile.Write(ref _lastGramsPerTransaction, ledger.Totals.LastGramsPerTransaction);
        }
        Volatile.Write(ref _pendingHeights, ledger.Pending.Count);
        Volatile.Write(ref _missingNow, (long)ledger.Totals.MissingReadings);
    }

    public void Dispose() => _meter.Dispose();
}
