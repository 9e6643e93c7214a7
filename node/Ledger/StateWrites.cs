using System.Buffers.Binary;
using System.Collections;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Ledger;

/// <summary>Receives one state write as spans (valid only during the call).</summary>
public delegate void StateWriteAction<in TState>(TState state, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

/// <summary>An account record a block leaves behind: its id (32 bytes by value, or an odd-length id) and its value.</summary>
internal readonly record struct AccountWrite(AccountKey Key, byte[]? OddId, ulong Balance, ulong Nonce);

/// <summary>A key/value record a block leaves behind: the owned key (owner then key) and the value.</summary>
internal readonly record struct ValueWrite(byte[] OwnedKey, byte[] Value);

/// <summary>
/// The state records a block changed, each once with its value after the block (the last of its writes): account
/// records (<c>'a' | id</c> → <c>u64 balance | u64 nonce</c>, little-endian) then key/value records (<c>'k' | owner | key</c> → value).
/// Applying them in any order to the state before the block gives the state after it. Held compactly (no arrays per
/// record); <see cref="ForEach{TState}"/> hands them out as spans, the list view builds arrays on demand.
/// </summary>
public sealed class StateWriteSet : IReadOnlyList<KeyValuePair<byte[], byte[]?>>
{
    internal const byte AccountPrefix = (byte)'a';
    internal const byte KeyValuePrefix = (byte)'k';

    private readonly AccountWrite[] _accounts;
    private readonly int _accountCount;
    private readonly ValueWrite[] _values;
    private readonly int _valueCount;

    internal StateWriteSet(AccountWrite[] accounts, int accountCount, ValueWrite[] values, int valueCount)
    {
        _accounts = accounts;
        _accountCount = accountCount;
        _values = values;
        _valueCount = valueCount;
    }

    public static StateWriteSet Empty { get; } = new([], 0, [], 0);

    public int Count => _accountCount + _valueCount;

    /// <summary>The write at <paramref name="index"/> as fresh arrays (for tools and tests; the store uses <see cref="ForEach{TState}"/>).</summary>
    public KeyValuePair<byte[], byte[]?> this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            if (index < _accountCount)
            {
                var a = _accounts[index];
                var key = new byte[1 + (a.OddId?.Length ?? AccountKey.Size)];
                WriteAccountKey(a, key);
                var value = new byte[16];
                EncodeAccount(a.Balance, a.Nonce, value);
                return new(key, value);
            }
            var v = _values[index - _accountCount];
            return new([KeyValuePrefix, .. v.OwnedKey], v.Value);
        }
    }

    /// <summary>Hands every write to <paramref name="action"/> as spans, without allocating.</summary>
    public void ForEach<TState>(TState state, StateWriteAction<TState> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Span<byte> accountKey = stackalloc byte[1 + AccountKey.Size];
        Span<byte> accountValue = stackalloc byte[16];
        for (var i = 0; i < _accountCount; i++)
        {
            var a = _accounts[i];
            var key = a.OddId is null ? accountKey : new byte[1 + a.OddId.Length];
            WriteAccountKey(a, key);
            EncodeAccount(a.Balance, a.Nonce, accountValue);
            action(state, key, accountValue);
        }
        byte[]? keyBuffer = null;
        for (var i = 0; i < _valueCount; i++)
        {
            var v = _values[i];
            if (keyBuffer is null || keyBuffer.Length < 1 + v.OwnedKey.Length)
            {
                keyBuffer = new byte[Math.Max(64, 1 + v.OwnedKey.Length)];
            }
            keyBuffer[0] = KeyValuePrefix;
            v.OwnedKey.CopyTo(keyBuffer, 1);
            action(state, keyBuffer.AsSpan(0, 1 + v.OwnedKey.Length), v.Value);
        }
    }

    public IEnumerator<KeyValuePair<byte[], byte[]?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal static void EncodeAccount(ulong balance, ulong nonce, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, balance);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], nonce);
    }

    private static void WriteAccountKey(in AccountWrite a, Span<byte> key)
    {
        key[0] = AccountPrefix;
        if (a.OddId is { } odd)
        {
            odd.CopyTo(key[1..]);
        }
        else
        {
            a.Key.WriteTo(key[1..]);
        }
    }
}

/// <summary>
/// Each transaction's sender as the block applied it (null when the body was malformed or for another chain): slices
/// of the block payload, so applying a block copies no key. The list view copies on demand.
/// </summary>
public sealed class SenderList : IReadOnlyList<byte[]?>
{
    private readonly ReadOnlyMemory<byte> _source;
    private readonly Range32[] _ranges;

    /// <param name="source">The bytes the ranges index (the block payload).</param>
    /// <param name="ranges">One per transaction; a negative length means no sender.</param>
    internal SenderList(ReadOnlyMemory<byte> source, Range32[] ranges)
    {
        _source = source;
        _ranges = ranges;
    }

    /// <summary>A list over sender keys held as arrays (for tools that build blocks by hand).</summary>
    public static SenderList FromArrays(IReadOnlyList<byte[]?> senders)
    {
        ArgumentNullException.ThrowIfNull(senders);
        var source = new byte[senders.Sum(s => s?.Length ?? 0)];
        var ranges = new Range32[senders.Count];
        var at = 0;
        for (var i = 0; i < ranges.Length; i++)
        {
            if (senders[i] is not { } s)
            {
                ranges[i] = new Range32(0, -1);
                continue;
            }
            s.CopyTo(source, at);
            ranges[i] = new Range32(at, s.Length);
            at += s.Length;
        }
        return new SenderList(source, ranges);
    }

    public int Count => _ranges.Length;

    public byte[]? this[int index] => TryGet(index, out var sender) ? sender.ToArray() : null;

    /// <summary>The sender of transaction <paramref name="index"/> as a slice of the payload; false when it has none.</summary>
    public bool TryGet(int index, out ReadOnlySpan<byte> sender)
    {
        var range = _ranges[index];
        if (range.Length < 0)
        {
            sender = default;
            return false;
        }
        sender = _source.Span.Slice(range.Offset, range.Length);
        return true;
    }

    public IEnumerator<byte[]?> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
