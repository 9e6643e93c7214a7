using System.Buffers.Binary;
using System.Diagnostics;

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
        private readonly ulong _s0, _s1, _s2, _s3, _s4, _s5, _s6, _s7;
        private readonly int _length;

        public SignatureBytes(ReadOnlySpan<byte> signature)
        {
            _length = signature.Length;
            if (signature.Length != TransactionVerifier.SignatureSize)
            {
                return;
            }
            _s0 = BinaryPrimitives.ReadUInt64LittleEndian(signature);
            _s1 = BinaryPrimitives.ReadUInt64LittleEndian(signature[8..]);
            _s2 = BinaryPrimitives.ReadUInt64LittleEndian(signature[16..]);
            _s3 = BinaryPrimitives.ReadUInt64LittleEndian(signature[24..]);
            _s4 = BinaryPrimitives.ReadUInt64LittleEndian(signature[32..]);
            _s5 = BinaryPrimitives.ReadUInt64LittleEndian(signature[40..]);
            _s6 = BinaryPrimitives.ReadUInt64LittleEndian(signature[48..]);
            _s7 = BinaryPrimitives.ReadUInt64LittleEndian(signature[56..]);
        }

        public byte[] ToArray()
        {
            var bytes = new byte[_length];
            if (_length == TransactionVerifier.SignatureSize)
            {
                var span = bytes.AsSpan();
                BinaryPrimitives.WriteUInt64LittleEndian(span, _s0);
                BinaryPrimitives.WriteUInt64LittleEndian(span[8..], _s1);
                BinaryPrimitives.WriteUInt64LittleEndian(span[16..], _s2);
                BinaryPrimitives.WriteUInt64LittleEndian(span[24..], _s3);
                BinaryPrimitives.WriteUInt64LittleEndian(span[32..], _s4);
                BinaryPrimitives.WriteUInt64LittleEndian(span[40..], _s5);
                BinaryPrimitives.WriteUInt64LittleEndian(span[48..], _s6);
                BinaryPrimitives.WriteUInt64LittleEndian(span[56..], _s7);
            }
            return bytes;
        }

        public bool Equals(ReadOnlySpan<byte> signature)
        {
            if (signature.Length != _length)
            {
                return false;
            }
            if (_length != TransactionVerifier.SignatureSize)
            {
                return _length == 0; // no signature (signature mode none) matches no signature; other lengths never match
            }
            var other = new SignatureBytes(signature);
            return _s0 == other._s0 && _s1 == other._s1 && _s2 == other._s2 && _s3 == other._s3
                && _s4 == other._s4 && _s5 == other._s5 && _s6 == other._s6 && _s7 == other._s7;
        }
    }
}
