using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Ledger;

/// <summary>The deterministic outcome of one transaction: success, or the reason it failed.</summary>
public readonly record struct ReceiptRecord(bool Success, string? FailureReason)
{
    public static readonly ReceiptRecord Ok = new(true, null);

    // The fixed failures, built once: a receipt is two words, and only a bad nonce's carries text made for it.
    internal static readonly ReceiptRecord Malformed = new(false, "malformed transaction body");
    internal static readonly ReceiptRecord WrongChain = new(false, "wrong chain id");
    internal static readonly ReceiptRecord InsufficientBalance = new(false, "insufficient balance");
    internal static readonly ReceiptRecord RecipientOverflow = new(false, "recipient balance would overflow");
    internal static readonly ReceiptRecord PutNeedsAccountSender = new(false, $"a put needs a {TransactionVerifier.PublicKeySize}-byte sender");
    internal static readonly ReceiptRecord NoOperation = new(false, "no operation");
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
    SenderList Senders,
    StateWriteSet StateWrites)
{
    /// <summary>The block's carbon section (committed carbon records), a slice of the payload; empty in most blocks.</summary>
    public ReadOnlyMemory<byte> Carbon { get; init; }
}

/// <summary>A committed block failed an integrity check (transactions root, or a signature in paranoid mode): applying it would diverge.</summary>
public sealed class BlockIntegrityException(string message) : Exception(message);

/// <summary>
/// The ledger state machine: accounts (balance, nonce) and key/value records, changed only by applying committed
/// blocks in order. Key/value records are namespaced by their writer: a put by sender S of key K sets the record
/// (S, K), so no account can change another's records and no ownership state is needed. Deterministic — no clock, randomness or I/O — so equal heights give equal state
/// roots on every node. The state root commits to the whole state, not the history: it is an additive
/// accumulator (sum mod 2^256 of SHA-256 over every live key/value record) hashed with the height, updated
/// once per changed record per block.
/// </summary>
/// <remarks>
/// Applying reads each transaction body in place (<see cref="TransactionBodyReader"/>), keys 32-byte accounts by value
/// (<see cref="AccountKey"/>; ids of other lengths, which only a block built by hand can hold, by their bytes), and runs
/// the block against a per-block working set of the records it touches (<see cref="BlockExecution"/>), so the work
/// and the memory per transaction are a few dictionary probes and no objects.
/// <para>Threads: one thread applies (and owns everything else here); <see cref="Account"/> may be called from another
/// thread meanwhile (the consensus loop's admission reads nonces) and sees each account before or after a block's write.</para>
/// </remarks>
public sealed partial class LedgerState
{
    private const byte AccountPrefix = StateWriteSet.AccountPrefix;
    private const byte KeyValuePrefix = StateWriteSet.KeyValuePrefix;

    private readonly AccountCache _accounts;
    private readonly Dictionary<ByteKey, (ulong Balance, ulong Nonce)> _oddAccounts = [];
    private readonly ValueCache _values;
    private readonly StateAccumulator _accumulator = new();
    private readonly byte[]? _chainIdBytes;
    private BlockExecution? _execution;

    /// <summary>A ledger that holds its whole state in memory (tools and tests).</summary>
    public LedgerState(string chainId)
        : this(chainId, null, 0)
    {
    }

    /// <summary>
    /// A ledger whose key/value records live in <paramref name="source"/> once persisted (see <see cref="Persisted"/>);
    /// <paramref name="cacheBytes"/> is its memory for them and for accounts: a quarter for cached records, three eighths
    /// for the filter over their keys, a quarter for cached accounts, an eighth for the filter over accounts. Null keeps
    /// every record and account in memory.
    /// </summary>
    public LedgerState(string chainId, IStateSource? source, long cacheBytes)
    {
        ChainId = chainId;
        _chainIdBytes = TransactionBodyReader.ChainIdBytes(chainId);
        _values = source is null ? new ValueCache() : new ValueCache(source, cacheBytes / 4, cacheBytes * 3 / 8);
        _accounts = source is null ? new AccountCache() : new AccountCache(source, cacheBytes / 4, cacheBytes / 8);
    }

    public string ChainId { get; }

    public ulong Height { get; private set; }

    public byte[] LastBlockHash { get; private set; } = new byte[32];

    public byte[] StateRoot => ComputeRoot(Height);

    /// <summary>Accounts the state holds (in memory or in the source).</summary>
    public long AccountCount { get; private set; }

    /// <summary>Key/value records held in memory (not yet persisted, or cached) and reads of the source that missed them.</summary>
    public (int Unpersisted, int Cached, long CachedBytes, long SourceReads, long FilterAnswers, bool FilterOff) ValueCacheStatistics =>
        (_values.UnpersistedCount, _values.CachedCount, _values.CachedBytes, _values.SourceReads, _values.FilterAnswers, _values.FilterOff);

    /// <summary>
    /// Every block applied so far is persisted (the host's write of its state writes returned): its records may leave
    /// memory, to be read from the source again when needed. Without a source it does nothing.
    /// </summary>
    public void Persisted()
    {
        _values.Persisted();
        _accounts.Persisted();
    }

    /// <summary>32-byte accounts held in memory (not yet persisted, or cached) and reads of the source that missed them.</summary>
    public (int Unpersisted, int Cached, long SourceReads) AccountCacheStatistics =>
        (_accounts.UnpersistedCount, _accounts.CachedCount, _accounts.SourceReads);

    public static LedgerState FromGenesis(Genesis genesis) => FromGenesis(genesis, null, 0);

    /// <summary>The genesis state, its key/value records read through <paramref name="source"/> once persisted.</summary>
    public static LedgerState FromGenesis(Genesis genesis, IStateSource? source, long cacheBytes)
    {
        ArgumentNullException.ThrowIfNull(genesis);
        var state = new LedgerState(genesis.ChainId, source, cacheBytes);
        foreach (var account in genesis.Accounts)
        {
            state.SetAccount(Convert.FromHexString(account.PublicKey), account.Balance, 0);
        }
        return state;
    }

    public (ulong Balance, ulong Nonce) Account(ReadOnlySpan<byte> publicKey) => TryAccount(publicKey, out var a) ? a : (0, 0);

    /// <summary>The value <paramref name="owner"/> (a 32-byte account id) last put under <paramref name="key"/>; null when it never did.</summary>
    public byte[]? Value(ReadOnlySpan<byte> owner, ReadOnlySpan<byte> key)
    {
        if (owner.Length != TransactionVerifier.PublicKeySize)
        {
            throw new ArgumentException($"the owner must be a {TransactionVerifier.PublicKeySize}-byte account id, got {owner.Length} bytes", nameof(owner));
        }
        return _values.Get(new ByteKey(OwnedKey(owner, key)));
    }

    /// <summary>
    /// Blocks with at least this many transactions are applied with parallel reading and hashing (see
    /// <see cref="Apply(ulong, ulong, ReadOnlyMemory{byte}, bool)"/>); smaller blocks run on the calling thread. 0 or less turns it off.
    /// </summary>
    public int ParallelApplyThreshold { get; set; } = 256;

    /// <summary>Upper bound on the threads a parallel apply uses (default: the processor count).</summary>
    public int MaxApplyParallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Where the CPU of applying is accounted (the host's stage meter; off by default). It only reads thread CPU
    /// clocks: nothing it measures reaches the state, so applying stays deterministic.
    /// </summary>
    public StageMeter Stages { get; set; } = StageMeter.Off;

    /// <summary>
    /// Applies the next block. Transactions were verified at admission; bodies that fail to parse get a failure
    /// receipt. The transactions root in the payload is checked against the bodies before anything changes.
    /// </summary>
    public AppliedBlock Apply(ulong logIndex, ulong term, ReadOnlyMemory<byte> payload) =>
        Apply(logIndex, term, payload, ParallelApplyThreshold > 0 && MaxApplyParallelism > 1);

    /// <summary>Applies the next block, choosing sequential or parallel execution explicitly (for tests and benchmarks).</summary>
    /// <remarks>
    /// Three passes. (1) Read: each body's id (SHA-256) and fields, independent per transaction, so a parallel apply
    /// splits them across threads. (2) Execute: the transactions in block order against the block's working set — each
    /// touched record read once from the state, then changed in place — on one thread: it is a few dictionary probes per
    /// transaction. (3) Commit: every changed record's old value leaves the accumulator and its final value enters it
    /// (the sum is order-free, so a parallel apply hashes them on several threads), and the final values replace the
    /// state's. Sequential and parallel apply run the same execution, so they are bit-identical by construction.
    /// </remarks>
    public AppliedBlock Apply(ulong logIndex, ulong term, ReadOnlyMemory<byte> payload, bool allowParallel)
    {
        var count = BlockPayload.ReadBodies(payload.Span, out var carbonLength, out var bodies);
        var parsed = ArrayPool<ParsedBody>.Shared.Rent(count);
        try
        {
            var height = Height + 1;
            var ids = new TransactionId[count];
            var parallel = allowParallel && MaxApplyParallelism > 1 && count >= Math.Max(1, ParallelApplyThreshold);
            if (parallel)
            {
                var chunks = Math.Min(count, MaxApplyParallelism * 4);
                Stages.For(chunks, new ParallelOptions { MaxDegreeOfParallelism = MaxApplyParallelism }, PipelineStage.Apply, c =>
                {
                    var span = payload.Span;
                    for (var i = (int)((long)count * c / chunks); i < (int)((long)count * (c + 1) / chunks); i++)
                    {
                        Read(span, bodies[i], out ids[i], out parsed[i]);
                    }
                });
            }
            else
            {
                var span = payload.Span;
                for (var i = 0; i < count; i++)
                {
                    Read(span, bodies[i], out ids[i], out parsed[i]);
                }
            }
            var txRoot = TransactionsRoot(ids);
            var claimedRoot = payload.Span.Slice(8, 32);
            if (!claimedRoot.SequenceEqual(txRoot))
            {
                throw new BlockIntegrityException($"block at log index {logIndex}: transactions root {Convert.ToHexStringLower(claimedRoot)} in the payload, {Convert.ToHexStringLower(txRoot)} recomputed from its bodies");
            }
            var receipts = new ReceiptRecord[count];
            var senders = new Range32[count];
            var execution = _execution ??= new BlockExecution(this);
            {
                var span = payload.Span;
                for (var i = 0; i < count; i++)
                {
                    var body = span.Slice(bodies[i].Offset, bodies[i].Length);
                    ref readonly var p = ref parsed[i];
                    senders[i] = new Range32(0, -1);
                    if (!p.Ok)
                    {
                        receipts[i] = ReceiptRecord.Malformed;
                        continue;
                    }
                    if (!TransactionBodyReader.ChainIdEquals(p.Fields, body, ChainId, _chainIdBytes))
                    {
                        receipts[i] = ReceiptRecord.WrongChain;
                        continue;
                    }
                    senders[i] = new Range32(bodies[i].Offset + p.Fields.SenderRange.Offset, p.Fields.SenderRange.Length);
                    receipts[i] = execution.Run(body, p.Fields);
                }
            }
            var writes = execution.Commit(parallel);
            var rootStarted = Stages.Start();
            var stateRoot = ComputeRoot(height);
            var hash = BlockHash(height, logIndex, term, LastBlockHash, txRoot, stateRoot);
            // The caller times the whole Apply; the root's share moves from Apply to StateRoot.
            var rootTime = Stages.Enabled ? ThreadCpuClock.Now() - rootStarted : 0;
            Stages.Add(PipelineStage.StateRoot, rootTime);
            Stages.Add(PipelineStage.Apply, -rootTime);
            var block = new AppliedBlock(height, logIndex, term, LastBlockHash, txRoot, stateRoot, hash, ids, receipts, new SenderList(payload, senders), writes)
            {
                Carbon = payload.Slice(BlockPayload.HeaderSize, carbonLength),
            };
            Height = height;
            LastBlockHash = hash;
            return block;
        }
        finally
        {
            ArrayPool<Range32>.Shared.Return(bodies);
            ArrayPool<ParsedBody>.Shared.Return(parsed);
        }
    }

    /// <summary>A body as read in the first pass: whether it parses, and its fields.</summary>
    private readonly record struct ParsedBody(bool Ok, TransactionBodyFields Fields);

    private static void Read(ReadOnlySpan<byte> payload, Range32 range, out TransactionId id, out ParsedBody parsed)
    {
        var body = payload.Slice(range.Offset, range.Length);
        id = TransactionId.Of(body);
        var ok = TransactionBodyReader.TryRead(body, out var fields);
        parsed = new ParsedBody(ok, fields);
    }

    /// <summary>Thread-safe against the thread that applies (the account cache locks; odd ids under their map's lock).</summary>
    private bool TryAccount(ReadOnlySpan<byte> id, out (ulong Balance, ulong Nonce) account)
    {
        if (id.Length == AccountKey.Size)
        {
            return _accounts.TryGet(new AccountKey(id), out account);
        }
        lock (_oddAccounts)
        {
            return _oddAccounts.TryGetValue(new ByteKey(id.ToArray()), out account);
        }
    }

    /// <summary>Sets an account outside any block (genesis).</summary>
    private void SetAccount(ReadOnlySpan<byte> id, ulong balance, ulong nonce)
    {
        Span<byte> value = stackalloc byte[16];
        if (!TryAccount(id, out var old))
        {
            AccountCount++;
        }
        else
        {
            StateWriteSet.EncodeAccount(old.Balance, old.Nonce, value);
            _accumulator.Remove(AccountPrefix, id, value);
        }
        StateWriteSet.EncodeAccount(balance, nonce, value);
        _accumulator.Add(AccountPrefix, id, value);
        if (id.Length == AccountKey.Size)
        {
            _accounts.Set(new AccountKey(id), (balance, nonce));
        }
        else
        {
            _oddAccounts[new ByteKey(id.ToArray())] = (balance, nonce);
        }
    }

    /// <summary>
    /// Rebuilds the state from persisted records (as written through <see cref="AppliedBlock.StateWrites"/>), read once in
    /// order. With a source the key/value records only enter the accumulator: they stay in the source.
    /// </summary>
    public void Load(IEnumerable<KeyValuePair<byte[], byte[]>> records, ulong height, byte[] lastBlockHash)
    {
        ArgumentNullException.ThrowIfNull(records);
        _accounts.Clear();
        _oddAccounts.Clear();
        AccountCount = 0;
        _values.Clear();
        _accumulator.Clear();
        foreach (var (key, value) in records)
        {
            var id = key.AsSpan(1);
            switch (key[0])
            {
                case AccountPrefix:
                    var account = (BinaryPrimitives.ReadUInt64LittleEndian(value), BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(8)));
                    AccountCount++;
                    if (id.Length == AccountKey.Size && _accounts.Backed)
                    {
                        _accounts.Known(new AccountKey(id));
                    }
                    else if (id.Length == AccountKey.Size)
                    {
                        _accounts.Set(new AccountKey(id), account);
                    }
                    else
                    {
                        _oddAccounts[new ByteKey(id.ToArray())] = account;
                    }
                    break;
                case KeyValuePrefix:
                    if (id.Length < TransactionVerifier.PublicKeySize)
                    {
                        throw new InvalidDataException($"key/value record of {id.Length} bytes: shorter than its owner's {TransactionVerifier.PublicKeySize}-byte account id");
                    }
                    if (_values.Backed)
                    {
                        _values.Known(id);
                    }
                    else
                    {
                        _values.Set(new ByteKey(id.ToArray()), value);
                    }
                    break;
                default:
                    throw new InvalidDataException($"unknown ledger record prefix {key[0]}");
            }
            _accumulator.Add(key, value);
        }
        Height = height;
        LastBlockHash = lastBlockHash;
    }

    /// <summary>
    /// Every record held in memory: every account and key/value record without a source, else those not yet persisted or
    /// cached. For the genesis state (written whole before anything is applied) and for tools.
    /// </summary>
    public IEnumerable<KeyValuePair<byte[], byte[]>> Records()
    {
        foreach (var (key, a) in _accounts.Held)
        {
            yield return new([AccountPrefix, .. key.ToArray()], EncodeAccount(a.Balance, a.Nonce));
        }
        foreach (var (key, a) in _oddAccounts)
        {
            yield return new([AccountPrefix, .. key.Bytes], EncodeAccount(a.Balance, a.Nonce));
        }
        foreach (var (key, v) in _values.Held)
        {
            yield return new([KeyValuePrefix, .. key.Bytes], v);
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
        StateWriteSet.EncodeAccount(balance, nonce, bytes);
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
        // One hash call over a pooled buffer of (u64 count | ids): the same bytes a streamed hash would see.
        var size = 8 + (ids.Length * TransactionId.Size);
        var rented = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var buffer = rented.AsSpan(0, size);
            BinaryPrimitives.WriteUInt64BigEndian(buffer, (ulong)ids.Length);
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i].WriteTo(buffer[(8 + (i * TransactionId.Size))..]);
            }
            SHA256.HashData(buffer, destination[..32]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
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
