namespace Aurigraph.Node.Transactions;

/// <summary>
/// The leader's queue of admitted transactions waiting for a block. Bounded; enforces each sender's nonce
/// sequence (a replayed or out-of-order nonce is refused here, before it can reach a block). Owned by the
/// consensus loop: not thread-safe.
/// </summary>
internal sealed class Mempool(int capacity)
{
    private readonly Queue<VerifiedTransaction> _queue = new();
    private readonly HashSet<TransactionId> _ids = [];

    // Next nonce per sender counting transactions already queued or proposed but not yet applied.
    private readonly Dictionary<string, ulong> _nextNonce = new(StringComparer.Ordinal);

    public int Count => _queue.Count;

    public int Capacity { get; } = capacity;

    public bool Contains(TransactionId id) => _ids.Contains(id);

    /// <summary>Admits a transaction, or says why not. <paramref name="ledgerNonce"/> is the sender's applied nonce.</summary>
    public string? TryAdd(VerifiedTransaction tx, ulong ledgerNonce)
    {
        if (_queue.Count >= Capacity)
        {
            return "mempool full";
        }
        if (!_ids.Add(tx.Id))
        {
            return null; // already queued: the same submission twice is one transaction
        }
        var sender = Convert.ToHexString(tx.Body.Sender.Span);
        var expected = _nextNonce.TryGetValue(sender, out var pending) ? Math.Max(pending, ledgerNonce) : ledgerNonce;
        if (tx.Body.Nonce != expected)
        {
            _ids.Remove(tx.Id);
            return tx.Body.Nonce < expected
                ? $"nonce {tx.Body.Nonce} already used (next is {expected})"
                : $"out-of-order nonce: expected {expected}, got {tx.Body.Nonce}";
        }
        _nextNonce[sender] = expected + 1;
        _queue.Enqueue(tx);
        return null;
    }

    /// <summary>Takes up to <paramref name="max"/> transactions, oldest first, for the next block.</summary>
    public List<VerifiedTransaction> Take(int max)
    {
        var batch = new List<VerifiedTransaction>(Math.Min(max, _queue.Count));
        while (batch.Count < max && _queue.TryDequeue(out var tx))
        {
            _ids.Remove(tx.Id);
            batch.Add(tx);
        }
        return batch;
    }

    /// <summary>Empties the pool (leadership lost): returns what was waiting so its submitters can be told.</summary>
    public List<VerifiedTransaction> Clear()
    {
        var all = _queue.ToList();
        _queue.Clear();
        _ids.Clear();
        _nextNonce.Clear();
        return all;
    }

    /// <summary>Forgets sequencing state for senders whose applied nonce caught up.</summary>
    public void OnApplied(Func<byte[], ulong> ledgerNonce, IEnumerable<byte[]?> senders)
    {
        ArgumentNullException.ThrowIfNull(ledgerNonce);
        ArgumentNullException.ThrowIfNull(senders);
        if (_nextNonce.Count == 0)
        {
            return;
        }
        foreach (var key in senders)
        {
            if (key is null)
            {
                continue;
            }
            var sender = Convert.ToHexString(key);
            if (_nextNonce.TryGetValue(sender, out var next) && next <= ledgerNonce(key))
            {
                _nextNonce.Remove(sender);
            }
        }
    }
}
