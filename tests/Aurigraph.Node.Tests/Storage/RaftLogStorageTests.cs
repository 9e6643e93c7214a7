using System.Buffers.Binary;
using Aurigraph.Consensus;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Storage;

public sealed class RaftLogStorageTests : IDisposable
{
    private const string Chain = "storage-test";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-storage-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static Entry E(ulong index, ulong term, int size = 16, byte fill = 0)
    {
        var data = new byte[size];
        Array.Fill(data, fill == 0 ? (byte)index : fill);
        return new Entry(index, term, size == 0 ? EntryType.NoOp : EntryType.Normal, data);
    }

    private static List<Entry> All(RaftLogStorage log)
    {
        var list = new List<Entry>();
        if (log.LastIndex >= 1)
        {
            log.CopyEntries(1, log.LastIndex + 1, long.MaxValue, list);
        }
        return list;
    }

    private static void AssertSameEntries(List<Entry> expected, List<Entry> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Index, actual[i].Index);
            Assert.Equal(expected[i].Term, actual[i].Term);
            Assert.Equal(expected[i].Type, actual[i].Type);
            Assert.True(expected[i].Data.Span.SequenceEqual(actual[i].Data.Span), $"payload of entry {expected[i].Index} differs");
        }
    }

    [Fact]
    public void Crc32c_matches_the_standard_check_value()
    {
        // The CRC-32C check value of "123456789" (RFC 3720, appendix B.4).
        Assert.Equal(0xE3069283u, Checksum.Crc32C("123456789"u8));
        var split = ~Checksum.Update(Checksum.Update(~0u, "1234"u8), "56789"u8);
        Assert.Equal(0xE3069283u, split);
    }

    [Fact]
    public void Compaction_drops_entries_up_to_the_snapshot_and_the_boundary_survives_a_reopen()
    {
        var entries = Enumerable.Range(1, 100).Select(i => E((ulong)i, i <= 40 ? 1UL : i <= 70 ? 2UL : 3UL)).ToList();
        var config = new MembershipConfig([1, 2, 3], [4]);
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            // A slim node's log: compaction deletes the entries (others keep them as block bodies, see BlockBodyTests).
            var log = new RaftLogStorage(db, cacheMaxBytes: 0, keepBodies: false); // everything but the tail read back from disk
            log.Append(new HardState(3, 1, 100), entries);
            using (var applied = new WriteBatch())
            {
                log.AddAppliedIndex(applied, 100);
                db.Db.Write(applied, db.StateWrite);
            }
            log.Compact(new SnapshotMeta(60, 2, config));

            Assert.Equal(61UL, log.FirstIndex);
            Assert.Equal(new SnapshotMeta(60, 2, config).Index, log.Snapshot.Index);
            Assert.Equal(2UL, log.Term(60));
            Assert.Equal(2UL, log.Term(61));
            Assert.Equal(3UL, log.Term(71));
            Assert.Throws<ArgumentOutOfRangeException>(() => log.Term(59));
            Assert.Throws<ArgumentOutOfRangeException>(() => log.CopyEntries(60, 62, long.MaxValue, []));
            var rest = new List<Entry>();
            log.CopyEntries(61, 101, long.MaxValue, rest);
            AssertSameEntries(entries.Skip(60).ToList(), rest);
            log.Compact(new SnapshotMeta(30, 1, config)); // older than the boundary: nothing happens
            Assert.Equal(61UL, log.FirstIndex);
        }
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var log = new RaftLogStorage(db);
            Assert.Equal(61UL, log.FirstIndex);
            Assert.Equal(100UL, log.LastIndex);
            Assert.Equal(2UL, log.Snapshot.Term);
            Assert.Equal([1UL, 2UL, 3UL], log.Snapshot.Config.Voters);
            Assert.Equal([4UL], log.Snapshot.Config.Learners);
            Assert.Equal(2UL, log.Term(60));
            Assert.Equal(3UL, log.Term(100));
            var rest = new List<Entry>();
            log.CopyEntries(61, 101, long.MaxValue, rest);
            AssertSameEntries(entries.Skip(60).ToList(), rest);
            using var it = db.Db.NewIterator(db.RaftLog);
            it.SeekToFirst();
            Assert.Equal(61UL, BinaryPrimitives.ReadUInt64BigEndian(it.Key())); // the compacted entries are gone from disk
        }
    }

    [Fact]
    public void A_log_reset_to_an_installed_snapshot_starts_after_it_and_takes_new_entries()
    {
        var config = new MembershipConfig([1, 2, 3], []);
        using (var db = NodeDatabase.Open(_dir, Chain, 2))
        {
            var log = new RaftLogStorage(db);
            log.Append(new HardState(1, 1, 5), [.. Enumerable.Range(1, 8).Select(i => E((ulong)i, 1))]);
            var meta = new SnapshotMeta(500, 3, config);
            using (var batch = new WriteBatch())
            {
                log.AddSnapshotReset(batch, meta);
                log.AddAppliedIndex(batch, meta.Index); // as the install's final batch does
                log.AddCommitFloor(batch, meta.Index);
                db.Db.Write(batch, db.SyncWrite);
            }
            log.SnapshotInstalled(meta);
            Assert.Equal(new HardState(1, 1, 500), log.InitialState()); // committed up to the snapshot, term and vote kept
            Assert.Equal(500UL, log.LastIndex);
            Assert.Equal(501UL, log.FirstIndex);
            Assert.Equal(3UL, log.Term(500));
            log.Append(new HardState(4, 1, 505), [.. Enumerable.Range(501, 10).Select(i => E((ulong)i, i < 505 ? 3UL : 4UL))]);
        }

        using (var db = NodeDatabase.Open(_dir, Chain, 2))
        {
            var log = new RaftLogStorage(db);
            Assert.Equal(501UL, log.FirstIndex);
            Assert.Equal(510UL, log.LastIndex);
            Assert.Equal(3UL, log.Term(500));
            Assert.Equal(3UL, log.Term(504));
            Assert.Equal(4UL, log.Term(505));
            Assert.Equal(new HardState(4, 1, 505), log.InitialState());
            var all = new List<Entry>();
            log.CopyEntries(501, 511, long.MaxValue, all);
            Assert.Equal(Enumerable.Range(501, 10).Select(i => (ulong)i), all.Select(e => e.Index));
        }
    }

    [Fact]
    public void Hard_state_entries_and_applied_index_survive_a_reopen()
    {
        var entries = new List<Entry> { E(1, 1, 0), E(2, 1, 1024), E(3, 2, 64 * 1024), E(4, 2, 5) };
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var log = new RaftLogStorage(db);
            log.Append(new HardState(2, 3, 3), entries);
            using var batch = new WriteBatch();
            log.AddAppliedIndex(batch, 3);
            db.Db.Write(batch, db.SyncWrite);
        }
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var log = new RaftLogStorage(db);
            Assert.Equal(new HardState(2, 3, 3), log.InitialState());
            Assert.Equal(4UL, log.LastIndex);
            Assert.Equal(0UL, log.Term(0));
            Assert.Equal(1UL, log.Term(2));
            Assert.Equal(2UL, log.Term(3));
            Assert.Equal(3UL, log.ReadAppliedIndex());
            AssertSameEntries(entries, All(log));
        }
    }

    [Fact]
    public void An_append_over_a_conflicting_suffix_replaces_it_on_disk_and_in_the_term_records()
    {
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var log = new RaftLogStorage(db);
            log.Append(null, [E(1, 1), E(2, 1), E(3, 2), E(4, 2), E(5, 3)]);
            log.Append(new HardState(4, 0, 2), [E(3, 4, fill: 0xAA), E(4, 4, fill: 0xBB)]);
            Assert.Equal(4UL, log.LastIndex);
            Assert.Equal(1UL, log.Term(2));
            Assert.Equal(4UL, log.Term(3));
        }
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var log = new RaftLogStorage(db);
            Assert.Equal(4UL, log.LastIndex);
            Assert.Equal(4UL, log.Term(4));
            AssertSameEntries([E(1, 1), E(2, 1), E(3, 4, fill: 0xAA), E(4, 4, fill: 0xBB)], All(log));
        }
    }

    [Fact]
    public void Entries_evicted_from_the_cache_are_read_back_from_disk_within_the_byte_budget()
    {
        using var db = NodeDatabase.Open(_dir, Chain, 1);
        var log = new RaftLogStorage(db, cacheMaxBytes: 4096);
        var entries = Enumerable.Range(1, 50).Select(i => E((ulong)i, 1 + (ulong)i / 10, 1000)).ToList();
        foreach (var e in entries)
        {
            log.Append(null, [e]);
        }
        AssertSameEntries(entries, All(log));

        var some = new List<Entry>();
        var bytes = log.CopyEntries(2, 40, 3 * (1000 + Entry.Overhead), some);
        Assert.Equal([2UL, 3UL, 4UL], some.Select(e => e.Index));
        Assert.Equal(3 * (1000 + Entry.Overhead), bytes);
        Assert.Equal(1UL + 45 / 10, log.Term(45));
    }

    [Fact]
    public void A_corrupted_entry_is_detected_when_read_and_never_returned()
    {
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var log = new RaftLogStorage(db);
            log.Append(new HardState(1, 1, 0), [E(1, 1, 100), E(2, 1, 100), E(3, 1, 100)]);
            // Flip one payload byte of entry 2 behind the log's back.
            var key = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(key, 2);
            var raw = db.Db.Get(key, db.RaftLog);
            raw[^1] ^= 0x01;
            db.Db.Put(key, raw, db.RaftLog);
        }
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var log = new RaftLogStorage(db);
            var into = new List<Entry>();
            var ex = Assert.Throws<StorageCorruptionException>(() => log.CopyEntries(1, 4, long.MaxValue, into));
            Assert.Contains("entry 2", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(into, e => e.Index >= 2);
        }
    }

    [Fact]
    public void A_corrupted_tail_or_hard_state_stops_the_open()
    {
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var log = new RaftLogStorage(db);
            log.Append(new HardState(1, 1, 1), [E(1, 1, 10), E(2, 1, 10)]);
            var key = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(key, 2);
            var raw = db.Db.Get(key, db.RaftLog);
            raw[5] ^= 0x40; // the term
            db.Db.Put(key, raw, db.RaftLog);
        }
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            Assert.Throws<StorageCorruptionException>(() => new RaftLogStorage(db));
            var hard = db.Db.Get("hard"u8.ToArray(), db.RaftState);
            hard[0] ^= 0x01;
            db.Db.Put("hard"u8.ToArray(), hard, db.RaftState);
        }
        using (var db = NodeDatabase.Open(_dir, Chain, 1))
        {
            var ex = Assert.Throws<StorageCorruptionException>(() => new RaftLogStorage(db));
            Assert.Contains("hard state", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_folder_of_another_node_or_chain_is_refused_with_what_it_holds()
    {
        NodeDatabase.Open(_dir, Chain, 1).Dispose();
        var otherNode = Assert.Throws<StorageException>(() => NodeDatabase.Open(_dir, Chain, 2));
        Assert.Contains("belongs to node 1 of chain 'storage-test'", otherNode.Message, StringComparison.Ordinal);
        var otherChain = Assert.Throws<StorageException>(() => NodeDatabase.Open(_dir, "another-chain", 1));
        Assert.Contains("not node 1 of chain 'another-chain'", otherChain.Message, StringComparison.Ordinal);
        NodeDatabase.Open(_dir, Chain, 1).Dispose();
    }

    [Fact]
    public void A_folder_holding_other_files_or_a_damaged_database_is_refused_not_reset()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "not a database");
        var foreign = Assert.Throws<StorageException>(() => NodeDatabase.Open(_dir, Chain, 1));
        Assert.Contains("holds no node database", foreign.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir, "notes.txt")));

        var damaged = Path.Combine(_dir, "db");
        NodeDatabase.Open(damaged, Chain, 1).Dispose();
        foreach (var manifest in Directory.GetFiles(damaged, "MANIFEST-*"))
        {
            File.WriteAllBytes(manifest, new byte[64]);
        }
        var ex = Assert.ThrowsAny<StorageException>(() => NodeDatabase.Open(damaged, Chain, 1));
        Assert.Contains(damaged, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plain_rocksdb_database_is_not_taken_for_a_node_database()
    {
        var options = new DbOptions().SetCreateIfMissing(true);
        using (var plain = RocksDb.Open(options, _dir))
        {
            plain.Put("k"u8.ToArray(), "v"u8.ToArray());
        }
        var ex = Assert.Throws<StorageException>(() => NodeDatabase.Open(_dir, Chain, 1));
        Assert.Contains("not a node database", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Random_appends_truncations_and_reopens_agree_with_the_in_memory_log(ulong seed)
    {
        var random = new SeededRandom(seed);
        var model = new MemoryLogStorage();
        var db = NodeDatabase.Open(_dir, Chain, 1);
        var log = new RaftLogStorage(db, cacheMaxBytes: 2048);
        try
        {
            ulong term = 1;
            for (var step = 0; step < 300; step++)
            {
                var first = model.LastIndex == 0 ? 1 : model.LastIndex + 1 - (ulong)random.NextInt(0, (int)Math.Min(model.LastIndex, 6) + 1);
                if (random.NextInt(0, 4) == 0)
                {
                    term++;
                }
                var batch = Enumerable.Range(0, 1 + random.NextInt(0, 5)).Select(i => E(first + (ulong)i, term, random.NextInt(0, 300), (byte)(1 + random.NextInt(0, 250)))).ToList();
                model.Append(batch);
                log.Append(new HardState(term, 0, 0), batch);
                if (random.NextInt(0, 25) == 0)
                {
                    db.Dispose();
                    db = NodeDatabase.Open(_dir, Chain, 1);
                    log = new RaftLogStorage(db, cacheMaxBytes: 2048);
                }
                Assert.Equal(model.LastIndex, log.LastIndex);
                var probe = (ulong)random.NextInt(0, (int)model.LastIndex + 1);
                Assert.Equal(model.Term(probe), log.Term(probe));
            }
            var expected = new List<Entry>();
            model.CopyEntries(1, model.LastIndex + 1, long.MaxValue, expected);
            AssertSameEntries(expected, All(log));
        }
        finally
        {
            db.Dispose();
        }
    }
}
