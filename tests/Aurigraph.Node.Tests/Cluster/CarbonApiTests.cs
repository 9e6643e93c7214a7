using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Tests.Carbon;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>One real cluster (3 validators, a business and a slim node) shared by the carbon API tests.</summary>
public sealed class CarbonClusterFixture : IAsyncLifetime
{
    private const string Chain = "aurigraph-devnet";

    internal LocalCluster Cluster { get; private set; } = null!;

    /// <summary>The committed transactions, each with its height.</summary>
    public List<TransactionResult> Committed { get; } = [];

    public async Task InitializeAsync()
    {
        Cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 1); // the README devnet: all five roles hold the records
        using var alice = Cluster.DevKey(1);
        using var bob = TransactionSigner.Generate();
        // A batch of three through a follower-or-leader, then two single transfers through the slim node: several blocks.
        var batch = new SubmitTransactionsRequest();
        for (ulong n = 0; n < 3; n++)
        {
            batch.Transactions.Add(alice.Transfer(Chain, n, bob.PublicKey, 5));
        }
        Committed.AddRange((await Cluster.Transactions(2).SubmitTransactionsAsync(batch)).Results);
        for (ulong n = 3; n < 5; n++)
        {
            var single = new SubmitTransactionsRequest();
            single.Transactions.Add(alice.Transfer(Chain, n, bob.PublicKey, 5));
            Committed.AddRange((await Cluster.Transactions(5).SubmitTransactionsAsync(single)).Results);
        }
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>Carbon figures of committed transactions, served over REST by real node processes.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class CarbonApiTests(CarbonClusterFixture fixture) : IClassFixture<CarbonClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly string[] Counted = ["present", "late"];

    private LocalCluster Cluster => fixture.Cluster;

    private HttpClient Rest(ulong id) => new() { BaseAddress = new Uri(Cluster.Nodes.First(n => n.Member.Id == id).Member.RestAddress) };

    /// <summary>uint64 fields may come as JSON numbers or strings; absent means 0.</summary>
    private static ulong U64(JsonElement e, string name) => !e.TryGetProperty(name, out var v) ? 0
        : v.ValueKind == JsonValueKind.String ? ulong.Parse(v.GetString()!, CultureInfo.InvariantCulture) : v.GetUInt64();

    private static double F64(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetDouble() : 0;

    /// <summary>GETs a URL until it answers 200 with a body the predicate accepts, or the deadline passes.</summary>
    private static async Task<JsonElement> PollAsync(HttpClient http, string url, Func<JsonElement, bool> accept, string what)
    {
        var until = DateTime.UtcNow + Deadline;
        var last = "";
        while (DateTime.UtcNow < until)
        {
            var response = await http.GetAsync(url);
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                if (accept(body))
                {
                    return body;
                }
            }
            await Task.Delay(50); // polling interval against the deadline above, not synchronisation
        }
        throw new TimeoutException($"{what}: not within {Deadline}; last answer {last}");
    }

    [Fact]
    public async Task A_committed_transaction_gets_a_positive_figure_with_readings_from_all_five_members_that_an_auditor_can_recompute()
    {
        var tx = fixture.Committed[0];
        Assert.Equal(TransactionState.Committed, tx.State);
        using var http = Rest(1);

        var carbon = await PollAsync(http, $"/api/v11/carbon/transaction/{tx.TxId}", b => U64(b.GetProperty("block"), "missing") == 0, "carbon record of the first transaction's block with every reading");

        Assert.Equal(tx.TxId, carbon.GetProperty("txId").GetString());
        Assert.Equal(tx.Height, U64(carbon, "height"));
        var grams = F64(carbon, "grams");
        Assert.True(grams > 0, $"grams {grams}");
        var block = carbon.GetProperty("block");
        var readings = block.GetProperty("readings").EnumerateArray().ToList();
        Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL], readings.Select(r => U64(r, "nodeId"))); // validators, business, slim
        Assert.All(readings, r => Assert.Contains(r.GetProperty("status").GetString(), Counted));
        Assert.All(readings, r => Assert.True(F64(r, "totalGrams") > 0));
        Assert.All(readings, r => Assert.Equal("static", r.GetProperty("grid").GetProperty("source").GetString()));
        Assert.All(readings, r => Assert.False(string.IsNullOrEmpty(r.GetProperty("grid").GetProperty("observedAt").GetString())));
        Assert.Equal(readings.Sum(r => F64(r, "totalGrams")), F64(block, "totalGrams"), F64(block, "totalGrams") * 1e-12);
        var transactions = U64(block, "transactionCount");
        Assert.Equal(F64(block, "totalGrams") / transactions, grams);
        Assert.True(U64(block, "recordHeight") > tx.Height);

        // An auditor recomputes every reading's figure from the record alone: measurement, coefficients, grid intensity.
        foreach (var r in readings)
        {
            var m = r.GetProperty("measurement");
            var c = r.GetProperty("coefficients");
            var coefficients = new CarbonCoefficients(
                F64(c, "minWattsPerVcpu"), F64(c, "maxWattsPerVcpu"), F64(c, "pue"), F64(c, "memoryKwhPerGbHour"), F64(c, "networkKwhPerGb"),
                c.GetProperty("countReceivedBytes").GetBoolean(), F64(c, "storageWhPerTbHour"), F64(c, "storageRetentionYears"), F64(c, "consensusRoundKwh"),
                c.GetProperty("embodiedEnabled").GetBoolean(), F64(c, "serverEmbodiedKgCo2e"), F64(c, "serverLifespanHours"), F64(c, "hostVcpus"), F64(c, "nodeVcpus"),
                (int)U64(c, "modelVersion"));
            var input = new NodeReading
            {
                CpuSeconds = F64(m, "cpuSeconds"),
                CpuUtilization = F64(m, "cpuUtilization"),
                MemoryGbSeconds = F64(m, "memoryGbSeconds"),
                BytesSent = (long)U64(m, "bytesSent"),
                BytesReceived = (long)U64(m, "bytesReceived"),
                IngressBytes = (long)U64(m, "ingressBytes"),
                BytesStored = (long)U64(m, "bytesStored"),
                StorageReplicas = (int)U64(m, "storageReplicas"),
                ConsensusRounds = (long)U64(m, "consensusRounds"),
                Validators = (int)U64(m, "validators"),
                IntervalSeconds = F64(m, "wallSeconds"),
                ProvisionedVcpus = F64(m, "provisionedVcpus"),
                RetainedBytes = (long)U64(m, "retainedBytes"),
            };
            var estimate = coefficients.ToModel().Estimate(input, F64(r.GetProperty("grid"), "gramsPerKwh"));
            Assert.Equal(F64(r, "totalGrams"), estimate.TotalGrams);
            Assert.Equal(F64(r.GetProperty("energy"), "facilityKwh"), estimate.Energy.TotalKwh);
            Assert.Equal(3UL, U64(m, "validators"));
            // Model 2, the default: the provisioned processors for the block's wall time, the bytes the node keeps, and M.
            Assert.Equal(2UL, U64(c, "modelVersion"));
            Assert.True(F64(m, "provisionedVcpus") > 0 && U64(m, "retainedBytes") > 0, m.ToString());
            Assert.True(c.GetProperty("embodiedEnabled").GetBoolean());
            Assert.True(F64(r.GetProperty("energy"), "cpuConsumedKwh") <= F64(r.GetProperty("energy"), "cpuKwh"), r.ToString());
            Assert.True(F64(m, "cpuSeconds") > 0);
        }

        // The Impact Framework recomputes the block from its manifest: the same total, without this code base.
        var manifest = await http.GetStringAsync($"/api/v11/carbon/manifest.yaml?from={tx.Height}&to={tx.Height}");
        var folder = Directory.CreateTempSubdirectory("aurigraph-if-").FullName;
        try
        {
            var recomputed = ImpactFramework.MemberTotal(ImpactFramework.Run(manifest, folder), "carbon");
            Assert.Equal(F64(block, "totalGrams"), recomputed, F64(block, "totalGrams") * 1e-9);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Every_node_serves_the_same_block_figures_and_the_stats_add_up()
    {
        var settled = await Cluster.WaitForCarbonRecordsAsync(Deadline);
        Assert.Equal(5, settled.Count);
        var heights = fixture.Committed.Select(t => t.Height).Distinct().Order().ToList();
        Assert.True(heights.Count >= 2, $"the transactions landed in {heights.Count} block(s)");

        foreach (var height in heights)
        {
            var answers = new List<string>();
            foreach (var id in Cluster.Ids)
            {
                using var http = Rest(id);
                answers.Add(await http.GetStringAsync($"/api/v11/carbon/block/{height}"));
            }
            Assert.Single(answers.Distinct());
            using var doc = JsonDocument.Parse(answers[0]);
            Assert.Equal(5, doc.RootElement.GetProperty("readings").GetArrayLength());
            Assert.Equal(5UL, U64(doc.RootElement, "present") + U64(doc.RootElement, "late"));
        }

        using var node = Rest(3);
        using var statsDoc = JsonDocument.Parse(await node.GetStringAsync("/api/v11/carbon/stats"));
        var stats = statsDoc.RootElement;
        var csv = await node.GetStringAsync("/api/v11/carbon/report.csv");
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(CarbonReports.CsvHeader, lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(U64(stats, "heightsCovered"), (ulong)rows.Count);
        Assert.Equal(rows.Select(r => ulong.Parse(r[0], CultureInfo.InvariantCulture)).Distinct().Count(), rows.Count);
        Assert.All(heights, h => Assert.Contains(rows, r => r[0] == h.ToString(CultureInfo.InvariantCulture)));
        var totalColumn = Array.IndexOf(lines[0].Split(','), "total_g");
        var transactionsColumn = Array.IndexOf(lines[0].Split(','), "transactions");
        var rowGrams = rows.Sum(r => double.Parse(r[totalColumn], CultureInfo.InvariantCulture));
        var rowTransactions = rows.Sum(r => long.Parse(r[transactionsColumn], CultureInfo.InvariantCulture));
        var total = F64(stats, "totalGrams");
        Assert.True(total > 0);
        Assert.Equal(total, rowGrams, total * 1e-12);
        Assert.Equal(U64(stats, "transactions"), (ulong)rowTransactions);
        Assert.True(U64(stats, "transactions") >= (ulong)fixture.Committed.Count);
        Assert.Equal(total / U64(stats, "transactions"), F64(stats, "gramsPerTransaction"), 15);
        var energy = stats.GetProperty("energy");
        Assert.Equal(F64(energy, "itKwh"), F64(energy, "cpuKwh") + F64(energy, "memoryKwh") + F64(energy, "networkKwh") + F64(energy, "storageKwh") + F64(energy, "consensusKwh"), F64(energy, "itKwh") * 1e-12);
        Assert.Equal(0UL, U64(stats, "pendingHeights"));
        Assert.True(F64(stats.GetProperty("currentGrid"), "gramsPerKwh") > 0);
        Assert.Equal("static", stats.GetProperty("currentGrid").GetProperty("source").GetString());

        // A window over every recorded height: the same totals, per-transaction percentiles, shares per region, node, role.
        using (var windowDoc = JsonDocument.Parse(await node.GetStringAsync($"/api/v11/carbon/stats?lastHeights={U64(stats, "lastHeight")}")))
        {
            var window = windowDoc.RootElement.GetProperty("window");
            Assert.Equal(U64(stats, "transactions"), U64(window, "transactions"));
            Assert.Equal(total, F64(window, "totalGrams"), total * 1e-12);
            Assert.True(F64(window, "p50GramsPerTransaction") > 0);
            Assert.True(F64(window, "p99GramsPerTransaction") >= F64(window, "p50GramsPerTransaction"));
            Assert.Equal(5, window.GetProperty("byNode").GetArrayLength());
            foreach (var shares in new[] { "byNode", "byRegion", "byRole" })
            {
                Assert.Equal(total, window.GetProperty(shares).EnumerateArray().Sum(x => F64(x, "grams")), total * 1e-12);
            }
            Assert.Equal(["business", "slim", "validator"], window.GetProperty("byRole").EnumerateArray().Select(x => x.GetProperty("key").GetString()));
            Assert.All(window.GetProperty("byRole").EnumerateArray(), x => Assert.True(F64(x, "grams") > 0, x.ToString()));
        }
        var both = await node.GetAsync("/api/v11/carbon/stats?lastHeights=2&from=1");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, both.StatusCode);

        // The SCI report over everything recorded shows its terms, and they give its figure.
        using var reportDoc = JsonDocument.Parse(await node.GetStringAsync("/api/v11/carbon/report"));
        var report = reportDoc.RootElement;
        Assert.Equal(U64(stats, "transactions"), U64(report, "transactions"));
        Assert.Equal(total, F64(report, "totalGrams"), total * 1e-12);
        var e = F64(report, "energyKwh");
        var i = F64(report, "intensityGramsPerKwh");
        var sci = ((e * i) + F64(report, "embodiedGrams")) / U64(report, "transactions");
        Assert.Equal(sci, F64(report, "sciGramsPerTransaction"), sci * 1e-12);
        Assert.Contains("SCI = (E × I + M) / R", report.GetProperty("formula").GetString(), StringComparison.Ordinal);

        // A range: one row per recorded height in it.
        var one = heights[0].ToString(CultureInfo.InvariantCulture);
        var ranged = (await node.GetStringAsync($"/api/v11/carbon/report.csv?from={one}&to={one}")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, ranged.Length);
        Assert.StartsWith(one + ",", ranged[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_and_malformed_requests_answer_404_and_400_with_a_reason()
    {
        using var http = Rest(2);

        var unknown = await http.GetAsync($"/api/v11/carbon/transaction/{new string('a', 64)}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Contains("is not committed on this node", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var malformed = await http.GetAsync("/api/v11/carbon/transaction/not-a-tx-id");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Contains("64 hex characters", await malformed.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var beyond = await http.GetAsync("/api/v11/carbon/block/999999");
        Assert.Equal(HttpStatusCode.NotFound, beyond.StatusCode);
        Assert.Contains("no block at height 999999", await beyond.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/v11/carbon/block/0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/v11/carbon/block/abc")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/v11/carbon/report?from=9&to=3")).StatusCode);
        var badCsv = await http.GetAsync("/api/v11/carbon/report.csv?from=x");
        Assert.Equal(HttpStatusCode.BadRequest, badCsv.StatusCode);
        Assert.Contains("block heights", await badCsv.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // A block that carries carbon records only has no figure of its own, and says so.
        await Cluster.WaitForCarbonRecordsAsync(Deadline);
        var heights = fixture.Committed.Select(t => t.Height).ToHashSet();
        var tip = (await Cluster.Status(2).GetStatusAsync(new GetStatusRequest())).Height;
        var carbonOnly = Enumerable.Range(1, (int)tip).Select(h => (ulong)h).First(h => !heights.Contains(h));
        var answer = await http.GetAsync($"/api/v11/carbon/block/{carbonOnly}");
        Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
        Assert.Contains("has no transactions", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_idle_cluster_makes_no_further_blocks_once_the_records_are_in()
    {
        var settled = await Cluster.WaitForCarbonRecordsAsync(Deadline);
        var height = settled[0].Height;

        // Watch for longer than a record deadline (3 s) plus the idle flush (1 s): a carbon-only block must not beget
        // another record, hence another block.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(6);
        while (DateTime.UtcNow < until)
        {
            foreach (var id in Cluster.Ids)
            {
                Assert.Equal(height, (await Cluster.Status(id).GetStatusAsync(new GetStatusRequest())).Height);
            }
            await Task.Delay(200); // observation window: the assertion is that nothing happens within it
        }
    }

    [Fact]
    public async Task The_carbon_metrics_are_exported_and_the_dashboard_uses_only_exported_names()
    {
        await Cluster.WaitForCarbonRecordsAsync(Deadline);
        using var http = Rest(1);
        var metrics = await http.GetStringAsync("/metrics");
        var exported = Regex.Matches(metrics, @"^(aurigraph_[A-Za-z0-9_]+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet();

        Assert.Contains("aurigraph_carbon_emissions_grams_total", exported);
        Assert.Matches(@"aurigraph_carbon_energy_kWh_total\{[^}]*component=""cpu""[^}]*\} [0-9.eE+-]+", metrics);
        var figure = StaticGridIntensityTable.LoadEmbedded().Lookup(new CloudRegion(CloudProvider.Other, "")).GramsPerKwh;
        Assert.Matches(@"aurigraph_carbon_grid_intensity_grams_per_kWh\{[^}]*source=""static""[^}]*\} " + Regex.Escape(figure.ToString("R", CultureInfo.InvariantCulture)), metrics);

        var dashboard = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "docker", "grafana", "aurigraph-carbon.json"));
        using var parsed = JsonDocument.Parse(dashboard);
        var used = Regex.Matches(dashboard, @"aurigraph_[A-Za-z0-9_]+").Select(m => m.Value).ToHashSet();
        Assert.NotEmpty(used);
        Assert.All(used, name => Assert.True(exported.Contains(name), $"the dashboard uses {name}, which the node does not export"));
    }
}
