using System.Buffers.Binary;
using System.Diagnostics;
using Aurigraph.Consensus;
using Aurigraph.Node.Ledger;
using RocksDbSharp;

namespace Aurigraph.Node.Storage;

/// <summary>
/// The durable Raft log in RocksDB. Each <see cref="Ready"/> is written as one synced <see cref="WriteBatch"/>
/// (entries, truncation of a conflicting suffix, hard state): group commit, one fsync per round however many
/// entries and messages it carries.
/// <para>
/// Layout. <c>raft_log</c>: key = index (8 bytes big-endian), value = <c>[crc32c u32][term u64][type u8][payload]</c>,
/// the CRC covering key, term, type and payload, so an entry moved to another index is caught too.
/// <c>raft_state</c>: <c>hard</c> = term, vote, commit + CRC; <c>applied</c> = applied index + CRC (written in the
/// apply batch, atomically with the ledger records); <c>t</c> + first index = term, one record per run of equal terms,
/// so <see cref="Term"/> answers from memory without reading entries; <c>snapshot</c> = the boundary the log starts
/// after (index, term, membership + CRC) once it was compacted or a snapshot was installed.
/// </para>
/// <para>
/// Recent entries stay in a byte-bounded cache, so replication to followers that keep up and the apply of committed
/// entries never read the disk; older entries are read back and checked against their CRC, and a mismatch raises
/// <see cref="StorageCorruptionException"/> — a damaged entry is never handed to the core.
/// </para>
/// </summary>
public sealed partial class RaftLogStorage : ILogStorage
{
    private const int EntryHeaderBytes = 4 + 8 + 1;
    private static readonly byte[] HardStateKey = "hard"u8.ToArray();
    private static readonly byte[] AppliedKey = "applied"u8.ToArray();
    private static readonly byte[] SnapshotKey = "snapshot"u8.ToArray();
    private const byte TermRunPrefix = (byte)'t';

    private readonly NodeDatabase _db;
    private readonly long _cacheMaxBytes;
    private readonly bool _keepBodies;

    // Without kept bodies: entries below this index were deleted by an earlier compaction (0 after a restart).
    private ulong _bodiesDeletedBelow;

    // An applied index that is in table files (FlushState); read and raised from any thread.
    private ulong _flushedApplied;
    private readonly List<(ulong First, ulong Term)> _termRuns = [];
    private readonly List<Entry> _cache = [];

    // Scratch reused across entries: the batch copies key and value parts when they are added.
    private readonly byte[] _keyScratch = new byte[8];
    private readonly byte[] _headerScratch = new byte[EntryHeaderBytes];
    private readonly ReadOnlyMemory<byte>[] _parts = new ReadOnlyMemory<byte>[2];

    private HardState _hardState;
    private HardState? _pendingCommitFloor;
    private SnapshotMeta _snapshot = SnapshotMeta.None;
    private ulong _lastIndex;

    // The append between Prepare and Complete (null: none). Nothing else changes the log while one is in progress.
    private LogWrite? _inProgress;
    private int _cacheHead;
    private ulong _cacheFirst;
    private long _cacheBytes;

    /// <param name="database">The node database.</param>
    /// <param name="cacheMaxBytes">Bytes of recent entries kept in memory.</param>
    /// <param name="keepBodies">
    /// Whether committed entries stay on disk as block bodies after the core's log is compacted past them (validators and
    /// business nodes: the raft log is the block store); false drops them at compaction (slim nodes keep no old bodies).
    /// </param>
    public RaftLogStorage(NodeDatabase database, long cacheMaxBytes = 64L * 1024 * 1024, bool keepBodies = true)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentOutOfRangeException.ThrowIfNegative(cacheMaxBytes);
        _db = database;
        _cacheMaxBytes = cacheMaxBytes;
        _keepBodies = keepBodies;
        Recover();
    }

    /// <summary>Whether committed entries stay on disk below the core's first index (see the constructor).</summary>
    public bool KeepsBodies => _keepBodies;

    /// <summary>Bytes written to RocksDB by <see cref="Append"/> since start (keys and values), for metering.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Synced batches written since start.</summary>
    public long SyncedWrites { get; private set; }

    public HardState InitialState() => _hardState;

    public SnapshotMeta Snapshot => _snapshot;

    public ulong FirstIndex => _snapshot.Index + 1;

    public ulong LastIndex => _lastIndex;

    public ulong Term(ulong index)
    {
        if (index > _lastIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"beyond last index {_lastIndex}");
        }
        if (index == 0)
        {
            return 0;
        }
        if (index <= _snapshot.Index)
        {
            return index == _snapshot.Index
                ? _snapshot.Term
                : throw new ArgumentOutOfRangeException(nameof(index), index, $"compacted: the log starts after {_snapshot.Index}");
        }
        // The last run starting at or before index.
        int lo = 0, hi = _termRuns.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (_termRuns[mid].First <= index)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return _termRuns[lo].Term;
    }

    public long CopyEntries(ulong lo, ulong hi, long maxBytes, List<Entry> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (lo < FirstIndex || hi > _lastIndex + 1 || lo > hi)
        {
            throw new ArgumentOutOfRangeException(nameof(lo), $"[{lo}, {hi}) outside [{FirstIndex}, {_lastIndex + 1})");
        }
        long bytes = 0;
        var next = lo;
        var cached = CachedCount > 0 ? _cacheFirst : _lastIndex + 1;
        if (next < cached)
        {
            bytes = ReadFromDisk(next, Math.Min(hi, cached), maxBytes, into, out next);
            if (next < Math.Min(hi, cached))
            {
                return bytes;
            }
        }
        while (next < hi)
        {
            var e = _cache[_cacheHead + (int)(next - _cacheFirst)];
            if (bytes > 0 && bytes + e.Size > maxBytes)
            {
                break;
            }
            into.Add(e);
            bytes += e.Size;
            next++;
        }
        return bytes;
    }

    /// <summary>
    /// Persists a <see cref="Ready"/>'s hard state and entries in one synced batch. Entries at or after the first new
    /// index replace what was there (the log's conflicting suffix is deleted in the same batch).
    /// </summary>
    public void Append(HardState? hardState, IReadOnlyList<Entry> entries)
    {
        using var write = Prepare(hardState, entries);
        Write(write);
        Complete(write);
    }

    /// <summary>
    /// The first of three steps of an append (<see cref="Append"/> runs all three): builds the batch and changes nothing.
    /// <see cref="Write"/> may then run on another thread while this one still reads the log, and <see cref="Complete"/>
    /// brings the in-memory view up to the write once it is durable. One write is in progress at a time, and nothing
    /// else changes the log until it completes.
    /// </summary>
    public LogWrite Prepare(HardState? hardState, IReadOnlyList<Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        Debug.Assert(_inProgress is null, "one log write at a time");
        var batch = new WriteBatch();
        long bytes = 0;
        var first = entries.Count > 0 ? entries[0].Index : 0;
        var truncatedRuns = 0;
        if (entries.Count > 0)
        {
            if (first == 0 || first > _lastIndex + 1)
            {
                batch.Dispose();
                throw new InvalidOperationException($"append at {first} leaves a gap after {_lastIndex}");
            }
            if (first <= _lastIndex)
            {
                // Only an uncommitted suffix is ever replaced: committed entries are block bodies that blocks point at.
                Debug.Assert(first > _hardState.Commit, $"truncation at {first} would replace committed entries (commit {_hardState.Commit})");
                batch.DeleteRange(IndexKey(first), 8, IndexKey(_lastIndex + 1), 8, _db.RaftLog);
                for (var i = _termRuns.Count - 1; i >= 0 && _termRuns[i].First >= first; i--)
                {
                    batch.Delete(TermRunKey(_termRuns[i].First), _db.RaftState);
                    truncatedRuns++;
                }
            }
            var lastTerm = _termRuns.Count - truncatedRuns > 0 ? _termRuns[_termRuns.Count - truncatedRuns - 1].Term : 0;
            for (var i = 0; i < entries.Count; i++)
            {
                var e = entries[i];
                if (e.Index != first + (ulong)i)
                {
                    batch.Dispose();
                    throw new InvalidOperationException($"entries are not contiguous: {e.Index} follows {first + (ulong)i - 1}");
                }
                bytes += PutEntry(batch, e);
                if (e.Term != lastTerm)
                {
                    var termValue = new byte[8];
                    BinaryPrimitives.WriteUInt64LittleEndian(termValue, e.Term);
                    batch.Put(TermRunKey(e.Index), termValue, _db.RaftState);
                    lastTerm = e.Term;
                }
            }
        }
        if (hardState is { } hs)
        {
            var value = EncodeHardState(hs);
            batch.Put(HardStateKey, value, _db.RaftState);
            bytes += HardStateKey.Length + value.Length;
        }
        var write = new LogWrite(batch, hardState, entries, truncatedRuns, bytes);
        _inProgress = write;
        return write;
    }

    /// <summary>
    /// The durable write (synced), the second step: touches only the database, so it may run on another thread while
    /// the log is read. An empty write (no hard state, no entries) writes nothing.
    /// </summary>
    public void Write(LogWrite write)
    {
        ArgumentNullException.ThrowIfNull(write);
        Debug.Assert(ReferenceEquals(write, _inProgress), "the write in progress");
        if (write.IsEmpty)
        {
            return;
        }
        _db.Db.Write(write.Batch, _db.SyncWrite);
        write.Durable = true;
    }

    /// <summary>The third step, after <see cref="Write"/> returned: the in-memory view follows the durable write.</summary>
    public void Complete(LogWrite write)
    {
        ArgumentNullException.ThrowIfNull(write);
        Debug.Assert(ReferenceEquals(write, _inProgress), "the write in progress");
        Debug.Assert(write.Durable || write.IsEmpty, "complete only what is durable");
        _inProgress = null;
        if (write.IsEmpty)
        {
            return;
        }
        BytesWritten += write.Bytes;
        SyncedWrites++;
        if (write.HardState is { } state)
        {
            _hardState = state;
        }
        var entries = write.Entries;
        if (entries.Count > 0)
        {
            _termRuns.RemoveRange(_termRuns.Count - write.TruncatedRuns, write.TruncatedRuns);
            TruncateCache(entries[0].Index);
            var lastTerm = _termRuns.Count > 0 ? _termRuns[^1].Term : 0;
            for (var i = 0; i < entries.Count; i++)
            {
                var e = entries[i];
                if (e.Term != lastTerm)
                {
                    _termRuns.Add((e.Index, e.Term));
                    lastTerm = e.Term;
                }
                if (CachedCount == 0)
                {
                    _cacheFirst = e.Index;
                }
                _cache.Add(e);
                _cacheBytes += e.Size;
            }
            _lastIndex = entries[^1].Index;
            EvictCache();
        }
    }

    private static byte[] EncodeHardState(HardState hs)
    {
        var value = new byte[28];
        BinaryPrimitives.WriteUInt64LittleEndian(value, hs.Term);
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(8), hs.Vote);
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(16), hs.Commit);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(24), Checksum.Crc32C(value.AsSpan(0, 24)));
        return value;
    }

    private int CachedCount => _cache.Count - _cacheHead;

    private long PutEntry(WriteBatch batch, Entry e)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_keyScratch, e.Index);
        var header = _headerScratch.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(header[4..], e.Term);
        header[12] = (byte)e.Type;
        var crc = Checksum.Update(~0u, _keyScratch);
        crc = Checksum.Update(crc, header[4..]);
        crc = ~Checksum.Update(crc, e.Data.Span);
        BinaryPrimitives.WriteUInt32LittleEndian(header, crc);
        _parts[0] = _headerScratch;
        _parts[1] = e.Data;
        batch.PutVector(_db.RaftLog, _keyScratch, _parts);
        _parts[1] = default;
        return EntryBytes(e);
    }

    /// <summary>The bytes (key and value) an entry takes when it is written to the log.</summary>
    public static long EntryBytes(in Entry entry) => 8 + EntryHeaderBytes + entry.Data.Length;

    private long ReadFromDisk(ulong lo, ulong hi, long maxBytes, List<Entry> into, out ulong next)
    {
        long bytes = 0;
        next = lo;
        using var it = _db.Db.NewIterator(_db.RaftLog);
        for (it.Seek(IndexKey(lo)); next < hi; it.Next())
        {
            if (!it.Valid())
            {
                throw new StorageCorruptionException($"raft log entry {next} is missing (last index {_lastIndex})");
            }
            var e = Decode(it.Key(), it.Value(), next);
            if (bytes > 0 && bytes + e.Size > maxBytes)
            {
                break;
            }
            into.Add(e);
            bytes += e.Size;
            next++;
        }
        return bytes;
    }

    internal static Entry Decode(byte[] key, byte[] value, ulong expectedIndex)
    {
        if (key.Length != 8 || BinaryPrimitives.ReadUInt64BigEndian(key) != expectedIndex)
        {
            var found = key.Length == 8 ? BinaryPrimitives.ReadUInt64BigEndian(key).ToString(System.Globalization.CultureInfo.InvariantCulture) : "a malformed key";
            throw new StorageCorruptionException($"raft log entry {expectedIndex} is missing (found {found})");
        }
        if (value.Length < EntryHeaderBytes)
        {
            throw new StorageCorruptionException($"raft log entry {expectedIndex} is truncated ({value.Length} bytes)");
        }
        var crc = Checksum.Update(~0u, key);
        crc = ~Checksum.Update(crc, value.AsSpan(4));
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(value))
        {
            throw new StorageCorruptionException($"raft log entry {expectedIndex} fails its CRC32C check; it is not applied or replicated");
        }
        var type = (EntryType)value[12];
        if (type is not (EntryType.Normal or EntryType.NoOp or EntryType.ConfChange))
        {
            throw new StorageCorruptionException($"raft log entry {expectedIndex} has unknown type {value[12]}");
        }
        return new Entry(expectedIndex, BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(4)), type, value.AsMemory(EntryHeaderBytes));
    }

    private void TruncateCache(ulong first)
    {
        if (CachedCount == 0)
        {
            return;
        }
        if (first <= _cacheFirst)
        {
            _cache.Clear();
            _cacheHead = 0;
            _cacheBytes = 0;
            return;
        }
        var keep = (int)Math.Min((ulong)CachedCount, first - _cacheFirst);
        for (var i = _cacheHead + keep; i < _cache.Count; i++)
        {
            _cacheBytes -= _cache[i].Size;
        }
        _cache.RemoveRange(_cacheHead + keep, _cache.Count - _cacheHead - keep);
    }

    private void EvictCache()
    {
        // Keep at least the last entry so the tail is always served from memory.
        while (_cacheBytes > _cacheMaxBytes && CachedCount > 1)
        {
            _cacheBytes -= _cache[_cacheHead].Size;
            _cache[_cacheHead] = default;
            _cacheHead++;
            _cacheFirst++;
        }
        if (_cacheHead > 1024 && _cacheHead > _cache.Count / 2)
        {
            _cache.RemoveRange(0, _cacheHead);
            _cacheHead = 0;
        }
    }

    private static byte[] IndexKey(ulong index)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, index);
        return key;
    }

    private static byte[] TermRunKey(ulong first)
    {
        var key = new byte[9];
        key[0] = TermRunPrefix;
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(1), first);
        return key;
    }
}
