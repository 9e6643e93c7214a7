using System.Buffers.Binary;
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
public sealed class RaftLogStorage : ILogStorage
{
    private const int EntryHeaderBytes = 4 + 8 + 1;
    private static readonly byte[] HardStateKey = "hard"u8.ToArray();
    private static readonly byte[] AppliedKey = "applied"u8.ToArray();
    private static readonly byte[] SnapshotKey = "snapshot"u8.ToArray();
    private const byte TermRunPrefix = (byte)'t';

    private readonly NodeDatabase _db;
    private readonly long _cacheMaxBytes;
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
    private int _cacheHead;
    private ulong _cacheFirst;
    private long _cacheBytes;

    public RaftLogStorage(NodeDatabase database, long cacheMaxBytes = 64L * 1024 * 1024)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentOutOfRangeException.ThrowIfNegative(cacheMaxBytes);
        _db = database;
        _cacheMaxBytes = cacheMaxBytes;
        Recover();
    }

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
        ArgumentNullException.ThrowIfNull(entries);
        if (hardState is null && entries.Count == 0)
        {
            return;
        }
        using var batch = new WriteBatch();
        long bytes = 0;
        var first = entries.Count > 0 ? entries[0].Index : 0;
        var truncatedRuns = 0;
        if (entries.Count > 0)
        {
            if (first == 0 || first > _lastIndex + 1)
            {
                throw new InvalidOperationException($"append at {first} leaves a gap after {_lastIndex}");
            }
            if (first <= _lastIndex)
            {
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

        _db.Db.Write(batch, _db.SyncWrite);
        BytesWritten += bytes;
        SyncedWrites++;

        // The write is durable: now the in-memory view follows it.
        if (hardState is { } state)
        {
            _hardState = state;
        }
        if (entries.Count > 0)
        {
            _termRuns.RemoveRange(_termRuns.Count - truncatedRuns, truncatedRuns);
            TruncateCache(first);
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

    /// <summary>
    /// Drops every entry up to <paramref name="meta"/>'s index (whose effects the host's snapshot holds) and records the
    /// boundary; the log then starts at <c>meta.Index + 1</c>. A no-op when the log already starts past it.
    /// </summary>
    public void Compact(SnapshotMeta meta)
    {
        if (meta.Index <= _snapshot.Index)
        {
            return;
        }
        if (meta.Index > _lastIndex || Term(meta.Index) != meta.Term)
        {
            throw new ArgumentOutOfRangeException(nameof(meta), meta, $"not an entry of this log (last index {_lastIndex})");
        }
        using var batch = new WriteBatch();
        batch.DeleteRange(IndexKey(FirstIndex), 8, IndexKey(meta.Index + 1), 8, _db.RaftLog);
        // Term runs that end before the new first index go; the run holding it stays (its start may precede it).
        var drop = 0;
        while (drop + 1 < _termRuns.Count && _termRuns[drop + 1].First <= meta.Index + 1)
        {
            batch.Delete(TermRunKey(_termRuns[drop].First), _db.RaftState);
            drop++;
        }
        PutSnapshot(batch, meta);
        _db.Db.Write(batch, _db.SyncWrite);
        _termRuns.RemoveRange(0, drop);
        _snapshot = meta;
        while (CachedCount > 0 && _cacheFirst <= meta.Index)
        {
            _cacheBytes -= _cache[_cacheHead].Size;
            _cache[_cacheHead] = default;
            _cacheHead++;
            _cacheFirst++;
        }
    }

    /// <summary>
    /// Adds to the caller's batch the reset of the log to an installed snapshot: every entry and term record goes and the
    /// log starts after <paramref name="meta"/>. Call <see cref="SnapshotInstalled"/> once the batch is durable.
    /// </summary>
    public void AddSnapshotReset(WriteBatch batch, SnapshotMeta meta)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.DeleteRange(IndexKey(0), 8, IndexKey(ulong.MaxValue), 8, _db.RaftLog);
        foreach (var (first, _) in _termRuns)
        {
            batch.Delete(TermRunKey(first), _db.RaftState);
        }
        PutSnapshot(batch, meta);
    }

    /// <summary>
    /// Adds to the caller's batch the durable hard state with its commit index raised to <paramref name="commit"/> (term and
    /// vote unchanged): an installed snapshot is committed state, so a restart between the install and the Ready's own
    /// hard state write never finds the applied index ahead of the commit index.
    /// </summary>
    public void AddCommitFloor(WriteBatch batch, ulong commit)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (commit <= _hardState.Commit)
        {
            return;
        }
        var floor = _hardState with { Commit = commit };
        batch.Put(HardStateKey, EncodeHardState(floor), _db.RaftState);
        _pendingCommitFloor = floor;
    }

    /// <summary>The in-memory view follows a durable <see cref="AddSnapshotReset"/>.</summary>
    public void SnapshotInstalled(SnapshotMeta meta)
    {
        if (_pendingCommitFloor is { } floor)
        {
            _hardState = floor;
            _pendingCommitFloor = null;
        }
        _snapshot = meta;
        _termRuns.Clear();
        _cache.Clear();
        _cacheHead = 0;
        _cacheBytes = 0;
        _lastIndex = meta.Index;
    }

    private void PutSnapshot(WriteBatch batch, SnapshotMeta meta)
    {
        var voters = meta.Config.Voters;
        var learners = meta.Config.Learners;
        var value = new byte[8 + 8 + 4 + 4 + (8 * (voters.Count + learners.Count)) + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(value, meta.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(8), meta.Term);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(16), (uint)voters.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(20), (uint)learners.Count);
        var at = 24;
        foreach (var id in voters.Concat(learners))
        {
            BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(at), id);
            at += 8;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(at), Checksum.Crc32C(value.AsSpan(0, at)));
        batch.Put(SnapshotKey, value, _db.RaftState);
    }

    private static SnapshotMeta ReadSnapshot(byte[] raw)
    {
        if (raw.Length < 28 || BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(raw.Length - 4)) != Checksum.Crc32C(raw.AsSpan(0, raw.Length - 4)))
        {
            throw new StorageCorruptionException("the raft snapshot record fails its CRC32C check");
        }
        var voters = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(16));
        var learners = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(20));
        if ((ulong)raw.Length != 28 + (8 * ((ulong)voters + learners)))
        {
            throw new StorageCorruptionException("the raft snapshot record has the wrong length");
        }
        var ids = new ulong[voters + learners];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(24 + (8 * i)));
        }
        return new SnapshotMeta(
            BinaryPrimitives.ReadUInt64LittleEndian(raw),
            BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(8)),
            new MembershipConfig(ids.AsSpan(0, (int)voters).ToArray(), ids.AsSpan((int)voters).ToArray()));
    }

    /// <summary>The index of the last entry whose effects are in the ledger (0 before any).</summary>
    public ulong ReadAppliedIndex()
    {
        var raw = _db.Db.Get(AppliedKey, _db.RaftState);
        if (raw is null)
        {
            return 0;
        }
        if (raw.Length != 12 || BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(8)) != Checksum.Crc32C(raw.AsSpan(0, 8)))
        {
            throw new StorageCorruptionException("the applied-index record fails its CRC32C check");
        }
        return BinaryPrimitives.ReadUInt64LittleEndian(raw);
    }

    /// <summary>Records the applied index in the caller's batch, so it lands atomically with the ledger writes.</summary>
    public void AddAppliedIndex(WriteBatch batch, ulong index)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var value = new byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(value, index);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(8), Checksum.Crc32C(value.AsSpan(0, 8)));
        batch.Put(AppliedKey, value, _db.RaftState);
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
        return 8 + EntryHeaderBytes + e.Data.Length;
    }

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

    private static Entry Decode(byte[] key, byte[] value, ulong expectedIndex)
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

    private void Recover()
    {
        var raw = _db.Db.Get(HardStateKey, _db.RaftState);
        if (raw is not null)
        {
            if (raw.Length != 28 || BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(24)) != Checksum.Crc32C(raw.AsSpan(0, 24)))
            {
                throw new StorageCorruptionException("the raft hard state record fails its CRC32C check");
            }
            _hardState = new HardState(
                BinaryPrimitives.ReadUInt64LittleEndian(raw),
                BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(8)),
                BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(16)));
        }

        if (_db.Db.Get(SnapshotKey, _db.RaftState) is { } snapshot)
        {
            _snapshot = ReadSnapshot(snapshot);
        }

        using (var it = _db.Db.NewIterator(_db.RaftState))
        {
            for (it.Seek([TermRunPrefix]); it.Valid(); it.Next())
            {
                var key = it.Key();
                if (key.Length != 9 || key[0] != TermRunPrefix)
                {
                    break;
                }
                var value = it.Value();
                if (value.Length != 8)
                {
                    throw new StorageCorruptionException("a raft term record has the wrong length");
                }
                _termRuns.Add((BinaryPrimitives.ReadUInt64BigEndian(key.AsSpan(1)), BinaryPrimitives.ReadUInt64LittleEndian(value)));
            }
        }

        using (var it = _db.Db.NewIterator(_db.RaftLog))
        {
            it.SeekToLast();
            if (it.Valid())
            {
                var key = it.Key();
                if (key.Length != 8)
                {
                    throw new StorageCorruptionException("the raft log holds a malformed key");
                }
                _lastIndex = BinaryPrimitives.ReadUInt64BigEndian(key);
                // The tail must decode and agree with the term records: a torn or foreign log stops the node here.
                var last = Decode(key, it.Value(), _lastIndex);
                if (_lastIndex <= _snapshot.Index || _termRuns.Count == 0 || _termRuns[0].First > FirstIndex || _termRuns[^1].First > _lastIndex || Term(_lastIndex) != last.Term)
                {
                    throw new StorageCorruptionException($"the raft term records disagree with the log's last entry {_lastIndex} (term {last.Term})");
                }
            }
            else if (_termRuns.Count > 0)
            {
                throw new StorageCorruptionException("the raft log is empty but term records exist");
            }
            else
            {
                _lastIndex = _snapshot.Index; // compacted or installed up to the snapshot, nothing after it yet
            }
        }
        if (_hardState.Commit > _lastIndex)
        {
            throw new StorageCorruptionException($"the hard state's commit index {_hardState.Commit} is beyond the log's last entry {_lastIndex}");
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
