using System.Collections.Concurrent;
using Aurigraph.Node.Api.V1;

namespace Aurigraph.Node.Transactions;

/// <summary>
/// Clients waiting for their transactions: one completion per transaction id, resolved when the transaction is
/// applied on this node or refused by admission (here or at the leader). Thread-safe.
/// </summary>
internal sealed class SubmissionTracker
{
    private const int RecentRejectionCapacity = 100_000;

    private readonly ConcurrentDictionary<TransactionId, TaskCompletionSource<TransactionResult>> _waiters = new();

    // Rejections are not part of the ledger; the most recent are kept so a client can still look them up.
    private readonly ConcurrentDictionary<TransactionId, TransactionResult> _recentRejections = new();
    private readonly ConcurrentQueue<TransactionId> _rejectionOrder = new();

    public int Count => _waiters.Count;

    public Task<TransactionResult> Wait(TransactionId id) =>
        _waiters.GetOrAdd(id, _ => new TaskCompletionSource<TransactionResult>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public bool IsPending(TransactionId id) => _waiters.ContainsKey(id);

    public void Complete(TransactionId id, TransactionResult result)
    {
        if (_waiters.TryRemove(id, out var waiter))
        {
            waiter.TrySetResult(result);
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
}
