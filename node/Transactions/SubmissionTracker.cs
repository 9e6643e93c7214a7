using System.Collections.Concurrent;
using Aurigraph.Node.Api.V1;

namespace Aurigraph.Node.Transactions;

/// <summary>
/// The transactions of one client call still waiting for their outcome: one completion for the whole call, set
/// when the last of its transactions is applied or refused. Thread-safe.
/// </summary>
internal sealed class BatchWait(int count)
{
    private int _remaining = count;

    // What admission handed on to the consensus loop (transactions, bytes): it leaves the ingress gate there, the rest here.
    private int _passedOn;
    private long _passedOnBytes;

    public int PassedOn => Volatile.Read(ref _passedOn);

    public long PassedOnBytes => Interlocked.Read(ref _passedOnBytes);

    /// <summary>Records transactions handed to the loop (called from admission shards, concurrently).</summary>
    public void HandedOn(int transactions, long bytes)
    {
        Interlocked.Add(ref _passedOn, transactions);
        Interlocked.Add(ref _passedOnBytes, bytes);
    }

    public TransactionResult?[] Results { get; } = new TransactionResult?[count];

    private readonly TaskCompletionSource _done = NewCompletion(count);

    /// <summary>Completes when every registered transaction has its result.</summary>
    public Task Completion => _done.Task;

    /// <summary>A slot that will not be waited for (answered at once, or not a transaction).</summary>
    public void Skip(int index, TransactionResult? result)
    {
        Results[index] = result;
        Done();
    }

    public void Set(int index, TransactionResult result)
    {
        Volatile.Write(ref Results[index], result);
        Done();
    }

    private void Done()
    {
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _done.TrySetResult();
        }
    }

    private static TaskCompletionSource NewCompletion(int count)
    {
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (count == 0)
        {
            completion.SetResult();
        }
        return completion;
    }
}

/// <summary>
/// Clients waiting for their transactions: each waiting transaction points at the slots of the calls that wait
/// for it, resolved when it is applied on this node or refused by admission (here or at the leader). Results are
/// built only for transactions someone waits for. Thread-safe.
/// </summary>
internal sealed class SubmissionTracker
{
    private const int RecentRejectionCapacity = 100_000;

    private readonly ConcurrentDictionary<TransactionId, Waiters> _waiters = new();

    // Rejections are not part of the ledger; the most recent are kept so a client can still look them up.
    private readonly ConcurrentDictionary<TransactionId, TransactionResult> _recentRejections = new();
    private readonly ConcurrentQueue<TransactionId> _rejectionOrder = new();

    public int Count => _waiters.Count;

    /// <summary>
    /// Registers slot <paramref name="index"/> of <paramref name="batch"/> as waiting for <paramref name="id"/>.
    /// Returns true if the transaction was not waited for before (the caller admits it), false if another call
    /// already waits for it (the slot shares that outcome).
    /// </summary>
    public bool Wait(TransactionId id, BatchWait batch, int index)
    {
        ArgumentNullException.ThrowIfNull(batch);
        while (true)
        {
            var created = false;
            var waiters = _waiters.GetOrAdd(id, _ =>
            {
                created = true;
                return new Waiters();
            });
            lock (waiters)
            {
                if (!waiters.Closed)
                {
                    waiters.Add(batch, index);
                    return created;
                }
            }
            // Completed between lookup and registration: its entry is gone; register afresh.
        }
    }

    public bool IsPending(TransactionId id) => _waiters.ContainsKey(id);

    /// <summary>
    /// Registers the slot as waiting for <paramref name="id"/> only if another call already waits for it; returns
    /// whether it did. Never makes a transaction pending that was not.
    /// </summary>
    public bool Join(TransactionId id, BatchWait batch, int index)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!_waiters.TryGetValue(id, out var waiters))
        {
            return false;
        }
        lock (waiters)
        {
            if (waiters.Closed)
            {
                return false;
            }
            waiters.Add(batch, index);
            return true;
        }
    }

    /// <summary>
    /// The call that registered slot <paramref name="index"/> of <paramref name="batch"/> stopped waiting (its commit
    /// timeout passed): the slot is forgotten, and once nobody waits for <paramref name="id"/> the transaction is no
    /// longer pending here — this node stops re-forwarding it, and keeps no state for it. Bounds the tracker by the
    /// calls in progress.
    /// </summary>
    public void Abandon(TransactionId id, BatchWait batch, int index)
    {
        if (!_waiters.TryGetValue(id, out var waiters))
        {
            return;
        }
        lock (waiters)
        {
            if (waiters.Closed || !waiters.Remove(batch, index) || !waiters.IsEmpty)
            {
                return;
            }
            waiters.Closed = true; // a concurrent Wait registers afresh once the entry is gone
        }
        _waiters.TryRemove(new KeyValuePair<TransactionId, Waiters>(id, waiters));
    }

    public void Complete(TransactionId id, TransactionResult result)
    {
        if (_waiters.TryRemove(id, out var waiters))
        {
            waiters.Close(result);
        }
    }

    /// <summary>Completes a committed transaction, building its result only if someone waits for it.</summary>
    public void Complete<TState>(TransactionId id, Func<TState, TransactionResult> result, TState state)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (_waiters.TryRemove(id, out var waiters))
        {
            waiters.Close(result(state));
        }
    }

    public void Reject(TransactionId id, string reason)
    {
        var result = new TransactionResult { TxId = id.ToString(), State = TransactionState.Rejected, RejectReason = reason };
        if (_recentRejections.TryAdd(id, result))
        {
            _rejectionOrder.Enqueue(id);
            while (_rejectionOrder.Count > RecentRejectionCapacity && _rejectionOrder.TryDequeue(out var old))
            {
                _recentRejections.TryRemove(old, out _);
            }
        }
        else
        {
            _recentRejections[id] = result;
        }
        Complete(id, result);
    }

    public TransactionResult? RecentRejection(TransactionId id) => _recentRejections.TryGetValue(id, out var r) ? r : null;

    /// <summary>A resubmitted transaction starts afresh: an old rejection no longer describes it.</summary>
    public void ClearRejection(TransactionId id) => _recentRejections.TryRemove(id, out _);

    /// <summary>The calls waiting for one transaction; almost always exactly one.</summary>
    private sealed class Waiters
    {
        private BatchWait? _first;
        private int _firstIndex;
        private List<(BatchWait Batch, int Index)>? _more;

        public bool Closed { get; set; }

        public bool IsEmpty => _first is null && (_more is null || _more.Count == 0);

        /// <summary>Removes one registered slot; false if it was not registered.</summary>
        public bool Remove(BatchWait batch, int index)
        {
            if (_first == batch && _firstIndex == index)
            {
                _first = null;
                if (_more is { Count: > 0 })
                {
                    (_first, _firstIndex) = _more[^1];
                    _more.RemoveAt(_more.Count - 1);
                }
                return true;
            }
            return _more is not null && _more.Remove((batch, index));
        }

        public void Add(BatchWait batch, int index)
        {
            if (_first is null)
            {
                _first = batch;
                _firstIndex = index;
            }
            else
            {
                (_more ??= []).Add((batch, index));
            }
        }

        public void Close(TransactionResult result)
        {
            lock (this)
            {
                if (Closed)
                {
                    return;
                }
                Closed = true;
            }
            _first?.Set(_firstIndex, result);
            if (_more is not null)
            {
                foreach (var (batch, index) in _more)
                {
                    batch.Set(index, result);
                }
            }
        }
    }
}
