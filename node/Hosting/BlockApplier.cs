using Aurigraph.Consensus;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transactions;
using RocksDbSharp;

namespace Aurigraph.Node.Hosting;

/// <summary>What the <see cref="ApplyStage"/> runs for each run of committed entries (the node's: <see cref="BlockApplier"/>).</summary>
internal interface IRunApplier
{
    /// <summary>The latest paranoid-check failure since start, or null.</summary>
    string? IntegrityAlarm { get; }

    /// <summary>Applies and writes a run; returns each block applied with its payload. <paramref name="lapAt"/> is the thread's stage cursor.</summary>
    List<(AppliedBlock Block, ReadOnlyMemory<byte> Payload)> Apply(IReadOnlyList<Entry> entries, ref long lapAt);
}

/// <summary>
/// What the applier stage (<see cref="ApplyStage"/>, on its own thread) does with a run: applies committed entries to
/// the ledger, indexes their blocks and transactions, closes their carbon intervals, and writes all of it with the
/// applied index in one batch. The batch goes without the WAL: the raft log is the write-ahead log,
/// and a restart re-applies what follows the durable applied index. How much one call applies is bounded by the core
/// (<see cref="NodeOptions.CommittedBytesPerReady"/> per Ready).
/// </summary>
internal sealed class BlockApplier : IRunApplier
{
    private readonly NodeOptions _options;
    private readonly NodeDatabase _database;
    private readonly RaftLogStorage _log;
    private readonly LedgerState _ledger;
    private readonly LedgerStore _store;
    private readonly CarbonPipeline _carbon;
    private readonly TransactionVerifier _verifier;
    private readonly StageMeter _stages;
    private readonly NodeMetrics _metrics;
    private readonly ILogger _logger;

    public BlockApplier(NodeOptions options, NodeDatabase database, RaftLogStorage log, LedgerState ledger, LedgerStore store, CarbonPipeline carbon, TransactionVerifier verifier, StageMeter stages, NodeMetrics metrics, ILogger logger)
    {
        _options = options;
        _database = database;
        _log = log;
        _ledger = ledger;
        _store = store;
        _carbon = carbon;
        _verifier = verifier;
        _stages = stages;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>The latest paranoid-check failure since start, or null.</summary>
    public string? IntegrityAlarm { get => Volatile.Read(ref _integrityAlarm); private set => Volatile.Write(ref _integrityAlarm, value); }

    private string? _integrityAlarm;

    /// <summary>
    /// Applies <paramref name="entries"/> (committed, durable here, in log order) and writes the result; returns each
    /// block applied with its payload. <paramref name="lapAt"/> is the calling thread's stage cursor (see
    /// <see cref="StageMeter.Lap"/>): every stage's time up to the write is charged here.
    /// </summary>
    public List<(AppliedBlock Block, ReadOnlyMemory<byte> Payload)> Apply(IReadOnlyList<Entry> entries, ref long lapAt)
    {
        using var batch = new WriteBatch();
        var applied = new List<(AppliedBlock Block, ReadOnlyMemory<byte> Payload)>();
        var indexed = new HashSet<TransactionId>();
        foreach (var entry in entries)
        {
            if (entry.Type != EntryType.Normal)
            {
                continue;
            }
            if (_options.Paranoid)
            {
                VerifyCommittedSignatures(entry.Index, entry.Data);
                lapAt = _stages.Lap(PipelineStage.Verify, lapAt);
            }
            var batchStart = batch.AsSpan().Length; // what the block's own writes add to the batch is metered as its own
            var cpuStart = ThreadCpuClock.IsThreadCpu ? ThreadCpuClock.Now() : 0; // and this thread's CPU for it
            // The ledger charges its state root to StateRoot and its parallel workers' time to Apply itself.
            var result = _ledger.Apply(entry.Index, entry.Term, entry.Data);
            lapAt = _stages.Lap(PipelineStage.Apply, lapAt);
            _store.AddBlock(batch, result, indexed);
            lapAt = _stages.Lap(PipelineStage.Index, lapAt);
            var applyCpuMicros = ThreadCpuClock.IsThreadCpu ? (ThreadCpuClock.Now() - cpuStart) / 1_000 : 0;
            _carbon.OnBlockApplied(batch, result, batchStart, applyCpuMicros);
            lapAt = _stages.Lap(PipelineStage.Carbon, lapAt);
            if (_options.Role == NodeRole.Slim && result.Height > (ulong)_options.SlimRetainedBlocks)
            {
                _store.PruneBody(batch, result.Height - (ulong)_options.SlimRetainedBlocks);
                lapAt = _stages.Lap(PipelineStage.Index, lapAt);
            }
            applied.Add((result, entry.Data));
        }
        _log.AddAppliedIndex(batch, entries[^1].Index);
        _carbon.OnApplyRound(batch);
        lapAt = _stages.Lap(PipelineStage.Carbon, lapAt);
        _database.Db.Write(batch, _database.StateWrite); // no WAL: a restart re-applies from the durable applied index
        _ledger.Persisted(); // readable from the database now: the ledger's copies of these writes may go
        lapAt = _stages.Lap(PipelineStage.StoreWrite, lapAt);
        return applied;
    }

    /// <summary>
    /// Paranoid mode: every signature of a committed block is checked again (in parallel) before it is applied. The
    /// leader proposes only what it verified, so a failure means a leader that is not paranoid proposed it. The block
    /// is committed: every node applies it, this one too, so the cluster stays one state and this node does not stop
    /// again at every restart; the failure is raised as an integrity alarm for the operator.
    /// </summary>
    private void VerifyCommittedSignatures(ulong index, ReadOnlyMemory<byte> payload)
    {
        var transactions = BlockPayload.Decode(payload);
        var failures = new string?[transactions.Count];
        _stages.For(transactions.Count, new ParallelOptions(), PipelineStage.Verify, i =>
        {
            var (_, rejection) = _verifier.Verify(transactions[i].Body, transactions[i].Signature, checkSignature: true);
            failures[i] = rejection?.Reason;
        });
        for (var i = 0; i < failures.Length; i++)
        {
            if (failures[i] is { } reason)
            {
                var alarm = $"paranoid check: transaction {i} ({TransactionId.Of(transactions[i].Body.Span)}) of the committed block at log index {index} fails verification ({reason}); applied as committed, proposed by a leader that is not paranoid";
                IntegrityAlarm = alarm;
                _metrics.ParanoidFailures.Add(1);
                HostLog.IntegrityAlarm(_logger, _options.NodeId, alarm);
            }
        }
    }
}
