using System.Buffers.Binary;
using Aurigraph.Consensus;
using Aurigraph.Node.Ledger;
using RocksDbSharp;

namespace Aurigraph.Node.Storage;

/// <summary>
/// The log's boundaries: compaction after a snapshot, the reset to an installed snapshot, the applied index, the committed
/// entries kept below the core's first index as block bodies, and recovery of all of it at open.
/// </summary>
public sealed partial class RaftLogStorage
{
    /// <summary>
    /// Moves the core's first index past <paramref name="meta"/>'s index (whose effects the host's snapshot holds) and records
    /// the boundary; the log then starts at <c>meta.Index + 1</c>. A no-op when the log already starts past it. Entries up
    /// to the boundary stay on disk as block bodies when <see cref="KeepsBodies"/>, and are deleted otherwise.
    /// <para>
    /// State is written without the write-ahead log (<see cref="NodeDatabase.StateWrite"/>): after a crash the node
    /// re-applies committed entries from the durable applied index on. So before the boundary moves, every column family is
    /// flushed: the applied index on disk is then at least <c>meta.Index</c>, and no entry the restart must re-apply lies
    /// below the core's first index.
    /// </para>
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
        if (FlushedAppliedIndex < meta.Index)
        {
            FlushState(); // the host flushes off the loop after writing its snapshot file; this is the fallback
        }
        if (FlushedAppliedIndex < meta.Index)
        {
            throw new InvalidOperationException($"compaction to {meta.Index} would pass the applied index on disk {FlushedAppliedIndex}");
        }
        using var batch = new WriteBatch();
        if (!_keepBodies)
        {
            batch.DeleteRange(IndexKey(_bodiesDeletedBelow), 8, IndexKey(meta.Index + 1), 8, _db.RaftLog);
        }
        // Term runs that end before the new first index go; the run holding it stays (its start may precede it).
        var drop = 0;
        while (drop + 1 < _termRuns.Count && _termRuns[drop + 1].First <= meta.Index + 1)
        {
            batch.Delete(TermRunKey(_termRuns[drop].First), _db.RaftState);
            drop++;
        }
        PutSnapshot(batch, meta);
        _db.Db.Write(batch, _db.SyncWrite);
        if (!_keepBodies)
        {
            _bodiesDeletedBelow = meta.Index + 1;
        }
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

    /// <summary>An applied index known to be on disk (in table files, not only in memtables): compaction may reach it.</summary>
    public ulong FlushedAppliedIndex => Interlocked.Read(ref _flushedApplied);

    /// <summary>
    /// Flushes every column family and returns the applied index that is then on disk. Safe on any thread (it touches the
    /// database and one atomic field only), so the host runs it off the consensus loop: a flush of full memtables takes a while.
    /// </summary>
    public ulong FlushState()
    {
        var applied = ReadAppliedIndex(); // read before the flush: every write up to it is in what the flush takes
        _db.FlushAll();
        for (var seen = Interlocked.Read(ref _flushedApplied); seen < applied; seen = Interlocked.Read(ref _flushedApplied))
        {
            if (Interlocked.CompareExchange(ref _flushedApplied, applied, seen) == seen)
            {
                break;
            }
        }
        return applied;
    }

    /// <summary>
    /// Adds to the caller's batch the reset of the log to an installed snapshot: every entry the ledger has not applied and
    /// every term record goes, and the log starts after <paramref name="meta"/>. Entries up to the applied index are the
    /// bodies of blocks this node holds and stay when <see cref="KeepsBodies"/> (the blocks between them and the snapshot
    /// are history this node never had). Call <see cref="SnapshotInstalled"/> once the batch is durable.
    /// </summary>
    public void AddSnapshotReset(WriteBatch batch, SnapshotMeta meta)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var keepThrough = _keepBodies ? Math.Min(ReadAppliedIndex(), meta.Index) : 0;
        batch.DeleteRange(IndexKey(keepThrough + 1), 8, IndexKey(ulong.MaxValue), 8, _db.RaftLog);
        if (!_keepBodies)
        {
            batch.DeleteRange(IndexKey(0), 8, IndexKey(1), 8, _db.RaftLog);
        }
        foreach (var (first, _) in _termRuns)
        {
            batch.Delete(TermRunKey(first), _db.RaftState);
        }
        PutSnapshot(batch, meta);
    }

    /// <summary>
    /// The payload of the committed entry at <paramref name="index"/>, read from disk and checked against its CRC, or null when
    /// the log holds no entry there (pruned, or before a snapshot this node installed). Safe on any thread: it reads the
    /// database only. The caller names an index it knows is committed (a block's), so the row cannot be replaced meanwhile.
    /// </summary>
    /// <exception cref="StorageCorruptionException">The entry fails its CRC or is not of <paramref name="term"/>.</exception>
    public static ReadOnlyMemory<byte>? ReadBody(NodeDatabase database, ulong index, ulong term)
    {
        ArgumentNullException.ThrowIfNull(database);
        var key = IndexKey(index);
        var value = database.Db.Get(key, database.RaftLog);
        if (value is null)
        {
            return null;
        }
        var entry = Decode(key, value, index);
        if (entry.Term != term)
        {
            throw new StorageCorruptionException($"raft log entry {index} has term {entry.Term}; the block stored for it says term {term}");
        }
        return entry.Data;
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
        Interlocked.Exchange(ref _flushedApplied, meta.Index); // the install's final batch went through the synced WAL
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
            }
            if (it.Valid() && _lastIndex > _snapshot.Index)
            {
                var key = it.Key();
                // The tail must decode and agree with the term records: a torn or foreign log stops the node here.
                var last = Decode(key, it.Value(), _lastIndex);
                if (_lastIndex <= _snapshot.Index || _termRuns.Count == 0 || _termRuns[0].First > FirstIndex || _termRuns[^1].First > _lastIndex || Term(_lastIndex) != last.Term)
                {
                    throw new StorageCorruptionException($"the raft term records disagree with the log's last entry {_lastIndex} (term {last.Term})");
                }
            }
            else if (_termRuns.Count > 0 && _snapshot.Index == 0)
            {
                throw new StorageCorruptionException("the raft log is empty but term records exist");
            }
            else
            {
                // Compacted or installed up to the snapshot, nothing after it yet (rows below it are block bodies).
                _lastIndex = _snapshot.Index;
            }
        }
        // State is written without the WAL and rebuilt from the log after a crash, so the log must still hold every entry
        // after the applied index on disk (Compact flushes before it moves the boundary; an install lands both at once).
        _flushedApplied = ReadAppliedIndex(); // what a start finds is on disk
        if (_flushedApplied < _snapshot.Index)
        {
            throw new StorageCorruptionException($"the applied index on disk ({_flushedApplied}) is below the log's boundary {_snapshot.Index}: entries the ledger needs to re-apply are gone");
        }
        if (_hardState.Commit > _lastIndex)
        {
            throw new StorageCorruptionException($"the hard state's commit index {_hardState.Commit} is beyond the log's last entry {_lastIndex}");
        }
    }
}
