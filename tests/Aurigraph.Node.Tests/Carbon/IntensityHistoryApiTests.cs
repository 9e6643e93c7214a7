using System.Net;
using System.Text.Json;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Tests.Cluster;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>
/// The intensity history through a real node process: a validator in Frankfurt without live providers records the static
/// figure for zone DE at start, and REST and gRPC answer it hour by hour; bad requests are 400 with the JSON error shape.
/// </summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class IntensityHistoryApiTests(FrankfurtNodeFixture fixture) : IClassFixture<FrankfurtNodeFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private LocalCluster Cluster => fixture.Cluster;

    private HttpClient Rest() => new() { BaseAddress = new Uri(Cluster.Nodes[0].Member.RestAddress), Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task The_current_hour_is_served_over_rest_and_grpc_with_earlier_hours_as_gaps()
    {
        using var http = Rest();
        var body = await Cluster.PollAsync(async () =>
        {
            using var response = await http.GetAsync("/api/v11/carbon/intensity/history?zone=DE");
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.TryGetProperty("recorded", out var recorded) && recorded.GetInt32() > 0 ? text : null;
        }, "the node's first recorded hour", Deadline);

        using var answer = JsonDocument.Parse(body);
        var root = answer.RootElement;
        Assert.Equal("DE", root.GetProperty("zone").GetString());
        var hours = root.GetProperty("hours").EnumerateArray().ToList();
        Assert.Equal(24, hours.Count);
        var now = hours[^1];
        Assert.False(now.TryGetProperty("gap", out var gap) && gap.GetBoolean());
        Assert.Equal("static", now.GetProperty("source").GetString());
        Assert.Equal("static_yearly_average", now.GetProperty("type").GetString());
        var table = StaticGridIntensityTable.LoadEmbedded().Lookup(new CloudRegion(CloudProvider.Aws, "eu-central-1")).GramsPerKwh;
        Assert.Equal(table, now.GetProperty("gramsPerKwh").GetDouble());
        Assert.Equal("aws/eu-central-1", now.GetProperty("figureZone").GetString());
        Assert.Equal("live", now.GetProperty("origin").GetString());
        Assert.True(now.GetProperty("stale").GetBoolean()); // a yearly average, older than MaxAge
        Assert.False(now.TryGetProperty("isEstimated", out _));
        Assert.All(hours.Take(23), h => Assert.True(h.GetProperty("gap").GetBoolean()));

        var grpc = await Cluster.Carbon(1).GetIntensityHistoryAsync(new GetIntensityHistoryRequest { Zone = "DE", From = now.GetProperty("hour").GetString() });
        var hour = grpc.Hours[0]; // one hour, unless the clock turned the hour since
        Assert.Equal(now.GetProperty("hour").GetString(), hour.Hour);
        Assert.Equal(table, hour.GramsPerKwh);
        Assert.Equal("static_yearly_average", hour.Type);
        Assert.False(hour.HasIsEstimated);
    }

    [Theory]
    [InlineData("/api/v11/carbon/intensity/history?zone=DE&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "at most 744 hours")]
    [InlineData("/api/v11/carbon/intensity/history?zone=DE&from=soon", "ISO-8601")]
    [InlineData("/api/v11/carbon/intensity/history?zone=DE&from=2026-03-01T00:00:00Z&to=2026-01-01T00:00:00Z", "must be after from")]
    [InlineData("/api/v11/carbon/intensity/history", "zone must be")]
    public async Task Bad_input_is_400_with_a_json_reason(string url, string reason)
    {
        using var http = Rest();

        using var response = await http.GetAsync(url);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal((int)StatusCode.InvalidArgument, doc.RootElement.GetProperty("code").GetInt32());
        Assert.Contains(reason, doc.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}

/// <summary>One validator in aws/eu-central-1 (Electricity Maps zone DE) with no live grid provider configured.</summary>
public sealed class FrankfurtNodeFixture : IAsyncLifetime
{
    internal LocalCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Cluster = await LocalCluster.StartAsync(validators: 1, business: 0, slim: 0, environment: new Dictionary<ulong, Dictionary<string, string>>
        {
            [1] = new() { ["AURIGRAPH__CARBON__CLOUD"] = "aws", ["AURIGRAPH__CARBON__REGION"] = "eu-central-1" },
        });

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
