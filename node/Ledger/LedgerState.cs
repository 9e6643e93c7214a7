using System.Buffers.Binary;
using System.Security.Cryptography;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Google.Protobuf;

namespace Aurigraph.Node.Ledger;

/// <summary>The deterministic outcome of one transaction: success, or the reason it failed.</summary>
public readonly record struct ReceiptRecord(bool Success, string? FailureReason)
{
    public static readonly ReceiptRecord Ok = new(true, null);
}

/// <summary>A block as applied: its header fields, transaction ids and receipts, and the state writes to persist.</summary>
public sealed record AppliedBlock(
    ulong Height,
    ulong LogIndex,
    ulong Term,
    byte[] PreviousHash,
    byte[] TransactionsRoot,
    byte[] StateRoot,
    byte[] Hash,
    TransactionId[] TransactionIds,
    ReceiptRecord[] Receipts,
    byte[]?[] Senders,
    IReadOnlyList<KeyValuePair<byte[], byte[]?>> StateWrites)
{
    /// <summary>The block's carbon section (committed carbon records), a slice of the payload; empty in most blocks.</summary>
    public ReadOnlyMemory<byte> Carbon { get; init; }
}

/// <summary>A committed block failed an integrity check (transactions root, or a signature in paranoid mode): applying it would diverge.</summary>
public sealed class BlockIntegrityException(string message) : Exception(message);

/// <summary>
/// The ledger state machine: accounts (balance, nonce) and a shared key/value space, changed only by applying
/// committed blocks in order. Deterministic — no clock, randomness or I/O — so equal heights give equal state
/// roots on every node. The state root commits to the whole state, not the history: it is an additive
/// accumulator (sum mod 2^256 of SHA-256 over every live key/value record) hashed with the height, updated
/// incrementally per write.
/// </summary>
public sealed class LedgerState
{
    private const byte AccountPrefix = (byte)'a';
    private const byte KeyValuePrefix = (byte)'k';

    private readonly Dictionary<ByteKey, (ulong Balance, ulong Nonce)> _accounts = [];
    private readonly Dictionary<ByteKey, byte[]> _values = [];
    private readonly StateAccumulator _accumulator = new();

    public LedgerState(string chainId) => ChainId = chainId;

    public string ChainId { get; }

    public ulong Height { get; private set; }

    public byte[] LastBlockHash { get; private set; } = new byte[32];

    public byte[] StateRoot => ComputeRoot(Height);

    public int AccountCount => _accounts.Count;

    public static LedgerState FromGenesis(Genesis genesis)
    {
        ArgumentNullException.ThrowIfNull(genesis);
        var state = new LedgerState(genesis.ChainId);
        foreach (var account in genesis.Accounts)
        {
            var key = new ByteKey(Convert.FromHexString(account.PublicKey));
            state.SetAccount(key, account.Balance, 0, writes: null);
        }
        return state;
    }

    public (ulong Balance, ulong Nonce) Account(ReadOnlySpan<byte> publicKey) =>
        _accounts.TryGetValue(new ByteKey(publicKey.ToArray()), out var a) ? a : (0, 0);

    public byte[]? Value(ReadOnlySpan<byte> key) => _values.TryGetValue(new ByteKey(key.ToArray()), out var v) ? v : null;

    /// <summary>Applies the next block. Transactions were verified at admission; bodies that fail to parse get a failure receipt.</summary>
    public AppliedBlock Apply(ulong logIndex, ulong term, ReadOnlyMemory<byte> payload)
    {
        var view = BlockPayload.Read(payload);
        var transactions = view.Transactions;
        var height = Height + 1;
        var ids = new TransactionId[transactions.Count];
        var receipts = new ReceiptRecord[transactions.Count];
        var senders = new byte[]?[transactions.Count];
        var writes = new List<KeyValuePair<byte[], byte[]?>>();
        for (var i = 0; i < transactions.Count; i++)
        {
            ids[i] = TransactionId.Of(transactions[i].Body.Span);
        }
        var txRoot = TransactionsRoot(ids);
        if (!view.TransactionsRoot.Span.SequenceEqual(txRoot))
        {
            throw new BlockIntegrityException($"block at log index {logIndex}: transactions root {Convert.ToHexStringLower(view.TransactionsRoot.Span)} in the payload, {Convert.ToHexStringLower(txRoot)} recomputed from its bodies");
        }
        for (var i = 0; i < transactions.Count; i++)
        {
            receipts[i] = ApplyTransaction(transactions[i].Body, writes, out senders[i]);
        }
        var stateRoot = ComputeRoot(height);
        var hash = BlockHash(height, logIndex, term, LastBlockHash, txRoot, stateRoot);
        var block = new AppliedBlock(height, logIndex, term, LastBlockHash, txRoot, stateRoot, hash, ids, receipts, senders, writes) { Carbon = view.Carbon };
        Height = height;
        LastBlockHash = hash;
        return block;
    }

    private ReceiptRecord ApplyTransaction(ReadOnlyMemory<byte> bodyBytes, List<KeyValuePair<byte[], byte[]?>> writes, out byte[]? senderKey)
    {
        senderKey = null;
        TransactionBody body;
        try
        {
            body = TransactionBody.Parser.ParseFrom(bodyBytes.Span);
        }
        catch (InvalidProtocolBufferException)
        {
            return new ReceiptRecord(false, "malformed transaction body");
        }
        if (body.ChainId != ChainId)
        {
            return new ReceiptRecord(false, "wrong chain id");
        }
        senderKey = body.Sender.ToByteArray();
        var sender = new ByteKey(senderKey);
        var (balance, nonce) = _accounts.TryGetValue(sender, out var a) ? a : (0UL, 0UL);
        if (body.Nonce != nonce)
        {
            return new ReceiptRecord(false, $"bad nonce: expected {nonce}, got {body.Nonce}");
        }
        switch (body.OperationCase)
        {
            case TransactionBody.OperationOneofCase.Transfer:
                {
                    var amount = body.Transfer.Amount;
                    if (balance < amount)
                    {
                        // The nonce is consumed: the failed transaction is part of the block.
                        SetAccount(sender, balance, nonce + 1, writes);
                        return new ReceiptRecord(false, "insufficient balance");
                    }
                    var to = new ByteKey(body.Transfer.To.ToByteArray());
                    if (to.Equals(sender))
                    {
                        SetAccount(sender, balance, nonce + 1, writes);
                        return ReceiptRecord.Ok;
                    }
                    var (toBalance, toNonce) = _accounts.TryGetValue(to, out var t) ? t : (0UL, 0UL);
                    if (ulong.MaxValue - toBalance < amount)
                    {
                        SetAccount(sender, balance, nonce + 1, writes);
                        return new ReceiptRecord(false, "recipient balance would overflow");
                    }
                    SetAccount(sender, balance - amount, nonce + 1, writes);
                    SetAccount(to, toBalance + amount, toNonce, writes);
                    return ReceiptRecord.Ok;
                }
            case TransactionBody.OperationOneofCase.Put:
                SetAccount(sender, balance, nonce + 1, writes);
                SetValue(new ByteKey(body.Put.Key.ToByteArray()), body.Put.Value.ToByteArray(), writes);
                return ReceiptRecord.Ok;
            default:
                return new ReceiptRecord(false, "no operation");
        }
    }

    private void SetAccount(ByteKey key, ulong balance, ulong nonce, List<KeyValuePair<byte[], byte[]?>>? writes)
    {
        var recordKey = Prefixed(AccountPrefix, key.Bytes);
        if (_accounts.TryGetValue(key, out var old))
        {
            _accumulator.Remove(recordKey, EncodeAccount(old.Balance, old.Nonce));
        }
        var value = EncodeAccount(balance, nonce);
        _accumulator.Add(recordKey, value);
        _accounts[key] = (balance, nonce);
        writes?.Add(new(recordKey, value));
    }

    private void SetValue(ByteKey key, byte[] value, List<KeyValuePair<byte[], byte[]?>> writes)
    {
        var recordKey = Prefixed(KeyValuePrefix, key.Bytes);
        if (_values.TryGetValue(key, out var old))
        {
            _accumulator.Remove(recordKey, old);
        }
        _accumulator.Add(recordKey, value);
        _values[key] = value;
        writes.Add(new(recordKey, value));
    }

    /// <summary>Rebuilds the state from persisted records (as written through <see cref="AppliedBlock.StateWrites"/>).</summary>
    public void Load(IEnumerable<KeyValuePair<byte[], byte[]>> records, ulong height, byte[] lastBlockHash)
    {
        ArgumentNullException.ThrowIfNull(records);
        _accounts.Clear();
        _values.Clear();
        _accumulator.Clear();
        foreach (var (key, value) in records)
        {
            var id = new ByteKey(key[1..]);
            switch (key[0])
            {
                case AccountPrefix:
                    _accounts[id] = (BinaryPrimitives.ReadUInt64LittleEndian(value), BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(8)));
                    break;
                case KeyValuePrefix:
                    _values[id] = value;
                    break;
                default:
                    throw new InvalidDataException($"unknown ledger record prefix {key[0]}");
            }
            _accumulator.Add(key, value);
        }
        Height = height;
        LastBlockHash = lastBlockHash;
    }

    /// <summary>Every live record, for persistence of the genesis state and for snapshots.</summary>
    public IEnumerable<KeyValuePair<byte[], byte[]>> Records()
    {
        foreach (var (key, a) in _accounts)
        {
            yield return new(Prefixed(AccountPrefix, key.Bytes), EncodeAccount(a.Balance, a.Nonce));
        }
        foreach (var (key, v) in _values)
        {
            yield return new(Prefixed(KeyValuePrefix, key.Bytes), v);
        }
    }

    private byte[] ComputeRoot(ulong height)
    {
        Span<byte> buffer = stackalloc byte[8 + 32];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, height);
        _accumulator.WriteTo(buffer[8..]);
        return SHA256.HashData(buffer);
    }

    private static byte[] EncodeAccount(ulong balance, ulong nonce)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, balance);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), nonce);
        return bytes;
    }

    private static byte[] Prefixed(byte prefix, byte[] key)
    {
        var bytes = new byte[key.Length + 1];
        bytes[0] = prefix;
        key.CopyTo(bytes, 1);
        return bytes;
    }

    /// <summary>SHA-256 over the transaction count and the ordered transaction ids.</summary>
    public static byte[] TransactionsRoot(ReadOnlySpan<TransactionId> ids)
    {
        var root = new byte[32];
        TransactionsRoot(ids, root);
        return root;
    }

    /// <summary>Writes the transactions root of <paramref name="ids"/> to the first 32 bytes of <paramref name="destination"/>.</summary>
    public static void TransactionsRoot(ReadOnlySpan<TransactionId> ids, Span<byte> destination)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> buffer = stackalloc byte[TransactionId.Size];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, (ulong)ids.Length);
        hash.AppendData(buffer[..8]);
        foreach (var id in ids)
        {
            id.WriteTo(buffer);
            hash.AppendData(buffer);
        }
        hash.GetHashAndReset(destination);
    }

    private static byte[] BlockHash(ulong height, ulong logIndex, ulong term, byte[] previous, byte[] txRoot, byte[] stateRoot)
    {
        Span<byte> buffer = stackalloc byte[24 + 96];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, height);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[8..], logIndex);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[16..], term);
        previous.CopyTo(buffer[24..]);
        txRoot.CopyTo(buffer[56..]);
        stateRoot.CopyTo(buffer[88..]);
        return SHA256.HashData(buffer);
    }
}

/// <summary>A byte-array dictionary key compared by content.</summary>
internal readonly struct ByteKey(byte[] bytes) : IEquatable<ByteKey>
{
    public byte[] Bytes { get; } = bytes;

    public bool Equals(ByteKey other) => Bytes.AsSpan().SequenceEqual(other.Bytes);

    public override bool Equals(object? obj) => obj is ByteKey other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Bytes);
        return hash.ToHashCode();
    }
}

/// <summary>A multiset hash: the sum, mod 2^256, of SHA-256 over each (key, value) record. Order-independent and incremental.</summary>
internal sealed class StateAccumulator
{
    private readonly ulong[] _limbs = new ulong[4];

    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Combine(key, value, subtract: false);

    public void Remove(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Combine(key, value, subtract: true);

    public void Clear() => Array.Clear(_limbs);

    public void WriteTo(Span<byte> destination)
    {
        for (var i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination[(i * 8)..], _limbs[i]);
        }
    }

    private void Combine(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool subtract)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, key.Length);
        hash.AppendData(length);
        hash.AppendData(key);
        hash.AppendData(value);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        // Limb 3 is least significant; carries/borrows ripple towards limb 0 and off the top (mod 2^256).
        ulong carry = 0;
        for (var i = 3; i >= 0; i--)
        {
            var d = BinaryPrimitives.ReadUInt64BigEndian(digest[(i * 8)..]);
            if (!subtract)
            {
                var sum = _limbs[i] + d;
                var c1 = sum < d ? 1UL : 0UL;
                var sum2 = sum + carry;
                var c2 = sum2 < sum ? 1UL : 0UL;
                _limbs[i] = sum2;
                carry = c1 + c2;
            }
            else
            {
                var diff = _limbs[i] - d;
                var b1 = _limbs[i] < d ? 1UL : 0UL;
                var diff2 = diff - carry;
                var b2 = diff < carry ? 1UL : 0UL;
                _limbs[i] = diff2;
                carry = b1 + b2;
            }
        }
    }
}
