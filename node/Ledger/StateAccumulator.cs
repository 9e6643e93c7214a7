using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Aurigraph.Node.Ledger;

/// <summary>A multiset hash: the sum, mod 2^256, of SHA-256 over each (key, value) record. Order-independent and incremental.</summary>
/// <remarks>
/// A record's digest is SHA-256 over <c>u32 big-endian key length | key | value</c>. Because the sum is commutative and
/// adding then removing a record cancels, a block may add each record's final value once and remove its value from
/// before the block once, in any order and on any thread, and reach the same sum as every intermediate write would.
/// </remarks>
internal sealed class StateAccumulator
{
    private readonly ulong[] _limbs = new ulong[4];

    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Combine(default, key, value, subtract: false);

    public void Remove(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Combine(default, key, value, subtract: true);

    /// <summary>Adds the record whose key is <paramref name="prefix"/> followed by <paramref name="id"/>, without building the key.</summary>
    public void Add(byte prefix, ReadOnlySpan<byte> id, ReadOnlySpan<byte> value) => Combine(new(true, prefix), id, value, subtract: false);

    /// <summary>Removes the record whose key is <paramref name="prefix"/> followed by <paramref name="id"/>.</summary>
    public void Remove(byte prefix, ReadOnlySpan<byte> id, ReadOnlySpan<byte> value) => Combine(new(true, prefix), id, value, subtract: true);

    public void Clear() => Array.Clear(_limbs);

    /// <summary>Adds another accumulator's sum (mod 2^256): merges a delta computed on its own.</summary>
    public void Add(StateAccumulator other) => AddLimbs(other._limbs);

    public void WriteTo(Span<byte> destination)
    {
        for (var i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination[(i * 8)..], _limbs[i]);
        }
    }

    private readonly record struct Prefix(bool Present, byte Value);

    private void Combine(Prefix prefix, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool subtract)
    {
        // SHA-256 over (u32 key length | key | value), hashed in one call from a stack or pooled buffer.
        var keyLength = key.Length + (prefix.Present ? 1 : 0);
        var size = 4 + keyLength + value.Length;
        byte[]? rented = null;
        var buffer = size <= 512 ? stackalloc byte[size] : (rented = ArrayPool<byte>.Shared.Rent(size)).AsSpan(0, size);
        BinaryPrimitives.WriteInt32BigEndian(buffer, keyLength);
        var at = 4;
        if (prefix.Present)
        {
            buffer[at++] = prefix.Value;
        }
        key.CopyTo(buffer[at..]);
        value.CopyTo(buffer[(4 + keyLength)..]);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(buffer, digest);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
        Span<ulong> limbs = stackalloc ulong[4];
        for (var i = 0; i < 4; i++)
        {
            limbs[i] = BinaryPrimitives.ReadUInt64BigEndian(digest[(i * 8)..]);
        }
        if (subtract)
        {
            SubtractLimbs(limbs);
        }
        else
        {
            AddLimbs(limbs);
        }
    }

    // Limb 3 is least significant; carries and borrows ripple towards limb 0 and off the top (mod 2^256).
    private void AddLimbs(ReadOnlySpan<ulong> other)
    {
        ulong carry = 0;
        for (var i = 3; i >= 0; i--)
        {
            var d = other[i];
            var sum = _limbs[i] + d;
            var c1 = sum < d ? 1UL : 0UL;
            var sum2 = sum + carry;
            var c2 = sum2 < sum ? 1UL : 0UL;
            _limbs[i] = sum2;
            carry = c1 + c2;
        }
    }

    private void SubtractLimbs(ReadOnlySpan<ulong> other)
    {
        ulong borrow = 0;
        for (var i = 3; i >= 0; i--)
        {
            var d = other[i];
            var diff = _limbs[i] - d;
            var b1 = _limbs[i] < d ? 1UL : 0UL;
            var diff2 = diff - borrow;
            var b2 = diff < borrow ? 1UL : 0UL;
            _limbs[i] = diff2;
            borrow = b1 + b2;
        }
    }
}
