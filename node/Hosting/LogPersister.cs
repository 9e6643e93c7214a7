using System.Diagnostics;
using Aurigraph.Consensus;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transport;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// The persister stage: writes a Ready's hard state and entries to the raft log (one synced write) and then sends the
/// messages that waited for it (votes, append acknowledgements). Started, it does so on a thread of its own, so the
/// consensus loop keeps taking ticks, heartbeats and submissions while the disk syncs; not started (a harness driving
/// the loop by hand), it writes on the caller's thread and stays deterministic.
/// <para>
/// Its queue holds one write: the core hands out one Ready at a time, and the next waits until the loop saw this one
/// durable (<see cref="TryFinish"/>). That is the stage's back-pressure; peer inputs queue in the loop's inbox meanwhile.
/// </para>
/// </summary>
/// <param name="wake">Wakes the loop once a write is durable (it finishes the Ready in its next round).</param>
internal sealed class LogPersister(RaftLogStorage log, IPeerNetwork transport, StageMeter stages, Action wake) : IDisposable
{
    private readonly RaftLogStorage _log = log;
    private readonly IPeerNetwork _transport = transport;
    private readonly StageMeter _stages = stages;
    private readonly Action _wake = wake;
    private readonly SemaphoreSlim _work = new(0);
    private Thread? _thread;
    private volatile bool _stopping;

    // The write in progress (loop-owned: set by Begin, cleared by TryFinish) and what waits for it.
    private LogWrite? _write;
    private IReadOnlyList<Message> _after = [];
    private bool _hasEntries;

    // Set by the persister thread when _write is durable and _after sent (or it failed); read by the loop.
    private volatile bool _done;
    private Exception? _failure;

    /// <summary>A write is in progress: the loop may not take another Ready until <see cref="TryFinish"/> says it is done.</summary>
    public bool Busy => _write is not null;

    /// <summary>Starts the persister's thread; from now on <see cref="Begin"/> returns before the write is durable.</summary>
    public void Start()
    {
        Debug.Assert(_thread is null, "started once");
        _thread = new Thread(Run) { IsBackground = true, Name = "log-persist" };
        _thread.Start();
    }

    /// <summary>
    /// Hands a prepared write and the messages that wait for it to the stage. Not started, the write is durable and the
    /// messages sent when this returns; started, when <see cref="TryFinish"/> returns true.
    /// </summary>
    public void Begin(LogWrite write, IReadOnlyList<Message> afterPersist, bool hasEntries)
    {
        Debug.Assert(_write is null, "one write at a time");
        _write = write;
        _after = afterPersist;
        _hasEntries = hasEntries;
        _done = false;
        if (_thread is null)
        {
            Persist(); // inline: throws on the caller's thread
            return;
        }
        _work.Release();
    }

    /// <summary>
    /// On the loop: true once the write in progress is durable and its messages sent; then the log's in-memory view
    /// takes it on and the stage is free. Rethrows a failed write (the node must stop: nothing after it may be acknowledged).
    /// </summary>
    public bool TryFinish()
    {
        Debug.Assert(_write is not null, "a write in progress");
        if (!_done)
        {
            return false;
        }
        if (_failure is { } failure)
        {
            throw new StorageException($"the raft log write failed: {failure.Message}", failure);
        }
        var write = _write!;
        _write = null;
        _after = [];
        _log.Complete(write);
        write.Dispose();
        return true;
    }

    private void Run()
    {
        while (true)
        {
            _work.Wait();
            if (_stopping)
            {
                return;
            }
            try
            {
                Persist();
            }
            catch (Exception ex)
            {
                _failure = ex;
                _done = true;
            }
            _wake();
        }
    }

    private void Persist()
    {
        var started = _stages.Start();
        FaultPoints.Hit(FaultPoints.BeforeLogWrite);
        _log.Write(_write!);
        FaultPoints.Hit(FaultPoints.AfterLogWrite);
        if (_hasEntries || _after.Count > 0)
        {
            // Durable but not yet acknowledged: a follower's acknowledgements below, or the leader's own count
            // at Advance, are what let the entries commit.
            FaultPoints.Hit(FaultPoints.BeforeCommit);
        }
        started = _stages.Lap(PipelineStage.LogPersist, started);
        foreach (var m in _after)
        {
            _transport.Send(m);
        }
        _stages.Lap(PipelineStage.ReplicationSend, started);
        _done = true;
    }

    /// <summary>Stops the thread (after the loop stopped); a write it is in the middle of completes first.</summary>
    public void Dispose()
    {
        _stopping = true;
        if (_thread is not null)
        {
            _work.Release();
            _thread.Join();
        }
        _work.Dispose();
    }
}
