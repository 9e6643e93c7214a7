// The ledger's apply path as it was before applying read bodies in place (protobuf objects, byte-array keys, a write
// per change, union-find groups): kept verbatim as the reference the current ledger must match bit for bit.
#pragma warning disable CA1822, CA1859, IDE0051, IDE0052
using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;
using Google.Protobuf;

namespace Aurigraph.Node.Tests.Ledger;

/// <summary>What the reference apply produced for one block.</summary>
internal sealed record ReferenceBlock(
    ulong Height,
    byte[] StateRoot,
    byte[] Hash,
    TransactionId[] TransactionIds,
    ReceiptRecord[] Receipts,
    byte[]?[] Senders,
    List<KeyValuePair<byte[], byte[]?>> StateWrites);

/// <summary>A byte-array dictionary key compared by content.</summary>
internal readonly struct ReferenceKey(byte[] bytes) : IEquatable<ReferenceKey>
{
    public byte[] Bytes { get; } = bytes;

    public bool Equals(ReferenceKey other) => Bytes.AsSpan().SequenceEqual(other.Bytes);

    public override bool Equals(object? obj) => obj is ReferenceKey other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Bytes);
        return hash.ToHashCode();
    }
}

internal sealed class ReferenceLedger
{
    private const byte AccountPrefix = (byte)'a';
    private const byte KeyValuePrefix = (byte)'k';

    private readonly Dictionary<ReferenceKey, (ulong Balance, ulong Nonce)> _accounts = [];
    private readonly Dictionary<ReferenceKey, byte[]> _values = [];
    private readonly ReferenceAccumulator _accumulator = new();

    public ReferenceLedger(string chainId) => ChainId = chainId;

    public string ChainId { get; }

    public ulong Height { get; private set; }

    public byte[] LastBlockHash { get; private set; } = new byte[32];

    public byte[] StateRoot => ComputeRoot(Height);

    public int AccountCount => _accounts.Count;

    public static ReferenceLedger FromGenesis(Genesis genesis)
    {
        ArgumentNullException.ThrowIfNull(genesis);
        var state = new ReferenceLedger(genesis.ChainId);
        foreach (var account in genesis.Accounts)
        {
            var key = new ReferenceKey(Convert.FromHexString(account.PublicKey));
            state.SetAccount(key, account.Balance, 0);
        }
        return state;
    }

    public (ulong Balance, ulong Nonce) Account(ReadOnlySpan<byte> publicKey) =>
        _accounts.TryGetValue(new ReferenceKey(publicKey.ToArray()), out var a) ? a : (0, 0);

    /// <summary>The value <paramref name="owner"/> (a 32-byte account id) last put under <paramref name="key"/>; null when it never did.</summary>
    public byte[]? Value(ReadOnlySpan<byte> owner, ReadOnlySpan<byte> key)
    {
        if (owner.Length != TransactionVerifier.PublicKeySize)
        {
            throw new ArgumentException($"the owner must be a {TransactionVerifier.PublicKeySize}-byte account id, got {owner.Length} bytes", nameof(owner));
        }
        return _values.TryGetValue(new ReferenceKey(OwnedKey(owner, key)), out var v) ? v : null;
    }

    /// <summary>
    /// Blocks with at least this many transactions are applied in parallel groups (see <see cref="Apply(ulong, ulong, ReadOnlyMemory{byte}, bool)"/>);
    /// smaller blocks run on the calling thread. 0 or less turns parallel apply off.
    /// </summary>
    public int ParallelApplyThreshold { get; set; } = 256;

    /// <summary>Upper bound on the threads a parallel apply uses (default: the processor count).</summary>
    public int MaxApplyParallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Where the CPU of applying is accounted (the host's stage meter; off by default). It only reads thread CPU
    /// clocks: nothing it measures reaches the state, so applying stays deterministic.
    /// </summary>
    private StageMeter Stages { get; } = StageMeter.Off;

    /// <summary>
    /// Applies the next block. Transactions were verified at admission; bodies that fail to parse get a failure
    /// receipt. The transactions root in the payload is checked against the bodies before anything changes.
    /// </summary>
    
    /// <summary>Applies the next block, choosing sequential or parallel execution explicitly (for tests and benchmarks).</summary>
    /// <remarks>
    /// Parallel apply: transactions are grouped by the records they touch (union-find over sender and recipient; a
    /// put's record is in its sender's namespace, so the sender covers it), so no two groups share a record. Each group runs in block order against the state as it was before the
    /// block plus its own writes; groups run concurrently, then their writes and state-root deltas are merged in the
    /// order of each group's first transaction. Because groups share no record, every transaction sees exactly what
    /// it would have seen in sequential order, and the accumulator is a sum, so the result is bit-identical.
    /// </remarks>
    public ReferenceBlock Apply(ulong logIndex, ulong term, ReadOnlyMemory<byte> payload, bool allowParallel)
    {
        var view = BlockPayload.Read(payload);
        var transactions = view.Transactions;
        var count = transactions.Count;
        var height = Height + 1;
        var ids = new TransactionId[count];
        var bodies = new TransactionBody?[count];
        var parallel = allowParallel && count >= Math.Max(1, ParallelApplyThreshold);
        if (parallel)
        {
            Stages.For(count, new ParallelOptions { MaxDegreeOfParallelism = MaxApplyParallelism }, PipelineStage.Apply, i => Parse(transactions[i].Body, out ids[i], out bodies[i]));
        }
        else
        {
            for (var i = 0; i < count; i++)
            {
                Parse(transactions[i].Body, out ids[i], out bodies[i]);
            }
        }
        var txRoot = TransactionsRoot(ids);
        if (!view.TransactionsRoot.Span.SequenceEqual(txRoot))
        {
            throw new BlockIntegrityException($"block at log index {logIndex}: transactions root {Convert.ToHexStringLower(view.TransactionsRoot.Span)} in the payload, {Convert.ToHexStringLower(txRoot)} recomputed from its bodies");
        }
        var receipts = new ReceiptRecord[count];
        var senders = new byte[]?[count];
        List<KeyValuePair<byte[], byte[]?>> writes;
        var groups = parallel ? Group(bodies) : null;
        if (groups is null || groups.Count < 2)
        {
            var execution = new Execution(this, direct: true);
            for (var i = 0; i < count; i++)
            {
                receipts[i] = execution.Run(bodies[i], out senders[i]);
            }
            writes = execution.Writes;
        }
        else
        {
            var executions = new Execution[groups.Count];
            Stages.For(groups.Count, new ParallelOptions { MaxDegreeOfParallelism = MaxApplyParallelism }, PipelineStage.Apply, g =>
            {
                var execution = new Execution(this, direct: false);
                foreach (var i in groups[g])
                {
                    receipts[i] = execution.Run(bodies[i], out senders[i]);
                }
                executions[g] = execution;
            });
            writes = [];
            foreach (var execution in executions)
            {
                execution.MergeInto(this);
                writes.AddRange(execution.Writes);
            }
        }
        var rootStarted = Stages.Start();
        var stateRoot = ComputeRoot(height);
        var hash = BlockHash(height, logIndex, term, LastBlockHash, txRoot, stateRoot);
        // The caller times the whole Apply; the root's share moves from Apply to StateRoot.
        var rootTime = Stages.Enabled ? ThreadCpuClock.Now() - rootStarted : 0;
        Stages.Add(PipelineStage.StateRoot, rootTime);
        Stages.Add(PipelineStage.Apply, -rootTime);
        var block = new ReferenceBlock(height, stateRoot, hash, ids, receipts, senders, writes);
        Height = height;
        LastBlockHash = hash;
        return block;
    }

    private static void Parse(ReadOnlyMemory<byte> bodyBytes, out TransactionId id, out TransactionBody? body)
    {
        id = TransactionId.Of(bodyBytes.Span);
        try
        {
            body = TransactionBody.Parser.ParseFrom(bodyBytes.Span);
        }
        catch (InvalidProtocolBufferException)
        {
            body = null;
        }
    }

    /// <summary>
    /// Splits a block into groups of transactions that share no account or key (union-find over the records each
    /// touches), each group in block order, groups ordered by their first transaction.
    /// </summary>
    private List<List<int>> Group(TransactionBody?[] bodies)
    {
        var parent = new int[bodies.Length];
        var owner = new Dictionary<ReferenceKey, int>(bodies.Length * 2);
        for (var i = 0; i < bodies.Length; i++)
        {
            parent[i] = i;
            if (bodies[i] is not { } body || body.ChainId != ChainId)
            {
                continue; // touches nothing: its receipt is a failure decided without state
            }
            // A put writes only the record (sender, key): touching the sender puts every write to it in one group.
            Touch(new ReferenceKey(Prefixed(AccountPrefix, body.Sender.Span)), i);
            if (body.OperationCase == TransactionBody.OperationOneofCase.Transfer)
            {
                Touch(new ReferenceKey(Prefixed(AccountPrefix, body.Transfer.To.Span)), i);
            }
        }
        var groups = new List<List<int>>();
        var groupOfRoot = new Dictionary<int, int>();
        for (var i = 0; i < bodies.Length; i++)
        {
            var root = Find(i);
            if (!groupOfRoot.TryGetValue(root, out var g))
            {
                g = groups.Count;
                groupOfRoot[root] = g;
                groups.Add([]);
            }
            groups[g].Add(i);
        }
        return groups;

        void Touch(ReferenceKey record, int i)
        {
            if (owner.TryGetValue(record, out var other))
            {
                Union(other, i);
            }
            else
            {
                owner[record] = i;
            }
        }

        int Find(int x)
        {
            while (parent[x] != x)
            {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            return x;
        }

        void Union(int a, int b)
        {
            var ra = Find(a);
            var rb = Find(b);
            if (ra != rb)
            {
                // The smaller index stays the root, so a group's root is its first transaction.
                if (ra < rb)
                {
                    parent[rb] = ra;
                }
                else
                {
                    parent[ra] = rb;
                }
            }
        }
    }

    /// <summary>
    /// Runs transactions against the ledger. Direct: reads and writes the ledger itself (sequential apply).
    /// Overlay: reads the ledger (unchanged while groups run) plus its own writes, and keeps its writes and its
    /// state-root delta to itself until <see cref="MergeInto"/> (one group of a parallel apply).
    /// </summary>
    private sealed class Execution(ReferenceLedger state, bool direct)
    {
        private readonly Dictionary<ReferenceKey, (ulong Balance, ulong Nonce)>? _accounts = direct ? null : [];
        private readonly Dictionary<ReferenceKey, byte[]>? _values = direct ? null : [];
        private readonly ReferenceAccumulator _accumulator = direct ? state._accumulator : new();

        public List<KeyValuePair<byte[], byte[]?>> Writes { get; } = [];

        public ReceiptRecord Run(TransactionBody? body, out byte[]? senderKey)
        {
            senderKey = null;
            if (body is null)
            {
                return new ReceiptRecord(false, "malformed transaction body");
            }
            if (body.ChainId != state.ChainId)
            {
                return new ReceiptRecord(false, "wrong chain id");
            }
            senderKey = body.Sender.ToByteArray();
            var sender = new ReferenceKey(senderKey);
            var (balance, nonce) = TryAccount(sender, out var a) ? a : (0UL, 0UL);
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
                            SetAccount(sender, balance, nonce + 1);
                            return new ReceiptRecord(false, "insufficient balance");
                        }
                        var to = new ReferenceKey(body.Transfer.To.ToByteArray());
                        if (to.Equals(sender))
                        {
                            SetAccount(sender, balance, nonce + 1);
                            return ReceiptRecord.Ok;
                        }
                        var (toBalance, toNonce) = TryAccount(to, out var t) ? t : (0UL, 0UL);
                        if (ulong.MaxValue - toBalance < amount)
                        {
                            SetAccount(sender, balance, nonce + 1);
                            return new ReceiptRecord(false, "recipient balance would overflow");
                        }
                        SetAccount(sender, balance - amount, nonce + 1);
                        SetAccount(to, toBalance + amount, toNonce);
                        return ReceiptRecord.Ok;
                    }
                case TransactionBody.OperationOneofCase.Put:
                    SetAccount(sender, balance, nonce + 1);
                    if (senderKey.Length != TransactionVerifier.PublicKeySize)
                    {
                        // Admission refuses such senders; a block is applied as committed, so decide it here too.
                        return new ReceiptRecord(false, $"a put needs a {TransactionVerifier.PublicKeySize}-byte sender");
                    }
                    SetValue(new ReferenceKey(OwnedKey(senderKey, body.Put.Key.Span)), body.Put.Value.ToByteArray());
                    return ReceiptRecord.Ok;
                default:
                    return new ReceiptRecord(false, "no operation");
            }
        }

        private bool TryAccount(ReferenceKey key, out (ulong Balance, ulong Nonce) account) =>
            (_accounts is not null && _accounts.TryGetValue(key, out account)) || state._accounts.TryGetValue(key, out account);

        private bool TryValue(ReferenceKey key, out byte[] value) =>
            (_values is not null && _values.TryGetValue(key, out value!)) || state._values.TryGetValue(key, out value!);

        private void SetAccount(ReferenceKey key, ulong balance, ulong nonce)
        {
            var recordKey = Prefixed(AccountPrefix, key.Bytes);
            if (TryAccount(key, out var old))
            {
                _accumulator.Remove(recordKey, EncodeAccount(old.Balance, old.Nonce));
            }
            var value = EncodeAccount(balance, nonce);
            _accumulator.Add(recordKey, value);
            (_accounts ?? state._accounts)[key] = (balance, nonce);
            Writes.Add(new(recordKey, value));
        }

        private void SetValue(ReferenceKey key, byte[] value)
        {
            var recordKey = Prefixed(KeyValuePrefix, key.Bytes);
            if (TryValue(key, out var old))
            {
                _accumulator.Remove(recordKey, old);
            }
            _accumulator.Add(recordKey, value);
            (_values ?? state._values)[key] = value;
            Writes.Add(new(recordKey, value));
        }

        public void MergeInto(ReferenceLedger target)
        {
            foreach (var (key, account) in _accounts!)
            {
                target._accounts[key] = account;
            }
            foreach (var (key, value) in _values!)
            {
                target._values[key] = value;
            }
            target._accumulator.Add(_accumulator);
        }
    }

    /// <summary>Sets an account outside any block (genesis).</summary>
    private void SetAccount(ReferenceKey key, ulong balance, ulong nonce)
    {
        var recordKey = Prefixed(AccountPrefix, key.Bytes);
        if (_accounts.TryGetValue(key, out var old))
        {
            _accumulator.Remove(recordKey, EncodeAccount(old.Balance, old.Nonce));
        }
        _accumulator.Add(recordKey, EncodeAccount(balance, nonce));
        _accounts[key] = (balance, nonce);
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
            var id = new ReferenceKey(key[1..]);
            switch (key[0])
            {
                case AccountPrefix:
                    _accounts[id] = (BinaryPrimitives.ReadUInt64LittleEndian(value), BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(8)));
                    break;
                case KeyValuePrefix:
                    if (id.Bytes.Length < TransactionVerifier.PublicKeySize)
                    {
                        throw new InvalidDataException($"key/value record of {id.Bytes.Length} bytes: shorter than its owner's {TransactionVerifier.PublicKeySize}-byte account id");
                    }
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

    /// <summary>The record key of <paramref name="owner"/>'s <paramref name="key"/>: the 32-byte owner, then the key (fixed-length owner, so unambiguous).</summary>
    private static byte[] OwnedKey(ReadOnlySpan<byte> owner, ReadOnlySpan<byte> key)
    {
        System.Diagnostics.Debug.Assert(owner.Length == TransactionVerifier.PublicKeySize, "owners are 32-byte account ids");
        var bytes = new byte[owner.Length + key.Length];
        owner.CopyTo(bytes);
        key.CopyTo(bytes.AsSpan(owner.Length));
        return bytes;
    }

    private static byte[] Prefixed(byte prefix, ReadOnlySpan<byte> key)
    {
        var bytes = new byte[key.Length + 1];
        bytes[0] = prefix;
        key.CopyTo(bytes.AsSpan(1));
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

/// <summary>A multiset hash: the sum, mod 2^256, of SHA-256 over each (key, value) record. Order-independent and incremental.</summary>
internal sealed class ReferenceAccumulator
{
    private readonly ulong[] _limbs = new ulong[4];

    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Combine(key, value, subtract: false);

    public void Remove(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Combine(key, value, subtract: true);

    public void Clear() => Array.Clear(_limbs);

    /// <summary>Adds another accumulator's sum (mod 2^256): merges the delta of a group applied on its own.</summary>
    public void Add(ReferenceAccumulator other) => AddLimbs(other._limbs);

    public void WriteTo(Span<byte> destination)
    {
        for (var i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination[(i * 8)..], _limbs[i]);
        }
    }

    private void Combine(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool subtract)
    {
        // SHA-256 over (u32 key length | key | value), hashed in one call from a stack or pooled buffer.
        var size = 4 + key.Length + value.Length;
        byte[]? rented = null;
        var buffer = size <= 512 ? stackalloc byte[size] : (rented = ArrayPool<byte>.Shared.Rent(size)).AsSpan(0, size);
        BinaryPrimitives.WriteInt32BigEndian(buffer, key.Length);
        key.CopyTo(buffer[4..]);
        value.CopyTo(buffer[(4 + key.Length)..]);
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
