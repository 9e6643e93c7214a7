using System.Globalization;
using System.Net;
using System.Text.Json;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Tests.Carbon;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>
/// Grid-intensity providers going down under a running cluster: the recorded source follows the provider chain
/// (Electricity Maps → WattTime → the static table) while every submission keeps committing and the nodes stay ready.
/// The providers are a local fake on loopback answering in their documented shapes; the nodes are real processes.
/// </summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class GridProviderOutageTests : IAsyncLifetime
{
    private const string Chain = "aurigraph-devnet";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private FakeGridServer _grid = null!;

    public async Task InitializeAsync() => _grid = await FakeGridServer.StartAsync();

    public async Task DisposeAsync() => await _grid.DisposeAsync();

    private static ulong U64(JsonElement e, string name) => !e.TryGetProperty(name, out var v) ? 0
        : v.ValueKind == JsonValueKind.String ? ulong.Parse(v.GetString()!, CultureInfo.InvariantCulture) : v.GetUInt64();

    [Fact]
    public async Task A_provider_outage_mid_run_changes_the_recorded_source_and_not_the_nodes_health()
    {
        // Every validator in Frankfurt (zone DE for both providers), with short cache, age and timeouts so that the run
        // sees each step in seconds rather than hours.
        var settings = new Dictionary<string, string>
        {
            ["AURIGRAPH__CARBON__CLOUD"] = "aws",
            ["AURIGRAPH__CARBON__REGION"] = "eu-central-1",
            ["AURIGRAPH__CARBON__ELECTRICITYMAPS__BASEADDRESS"] = _grid.ElectricityMapsBase.ToString(),
            ["AURIGRAPH__CARBON__ELECTRICITYMAPS__APIKEY"] = FakeGridServer.ApiKey,
            ["AURIGRAPH__CARBON__WATTTIME__BASEADDRESS"] = _grid.WattTimeBase.ToString(),
            ["AURIGRAPH__CARBON__WATTTIME__USERNAME"] = FakeGridServer.Username,
            ["AURIGRAPH__CARBON__WATTTIME__PASSWORD"] = FakeGridServer.Password,
            ["AURIGRAPH__CARBON__GRIDINTENSITY__CACHEDURATION"] = "00:00:01",
            ["AURIGRAPH__CARBON__GRIDINTENSITY__MAXAGE"] = "00:00:03",
            ["AURIGRAPH__CARBON__GRIDINTENSITY__REFRESHINTERVAL"] = "00:00:00.250",
            ["AURIGRAPH__CARBON__GRIDINTENSITY__ATTEMPTTIMEOUT"] = "00:00:00.300",
            ["AURIGRAPH__CARBON__GRIDINTENSITY__TOTALTIMEOUT"] = "00:00:01",
            ["AURIGRAPH__CARBON__GRIDINTENSITY__MAXRETRYATTEMPTS"] = "1",
            ["AURIGRAPH__CARBON__GRIDINTENSITY__RETRYBASEDELAY"] = "00:00:00.050",
        };
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: Enumerable.Range(1, 3).ToDictionary(id => (ulong)id, _ => settings));
        await cluster.WaitForLeaderAsync(Deadline);
        using var alice = cluster.DevKey(1);
        using var bob = TransactionSigner.Generate();
        ulong nonce = 0;
        var submitted = 0;

        // One transfer through a rotating node; it must commit whatever the providers do.
        async Task<ulong> SubmitAsync()
        {
            var request = new SubmitTransactionsRequest();
            request.Transactions.Add(alice.Transfer(Chain, nonce, bob.PublicKey, 1));
            var reply = await cluster.Transactions((ulong)(submitted % 3) + 1).SubmitTransactionsAsync(request, deadline: DateTime.UtcNow.AddSeconds(20));
            var result = Assert.Single(reply.Results);
            Assert.True(result.State == TransactionState.Committed, $"transaction {nonce} during the outage: {result}");
            nonce++;
            submitted++;
            return result.Height;
        }

        // The grid sources the three validators' readings of a height recorded (waits for its record with every reading).
        async Task<string[]> SourcesAsync(ulong height)
        {
            using var http = new HttpClient { BaseAddress = new Uri(cluster.Nodes[0].Member.RestAddress), Timeout = TimeSpan.FromSeconds(5) };
            var until = DateTime.UtcNow + Deadline;
            while (DateTime.UtcNow < until)
            {
                var response = await http.GetAsync($"/api/v11/carbon/block/{height}");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    if (U64(doc.RootElement, "missing") == 0)
                    {
                        return [.. doc.RootElement.GetProperty("readings").EnumerateArray().Select(r => r.GetProperty("grid").GetProperty("source").GetString()!)];
                    }
                }
                await Task.Delay(50); // polling interval against the deadline above, not synchronisation
            }
            throw new TimeoutException($"record of height {height} not within {Deadline}\n{cluster.Output()}");
        }

        // Submits until a block's readings all recorded the expected source; returns the sources seen on the way.
        async Task<List<string>> UntilAllAsync(string expected)
        {
            var seen = new List<string>();
            var until = DateTime.UtcNow + Deadline;
            while (DateTime.UtcNow < until)
            {
                var sources = await SourcesAsync(await SubmitAsync());
                seen.AddRange(sources);
                if (sources.All(s => s == expected))
                {
                    return seen;
                }
            }
            throw new TimeoutException($"no block recorded {expected} from every validator within {Deadline}; seen {string.Join(",", seen)}\n{cluster.Output()}");
        }

        // 1. Both providers up: Electricity Maps, the first configured, gives the figure.
        await UntilAllAsync(GridIntensitySources.ElectricityMaps);
        Assert.True(_grid.Count("/em/v3/carbon-intensity/latest") > 0);

        // 2. Electricity Maps stops answering (requests hang until the attempt timeout): WattTime takes over.
        _grid.ElectricityMaps = FakeGridServer.Hang();
        var toWattTime = await UntilAllAsync(GridIntensitySources.WattTime);
        Assert.DoesNotContain(GridIntensitySources.StaticTable, toWattTime);
        Assert.True(_grid.Count("/wt/v3/forecast") > 0);

        // 3. WattTime fails too (HTTP 503): once the last live figure is older than MaxAge, the static table's.
        _grid.WattTimeForecast = ctx => FakeGridServer.Status(ctx, 503);
        await UntilAllAsync(GridIntensitySources.StaticTable);

        // 4. Electricity Maps is back: live figures again.
        _grid.ElectricityMaps = ctx => FakeGridServer.Json(ctx, FakeGridServer.ElectricityMapsBody("DE", 302, "2026-11-23T10:00:00.000Z"));
        await UntilAllAsync(GridIntensitySources.ElectricityMaps);

        // Health through it all: every submission committed (asserted in SubmitAsync), no node exited, every node ready, and
        // all at one state root.
        foreach (var id in cluster.Ids)
        {
            Assert.False(cluster.HasExited(id), $"node {id} exited\n{cluster.Output()}");
            using var http = new HttpClient { BaseAddress = new Uri(cluster.Nodes.First(n => n.Member.Id == id).Member.RestAddress) };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);
        }
        var settled = await cluster.WaitForCarbonRecordsAsync(Deadline);
        Assert.Single(settled.Select(s => s.StateRoot).Distinct());
    }
}
