using System.Diagnostics;

namespace Aurigraph.Node.Transactions;

/// <summary>
/// The bound on what clients have handed the node that it has not yet placed: a call's transactions count here from the
/// moment it is accepted until the consensus loop takes them into the mempool, or until they are answered without
/// reaching it (refused, duplicates, already committed). Beyond either limit a call is refused whole, before anything
/// about it is remembered, and the client retries; from the mempool on, the mempool's own limits hold.
/// Sizes are a transaction's body plus signature bytes as submitted.
/// </summary>
public sealed class IngressGate
{
    private readonly Lock _gate = new();
    private int _transactions;
    private long _bytes;

    public IngressGate(int maxTransactions, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTransactions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        MaxTransactions = maxTransactions;
        MaxBytes = maxBytes;
    }

    public int MaxTransactions { get; }

    public long MaxBytes { get; }

    /// <summary>Transactions inside the gate now.</summary>
    public int Transactions => Volatile.Read(ref _transactions);

    /// <summary>Bytes inside the gate now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Whether a call of this size could ever enter (one that cannot must be split by its sender).</summary>
    public bool Fits(int transactions, long bytes) => transactions <= MaxTransactions && bytes <= MaxBytes;

    /// <summary>Lets a call in if both limits leave room for all of it; false (nothing taken) otherwise.</summary>
    public bool TryEnter(int transactions, long bytes)
    {
        lock (_gate)
        {
            if (_transactions + (long)transactions > MaxTransactions || _bytes + bytes > MaxBytes)
            {
                return false;
            }
            _transactions += transactions;
            _bytes += bytes;
            return true;
        }
    }

    /// <summary>Gives back what has been placed or answered.</summary>
    public void Leave(int transactions, long bytes)
    {
        if (transactions == 0 && bytes == 0)
        {
            return;
        }
        lock (_gate)
        {
            _transactions -= transactions;
            _bytes -= bytes;
            Debug.Assert(_transactions >= 0 && _bytes >= 0, "nothing leaves the gate that did not enter it");
        }
    }
}
