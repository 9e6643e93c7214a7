using Aurigraph.Node.Carbon;

namespace Aurigraph.Node.Tests.Carbon;

public sealed class CarbonWindowTests
{
    private static CarbonBlockView View(ulong height, int transactions, params (ulong Node, long Scale)[] readings)
    {
        var entries = new List<CarbonViewEntry>();
        foreach (var node in new ulong[] { 1, 2, 3 })
        {
            var found = readings.Where(r => r.Node == node).ToList();
            entries.Add(found.Count > 0
                ? new CarbonViewEntry(node, CarbonReadingStatus.Present, 0, CarbonTestData.Reading(height, node, found[0].Scale))
                : new CarbonViewEntry(node, CarbonReadingStatus.Missing, 0, null));
        }
        return new CarbonBlockView(height, transactions, height + 1, entries, CarbonBlockView.Summarize(entries));
    }

    [Fact]
    public void Percentiles_are_over_transactions_and_shares_add_up_to_the_window_total()
    {
        // Block 1: 98 transactions at a small per-transaction figure; block 2: 1 transaction at the largest figure;
        // block 3: 1 transaction, one reading missing, in between. Nearest rank over 100 transactions: p50 is the
        // 50th (block 1), p99 the 99th (block 3); block 2's figure is the 100th, above p99.
        var views = new[]
        {
            View(1, 98, (1, 1), (2, 1), (3, 1)),
            View(2, 1, (1, 50), (2, 50), (3, 50)),
            View(3, 1, (1, 20), (2, 20)),
        };
        var roles = new Dictionary<ulong, string> { [1] = "validator", [2] = "validator", [3] = "validator" };

        var w = CarbonReports.Window(views, id => roles[id]);

        Assert.Equal(3UL, w.Heights);
        Assert.Equal(100UL, w.Transactions);
        var total = views.Sum(v => v.TotalGrams);
        Assert.Equal(total, w.Summary.TotalGrams, total * 1e-12);
        Assert.Equal(total / 100, w.MeanGramsPerTransaction, total * 1e-12);
        Assert.Equal(views[0].GramsPerTransaction, w.P50GramsPerTransaction);
        Assert.True(views[1].GramsPerTransaction > views[2].GramsPerTransaction);
        Assert.Equal(views[2].GramsPerTransaction, w.P99GramsPerTransaction);

        // Every share view partitions the same readings: each sums to the window's grams.
        foreach (var shares in new[] { w.ByRegion, w.ByNode, w.ByRole })
        {
            Assert.Equal(total, shares.Sum(s => s.Value.Grams), total * 1e-12);
            Assert.Equal(8UL, shares.Aggregate(0UL, (n, s) => n + s.Value.Readings));
        }
        Assert.Equal(["node 1", "node 2", "node 3"], w.ByNode.Select(s => s.Key));
        Assert.Equal(2UL, w.ByNode.Single(s => s.Key == "node 3").Value.Readings);
        Assert.Equal("aws/us-east-1", Assert.Single(w.ByRegion).Key);
        Assert.Equal("validator", Assert.Single(w.ByRole).Key);
    }

    [Fact]
    public void An_empty_window_has_zero_figures()
    {
        var w = CarbonReports.Window([], _ => "validator");
        Assert.Equal((0UL, 0UL, 0.0, 0.0, 0.0), (w.Heights, w.Transactions, w.MeanGramsPerTransaction, w.P50GramsPerTransaction, w.P99GramsPerTransaction));
        Assert.Empty(w.ByRegion);
    }
}
