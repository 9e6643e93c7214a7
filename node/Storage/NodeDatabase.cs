using System.Buffers.Binary;
using System.Text;
using Aurigraph.Node.Ledger;
using RocksDbSharp;

namespace Aurigraph.Node.Storage;

/// <summary>The data folder cannot be used: foreign, damaged, or belonging to another node or chain.</summary>
public class StorageException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A stored record failed its checksum or does not decode: reported, never served or applied.</summary>
public sealed class StorageCorruptionException(string message) : StorageException(message);

/// <summary>
/// The node's RocksDB database: one folder, one column family per kind of record. Opening checks that the folder
/// is a node database written by this format, for this chain and this node id; anything else is refused with a
/// message naming what was found, so a mistyped path or a swapped volume never becomes a silent reset.
/// </summary>
public sealed class NodeDatabase : IDisposable
{
    /// <summary>Raft log entries by index (8-byte big-endian key).</summary>
    public const string RaftLogFamily = "raft_log";

    /// <summary>Hard state, applied index and the log's term runs.</summary>
    public const string RaftStateFamily = "raft_state";

    /// <summary>Blocks by height.</summary>
    public const string BlocksFamily = "blocks";

    /// <summary>Transaction id → (height, index).</summary>
    public const string TxIndexFamily = "tx_index";

    /// <summary>Ledger state records (accounts, key/value entries).</summary>
    public const string LedgerFamily = "ledger";

    /// <summary>Identity of the folder, chain tip and other small records.</summary>
    public const string MetaFamily = "meta";

    /// <summary>Committed carbon records by height, their running totals, and this node's readings on their way to a record.</summary>
    public const string CarbonFamily = "carbon";

    /// <summary>This node's hourly grid-intensity history by zone and hour (local, never replicated nor in snapshots).</summary>
    public const string IntensityFamily = "intensity";

    /// <summary>
    /// RocksDB's memory when the caller gives none: the shares of the default memory budget (256 MB: 32 MiB of memtables
    /// in all, 8 MiB write buffers, 8 MiB block cache; see <c>Hosting.MemoryBudget</c>).
    /// </summary>
    public static readonly StorageMemoryLimits DefaultMemory = new(32L << 20, 8L << 20, 2, 8L << 20);

    private readonly FlushOptions _waitingFlush = new FlushOptions().SetWaitForFlush(true);

    /// <summary>
    /// Version of the on-disk layout; a folder written by another version is refused. 2: block payloads carry the
    /// transactions root and a carbon section, and block records keep the payload bytes. 3: key/value records are
    /// keyed by their owner (the putting sender) and the key. 4: block records hold no payload (the committed raft log
    /// entry is the block body and is kept past compaction), and the apply batch is written without the write-ahead log.
    /// </summary>
    public const ushort FormatVersion = 4;

    private static readonly string[] Families = [RaftLogFamily, RaftStateFamily, BlocksFamily, TxIndexFamily, LedgerFamily, MetaFamily];

    // Families added after the current format was first written: a node folder without them is completed at open, not refused.
    private static readonly string[] AddedFamilies = [CarbonFamily, IntensityFamily];
    private static readonly byte[] IdentityKey = "node/identity"u8.ToArray();
    private static readonly byte[] IncarnationKey = "node/incarnation"u8.ToArray();
    private static readonly byte[] IdentityMagic = "AGDB"u8.ToArray();

    private NodeDatabase(RocksDb db, string path, DbOptions options, StorageMemory memory)
    {
        Db = db;
        Memory = memory;
        Statistics = new StorageStatistics(options);
        Path = path;
        RaftLog = db.GetColumnFamily(RaftLogFamily);
        RaftState = db.GetColumnFamily(RaftStateFamily);
        Blocks = db.GetColumnFamily(BlocksFamily);
        TxIndex = db.GetColumnFamily(TxIndexFamily);
        Ledger = db.GetColumnFamily(LedgerFamily);
        Meta = db.GetColumnFamily(MetaFamily);
        Carbon = db.GetColumnFamily(CarbonFamily);
        Intensity = db.GetColumnFamily(IntensityFamily);
        memory.Attach(db, AllFamilies);
        SyncWrite = new WriteOptions().SetSync(true);
        NoSyncWrite = new WriteOptions().SetSync(false);
        StateWrite = new WriteOptions().SetSync(false).DisableWal(1);
    }

    public RocksDb Db { get; }

    /// <summary>The database's native memory: its limits and what memtables, block cache and table readers hold now.</summary>
    public StorageMemory Memory { get; }

    private ColumnFamilyHandle[] AllFamilies => [RaftLog, RaftState, Blocks, TxIndex, Ledger, Meta, Carbon, Intensity];

    /// <summary>RocksDB's write counters (WAL, flush, compaction bytes).</summary>
    public StorageStatistics Statistics { get; }

    public string Path { get; }

    public ColumnFamilyHandle RaftLog { get; }

    public ColumnFamilyHandle RaftState { get; }

    public ColumnFamilyHandle Blocks { get; }

    public ColumnFamilyHandle TxIndex { get; }

    public ColumnFamilyHandle Ledger { get; }

    public ColumnFamilyHandle Meta { get; }

    public ColumnFamilyHandle Carbon { get; }

    public ColumnFamilyHandle Intensity { get; }

    /// <summary>Write options that return only once the write-ahead log is on stable storage.</summary>
    public WriteOptions SyncWrite { get; }

    /// <summary>Write options for records that can be rebuilt from the durable log after a crash.</summary>
    public WriteOptions NoSyncWrite { get; }

    /// <summary>
    /// Write options of the apply batch: no write-ahead log at all. The synced raft log already holds every byte the batch
    /// derives from, and a restart re-applies committed entries after the applied index it finds. Sound because the
    /// database flushes atomically (every column family's memtables in one step), so after a crash the state families and
    /// the applied index on disk are the same prefix of the applied entries, and because the log is never compacted past
    /// what is flushed (<see cref="RaftLogStorage.Compact"/>).
    /// </summary>
    public WriteOptions StateWrite { get; }

    /// <summary>
    /// Flushes every column family's memtables to table files and waits (atomically, as every flush of this database):
    /// afterwards everything written, with the write-ahead log or without, is on disk.
    /// </summary>
    public void FlushAll()
    {
        var handles = AllFamilies.Select(h => h.Handle).ToArray();
        Native.Instance.rocksdb_flush_cfs(Db.Handle, _waitingFlush.Handle, handles, handles.Length);
    }

    /// <summary>
    /// Opens the database in <paramref name="path"/>, creating it if the folder is missing or empty.
    /// </summary>
    /// <exception cref="StorageException">The folder holds something else, or another chain's or node's data, or is damaged.</exception>
    public static NodeDatabase Open(string path, string chainId, ulong nodeId, StorageMemoryLimits? memoryLimits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(chainId);
        var full = System.IO.Path.GetFullPath(path);
        var exists = File.Exists(System.IO.Path.Combine(full, "CURRENT"));
        if (!exists && Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
        {
            throw new StorageException(
                $"data folder '{full}' is not empty and holds no node database (no RocksDB CURRENT file); " +
                "point Aurigraph:DataDir at this node's own folder or at an empty one");
        }
        Directory.CreateDirectory(full);

        var options = new DbOptions()
            .SetCreateIfMissing(!exists)
            // Safe for an existing folder too: it is opened only after the check below found every original family.
            .SetCreateMissingColumnFamilies(true)
            .SetParanoidChecks(true)
            .IncreaseParallelism(2)
            .SetKeepLogFileNum(4)
            ;
        options.EnableStatistics();
        // Every flush takes all column families at one point of the write order, so state written without the WAL and the
        // applied index written with it in one batch reach disk together (see StateWrite).
        Native.Instance.rocksdb_options_set_atomic_flush(options.Handle, 1);
        if (exists)
        {
            string[]? found;
            try
            {
                if (!RocksDb.TryListColumnFamilies(options, full, out found) || found is null)
                {
                    throw new StorageException($"data folder '{full}': the RocksDB manifest cannot be read; the folder is damaged");
                }
            }
            catch (RocksDbException ex)
            {
                throw new StorageException($"data folder '{full}' is damaged: {ex.Message}", ex);
            }
            var missing = Families.Where(f => !found.Contains(f)).ToArray();
            if (missing.Length > 0)
            {
                throw new StorageException(
                    $"data folder '{full}' holds a RocksDB database that is not a node database (missing column families: {string.Join(", ", missing)})");
            }
        }

        var memory = new StorageMemory(memoryLimits ?? DefaultMemory);
        // All families' memtables together stay within the budget's share: past it the manager has the largest flushed.
        Native.Instance.rocksdb_options_set_write_buffer_manager(options.Handle, memory.WriteBufferManager);
        var families = new ColumnFamilies();
        foreach (var name in Families.Concat(AddedFamilies))
        {
            families.Add(name, FamilyOptions(name, memory));
        }
        RocksDb db;
        try
        {
            db = RocksDb.Open(options, full, families);
        }
        catch (RocksDbException ex)
        {
            memory.Dispose();
            throw new StorageException($"data folder '{full}' cannot be opened: {ex.Message}", ex);
        }

        var database = new NodeDatabase(db, full, options, memory);
        try
        {
            database.CheckIdentity(chainId, nodeId, created: !exists);
        }
        catch
        {
            database.Dispose();
            throw;
        }
        return database;
    }

    private static ColumnFamilyOptions FamilyOptions(string name, StorageMemory memory)
    {
        // Memtables: every family's write buffer is the budget's share (8 MiB at 256 MB), and the write buffer manager
        // bounds them all together. Before the budget: 64 MiB each and no bound (a loaded validator held up to ~200 MB).
        // The raft log's entries are large, written once in index order and never compressed.
        var options = new ColumnFamilyOptions()
            .SetWriteBufferSize((ulong)memory.Limits.WriteBufferBytes)
            .SetMaxWriteBufferNumber(memory.Limits.MaxWriteBuffers);
        options.SetCompression(name == RaftLogFamily ? Compression.No : Compression.Lz4);
        if (name is TxIndexFamily or LedgerFamily)
        {
            // Random keys: every L0 file overlaps all of L1, so each L0 -> L1 compaction rewrites L1. With the budget's
            // small write buffers, the default trigger (4 files) rewrote L1 every 32 MiB written; 16 files per
            // compaction cut that rewriting fourfold. Reads of L0 are answered by bloom filters (below).
            options.SetLevel0FileNumCompactionTrigger(16)
                .SetLevel0SlowdownWritesTrigger(32)
                .SetLevel0StopWritesTrigger(48);
        }
        // One block cache for every family, bounded, instead of one per family.
        var table = new BlockBasedTableOptions().SetBlockCache(memory.Cache);
        if (name is TxIndexFamily or LedgerFamily)
        {
            // Admission asks the index about every new transaction, and almost all are absent; a put of a new key asks
            // the ledger family for a value it does not hold: a bloom filter answers those from memory.
            table.SetFilterPolicy(BloomFilterPolicy.Create(10, false)).SetWholeKeyFiltering(true);
        }
        options.SetBlockBasedTableFactory(table);
        return options;
    }

    /// <summary>
    /// Counts this start: returns a number no earlier start of this data folder returned (1, 2, ...), written durably
    /// before it is returned. Ids a node hands out to its peers are made unique across restarts with it.
    /// </summary>
    public ulong NextIncarnation()
    {
        var raw = Db.Get(IncarnationKey, Meta);
        var next = (raw is { Length: 8 } ? System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(raw) : 0) + 1;
        var bytes = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, next);
        Db.Put(IncarnationKey, bytes, Meta, SyncWrite);
        return next;
    }

    private void CheckIdentity(string chainId, ulong nodeId, bool created)
    {
        var raw = Db.Get(IdentityKey, Meta);
        if (raw is null)
        {
            if (!created && !IsEmpty())
            {
                throw new StorageException($"data folder '{Path}' has node column families but no identity record; it is damaged or was not written by a node");
            }
            // A folder created by a start that stopped before this write is still empty, and is claimed now.
            Db.Put(IdentityKey, EncodeIdentity(chainId, nodeId), Meta, SyncWrite);
            return;
        }
        var (version, storedChain, storedNode) = DecodeIdentity(raw);
        if (version != FormatVersion)
        {
            throw new StorageException(
                $"data folder '{Path}' was written in storage format {version}; this node reads format {FormatVersion}" +
                (version < FormatVersion
                    ? " and does not convert older folders (format 4 reads block bodies from the raft log, which earlier formats delete at compaction); start this node on an empty folder and it catches up from its peers"
                    : ""));
        }
        if (storedChain != chainId || storedNode != nodeId)
        {
            throw new StorageException(
                $"data folder '{Path}' belongs to node {storedNode} of chain '{storedChain}', not node {nodeId} of chain '{chainId}'; " +
                "check Aurigraph:DataDir, Aurigraph:NodeId and Aurigraph:ChainId");
        }
    }

    private bool IsEmpty()
    {
        foreach (var family in new[] { RaftLog, RaftState, Blocks, TxIndex, Ledger, Meta })
        {
            using var it = Db.NewIterator(family);
            it.SeekToFirst();
            if (it.Valid())
            {
                return false;
            }
        }
        return true;
    }

    private static byte[] EncodeIdentity(string chainId, ulong nodeId)
    {
        var chain = Encoding.UTF8.GetBytes(chainId);
        var value = new byte[4 + 2 + 8 + chain.Length + 4];
        IdentityMagic.CopyTo(value, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(value.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(6), nodeId);
        chain.CopyTo(value, 14);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(value.Length - 4), Checksum.Crc32C(value.AsSpan(0, value.Length - 4)));
        return value;
    }

    private (ushort Version, string ChainId, ulong NodeId) DecodeIdentity(byte[] raw)
    {
        if (raw.Length < 18 || !raw.AsSpan(0, 4).SequenceEqual(IdentityMagic)
            || BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(raw.Length - 4)) != Checksum.Crc32C(raw.AsSpan(0, raw.Length - 4)))
        {
            throw new StorageCorruptionException($"data folder '{Path}': the identity record fails its check; the folder is damaged");
        }
        return (
            BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(4)),
            Encoding.UTF8.GetString(raw.AsSpan(14, raw.Length - 18)),
            BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(6)));
    }

    public void Dispose()
    {
        Db.Dispose();
        Memory.Dispose();
    }
}
