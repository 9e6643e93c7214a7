using System.Collections.Concurrent;
using System.Diagnostics;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// The notifier stage: once a round of blocks is applied and written, it answers the clients that wait for their
/// transactions (COMMITTED with height, index and receipt), counts them, and publishes the blocks to the block feed.
/// Started, it does so on a thread of its own, so building answers never holds the consensus loop; not started (a
/// harness), on the caller's thread. Its queue is bounded (<see cref="Capacity"/> rounds): when it is full the loop waits
/// for room, as it would have waited doing the work itself. The loop keeps what is its own (the mempool's nonces, the
/// forwarding sets); everything here is thread-safe to answer from another thread.
/// </summary>
internal sealed class CommitNotifier(SubmissionTracker tracker, BlockFeed feed, NodeMetrics metrics, StageMeter stages) : IDisposable
{
    /// <summary>Applied rounds that may wait for the notifier.</summary>
    public const int Capacity = 64;

    private readonly SubmissionTracker _tracker = tracker;
    private readonly BlockFeed _feed = feed;
    private readonly NodeMetrics _metrics = metrics;
    private readonly StageMeter _stages = stages;
    private readonly BlockingCollection<List<(AppliedBlock Block, ReadOnlyMemory<byte> Payload)>> _rounds = new(Capacity);
    private Thread? _thread;

    /// <summary>Starts the notifier's thread; from now on <see cref="Notify"/> returns before the clients are answered.</summary>
    public void Start()
    {
        Debug.Assert(_thread is null, "started once");
        _thread = new Thread(Run) { IsBackground = true, Name = "commit-notify" };
        _thread.Start();
    }

    /// <summary>Hands a round of applied blocks (durable, in log order) to the stage; waits while the queue is full.</summary>
    public void Notify(List<(AppliedBlock Block, ReadOnlyMemory<byte> Payload)> applied)
    {
        if (_thread is null)
        {
            Answer(applied);
            return;
        }
        try
        {
            _rounds.Add(applied);
        }
        catch (InvalidOperationException)
        {
            // Stopping: the node's clients are told it is stopping, and a restart answers from the store.
        }
    }

    private void Run()
    {
        foreach (var applied in _rounds.GetConsumingEnumerable())
        {
            var started = _stages.Start();
            Answer(applied);
            _stages.Lap(PipelineStage.Completion, started);
        }
    }

    private void Answer(List<(AppliedBlock Block, ReadOnlyMemory<byte> Payload)> applied)
    {
        foreach (var (block, payload) in applied)
        {
            for (var i = 0; i < block.TransactionIds.Length; i++)
            {
                _tracker.Complete(block.TransactionIds[i], static c => Committed(c.block, c.i), (block, i));
            }
            _metrics.TransactionsCommitted.Add(block.TransactionIds.Length);
            if (_feed.HasSubscribers)
            {
                _feed.Publish(LedgerStore.ToBlock(block, payload));
            }
        }
    }

    private static Api.V1.TransactionResult Committed(AppliedBlock block, int index) => new()
    {
        TxId = block.TransactionIds[index].ToString(),
        State = Api.V1.TransactionState.Committed,
        Height = block.Height,
        Index = (uint)index,
        Receipt = new Api.V1.Receipt { Success = block.Receipts[index].Success, FailureReason = block.Receipts[index].FailureReason ?? "" },
    };

    /// <summary>Answers what is queued, then stops the thread (after the loop stopped).</summary>
    public void Dispose()
    {
        _rounds.CompleteAdding();
        _thread?.Join();
        _rounds.Dispose();
    }
}
