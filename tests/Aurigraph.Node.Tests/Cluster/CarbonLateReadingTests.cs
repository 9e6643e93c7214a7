using System.Net;
using System.Text.Json;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>A validator that is down when its reading is due is recorded missing, and its reading arrives late after it restarts.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class CarbonLateReadingTests
{
    private const string Chain = "aurigraph-devnet";

    private static async Task<JsonElement?> BlockCarbonAsync(LocalCluster cluster, ulong node, ulong height)
    {
        using var http = new HttpClient { BaseAddress = new Uri(cluster.Nodes.First(n => n.Member.Id == node).Member.RestAddress), Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            var response = await http.GetAsync($"/api/v11/carbon/block/{height}");
            return response.StatusCode == HttpStatusCode.OK ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone() : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>A uint64 field: a JSON string, as proto3's JSON mapping writes 64-bit integers.</summary>
    private static ulong U64(JsonElement e, string name) => ulong.Parse(e.GetProperty(name).GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    private static string StatusOf(JsonElement block, ulong node) =>
        block.GetProperty("readings").EnumerateArray().First(r => U64(r, "nodeId") == node).GetProperty("status").GetString()!;

    private static async Task<JsonElement> PollAsync(Func<Task<JsonElement?>> read, Func<JsonElement, bool> accept, string what, LocalCluster cluster)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (DateTime.UtcNow < until)
        {
            if (await read() is { } value && accept(value))
            {
                return value;
            }
            await Task.Delay(50); // polling interval against the deadline above, not synchronisation
        }
        throw new TimeoutException($"{what} not within 40 s\n{cluster.Output()}");
    }

    [Fact]
    public async Task A_reading_missing_at_the_deadline_is_recorded_late_after_its_validator_restarts()
    {
        // Each validator in another cloud and region: its reading carries its own power curve, PUE and grid figure.
        var regions = new Dictionary<ulong, (string Cloud, string Region, double Grams, double Pue)>
        {
            [1] = ("aws", "us-east-1", 379.069, 1.135),
            [2] = ("azure", "westeurope", 328.4, 1.185),
            [3] = ("gcp", "europe-west1", 110, 1.1),
        };
        var fast = regions.ToDictionary(r => r.Key, r => new Dictionary<string, string>
        {
            ["AURIGRAPH__CARBON__RECORDS__DEADLINEMILLISECONDS"] = "1000",
            ["AURIGRAPH__CARBON__CLOUD"] = r.Value.Cloud,
            ["AURIGRAPH__CARBON__REGION"] = r.Value.Region,
        });
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: fast);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
        var victim = cluster.Ids.First(id => id != leader);
        var other = cluster.Ids.First(id => id != leader && id != victim);
        using var alice = cluster.DevKey(3);
        using var bob = TransactionSigner.Generate();

        cluster.Kill(victim);
        var request = new SubmitTransactionsRequest();
        request.Transactions.Add(alice.Transfer(Chain, 0, bob.PublicKey, 1));
        var committed = Assert.Single((await cluster.Transactions(other).SubmitTransactionsAsync(request)).Results);
        Assert.Equal(TransactionState.Committed, committed.State);

        var recorded = await PollAsync(() => BlockCarbonAsync(cluster, leader, committed.Height), _ => true, "the main record", cluster);
        Assert.Equal("missing", StatusOf(recorded, victim));
        Assert.Equal(1, recorded.GetProperty("missing").GetInt32());
        var withoutVictim = recorded.GetProperty("totalGrams").GetDouble();

        cluster.Start(victim, fast[victim]);
        var filled = await PollAsync(() => BlockCarbonAsync(cluster, victim, committed.Height), b => StatusOf(b, victim) == "late", "the late reading on the restarted validator", cluster);

        var entry = filled.GetProperty("readings").EnumerateArray().First(r => U64(r, "nodeId") == victim);
        Assert.True(U64(entry, "lateHeight") > U64(recorded, "recordHeight"));
        Assert.True(entry.GetProperty("totalGrams").GetDouble() > 0);
        Assert.Equal(0, filled.GetProperty("missing").GetInt32());
        Assert.Equal(1, filled.GetProperty("late").GetInt32());
        Assert.Equal(withoutVictim + entry.GetProperty("totalGrams").GetDouble(), filled.GetProperty("totalGrams").GetDouble(), withoutVictim * 1e-12);

        // Every node holds the same record once it has applied the late one.
        var expected = filled.GetRawText();
        foreach (var id in cluster.Ids)
        {
            await PollAsync(() => BlockCarbonAsync(cluster, id, committed.Height), b => b.GetRawText() == expected, $"node {id}'s copy of the record", cluster);
        }
        var stats = await cluster.Carbon(leader).GetCarbonStatsAsync(new GetCarbonStatsRequest());
        Assert.Equal((0UL, 1UL), (stats.MissingReadings, stats.LateReadings));
        Assert.Equal((regions[leader].Cloud, regions[leader].Region, regions[leader].Grams), (stats.Cloud, stats.Region, stats.CurrentGrid.GramsPerKwh));
        foreach (var r in filled.GetProperty("readings").EnumerateArray())
        {
            var expectedRegion = regions[U64(r, "nodeId")];
            Assert.Equal(expectedRegion.Cloud, r.GetProperty("cloud").GetString());
            Assert.Equal(expectedRegion.Region, r.GetProperty("region").GetString());
            Assert.Equal(expectedRegion.Grams, r.GetProperty("grid").GetProperty("gramsPerKwh").GetDouble());
            Assert.Equal($"{expectedRegion.Cloud}/{expectedRegion.Region}", r.GetProperty("grid").GetProperty("zone").GetString());
            Assert.Equal(expectedRegion.Pue, r.GetProperty("pue").GetDouble());
        }
    }

    [Fact]
    public async Task A_validator_with_metering_off_stores_every_record_and_is_recorded_missing_not_invented()
    {
        var settings = new Dictionary<ulong, Dictionary<string, string>>
        {
            [1] = new() { ["AURIGRAPH__CARBON__RECORDS__DEADLINEMILLISECONDS"] = "1000" },
            [2] = new() { ["AURIGRAPH__CARBON__RECORDS__DEADLINEMILLISECONDS"] = "1000" },
            [3] = new() { ["AURIGRAPH__CARBON__RECORDS__DEADLINEMILLISECONDS"] = "1000", ["AURIGRAPH__CARBON__METERING"] = "false" },
        };
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: settings);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
        using var alice = cluster.DevKey(2);
        using var bob = TransactionSigner.Generate();
        var request = new SubmitTransactionsRequest { Transactions = { alice.Transfer(Chain, 0, bob.PublicKey, 1) } };
        var committed = Assert.Single((await cluster.Transactions(1).SubmitTransactionsAsync(request)).Results);
        Assert.Equal(TransactionState.Committed, committed.State);

        var recorded = await PollAsync(() => BlockCarbonAsync(cluster, 3, committed.Height), _ => true, "the record on the unmetered node", cluster);
        Assert.Equal("missing", StatusOf(recorded, 3));
        Assert.Equal("present", StatusOf(recorded, 1));
        Assert.Equal("present", StatusOf(recorded, 2));
        Assert.True(recorded.GetProperty("totalGrams").GetDouble() > 0);
        var expected = recorded.GetRawText();
        foreach (var id in new ulong[] { 1, 2 })
        {
            await PollAsync(() => BlockCarbonAsync(cluster, id, committed.Height), b => b.GetRawText() == expected, $"node {id}'s copy of the record", cluster);
        }
    }
}
