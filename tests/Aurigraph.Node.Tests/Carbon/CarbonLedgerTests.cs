using Aurigraph.Node.Carbon;
using Aurigraph.Node.Storage;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Carbon;

public sealed class CarbonLedgerTests : IDisposable
{
    private const string Chain = "carbon-test";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-carbon-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>Blocks 1..8 as a log would carry them: (height, transactions, carbon section).</summary>
    private static List<(ulong Height, int Transactions, byte[] Carbon)> Log() =>
    [
        (1, 3, []),
        (2, 5, []),
        (3, 0, CarbonCodec.EncodeSection([CarbonTestData.MainRecord(1, 3, (1, 1), (2, 2), (3, 3))])),
        (4, 7, CarbonCodec.EncodeSection([CarbonTestData.MainRecord(2, 5, (1, 4), (3, 5))])),          // node 2 missing
        (5, 0, CarbonCodec.EncodeSection([CarbonTestData.MainRecord(2, 5, (1, 4), (2, 6), (3, 5))])),  // a second copy: ignored
        (6, 1, CarbonCodec.EncodeSection([CarbonTestData.LateRecord(2, 5, 2, 6), CarbonTestData.MainRecord(4, 7, (1, 7), (2, 8), (3, 9))])),
        (7, 0, CarbonCodec.EncodeSection([CarbonTestData.LateRecord(2, 5, 2, 6)])),                     // late again: ignored
        (8, 2, [1, 2, 3]),                                                                          // garbage: ignored alike everywhere
    ];

    private (NodeDatabase Db, CarbonLedger Ledger) Open(string name)
    {
        var db = NodeDatabase.Open(Path.Combine(_dir, name), Chain, 1);
        var ledger = new CarbonLedger(db.Db, db.Carbon);
        ledger.Load();
        return (db, ledger);
    }

    private static List<CarbonApplyResult> ApplyAll(NodeDatabase db, CarbonLedger ledger, IEnumerable<(ulong Height, int Transactions, byte[] Carbon)> blocks)
    {
        var results = new List<CarbonApplyResult>();
        foreach (var (height, transactions, carbon) in blocks)
        {
            using var batch = new WriteBatch();
            results.Add(ledger.Apply(batch, height, transactions, carbon));
            db.Db.Write(batch, db.SyncWrite);
        }
        return results;
    }

    private static List<KeyValuePair<byte[], byte[]>> Dump(NodeDatabase db)
    {
        var all = new List<KeyValuePair<byte[], byte[]>>();
        using var it = db.Db.NewIterator(db.Carbon);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            all.Add(new(it.Key(), it.Value()));
        }
        return all;
    }

    [Fact]
    public void The_same_carbon_sections_give_identical_stored_records_on_two_stores()
    {
        var (dbA, a) = Open("a");
        var (dbB, b) = Open("b");
        using (dbA)
        using (dbB)
        {
            ApplyAll(dbA, a, Log());
            // The second store applies the same log in other batch groupings (as a follower catching up would).
            foreach (var group in Log().Chunk(3))
            {
                using var batch = new WriteBatch();
                foreach (var (height, transactions, carbon) in group)
                {
                    b.Apply(batch, height, transactions, carbon);
                }
                dbB.Db.Write(batch, dbB.SyncWrite);
            }

            var storedA = Dump(dbA);
            var storedB = Dump(dbB);
            Assert.NotEmpty(storedA);
            Assert.Equal(storedA.Select(kv => Convert.ToHexString(kv.Key) + "=" + Convert.ToHexString(kv.Value)), storedB.Select(kv => Convert.ToHexString(kv.Key) + "=" + Convert.ToHexString(kv.Value)));
            Assert.Equal(a.ReadTotals(), b.ReadTotals());
            Assert.Equal(a.Totals, a.ReadTotals());
        }
    }

    [Fact]
    public void Stored_views_hold_the_readings_the_block_totals_and_grams_per_transaction()
    {
        var (db, ledger) = Open("a");
        using (db)
        {
            var results = ApplyAll(db, ledger, Log());

            Assert.Single(results[2].Accepted);
            Assert.Single(results[3].Accepted);
            Assert.Empty(results[4].Accepted);
            Assert.Contains("not waiting for one", Assert.Single(results[4].Ignored), StringComparison.Ordinal);
            Assert.Equal(2, results[5].Accepted.Count);
            Assert.Empty(results[6].Accepted);
            Assert.Contains("carbon section", Assert.Single(results[7].Ignored), StringComparison.Ordinal);

            var one = ledger.ReadView(1)!;
            var expected = new[] { CarbonTestData.Reading(1, 1, 1), CarbonTestData.Reading(1, 2, 2), CarbonTestData.Reading(1, 3, 3) };
            Assert.Equal(expected, one.Entries.Select(e => e.Reading));
            Assert.Equal(3UL, one.RecordHeight);
            Assert.Equal(expected[0].Estimate.TotalGrams + expected[1].Estimate.TotalGrams + expected[2].Estimate.TotalGrams, one.TotalGrams);
            Assert.Equal(expected.Sum(r => r.Estimate.Energy.CpuKwh), one.Summary.CpuKwh, 15);
            // gCO2e per transaction × transactions gives back the block total to within a few ulps (one division, one product).
            Assert.Equal(one.TotalGrams, one.GramsPerTransaction * one.TransactionCount, one.TotalGrams * 4e-16);

            // Height 2: node 2 missing in its main record, then filled by the late record of block 6.
            var two = ledger.ReadView(2)!;
            Assert.Equal([CarbonReadingStatus.Present, CarbonReadingStatus.Late, CarbonReadingStatus.Present], two.Entries.Select(e => e.Status));
            Assert.Equal(6UL, two.Entries[1].LateHeight);
            Assert.Equal(4UL, two.RecordHeight);
            Assert.Equal(two.Entries.Sum(e => e.Reading!.Estimate.TotalGrams), two.TotalGrams, two.TotalGrams * 1e-15);

            Assert.Null(ledger.ReadView(3));          // no transactions: no record
            Assert.True(ledger.IsPendingStored(6));   // its record has not come yet
            Assert.True(ledger.IsPendingStored(8));
            Assert.Equal(2, ledger.CountPendingStored());
            Assert.Equal([6UL, 8UL], ledger.Pending.Keys);

            var totals = ledger.ReadTotals();
            Assert.Equal(3UL, totals.Heights);
            Assert.Equal(3UL + 5 + 7, totals.Transactions);
            Assert.Equal(8UL, totals.PresentReadings);
            Assert.Equal(0UL, totals.MissingReadings);
            Assert.Equal(1UL, totals.LateReadings);
            Assert.Equal((1UL, 4UL), (totals.FirstHeight, totals.LastHeight));
            var views = new[] { one, two, ledger.ReadView(4)! };
            Assert.Equal(views.Sum(v => v.TotalGrams), totals.Summary.TotalGrams, totals.Summary.TotalGrams * 1e-15);
            Assert.Equal(views[2].GramsPerTransaction, totals.LastGramsPerTransaction);
            Assert.Equal(views.Select(v => v.Height), ledger.ReadViews(1, 100).Select(v => v.Height));
            Assert.Equal([2UL], ledger.ReadViews(2, 3).Select(v => v.Height));
        }
    }

    [Fact]
    public void A_restarted_ledger_continues_exactly_where_it_stopped()
    {
        var log = Log();
        var (dbA, a) = Open("a");
        using (dbA)
        {
            ApplyAll(dbA, a, log);
        }

        // The other store stops after block 4 (node 2's entry for height 2 still missing) and reopens.
        var (dbB, b) = Open("b");
        ApplyAll(dbB, b, log.Take(4));
        Assert.True(b.IsMissing(2, 2, out var transactions));
        Assert.Equal(5, transactions);
        dbB.Dispose();
        (dbB, b) = Open("b");
        using (dbB)
        {
            Assert.True(b.IsMissing(2, 2, out _));
            Assert.Equal([4UL], b.Pending.Keys);
            ApplyAll(dbB, b, log.Skip(4));
            (dbA, a) = Open("a");
            using (dbA)
            {
                Assert.Equal(Dump(dbA).Select(kv => Convert.ToHexString(kv.Key) + "=" + Convert.ToHexString(kv.Value)), Dump(dbB).Select(kv => Convert.ToHexString(kv.Key) + "=" + Convert.ToHexString(kv.Value)));
            }
        }
    }

    [Fact]
    public void Own_readings_are_kept_until_deleted()
    {
        var (db, ledger) = Open("a");
        using (db)
        {
            using (var batch = new WriteBatch())
            {
                Assert.True(ledger.PutOwnReading(batch, CarbonTestData.Reading(3, 1)) > 100);
                ledger.PutOwnReading(batch, CarbonTestData.Reading(4, 1));
                db.Db.Write(batch);
            }
            Assert.Equal([3UL, 4UL], ledger.ReadOwnReadings().Select(r => r.Height));
            using (var batch = new WriteBatch())
            {
                ledger.DeleteOwnReading(batch, 3);
                db.Db.Write(batch);
            }
            Assert.Equal(CarbonTestData.Reading(4, 1), Assert.Single(ledger.ReadOwnReadings()));
        }
    }

    [Fact]
    public void A_node_database_written_before_the_carbon_family_existed_opens_and_gains_it()
    {
        var path = Path.Combine(_dir, "old");
        using (var db = NodeDatabase.Open(path, Chain, 1))
        {
            db.Db.DropColumnFamily(NodeDatabase.CarbonFamily);
        }
        Assert.True(RocksDb.TryListColumnFamilies(new DbOptions(), path, out var before));
        Assert.DoesNotContain(NodeDatabase.CarbonFamily, before);

        using (var reopened = NodeDatabase.Open(path, Chain, 1))
        {
            reopened.Db.Put([1], [2], reopened.Carbon);
        }
        Assert.True(RocksDb.TryListColumnFamilies(new DbOptions(), path, out var after));
        Assert.Contains(NodeDatabase.CarbonFamily, after);
    }
}
