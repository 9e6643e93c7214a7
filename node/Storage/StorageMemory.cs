using RocksDbSharp;

namespace Aurigraph.Node.Storage;

/// <summary>
/// What RocksDB may hold in memory for one database (derived from the node's memory budget, see
/// <c>Hosting.MemoryBudget</c>): all memtables together (a write buffer manager flushes once they pass it), each column
/// family's write buffer and how many of them it may fill, and the block cache every family shares.
/// </summary>
public sealed record StorageMemoryLimits(long MemtableBytes, long WriteBufferBytes, int MaxWriteBuffers, long BlockCacheBytes);

/// <summary>
/// A database's native memory as RocksDB reports it: memtables (every family's active and immutable ones), the block
/// cache in use, and the table readers' index and filter blocks held outside the cache.
/// </summary>
public sealed class StorageMemory : IDisposable
{
    private RocksDb? _db;
    private ColumnFamilyHandle[] _families = [];

    /// <summary>Creates the cache and write buffer manager <paramref name="limits"/> describe; they live as long as this object.</summary>
    internal StorageMemory(StorageMemoryLimits limits)
    {
        Limits = limits;
        Cache = Cache.CreateLru((ulong)limits.BlockCacheBytes);
        // No stall: past the limit the manager flushes the largest memtables sooner instead of blocking writers.
        WriteBufferManager = Native.Instance.rocksdb_write_buffer_manager_create(checked((UIntPtr)(ulong)limits.MemtableBytes), 0);
    }

    public StorageMemoryLimits Limits { get; }

    /// <summary>The block cache every column family of the database shares.</summary>
    internal Cache Cache { get; }

    /// <summary>Native handle of the write buffer manager set on the database options.</summary>
    internal IntPtr WriteBufferManager { get; }

    /// <summary>Reads the memory of <paramref name="db"/>'s <paramref name="families"/> from now on.</summary>
    internal void Attach(RocksDb db, ColumnFamilyHandle[] families)
    {
        _db = db;
        _families = families;
    }

    /// <summary>Bytes of every family's memtables (rocksdb.cur-size-all-mem-tables, summed).</summary>
    public long MemtableBytes() => Sum("rocksdb.cur-size-all-mem-tables");

    /// <summary>Bytes of the table readers' index and filter blocks (rocksdb.estimate-table-readers-mem, summed).</summary>
    public long TableReaderBytes() => Sum("rocksdb.estimate-table-readers-mem");

    /// <summary>
    /// Bytes the node keeps: the live table files of every family plus what its memtables hold for them
    /// (rocksdb.live-sst-files-size + rocksdb.cur-size-all-mem-tables, summed). What a slim node prunes, and log
    /// entries compacted away, leave it once RocksDB drops their files.
    /// </summary>
    public long RetainedBytes() => Sum("rocksdb.live-sst-files-size") + MemtableBytes();

    /// <summary>Bytes in the block cache.</summary>
    public long BlockCacheBytes() => (long)Cache.GetUsage();

    private long Sum(string property)
    {
        long total = 0;
        foreach (var family in _families)
        {
            if (long.TryParse(_db?.GetProperty(property, family), out var value))
            {
                total += value;
            }
        }
        return total;
    }

    /// <summary>Destroys the write buffer manager; call after the database is closed.</summary>
    public void Dispose() => Native.Instance.rocksdb_write_buffer_manager_destroy(WriteBufferManager);
}
