using Aurigraph.Node.Ledger;

namespace Aurigraph.Node.Transactions;

/// <summary>
/// The leader's queue of admitted transactions waiting for a block. Bounded by count and by bytes (a full pool
/// refuses with <see cref="FullReason"/>, never drops silently); enforces each sender's nonce sequence (a replayed
/// or out-of-order nonce is refused here, before it can reach a block); keeps each sender's transactions in FIFO
/// order and takes them round-robin across senders, so one busy sender cannot starve the others out of a block.
/// Owned by the consensus loop: not thread-safe.
/// </summary>
internal sealed class Mempool(int capacity, long maxBytes = long.MaxValue)
{
    /// <summary>Reason given when the pool is full; the API turns it into RESOURCE_EXHAUSTED with a retry hint.</summary>
    public const string FullReason = "mempool full";

    // Keyed by the sender's 32-byte key held by value: no string or array per transaction.
    private readonly Dictionary<AccountKey, Queue<VerifiedTransaction>> _bySender = [];

    // Senders with queued transactions, in the order they are served next.
    private readonly Queue<AccountKey> _ready = new();
    private readonly HashSet<TransactionId> _ids = [];

    // Next nonce per sender counting transactions already queued or proposed but not yet applied.
    private readonly Dictionary<AccountKey, ulong> _nextNonce = [];

    public int Count { get; private set; }

    public long Bytes { get; private set; }

    public int Capacity { get; } = capacity;

    public long MaxBytes { get; } = maxBytes;

    /// <summary>Admits a transaction, or says why not. <paramref name="ledgerNonce"/> is the sender's applied nonce.</summary>
    public string? TryAdd(VerifiedTransaction tx, ulong ledgerNonce)
    {
        ArgumentNullException.ThrowIfNull(tx);
        if (Count >= Capacity || (Count > 0 && Bytes + tx.Size > MaxBytes))
        {
            return FullReason;
        }
        if (!_ids.Add(tx.Id))
        {
            return null; // already queued: the same submission twice is one transaction
        }
        var sender = new AccountKey(tx.Sender.Span);
        var expected = _nextNonce.TryGetValue(sender, out var pending) ? Math.Max(pending, ledgerNonce) : ledgerNonce;
        if (tx.Nonce != expected)
        {
            _ids.Remove(tx.Id);
            return tx.Nonce < expected
                ? $"nonce {tx.Nonce} already used (next is {expected})"
                : $"out-of-order nonce: expected {expected}, got {tx.Nonce}";
        }
        _nextNonce[sender] = expected + 1;
        if (!_bySender.TryGetValue(sender, out var queue))
        {
            queue = new Queue<VerifiedTransaction>();
            _bySender[sender] = queue;
        }
        if (queue.Count == 0)
        {
            _ready.Enqueue(sender);
        }
        queue.Enqueue(tx);
        Count++;
        Bytes += tx.Size;
        return null;
    }

    /// <summary>
    /// Takes up to <paramref name="max"/> transactions for the next block, whose block framing
    /// (<see cref="BlockPayload.FramedBytes"/> each) stays within
    /// <paramref name="maxBytes"/>: one from each waiting sender in turn, each sender's in nonce order. The first
    /// transaction is always taken (a block of one must be possible: the limits guarantee a largest one fits).
    /// </summary>
    public List<VerifiedTransaction> Take(int max, long maxBytes = long.MaxValue)
    {
        var batch = new List<VerifiedTransaction>(Math.Min(max, Count));
        long bytes = 0;
        while (batch.Count < max && _ready.TryPeek(out var sender))
        {
            var queue = _bySender[sender];
            var framed = BlockPayload.FramedBytes(queue.Peek());
            if (batch.Count > 0 && bytes + framed > maxBytes)
            {
                break;
            }
            bytes += framed;
            _ready.Dequeue();
            var tx = queue.Dequeue();
            _ids.Remove(tx.Id);
            Count--;
            Bytes -= tx.Size;
            batch.Add(tx);
            if (queue.Count > 0)
            {
                _ready.Enqueue(sender);
            }
            else
            {
                _bySender.Remove(sender);
            }
        }
        return batch;
    }

    /// <summary>
    /// Puts a batch that <see cref="Take"/> returned and that could not be proposed back at the head of the pool, each
    /// sender's transactions before its later ones and in their order, its senders served first. The nonce sequence
    /// is unchanged: these transactions still hold the nonces they were admitted with. May exceed the capacity by
    /// at most the batch (it was in the pool a moment ago).
    /// </summary>
    public void Requeue(List<VerifiedTransaction> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }
        var heads = new Dictionary<AccountKey, Queue<VerifiedTransaction>>();
        var order = new List<AccountKey>();
        foreach (var tx in batch)
        {
            var sender = new AccountKey(tx.Sender.Span);
            if (!heads.TryGetValue(sender, out var head))
            {
                head = new Queue<VerifiedTransaction>();
                heads[sender] = head;
                order.Add(sender);
            }
            head.Enqueue(tx);
            _ids.Add(tx.Id);
            Count++;
            Bytes += tx.Size;
        }
        var ready = new List<AccountKey>(order);
        foreach (var sender in _ready)
        {
            if (!heads.ContainsKey(sender))
            {
                ready.Add(sender);
            }
        }
        foreach (var sender in order)
        {
            var head = heads[sender];
            if (_bySender.TryGetValue(sender, out var rest))
            {
                foreach (var tx in rest)
                {
                    head.Enqueue(tx);
                }
            }
            _bySender[sender] = head;
        }
        _ready.Clear();
        foreach (var sender in ready)
        {
            _ready.Enqueue(sender);
        }
    }

    /// <summary>Empties the pool (leadership lost): returns what was waiting so its submitters can be told.</summary>
    public List<VerifiedTransaction> Clear()
    {
        var all = _bySender.Values.SelectMany(q => q).ToList();
        _bySender.Clear();
        _ready.Clear();
        _ids.Clear();
        _nextNonce.Clear();
        Count = 0;
        Bytes = 0;
        return all;
    }

    /// <summary>Forgets sequencing state for senders whose applied nonce caught up.</summary>
    public void OnApplied(Func<ReadOnlySpan<byte>, ulong> ledgerNonce, Ledger.SenderList senders)
    {
        ArgumentNullException.ThrowIfNull(ledgerNonce);
        ArgumentNullException.ThrowIfNull(senders);
        if (_nextNonce.Count == 0)
        {
            return;
        }
        for (var i = 0; i < senders.Count; i++)
        {
            // The senders are slices of the block: copied only for a sender this mempool tracks.
            if (!senders.TryGet(i, out var key) || key.Length != AccountKey.Size)
            {
                continue;
            }
            var sender = new AccountKey(key);
            if (_nextNonce.TryGetValue(sender, out var next) && next <= ledgerNonce(key))
            {
                _nextNonce.Remove(sender);
            }
        }
    }
}
