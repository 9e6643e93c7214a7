using Aurigraph.Consensus;
using Aurigraph.Node.Storage;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Storage;

/// <summary>Committed raft log entries are the block store: compaction and snapshot installs keep them as block bodies.</summary>
public sealed class BlockBodyTests : IDisposable
{
    private const string Chain = "bodies-test";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-bodies-" + Guid.NewGuid().ToString("N"));
    private static readonly MembershipConfig Config = new([1, 2, 3], []);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static Entry E(ulong index, ulong term) => new(index, term, EntryType.Normal, Enumerable.Repeat((byte)index, 40).ToArray());

    private static void SetApplied(NodeDatabase db, RaftLogStorage log, ulong index)
    {
        using var batch = new WriteBatch();
        log.AddAppliedIndex(batch, index);
        db.Db.Write(batch, db.StateWrite);
    }

    [Fact]
    public void Compaction_moves_the_first_index_but_keeps_committed_entries_as_bodies_across_reopens()
    {
        var entries = Enumerable.Range(1, 100).Select(i => E((ulong)i, i <= 50 ? 1UL : 2UL)).ToList();
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var log = new RaftLogStorage(db, cacheMaxBytes: 0);
            log.Append(new HardState(2, 1, 100), entries);
            SetApplied(db, log, 100);
            log.Compact(new SnapshotMeta(60, 2, Config));
            Assert.Equal(61UL, log.FirstIndex);
            Assert.Throws<ArgumentOutOfRangeException>(() => log.CopyEntries(60, 61, long.MaxValue, []));
            Assert.Equal(entries[9].Data.ToArray(), RaftLogStorage.ReadBody(db, 10, 1)!.Value.ToArray());
            // A body read names the block's term: an entry of another term at that index is not its body.
            Assert.Throws<StorageCorruptionException>(() => RaftLogStorage.ReadBody(db, 10, 2));
            // Compacting the whole log leaves no entry after the boundary, only bodies below it.
            log.Compact(new SnapshotMeta(100, 2, Config));
        }
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var log = new RaftLogStorage(db);
            Assert.Equal(101UL, log.FirstIndex);
            Assert.Equal(100UL, log.LastIndex);
            Assert.Equal(2UL, log.Term(100));
            for (ulong i = 1; i <= 100; i++)
            {
                Assert.Equal(entries[(int)i - 1].Data.ToArray(), RaftLogStorage.ReadBody(db, i, i <= 50 ? 1UL : 2UL)!.Value.ToArray());
            }
            log.Append(new HardState(3, 1, 100), [E(101, 3)]);
            var tail = new List<Entry>();
            log.CopyEntries(101, 102, long.MaxValue, tail);
            Assert.Equal(3UL, Assert.Single(tail).Term);
        }
    }

    [Fact]
    public void Compaction_never_moves_past_the_applied_index_on_disk()
    {
        using var db = NodeDatabase.Open(_dir, Chain, 1);
        var log = new RaftLogStorage(db);
        log.Append(new HardState(1, 1, 80), [.. Enumerable.Range(1, 80).Select(i => E((ulong)i, 1))]);
        SetApplied(db, log, 50);
        Assert.Throws<InvalidOperationException>(() => log.Compact(new SnapshotMeta(60, 1, Config)));
        Assert.Equal(1UL, log.FirstIndex);
        log.Compact(new SnapshotMeta(50, 1, Config));
        Assert.Equal(51UL, log.FirstIndex);
    }

    [Fact]
    public void A_snapshot_reset_keeps_the_bodies_of_applied_entries_and_drops_the_rest()
    {
        using (var db = NodeDatabase.Open(_dir, Chain, 2))
        {
            var log = new RaftLogStorage(db);
            log.Append(new HardState(1, 1, 6), [.. Enumerable.Range(1, 8).Select(i => E((ulong)i, 1))]);
            SetApplied(db, log, 5);
            var meta = new SnapshotMeta(500, 3, Config);
            using (var batch = new WriteBatch())
            {
                log.AddSnapshotReset(batch, meta);
                log.AddAppliedIndex(batch, meta.Index);
                log.AddCommitFloor(batch, meta.Index);
                db.Db.Write(batch, db.SyncWrite);
            }
            log.SnapshotInstalled(meta);
        }
        using (var db = NodeDatabase.Open(_dir, Chain, 2))
        {
            var log = new RaftLogStorage(db);
            Assert.Equal(501UL, log.FirstIndex);
            Assert.Equal(500UL, log.LastIndex);
            Assert.NotNull(RaftLogStorage.ReadBody(db, 5, 1));
            Assert.Null(RaftLogStorage.ReadBody(db, 6, 1)); // committed but never applied here: no block points at it
            Assert.Null(RaftLogStorage.ReadBody(db, 8, 1));
        }
    }

    [Fact]
    public void Without_kept_bodies_a_snapshot_reset_drops_every_entry()
    {
        using var db = NodeDatabase.Open(_dir, Chain, 5);
        var log = new RaftLogStorage(db, keepBodies: false);
        log.Append(new HardState(1, 1, 6), [.. Enumerable.Range(1, 8).Select(i => E((ulong)i, 1))]);
        SetApplied(db, log, 5);
        var meta = new SnapshotMeta(500, 3, Config);
        using (var batch = new WriteBatch())
        {
            log.AddSnapshotReset(batch, meta);
            db.Db.Write(batch, db.SyncWrite);
        }
        log.SnapshotInstalled(meta);
        using var it = db.Db.NewIterator(db.RaftLog);
        it.SeekToFirst();
        Assert.False(it.Valid());
    }
}
