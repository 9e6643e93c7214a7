using System.Diagnostics;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Transport;
using static Aurigraph.Node.Tests.Transport.TransportTestKit;

namespace Aurigraph.Node.Tests.Transport;

/// <summary>WAN emulation: the per-lane delay, the paths between members' locations, and frames really held back on loopback.</summary>
public sealed class WanEmulationTests
{
    private static long Ms(double ms) => (long)(ms * Stopwatch.Frequency / 1000);

    [Fact]
    public void A_lane_delays_by_half_the_round_trip_within_its_jitter_and_never_reorders()
    {
        var delay = new WanDelay(new WanLink(40, 5, 0), seed: 7);
        long last = 0;
        for (var i = 0; i < 1_000; i++)
        {
            var queued = Ms(i * 0.01); // ten frames a millisecond: the jitter would reorder them if nothing held the order
            var due = delay.DueAt(queued);
            Assert.True(due >= last, "a frame leaves after the one queued before it");
            Assert.InRange(due - queued, Ms(15) - 1, Ms(25 + 1) + 1); // 20 ms ± 5, or later only to keep the order
            last = due;
        }
        // The same seed draws the same delays.
        var again = new WanDelay(new WanLink(40, 5, 0), seed: 7);
        var other = new WanDelay(new WanLink(40, 5, 0), seed: 7);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => again.DueAt(Ms(i * 10))), Enumerable.Range(0, 50).Select(i => other.DueAt(Ms(i * 10))));
    }

    [Fact]
    public void A_lost_frame_costs_a_retransmission_and_holds_back_what_follows()
    {
        var delay = new WanDelay(new WanLink(10, 0, 99.9), seed: 1);
        var first = delay.DueAt(0);
        Assert.Equal(Ms(5 + 200), first, Ms(0.01)); // one way, plus at least the 200 ms minimum retransmission timeout
        var lossless = new WanDelay(new WanLink(10, 0, 0), seed: 1);
        Assert.Equal(Ms(5), lossless.DueAt(0), Ms(0.01));
    }

    [Fact]
    public void Paths_come_from_zones_regions_the_table_and_the_settings()
    {
        static MemberOptions At(ulong id, string cloud, string region, string zone = "") => new() { Id = id, Cloud = cloud, Region = region, Zone = zone };
        var settings = new WanSettings { Links = [new WanLinkSettings { From = "GCP:us-central1", To = "aws:us-east-1", RttMilliseconds = 41, LossPercent = 0.5 }] };
        var aws = At(1, "aws", "us-east-1", "a");
        Assert.Equal(WanTopology.SameZoneRttMilliseconds, WanTopology.Link(aws, At(2, "aws", "us-east-1", "a"), settings)!.Value.RttMilliseconds);
        Assert.Equal(WanTopology.SameRegionRttMilliseconds, WanTopology.Link(aws, At(2, "aws", "us-east-1", "b"), settings)!.Value.RttMilliseconds);
        Assert.Equal(2.0, WanTopology.Link(At(2, "azure", "eastus"), aws, settings)!.Value.RttMilliseconds); // the table, either direction
        var configured = WanTopology.Link(aws, At(2, "gcp", "us-central1"), settings)!.Value; // the settings replace the table's 30 ms
        Assert.Equal((41.0, 0.5), (configured.RttMilliseconds, configured.LossPercent));
        Assert.Equal(0.05 * 41, configured.JitterMilliseconds, 6);
        Assert.Equal(WanTopology.UnknownRttMilliseconds, WanTopology.Link(aws, At(2, "aws", "eu-west-1"), settings)!.Value.RttMilliseconds);
        Assert.Null(WanTopology.Link(aws, new MemberOptions { Id = 2 }, settings));
    }

    [Fact]
    public void Timeouts_shorter_than_the_largest_round_trip_allows_are_refused_naming_the_rule()
    {
        MemberOptions[] members = [new() { Id = 1, Cloud = "aws", Region = "us-east-1" }, new() { Id = 2, Cloud = "gcp", Region = "us-central1" }];
        var settings = new WanSettings();
        Assert.Empty(WanTopology.Validate("Aurigraph", members, settings, tickMilliseconds: 100, heartbeatTicks: 1, electionTicks: 10));
        var errors = WanTopology.Validate("Aurigraph", members, settings, tickMilliseconds: 10, heartbeatTicks: 1, electionTicks: 20).ToList();
        Assert.Equal(2, errors.Count); // heartbeat 10 ms < 30/2 ms... and election 200 ms < 10 × 33 ms
        Assert.Contains(errors, e => e.Contains("ElectionTicks", StringComparison.Ordinal) && e.Contains("ten times", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("HeartbeatTicks", StringComparison.Ordinal));
        var bad = new WanSettings { Links = [new WanLinkSettings { From = "aws", To = "gcp:us-central1", RttMilliseconds = -1 }] };
        Assert.Equal(2, WanTopology.Validate("Aurigraph", [], bad, 100, 1, 10).Count());
    }

    [Fact]
    public async Task Frames_on_an_emulated_path_arrive_no_sooner_than_its_one_way_latency_and_in_order()
    {
        var members = Members(FreePorts(2));
        await using var a = await StartAsync(1, members, FastOptions(o => o.WanLinks = new Dictionary<ulong, WanLink> { [2] = new(120, 0, 0) }));
        await using var b = await StartAsync(2, members, FastOptions());
        // First the connection (the dial is not delayed); then time one frame.
        a.Send(Heartbeat(1, 2, context: 1));
        Assert.Equal(1UL, (await b.NextRaftAsync()).Context);

        var sent = Stopwatch.GetTimestamp();
        for (ulong i = 2; i <= 20; i++)
        {
            a.Send(Heartbeat(1, 2, context: i));
        }
        for (ulong i = 2; i <= 20; i++)
        {
            Assert.Equal(i, (await b.NextRaftAsync()).Context);
            if (i == 2)
            {
                // Half the 120 ms round trip, less what the pump sends early (under 0.5 ms left) and the timer's 1 ms grain.
                var held = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                Assert.True(held >= 58.5, $"held {held:F1} ms: not for half the 120 ms round trip");
            }
        }
        // The other direction has no path configured: not delayed by it (only its order is checked here).
        b.Send(Heartbeat(2, 1, context: 99));
        Assert.Equal(99UL, (await a.NextRaftAsync()).Context);
    }
}
