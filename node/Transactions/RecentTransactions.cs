using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Aurigraph.Node.Transactions;

/// <summary>
/// One shard's window of recently admitted transactions: each id with the exact signature bytes that were verified
/// for it. Only a transaction whose signature passed (or, in signature mode none, was accepted as trusted) is ever
/// put here, so a hit with the same signature bytes is the same submission and needs no second check, and a copy of
/// the same body with other signature bytes is answered as the original, with the original's bytes. Bounded: the
/// oldest id is forgotten when the window is full. Owned by one shard's worker: not thread-safe.
/// </summary>
internal sealed class RecentTransactions
{
    private readonly int _capacity;
    private readonly Dictionary<TransactionId, SignatureBytes> _signatures;
    private readonly Queue<TransactionId> _order;

    public RecentTransactions(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _signatures = new Dictionary<TransactionId, SignatureBytes>(capacity);
        _order = new Queue<TransactionId>(capacity);
    }

    public int Count => _signatures.Count;

    /// <summary>
    /// Whether <paramref name="id"/> was admitted here recently. If so, <paramref name="verified"/> is null when
    /// <paramref name="signature"/> is the remembered one, else the remembered (verified) signature bytes, which are the
    /// ones to use: the submission in hand carries a signature nobody checked.
    /// </summary>
    public bool TryGet(TransactionId id, ReadOnlySpan<byte> signature, out byte[]? verified)
    {
        verified = null;
        if (!_signatures.TryGetValue(id, out var known))
        {
            return false;
        }
        if (!known.Equals(signature))
        {
            verified = known.ToArray();
        }
        return true;
    }

    /// <summary>Remembers a verified transaction; a later verified copy of the same id replaces the signature it is known by.</summary>
    public void Add(TransactionId id, ReadOnlySpan<byte> signature)
    {
        var bytes = new SignatureBytes(signature);
        if (_signatures.ContainsKey(id))
        {
            _signatures[id] = bytes;
            return;
        }
        if (_order.Count >= _capacity && _order.TryDequeue(out var oldest))
        {
            _signatures.Remove(oldest);
        }
        _signatures.Add(id, bytes);
        _order.Enqueue(id);
        Debug.Assert(_signatures.Count == _order.Count && _order.Count <= _capacity, "every remembered id is in the eviction order once, within the capacity");
    }

    /// <summary>
    /// An Ed25519 signature held by value (64 bytes). Any other length is kept as its length only: the verifier refuses
    /// every length but 64, so only signature mode none can remember one, and only an empty one matches again.
    /// </summary>
    private readonly struct SignatureBytes
    {
        private readonly Bytes64 _bytes;
        private readonly int _length;

        public SignatureBytes(ReadOnlySpan<byte> signature)
        {
            _length = signature.Length;
            if (signature.Length == TransactionVerifier.SignatureSize)
            {
                signature.CopyTo(_bytes);
            }
        }

        public byte[] ToArray() => _length == TransactionVerifier.SignatureSize ? ((ReadOnlySpan<byte>)_bytes).ToArray() : new byte[_length];

        public bool Equals(ReadOnlySpan<byte> signature) =>
            // no signature (signature mode none) matches no signature; other lengths never match
            signature.Length == _length && (_length == TransactionVerifier.SignatureSize ? ((ReadOnlySpan<byte>)_bytes).SequenceEqual(signature) : _length == 0);
    }

    [InlineArray(TransactionVerifier.SignatureSize)]
    private struct Bytes64
    {
        private byte _first;
    }
}
