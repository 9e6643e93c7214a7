using Aurigraph.Consensus;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// The proposer stage, on the leader's loop: the mempool and the batch policy. It cuts blocks while the pipeline has
/// room — a lone transaction goes out at once; under load, transactions gather while earlier blocks commit and each
/// block takes up to the dynamic target (<see cref="BatchPolicy"/>) — and learns from each applied block how long
/// propose→commit took. Its bounds: the mempool's count and bytes, and <see cref="MaxBlocksInFlight"/> blocks
/// proposed but not committed (beyond that it proposes only full blocks; the core's uncommitted-byte limit refuses more).
/// A block holds at most <see cref="PipelineLimits.MaxBlockBytes"/>, its carbon section included.
/// </summary>
internal sealed class BlockProposer
{
    /// <summary>Blocks proposed and not yet committed before the proposer waits for a full block.</summary>
    public const int MaxBlocksInFlight = 4;

    private readonly BatchPolicy _batching;
    private readonly PipelineLimits _limits;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // When each of this leader's blocks was proposed (log index → timestamp), to measure propose→commit.
    private readonly Dictionary<ulong, long> _proposedAt = [];

    // The last log index this node proposed (or the last index when it became leader).
    private ulong _lastProposedIndex;

    public BlockProposer(NodeOptions options, TimeProvider time, ILogger logger)
    {
        Pool = new Mempool(options.MempoolCapacity, options.MempoolMaxBytes);
        _limits = options.Pipeline;
        _batching = new BatchPolicy(options.MinBlockTransactions, options.MaxBlockTransactions, options.BlockLatencyGoalMilliseconds);
        _time = time;
        _logger = logger;
    }

    /// <summary>Transactions admitted and not yet proposed.</summary>
    public Mempool Pool { get; }

    /// <summary>The batch policy's current block size target.</summary>
    public int Target => _batching.Target;

    /// <summary>
    /// Cuts blocks while the pipeline has room; calls <paramref name="proposed"/> for each transaction in a block the core
    /// accepted. A refused proposal (back-pressure, a transfer under way) puts its transactions back at the head of the
    /// pool: none is refused to its client, since a refusal must mean it can never commit.
    /// </summary>
    public void Cut(RaftNode raft, CarbonPipeline carbon, Action<VerifiedTransaction> proposed)
    {
        if (raft.Role != Consensus.NodeRole.Leader)
        {
            return;
        }
        while (Pool.Count > 0)
        {
            var inFlight = _lastProposedIndex > raft.CommitIndex ? _lastProposedIndex - raft.CommitIndex : 0;
            if (inFlight >= MaxBlocksInFlight && Pool.Count < _batching.Target)
            {
                return;
            }
            var section = carbon.TakeSection();
            var batch = Pool.Take(_batching.Target, _limits.TransactionBytesFor(section.Length));
            var result = raft.Propose(BlockPayload.Encode(batch, section));
            if (!result.Accepted)
            {
                Pool.Requeue(batch);
                HostLog.ProposalDeferred(_logger, batch.Count, result.Refusal);
                return;
            }
            _lastProposedIndex = result.Index;
            _proposedAt[result.Index] = _time.GetTimestamp();
            foreach (var tx in batch)
            {
                proposed(tx);
            }
        }
    }

    /// <summary>
    /// With no transaction waiting, a block of carbon records alone once records have waited an idle-flush interval for a
    /// transaction block. Such a block closes no metering interval, so it never makes a record of its own: an idle cluster
    /// stays idle.
    /// </summary>
    public void CutCarbonOnly(RaftNode raft, CarbonPipeline carbon)
    {
        carbon.OnRound(raft.Role == Consensus.NodeRole.Leader, raft.Leader);
        if (raft.Role != Consensus.NodeRole.Leader || Pool.Count > 0 || _lastProposedIndex > raft.CommitIndex + MaxBlocksInFlight - 1 || !carbon.CarbonOnlyBlockDue)
        {
            return;
        }
        var result = raft.Propose(BlockPayload.Encode([], carbon.TakeSection()));
        if (result.Accepted)
        {
            _lastProposedIndex = result.Index;
        }
    }

    /// <summary>The block at <paramref name="index"/> was applied: if this node proposed it, the batch policy learns its latency.</summary>
    public void OnApplied(ulong index)
    {
        if (_proposedAt.Remove(index, out var proposedAt))
        {
            _batching.Observe(Pool.Count, _time.GetElapsedTime(proposedAt).TotalMilliseconds);
        }
    }

    /// <summary>This node became leader with <paramref name="lastIndex"/> in its log (its term's no-op).</summary>
    public void OnBecameLeader(ulong lastIndex) => _lastProposedIndex = lastIndex;

    /// <summary>This node stopped leading: nothing it proposed is timed any more; the pool is handed on by the caller.</summary>
    public void OnLeadershipLost() => _proposedAt.Clear();
}
