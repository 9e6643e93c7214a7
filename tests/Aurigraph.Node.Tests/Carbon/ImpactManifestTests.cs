using Aurigraph.Node.Carbon;
using YamlDotNet.RepresentationModel;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>
/// The Impact Framework manifest export, recomputed by the Green Software Foundation's own tool (if-run, pinned in
/// tools/impact-framework): every observation's carbon and the range's aggregate must come out as the records say.
/// </summary>
public sealed class ImpactManifestTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-manifest-" + Guid.NewGuid().ToString("N")[..8]);

    public ImpactManifestTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CarbonBlockView View(ulong height, int transactions, params ulong[] nodes)
    {
        // Node 2 states a contractual factor; the others have none and count at their location-based figure.
        var entries = nodes.Select(n => new CarbonViewEntry(n, CarbonReadingStatus.Present, 0, CarbonTestData.Reading(height, n, scale: (long)(height + n)) is var r && n == 2
            ? r with { Market = new MarketFactor(41.5, MarketBasis.EnergyAttributeCertificates, "guarantees of origin, test") }
            : r)).ToList();
        return new CarbonBlockView(height, transactions, height + 1, entries, CarbonBlockView.Summarize(entries));
    }

    [Fact]
    public void If_run_recomputes_every_reading_and_the_range_total_from_the_manifest_alone()
    {
        List<CarbonBlockView> views = [View(5, 40, 1, 2, 3), View(6, 7, 1, 2, 3), View(8, 1_000, 1, 3)];
        var root = ImpactFramework.Run(ImpactManifest.Write(views, 5, 8, "aurigraph-devnet"), _dir);
        double Total(string metric) => ImpactFramework.MemberTotal(root, metric);
        var expected = views.Sum(v => v.Summary.TotalGrams);
        Assert.Equal(expected, Total("carbon"), expected * 1e-9);
        Assert.Equal(views.Sum(v => v.Summary.OperationalGrams), Total("carbon-operational"), expected * 1e-9);
        Assert.Equal(views.Sum(v => v.Summary.EmbodiedGrams), Total("carbon-embodied"), expected * 1e-9);
        var market = views.Sum(v => v.Summary.MarketGrams);
        Assert.NotEqual(expected, market, expected * 1e-6); // the contractual factor differs from the grid's
        Assert.Equal(market, Total("carbon-market"), market * 1e-9);
        Assert.Equal(views.Sum(v => v.Summary.FacilityKwh), Total("energy"), views.Sum(v => v.Summary.FacilityKwh) * 1e-9);
        Assert.Equal(1_047, Total("transactions"), 1e-9);

        // Each observation: the reading's own figure, and SCI as carbon over its share of the block's transactions.
        var byReading = views.SelectMany(v => v.Entries.Select(e => (v, e.Reading!))).ToDictionary(x => (x.Item2.Height, x.Item2.NodeId));
        var seen = 0;
        foreach (var (name, child) in ImpactFramework.Children(root))
        {
            foreach (var observation in (YamlSequenceNode)((YamlMappingNode)child).Children[new YamlScalarNode("outputs")])
            {
                var (view, reading) = byReading[((ulong)ImpactFramework.Number(observation, "aurigraph/height"), (ulong)ImpactFramework.Number(observation, "aurigraph/node"))];
                Assert.Equal($"node-{reading.NodeId}", ((YamlScalarNode)name).Value);
                Assert.Equal(reading.Estimate.TotalGrams, ImpactFramework.Number(observation, "carbon"), reading.Estimate.TotalGrams * 1e-9);
                Assert.Equal(reading.Estimate.Energy.TotalKwh, ImpactFramework.Number(observation, "energy"), reading.Estimate.Energy.TotalKwh * 1e-9);
                Assert.Equal(reading.MarketGrams, ImpactFramework.Number(observation, "carbon-market"), reading.MarketGrams * 1e-9);
                var share = view.TransactionCount / (double)view.Entries.Count;
                Assert.Equal(reading.Estimate.TotalGrams / share, ImpactFramework.Number(observation, "sci"), reading.Estimate.TotalGrams / share * 1e-9);
                seen++;
            }
        }
        Assert.Equal(8, seen);
    }

    [Fact]
    public void A_range_with_model_1_readings_is_refused_naming_the_height()
    {
        var old = CarbonTestData.Reading(3, 1) is var r ? r with { Coefficients = r.Coefficients with { ModelVersion = 1 } } : null;
        List<CarbonViewEntry> entries = [new(1, CarbonReadingStatus.Present, 0, old)];
        var refused = Assert.Throws<ArgumentException>(() => ImpactManifest.Write([new CarbonBlockView(3, 2, 4, entries, CarbonBlockView.Summarize(entries))], 3, 3, "c"));
        Assert.Contains("height 3", refused.Message, StringComparison.Ordinal);
    }
}
