using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Aurigraph.Consensus;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Ledger;

namespace Aurigraph.Node.Hosting;

/// <summary>What the applier has applied and written: the state reads, snapshots and the published view are taken at.</summary>
/// <param name="Index">The raft index of the last entry applied and written (with the state, in one batch).</param>
internal sealed record AppliedState(ulong Index, ulong Height, byte[] StateRoot, byte[] LastBlockHash);

/// <summary>A run of committed entries the applier finished (applied, written, handed to the notifier), for the loop's bookkeeping.</summary>
internal sealed record AppliedRun(List<(AppliedBlock Block, ReadOnlyMemory<byte> Payload)> Blocks, ulong LastIndex);

/// <summary>
/// The applier stage on a thread of its own: the consensus loop hands it runs of committed entries and goes on taking
/// ticks, heartbeats, acknowledgements and submissions while it applies and writes them. It owns the ledger: everything
/// that reads the ledger as of an index (reads, snapshot captures) runs here too, queued behind the runs before it, so
/// it sees exactly the state after them. Not started (a harness driving the loop by hand), every call runs on the
/// caller's thread and stays deterministic.
/// <para>
/// Bounds: at most <see cref="RunCapacity"/> runs wait or run (the loop asks the core to hold committed entries back
/// while <see cref="Full"/>: <see cref="Consensus.RaftNode.HoldCommitted"/>), one more at most from a Ready whose write
/// was in flight; each run is at most <see cref="NodeOptions.CommittedBytesPerReady"/>. Reads are bounded upstream by
/// the API's read limit. When the notifier's queue is full this stage waits, so back-pressure reaches the loop as
/// <see cref="Full"/>, never as memory.
/// </para>
/// </summary>
internal sealed class ApplyStage : IDisposable
{
    /// <summary>Runs that may wait for or be in the applier at once.</summary>
    public const int RunCapacity = 2;

    private readonly IRunApplier _applier;
    private readonly CommitNotifier _notifier;
    private readonly StageMeter _stages;
    private readonly Action<Action> _post;
    private readonly Action<AppliedRun> _onApplied;

    // Guarded by _sync (a monitor: the thread and Drain wait on it).
    private readonly object _sync = new();
    private readonly Queue<Work> _queue = new();
    private bool _busy;
    private bool _stopping;
    private Exception? _failure;

    private int _runs; // runs queued or in progress (started only)
    private Thread? _thread;
    private AppliedState _state;

    /// <param name="post">Queues an action for the consensus loop (its inbox).</param>
    /// <param name="onApplied">The loop's bookkeeping for a finished run; runs on the loop (through <paramref name="post"/>).</param>
    public ApplyStage(IRunApplier applier, CommitNotifier notifier, StageMeter stages, AppliedState initial, Action<Action> post, Action<AppliedRun> onApplied)
    {
        _applier = applier;
        _notifier = notifier;
        _stages = stages;
        _state = initial;
        _post = post;
        _onApplied = onApplied;
    }

    /// <summary>The state after the last run applied and written (any thread).</summary>
    public AppliedState State => Volatile.Read(ref _state);

    /// <summary>The latest paranoid-check failure since start, or null.</summary>
    public string? IntegrityAlarm => _applier.IntegrityAlarm;

    /// <summary>No room for another run: the loop holds committed entries back until a run finishes (it is woken then).</summary>
    public bool Full => Volatile.Read(ref _runs) >= RunCapacity;

    public void Start()
    {
        Debug.Assert(_thread is null, "started once");
        _thread = new Thread(Run) { IsBackground = true, Name = "block-apply" };
        _thread.Start();
    }

    /// <summary>On the loop: applies <paramref name="entries"/> (committed, durable here, in log order) after the runs before them.</summary>
    public void Apply(IReadOnlyList<Entry> entries)
    {
        Debug.Assert(entries.Count > 0, "a run has entries");
        if (_thread is null)
        {
            _onApplied(Execute(entries));
            return;
        }
        Interlocked.Increment(ref _runs);
        Enqueue(new Work(entries, null, null));
    }

    /// <summary>
    /// On the loop: runs <paramref name="action"/> on the applier once every run handed to it before has been applied
    /// (a read at an index, a snapshot capture); <paramref name="fail"/> gets the reason when it never will run.
    /// </summary>
    public void Run(Action action, Action<string> fail)
    {
        if (_thread is null)
        {
            action();
            return;
        }
        Enqueue(new Work(null, action, fail));
    }

    /// <summary>
    /// On the loop: waits until everything handed to the applier is done (before a snapshot replaces the ledger); the
    /// ledger is then the caller's until it hands the applier more. Rethrows the applier's failure.
    /// </summary>
    public void Drain()
    {
        if (_thread is null)
        {
            return;
        }
        lock (_sync)
        {
            while ((_queue.Count > 0 || _busy) && _failure is null)
            {
                Monitor.Wait(_sync);
            }
            if (_failure is { } failure)
            {
                throw new InvalidOperationException($"the applier failed: {failure.Message}", failure);
            }
        }
    }

    /// <summary>On the loop, drained: the ledger was replaced (a snapshot install); this is its state now.</summary>
    public void Reset(AppliedState state)
    {
        Debug.Assert(_thread is null || (_queue.Count == 0 && !_busy), "only while nothing is applied");
        Volatile.Write(ref _state, state);
    }

    private void Enqueue(Work work)
    {
        lock (_sync)
        {
            if (_failure is not null || _stopping)
            {
                work.Fail?.Invoke(_failure is null ? "the node is stopping" : "the node stopped applying blocks");
                return;
            }
            _queue.Enqueue(work);
            Monitor.PulseAll(_sync);
        }
    }

    private void Run()
    {
        while (true)
        {
            Work work;
            lock (_sync)
            {
                while (_queue.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_sync);
                }
                if (_stopping)
                {
                    FailQueued("the node is stopping");
                    return;
                }
                work = _queue.Dequeue();
                _busy = true;
            }
            try
            {
                if (work.Entries is { } entries)
                {
                    var run = Execute(entries);
                    Interlocked.Decrement(ref _runs);
                    _post(() => _onApplied(run)); // also wakes the loop, which may be holding committed entries back
                }
                else
                {
                    work.Action!();
                }
            }
            catch (Exception ex)
            {
                lock (_sync)
                {
                    _failure = ex;
                    _busy = false;
                    FailQueued("the node stopped applying blocks");
                    Monitor.PulseAll(_sync);
                }
                // The loop rethrows it and stops: nothing after a block that could not be applied may be.
                _post(() => ExceptionDispatchInfo.Throw(ex));
                return;
            }
            lock (_sync)
            {
                _busy = false;
                Monitor.PulseAll(_sync);
            }
        }
    }

    /// <summary>Applies and writes a run, publishes its state, and hands its blocks to the notifier.</summary>
    private AppliedRun Execute(IReadOnlyList<Entry> entries)
    {
        FaultPoints.Hit(FaultPoints.BeforeApply);
        var lapAt = _stages.Start();
        var applied = _applier.Apply(entries, ref lapAt);
        var last = entries[^1].Index;
        var state = State;
        Volatile.Write(ref _state, applied.Count > 0
            ? new AppliedState(last, applied[^1].Block.Height, applied[^1].Block.StateRoot, applied[^1].Block.Hash)
            : state with { Index = last });
        _notifier.Notify(applied); // the clients' answers and the block feed, off this thread; waits while its queue is full
        _stages.Lap(PipelineStage.Completion, lapAt);
        return new AppliedRun(applied, last);
    }

    private void FailQueued(string reason)
    {
        while (_queue.TryDequeue(out var work))
        {
            work.Fail?.Invoke(reason);
        }
    }

    /// <summary>Stops the thread (after the loop stopped); a run it is in the middle of completes first.</summary>
    public void Dispose()
    {
        if (_thread is null)
        {
            return;
        }
        lock (_sync)
        {
            _stopping = true;
            Monitor.PulseAll(_sync);
        }
        _thread.Join();
    }

    /// <summary>A run of entries to apply, or an action to run after the runs before it.</summary>
    private readonly record struct Work(IReadOnlyList<Entry>? Entries, Action? Action, Action<string>? Fail);
}
