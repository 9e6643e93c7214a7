using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>Offsets recorded through the log, calendar periods and budgets, served by real node processes.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class CarbonOffsetsApiTests
{
    private const string Chain = "aurigraph-devnet";
    private const string Token = "offsets-admin-token";
    private const double DailyBudget = 5000;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static Dictionary<ulong, Dictionary<string, string>> Settings(params ulong[] ids) => ids.ToDictionary(id => id, _ => new Dictionary<string, string>
    {
        ["AURIGRAPH__ADMINTOKEN"] = Token,
        ["AURIGRAPH__CARBON__BUDGET__GRAMSPERDAY"] = DailyBudget.ToString(CultureInfo.InvariantCulture),
    });

    private static Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };

    private static RecordOffsetRequest Offset(string serial, double tonnes = 2.5) => new()
    {
        Registry = "gold standard", // any case: answered in the registry's own spelling
        Serial = serial,
        Tonnes = tonnes,
        Vintage = 2024,
        Project = "Wind <Farm> \"A\"",
        RetiredOn = DateTime.UtcNow.AddDays(-3).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        Note = "on behalf of the devnet",
    };

    [Fact]
    public async Task Offsets_are_recorded_once_through_the_leader_and_listed_beside_a_footprint_they_never_reduce()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: Settings(1, 2, 3));
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        var follower = cluster.Ids.First(id => id != leader);
        await Commit(cluster, leader, 3);
        await cluster.WaitForCarbonRecordsAsync(Deadline);

        var onLeader = cluster.Carbon(leader);
        var unauthenticated = await Assert.ThrowsAsync<RpcException>(() => onLeader.RecordOffsetAsync(Offset("GS-1-1")).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, unauthenticated.StatusCode);

        var redirected = await Assert.ThrowsAsync<RpcException>(() => cluster.Carbon(follower).RecordOffsetAsync(Offset("GS-1-1"), Bearer(Token)).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, redirected.StatusCode);
        Assert.Equal(cluster.Nodes.First(n => n.Member.Id == leader).Member.ApiAddress, redirected.Trailers.GetValue("leader-api"));

        var badRegistry = Offset("X-1");
        badRegistry.Registry = "Acme Credits";
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => onLeader.RecordOffsetAsync(badRegistry, Bearer(Token)).ResponseAsync)).StatusCode);
        var noTonnes = await Assert.ThrowsAsync<RpcException>(() => onLeader.RecordOffsetAsync(Offset("GS-1-2", tonnes: 0), Bearer(Token)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, noTonnes.StatusCode);
        Assert.Contains("tonnes", noTonnes.Status.Detail, StringComparison.Ordinal);
        var future = Offset("GS-1-3");
        future.RetiredOn = DateTime.UtcNow.AddDays(10).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => onLeader.RecordOffsetAsync(future, Bearer(Token)).ResponseAsync)).StatusCode);

        var recorded = await onLeader.RecordOffsetAsync(Offset("GS-1-1"), Bearer(Token));
        Assert.Equal("RECORDED", recorded.Status);
        Assert.True(recorded.Height > 0);
        Assert.Equal("Gold Standard", recorded.Offset.Registry);
        // The same record again is the same answer (a retry); the same credits with other figures are refused.
        var again = await onLeader.RecordOffsetAsync(Offset("GS-1-1"), Bearer(Token));
        Assert.Equal(("RECORDED", recorded.Height), (again.Status, again.Height));
        var conflicting = await Assert.ThrowsAsync<RpcException>(() => onLeader.RecordOffsetAsync(Offset("GS-1-1", tonnes: 9), Bearer(Token)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, conflicting.StatusCode);
        Assert.Contains("already recorded", conflicting.Status.Detail, StringComparison.Ordinal);

        // Over REST, with the token in the header: a second record.
        using (var http = Rest(cluster, leader))
        {
            using var post = new HttpRequestMessage(HttpMethod.Post, "/api/v11/carbon/offsets")
            {
                Content = new StringContent(
                    $$"""{"registry":"Verra","serial":"VCS-981-2024","tonnes":1.25,"vintage":2023,"project":"Peatland","retiredOn":"{{Offset("").RetiredOn}}"}""",
                    Encoding.UTF8, "application/json"),
            };
            post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            var answer = await http.SendAsync(post);
            var body = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"{(int)answer.StatusCode} {body}");
            Assert.Equal("RECORDED", JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());
        }

        // Every member lists both, in the order recorded, with the footprint beside them and never reduced by them.
        await cluster.WaitForCarbonRecordsAsync(Deadline);
        foreach (var id in cluster.Ids)
        {
            var list = await cluster.PollAsync(async () =>
            {
                var l = await cluster.Carbon(id).ListOffsetsAsync(new ListOffsetsRequest());
                return l.Count == 2 ? l : null;
            }, $"both offsets on node {id}", Deadline);
            Assert.Equal(["GS-1-1", "VCS-981-2024"], list.Offsets.Select(o => o.Serial));
            Assert.Equal("Wind <Farm> \"A\"", list.Offsets[0].Project);
            Assert.Equal(recorded.Height, list.Offsets[0].Height);
            Assert.Equal(3.75, list.TotalTonnes, 12);
            var stats = await cluster.Carbon(id).GetCarbonStatsAsync(new GetCarbonStatsRequest());
            var p = stats.Position;
            Assert.Equal(3.75, p.OffsetTonnes, 12);
            Assert.Equal(stats.TotalGrams / 1e6, p.FootprintTonnes, 15);
            Assert.True(stats.TotalGrams > 0);
            Assert.Equal(p.FootprintTonnes - p.OffsetTonnes, p.NetTonnes, 15);
            Assert.Equal(stats.MarketGrams / 1e6, p.MarketFootprintTonnes, 15);
        }
        await ServedPagesShowTheRecords(cluster, follower, Offset("").RetiredOn[..7]);
        var paged = await cluster.Carbon(follower).ListOffsetsAsync(new ListOffsetsRequest { Start = 1, Limit = 5 });
        Assert.Equal(["VCS-981-2024"], paged.Offsets.Select(o => o.Serial));
        Assert.Equal(2u, paged.Count);
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => cluster.Carbon(follower).ListOffsetsAsync(new ListOffsetsRequest { Limit = 1001 }).ResponseAsync)).StatusCode);
    }

    [Fact]
    public async Task Calendar_periods_add_up_to_the_totals_on_every_node_and_carry_the_days_budget()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: Settings(1, 2, 3));
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        await Commit(cluster, leader, 4);
        await cluster.WaitForCarbonRecordsAsync(Deadline);

        foreach (var id in cluster.Ids)
        {
            var stats = await cluster.Carbon(id).GetCarbonStatsAsync(new GetCarbonStatsRequest());
            Assert.True(stats.Transactions >= 4 && stats.TotalGrams > 0);
            var days = await cluster.Carbon(id).GetCarbonPeriodsAsync(new GetCarbonPeriodsRequest());
            Assert.Equal("day", days.Granularity);
            Assert.Equal(30, days.Periods.Count);
            Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), days.Periods[^1].Label);
            Assert.Equal(stats.Transactions, (ulong)days.Periods.Sum(p => (long)p.Transactions));
            Assert.Equal(stats.TotalGrams, days.Periods.Sum(p => p.LocationGrams), stats.TotalGrams * 1e-12);
            Assert.Equal(stats.MarketGrams, days.Periods.Sum(p => p.MarketGrams), stats.MarketGrams * 1e-12);
            Assert.All(days.Periods, p => Assert.Equal(DailyBudget, p.Budget.BudgetGrams));
            var today = days.Periods[^1];
            Assert.Equal(today.LocationGrams, today.Budget.UsedGrams);
            Assert.Equal(today.LocationGrams / DailyBudget, today.Budget.UsedFraction, 15);
            Assert.Contains(stats.Budgets, b => b.Period == "day" && b.Label == today.Label && b.UsedGrams == today.LocationGrams);
            Assert.DoesNotContain(stats.Budgets, b => b.Period == "month"); // none configured

            var hours = await cluster.Carbon(id).GetCarbonPeriodsAsync(new GetCarbonPeriodsRequest { Granularity = "hour" });
            Assert.Equal(24, hours.Periods.Count);
            Assert.All(hours.Periods, p => Assert.Null(p.Budget)); // budgets are per day and month
            Assert.Equal(stats.TotalGrams, hours.Periods.Sum(p => p.LocationGrams), stats.TotalGrams * 1e-12);
            Assert.All(hours.Periods, p => Assert.Equal(p.Transactions == 0 ? 0 : p.LocationGrams / p.Transactions, p.LocationGramsPerTransaction));
        }

        using var http = Rest(cluster, leader);
        var month = DateTime.UtcNow.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var next = DateTime.UtcNow.AddMonths(1).ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var months = JsonDocument.Parse(await http.GetStringAsync($"/api/v11/carbon/periods?granularity=month&from={month}&to={next}")).RootElement;
        Assert.Equal(month, months.GetProperty("periods")[0].GetProperty("label").GetString());
        Assert.Equal(1, months.GetProperty("periods").GetArrayLength());
        foreach (var bad in new[] { "granularity=week", "from=yesterday", "from=2026-12-02&to=2026-12-01", $"from={month}&to={month}", "granularity=hour&from=2020-01-01&to=2026-01-01" })
        {
            var answer = await http.GetAsync($"/api/v11/carbon/periods?{bad}");
            Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
            var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
            Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()), bad);
        }
    }

    /// <summary>The ESG report of the offsets' month and the dashboard, as a member serves them, drawn by Chromium.</summary>
    private static async Task ServedPagesShowTheRecords(LocalCluster cluster, ulong id, string month)
    {
        using var http = Rest(cluster, id);
        var report = await http.GetAsync($"/api/v11/carbon/esg/{month}.html");
        var html = await report.Content.ReadAsStringAsync();
        Assert.True(report.StatusCode == HttpStatusCode.OK, $"{(int)report.StatusCode} {html}");
        Assert.Equal("text/html", report.Content.Headers.ContentType?.MediaType);
        Assert.Contains(Chain, html, StringComparison.Ordinal);
        Assert.Contains("305-2", html, StringComparison.Ordinal);
        Assert.Contains("GS-1-1", html, StringComparison.Ordinal);
        Assert.Contains("Wind &lt;Farm&gt;", html, StringComparison.Ordinal); // encoded, never markup
        Assert.DoesNotContain("<Farm>", html, StringComparison.Ordinal);
        using (var shot = Carbon.Screenshot.Of(html, $"served-esg-{id}", height: 3400))
        {
            Assert.True(shot.InkFraction() > 0.02, $"the served report renders blank ({shot.InkFraction():P2} ink)");
        }

        var dashboard = await http.GetAsync("/api/v11/carbon/dashboard.html");
        var page = await dashboard.Content.ReadAsStringAsync();
        Assert.True(dashboard.StatusCode == HttpStatusCode.OK, $"{(int)dashboard.StatusCode} {page}");
        Assert.Contains("Transaction carbon ranking", page, StringComparison.OrdinalIgnoreCase);
        using (var shot = Carbon.Screenshot.Of(page, $"served-dashboard-{id}"))
        {
            Assert.True(shot.InkFraction() > 0.02, $"the served dashboard renders blank ({shot.InkFraction():P2} ink)");
        }

        foreach (var bad in new[] { "2026-13", "december", "2026-1" })
        {
            var answer = await http.GetAsync($"/api/v11/carbon/esg/{bad}.html");
            Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
            Assert.Contains("yyyy-MM", JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    private static HttpClient Rest(LocalCluster cluster, ulong id) => new() { BaseAddress = new Uri(cluster.Nodes.First(n => n.Member.Id == id).Member.RestAddress) };

    private static async Task Commit(LocalCluster cluster, ulong via, int count)
    {
        using var alice = cluster.DevKey(1);
        using var bob = TransactionSigner.Generate();
        var batch = new SubmitTransactionsRequest();
        for (ulong n = 0; n < (ulong)count; n++)
        {
            batch.Transactions.Add(alice.Transfer(Chain, n, bob.PublicKey, 1));
        }
        var results = (await cluster.Transactions(via).SubmitTransactionsAsync(batch)).Results;
        Assert.All(results, r => Assert.Equal(TransactionState.Committed, r.State));
    }
}
