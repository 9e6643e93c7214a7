using Aurigraph.Node.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Aurigraph.Node.Tests.Hosting;

/// <summary>The leader's heartbeat round trips, and the timeouts etcd's rule derives from a round trip.</summary>
public sealed class PeerRoundTripsTests
{
    [Fact]
    public void One_heartbeat_is_timed_at_a_time_and_an_outlier_does_not_count()
    {
        var time = new FakeTimeProvider();
        var trips = new PeerRoundTrips(time, giveUpAfterMs: 1_000);
        for (var i = 0; i < 10; i++)
        {
            trips.Sent(2, time.GetTimestamp());
            time.Advance(TimeSpan.FromMilliseconds(5));
            trips.Sent(2, time.GetTimestamp()); // a second heartbeat while the first is out: not timed
            time.Advance(TimeSpan.FromMilliseconds(25));
            trips.Answered(2, time.GetTimestamp()); // 30 ms after the first
            trips.Answered(2, time.GetTimestamp()); // the second's answer: nothing outstanding, ignored
        }
        trips.Sent(2, time.GetTimestamp());
        time.Advance(TimeSpan.FromMilliseconds(400)); // one pause
        trips.Answered(2, time.GetTimestamp());
        trips.Sent(3, time.GetTimestamp());
        time.Advance(TimeSpan.FromMilliseconds(2));
        trips.Answered(3, time.GetTimestamp());

        var (peer, worst) = trips.Publish();
        Assert.Equal(2UL, peer);
        Assert.Equal(30, worst, 3);
        Assert.Equal(2, trips.Snapshot()[3], 3);
    }

    [Fact]
    public void A_heartbeat_never_answered_is_given_up_and_the_next_is_timed()
    {
        var time = new FakeTimeProvider();
        var trips = new PeerRoundTrips(time, giveUpAfterMs: 1_000);
        trips.Sent(2, time.GetTimestamp());
        time.Advance(TimeSpan.FromMilliseconds(1_500));
        trips.Sent(2, time.GetTimestamp());
        time.Advance(TimeSpan.FromMilliseconds(40));
        trips.Answered(2, time.GetTimestamp());
        Assert.Equal(40, trips.Publish().Milliseconds, 3);
        trips.Clear();
        Assert.Equal((0UL, 0.0), trips.Publish());
    }

    [Fact]
    public void Timeouts_follow_the_round_trip_with_etcd_rule()
    {
        Assert.Equal((100, 1, 10), TimeoutAdvice.Derive(2));
        Assert.Equal((100, 1, 10), TimeoutAdvice.Derive(32));
        Assert.Equal((250, 1, 10), TimeoutAdvice.Derive(250));
        Assert.True(TimeoutAdvice.Holds(32, 100, 1, 10));
        Assert.False(TimeoutAdvice.Holds(120, 100, 1, 10)); // election 1 s < 1.2 s
        Assert.False(TimeoutAdvice.Holds(30, 10, 1, 200)); // heartbeat 10 ms < 15 ms
        foreach (var rtt in new[] { 0.5, 20, 99, 101, 333, 2_000 })
        {
            var (tick, beats, elections) = TimeoutAdvice.Derive(rtt);
            Assert.True(TimeoutAdvice.Holds(rtt, tick, beats, elections), $"the derived settings hold for {rtt} ms");
        }
    }

    [Fact]
    public void The_timeouts_command_reads_the_exported_round_trips_and_advises_for_the_slowest()
    {
        const string Metrics = """
            # TYPE aurigraph_consensus_peer_round_trip_milliseconds gauge
            aurigraph_consensus_peer_round_trip_milliseconds{otel_scope_name="Aurigraph.Node",peer="2"} 31.25 1733280000000
            aurigraph_consensus_peer_round_trip_milliseconds{otel_scope_name="Aurigraph.Node",peer="3"} 212.5
            aurigraph_consensus_peer_round_trip_milliseconds{otel_scope_name="Aurigraph.Node",peer="4"} NaN
            aurigraph_consensus_leader_changes_total{otel_scope_name="Aurigraph.Node",peer="5"} 7
            """;
        var found = TimeoutsCommand.RoundTrips(Metrics);
        Assert.Equal(new Dictionary<ulong, double> { [2] = 31.25, [3] = 212.5 }, found);
        var advice = System.Text.Json.JsonSerializer.SerializeToElement(TimeoutsCommand.Advice(found));
        Assert.Equal(3UL, advice.GetProperty("slowestPeer").GetUInt64());
        // 212.5 ms: a 213 ms tick (one round trip), and ten round trips of election timeout.
        Assert.Equal(213, advice.GetProperty("settings").GetProperty("TickMilliseconds").GetInt32());
        Assert.Equal(10, advice.GetProperty("settings").GetProperty("ElectionTicks").GetInt32());
        Assert.Empty(TimeoutsCommand.RoundTrips("aurigraph_consensus_term 3\n"));
    }
}
