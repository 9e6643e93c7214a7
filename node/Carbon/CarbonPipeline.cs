using Aurigraph.Consensus;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transport;
using Microsoft.Extensions.Logging;
using RocksDbSharp;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// A node's carbon metering as the consensus loop drives it: the meter, this node's readings on their way to the
/// leader, the leader's collection of readings into records, and the committed records stored at apply. Two threads drive
/// it — the consensus loop (Readies, rounds, readings from peers, block cutting) and the applier (applied blocks and
/// rounds) — so every method but <see cref="AddIngress"/> (API threads, lock-free) holds one lock; each is short and runs
/// once per round or block, never per transaction.
/// </summary>
/// <remarks>
/// Flow: at each apply round the meter closes its interval over the blocks with transactions (<see cref="CarbonMeter"/>);
/// each block's usage becomes a <see cref="CarbonReading"/> with the energy model's estimate at the grid intensity the
/// provider chain holds now. A reading is kept (in the <c>carbon</c> column family, same batch) until a committed record
/// carries it, and is sent to the leader on peer channel <see cref="ReadingsChannel"/> — again to every new leader, again
/// after <see cref="CarbonRecordOptions.RetryMilliseconds"/>, and at once when its height's record committed it as
/// missing (it then becomes a late reading). The leader's <see cref="CarbonRecordCollector"/> turns readings into records
/// that ride in the carbon section of the next block it proposes, or of a block without transactions when records are due
/// and no transaction waits. Every node stores the records of each applied block through <see cref="CarbonLedger"/>.
/// </remarks>
internal sealed partial class CarbonPipeline : IDisposable
{
    /// <summary>Peer-transport application channel of readings sent to the leader.</summary>
    public const byte ReadingsChannel = 3;

    private const int MaxReadingsPerMessage = 512;

    /// <summary>Offsets the leader holds on their way into the log at most; more are answered busy.</summary>
    public const int MaxWaitingOffsets = 256;

    private readonly ulong _self;
    private readonly CarbonServices _services;
    private readonly IPeerNetwork _transport;
    private readonly RaftLogStorage _log;
    private readonly ILogger _logger;
    private readonly CarbonLedger _ledger;
    private readonly CarbonRecordCollector _collector;
    private readonly CarbonMeter? _meter;
    private readonly ProcessMeterSource? _ownedSource;
    private readonly CarbonMetrics _metrics;
    private readonly SortedDictionary<ulong, Outgoing> _outbox = [];
    private readonly List<MeteredBlock> _round = [];
    private readonly long _origin;
    private readonly Lock _gate = new();
    private readonly OffsetProposals _offsets;
    private readonly NodeDatabase _database;
    private ulong _tip;
    private ulong _leader;
    private bool _leading;
    // The meter started with the open interval of the node's previous run; its key goes with the first reading made from it.
    private bool _carrying;
    private bool _stopped;

    /// <param name="selfId">This node's id.</param>
    /// <param name="validators">The cluster's voting members (consensus rounds are counted against them).</param>
    /// <param name="reporters">The members that meter and report readings: every node of the cluster, whatever its role.</param>
    /// <param name="services">Settings, energy model, grid intensity and clock.</param>
    /// <param name="database">The node database (column family <c>carbon</c>).</param>
    /// <param name="transport">Where readings go to the leader, and the peer byte counters.</param>
    /// <param name="log">The raft log (bytes written).</param>
    /// <param name="ledgerHeight">The ledger's height at start.</param>
    /// <param name="logger">Ignored records and malformed readings.</param>
    /// <param name="source">The process clock, CPU and memory; the running process when null.</param>
    public CarbonPipeline(
        ulong selfId,
        IReadOnlyCollection<ulong> validators,
        IReadOnlyCollection<ulong> reporters,
        CarbonServices services,
        NodeDatabase database,
        IPeerNetwork transport,
        RaftLogStorage log,
        ulong ledgerHeight,
        ILogger logger,
        IProcessMeterSource? source = null)
    {
        ArgumentNullException.ThrowIfNull(validators);
        ArgumentNullException.ThrowIfNull(reporters);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(logger);
        _self = selfId;
        _services = services;
        _transport = transport;
        _log = log;
        _logger = logger;
        _tip = ledgerHeight;
        _origin = services.Time.GetTimestamp();
        _database = database;
        _ledger = new CarbonLedger(database.Db, database.Carbon);
        _memory = database.Memory;
        _ledger.Load();
        _collector = new CarbonRecordCollector(_ledger, reporters, services.Options.Records);
        _offsets = new OffsetProposals(MaxWaitingOffsets, services.Options.Records.RetryMilliseconds);
        _metrics = new CarbonMetrics(CurrentGrid, () => _meter?.Totals);
        _metrics.Loaded(_ledger);
        if (reporters.Contains(selfId) && services.Options.Metering)
        {
            if (source is null)
            {
                _ownedSource = new ProcessMeterSource();
                source = _ownedSource;
            }
            var tail = _ledger.ReadMeterTail();
            _carrying = tail is not null;
            _meter = new CarbonMeter(source, selfId, validators, services.Options.StorageReplicas, Counters(), services.Options.ProvisionedVcpus, tail ?? default);
            foreach (var reading in _ledger.ReadOwnReadings())
            {
                _outbox[reading.Height] = new Outgoing(reading);
            }
        }
    }

    /// <summary>The committed carbon records (reads are thread-safe).</summary>
    public CarbonLedger Ledger => _ledger;

    /// <summary>What this node's meter has attributed to blocks; null when it does not meter.</summary>
    public MeterTotals? MeterTotals => _meter?.Totals;

    /// <summary>Settings, model, grid chain and clock.</summary>
    public CarbonServices Services => _services;

    /// <summary>This node's current grid intensity (never blocks).</summary>
    public GridIntensity CurrentGrid() => _services.Grid.Current(_services.Options.NodeRegion);

    /// <summary>Counts the client bytes (body + signature) of a submission this node received. Thread-safe.</summary>
    public void AddIngress(long bytes) => _meter?.AddIngress(bytes);

    /// <summary>Counts a Ready's appends and vote requests.</summary>
    public void OnReady(Ready ready)
    {
        lock (_gate)
        {
            if (!_stopped)
            {
                _meter?.Observe(ready);
            }
        }
    }

    /// <summary>Stores an applied block's carbon records (and registers it when it has transactions) in the apply batch.</summary>
    /// <param name="batch">The apply batch.</param>
    /// <param name="block">The block.</param>
    /// <param name="batchStart">The batch's size before the block's first write: what the block adds to it is metered as its own.</param>
    /// <param name="applyCpuMicros">The applier thread's CPU time applying and indexing the block (0 where there is no thread CPU clock).</param>
    public void OnBlockApplied(WriteBatch batch, AppliedBlock block, long batchStart, long applyCpuMicros = 0)
    {
        lock (_gate)
        {
            ArgumentNullException.ThrowIfNull(block);
            var result = _ledger.Apply(batch, block.Height, block.TransactionIds.Length, block.Carbon.Span);
            foreach (var reason in result.Ignored)
            {
                CarbonLog.Ignored(_logger, block.Height, reason);
            }
            if (result.Offsets is { } offsets)
            {
                _offsets.Applied(offsets);
            }
            _tip = block.Height;
            _metrics.Recorded(result.Accepted, _ledger);
            foreach (var record in result.Accepted)
            {
                foreach (var entry in record.Entries)
                {
                    if (entry.NodeId != _self || !_outbox.TryGetValue(record.Height, out var own))
                    {
                        continue;
                    }
                    if (entry.Status == CarbonReadingStatus.Missing)
                    {
                        own.SentAtMs = null; // the record went without it: send it again, for a late record
                    }
                    else
                    {
                        _outbox.Remove(record.Height);
                        _ledger.DeleteOwnReading(batch, record.Height);
                    }
                }
            }
            _round.Add(new MeteredBlock(block.Height, block.LogIndex, block.TransactionIds.Length, Math.Max(0, batch.AsSpan().Length - batchStart), Math.Max(0, applyCpuMicros)));
        }
    }

    /// <summary>
    /// Ends an apply round (before its batch is written): meters the round, keeps this node's new readings in the batch and
    /// sends them to the leader.
    /// </summary>
    public void OnApplyRound(WriteBatch batch)
    {
        lock (_gate)
        {
            ArgumentNullException.ThrowIfNull(batch);
            if (_round.Count == 0)
            {
                return;
            }
            if (_meter is not null && !_stopped)
            {
                _meter.AddStored(batch.AsSpan().Length);
                var usages = _meter.Close(_round, Counters());
                if (usages.Count > 0)
                {
                    if (_carrying)
                    {
                        // The previous run's tail is in these readings: it is forgotten with them (one batch), counted once.
                        _ledger.DeleteMeterTail(batch);
                        _carrying = false;
                    }
                    var grid = CurrentGrid();
                    var made = new List<CarbonReading>(usages.Count);
                    long kept = 0;
                    foreach (var usage in usages)
                    {
                        CarbonReading reading;
                        try
                        {
                            reading = MakeReading(usage, grid);
                        }
                        catch (ArgumentException ex)
                        {
                            CarbonLog.ReadingFailed(_logger, usage.Height, ex.Message);
                            continue;
                        }
                        kept += _ledger.PutOwnReading(batch, reading);
                        _outbox[reading.Height] = new Outgoing(reading);
                        made.Add(reading);
                    }
                    // The readings' own bytes are written with this batch, after it was measured: they join the next interval.
                    _meter.AddStored(kept);
                    Trim(batch);
                    Deliver(made);
                }
            }
            _collector.OnApplied(_tip);
            _round.Clear();
        }
    }

    /// <summary>Once per loop round: follows leadership, and sends readings not yet in a committed record when they are due.</summary>
    public void OnRound(bool leading, ulong leader)
    {
        lock (_gate)
        {
            var now = NowMs();
            if (leader != _leader || leading != _leading)
            {
                if (leading && !_leading)
                {
                    _collector.OnLeadership(_tip, now);
                }
                if (!leading && _leading)
                {
                    _offsets.LeadershipLost();
                }
                _leader = leader;
                _leading = leading;
                foreach (var own in _outbox.Values)
                {
                    own.SentAtMs = null; // everything still open goes to the new leader
                }
            }
            if (_leader == 0 || _outbox.Count == 0)
            {
                return;
            }
            List<CarbonReading>? due = null;
            foreach (var own in _outbox.Values)
            {
                if (own.SentAtMs is not { } at || now - at >= _services.Options.Records.RetryMilliseconds)
                {
                    (due ??= []).Add(own.Reading);
                }
            }
            if (due is not null)
            {
                if (!_leading)
                {
                    CarbonLog.Resent(_logger, due.Count, _leader);
                }
                Deliver(due);
            }
        }
    }

    /// <summary>Takes a batch of readings a peer sent to this node as leader.</summary>
    public void OnReadings(ulong from, ReadOnlyMemory<byte> payload)
    {
        lock (_gate)
        {
            List<CarbonReading> readings;
            try
            {
                readings = CarbonCodec.DecodeReadings(payload.Span);
            }
            catch (FormatException ex)
            {
                CarbonLog.MalformedReadings(_logger, from, ex.Message);
                return;
            }
            var now = NowMs();
            foreach (var reading in readings)
            {
                if (reading.NodeId != from)
                {
                    CarbonLog.ForeignReading(_logger, from, reading.NodeId, reading.Height);
                    continue;
                }
                Collect(reading, now);
            }
        }
    }

    private void Collect(CarbonReading reading, long now)
    {
        if (_collector.Add(reading, _tip, now) == CollectOutcome.Refused)
        {
            CarbonLog.Refused(_logger, reading.NodeId, reading.Height, CarbonReadingChecks.Check(reading) ?? "");
        }
    }

    /// <summary>The cluster's membership changed: readings are expected from the new members, rounds counted against the new voters.</summary>
    public void OnMembership(IReadOnlyCollection<ulong> voters, IReadOnlyCollection<ulong> members)
    {
        lock (_gate)
        {
            _collector.SetReporters(members);
            _meter?.SetVoters(voters);
        }
    }

    /// <summary>
    /// The node installed a state snapshot up to <paramref name="height"/>: the replicated carbon state came with it, so the
    /// in-memory view is read again; the meter's open interval simply continues.
    /// </summary>
    public void OnSnapshotInstalled(ulong height)
    {
        lock (_gate)
        {
            _ledger.Load();
            _tip = height;
            _round.Clear();
        }
    }

    /// <summary>Whether this node leads and has carbon records due (a block without transactions may carry them).</summary>
    public bool RecordsDue
    {
        get
        {
            lock (_gate)
            {
                return _leading && _collector.HasDue(_tip, NowMs());
            }
        }
    }

    // When records were first seen due with no block to carry them (carbon-only block timing).
    private long? _dueSinceMs;

    /// <summary>
    /// Whether the leader should cut a block of carbon records alone: records have been due for
    /// <see cref="CarbonRecordOptions.IdleFlushMilliseconds"/> and no transaction block took them.
    /// </summary>
    public bool CarbonOnlyBlockDue
    {
        get
        {
            lock (_gate)
            {
                if (!(_leading && (_collector.HasDue(_tip, NowMs()) || _offsets.HasDue(NowMs()))))
                {
                    _dueSinceMs = null;
                    return false;
                }
                var now = NowMs();
                _dueSinceMs ??= now;
                return now - _dueSinceMs.Value >= _services.Options.Records.IdleFlushMilliseconds;
            }
        }
    }

    /// <summary>The carbon section for the block being cut: the records due now, or empty.</summary>
    public byte[] TakeSection()
    {
        lock (_gate)
        {
            if (!_leading)
            {
                return [];
            }
            _dueSinceMs = null;
            var now = NowMs();
            var records = _collector.TakeDue(_tip, now);
            var offsets = _offsets.TakeDue(now);
            return records.Count == 0 && offsets.Count == 0
                ? []
                : CarbonCodec.EncodeSection(new CarbonSection(_services.Time.GetUtcNow().ToUnixTimeMilliseconds(), records, offsets));
        }
    }

    public void Dispose()
    {
        _metrics.Dispose();
        _ownedSource?.Dispose();
    }

    private CarbonReading MakeReading(BlockUsage usage, GridIntensity grid)
    {
        var options = _services.Options;
        var estimate = _services.Model.Estimate(CarbonReading.ToNodeReading(usage.Usage, options.Cloud, options.Region), grid);
        return new CarbonReading(usage.Height, _self, usage.Usage, options.Cloud, options.Region, grid, _services.Coefficients, estimate, MarketFactor.For(options.Market, grid));
    }

    private void Deliver(List<CarbonReading> readings)
    {
        if (readings.Count == 0)
        {
            return;
        }
        var now = NowMs();
        if (_leading)
        {
            foreach (var reading in readings)
            {
                Collect(reading, now);
            }
        }
        else if (_leader != 0)
        {
            for (var i = 0; i < readings.Count; i += MaxReadingsPerMessage)
            {
                var chunk = readings.GetRange(i, Math.Min(MaxReadingsPerMessage, readings.Count - i));
                _transport.SendApplication(_leader, ReadingsChannel, CarbonCodec.EncodeReadings(chunk));
            }
        }
        else
        {
            return; // no leader known: sent when one is
        }
        foreach (var reading in readings)
        {
            if (_outbox.TryGetValue(reading.Height, out var own))
            {
                own.SentAtMs = now;
            }
        }
    }

    private void Trim(WriteBatch batch)
    {
        // Past the late window no record can take a reading any more; beyond capacity the oldest go.
        while (_outbox.Count > 0)
        {
            var oldest = _outbox.Keys.First();
            if (_outbox.Count <= _services.Options.Records.OutboxCapacity && oldest + CarbonLedger.LateWindowBlocks >= _tip)
            {
                return;
            }
            _outbox.Remove(oldest);
            _ledger.DeleteOwnReading(batch, oldest);
        }
    }

    private long NowMs() => (long)_services.Time.GetElapsedTime(_origin).TotalMilliseconds;

    private sealed class Outgoing(CarbonReading reading)
    {
        public CarbonReading Reading { get; } = reading;

        public long? SentAtMs { get; set; }
    }
}
