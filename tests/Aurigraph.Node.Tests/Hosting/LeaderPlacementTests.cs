using Aurigraph.Node.Hosting;

namespace Aurigraph.Node.Tests.Hosting;

/// <summary>The carbon-aware placement decision: cleaner by enough, for long enough, caught up and within the latency budget.</summary>
public sealed class LeaderPlacementTests
{
    private static readonly LeaderPlacementSettings Settings = new()
    {
        Enabled = true,
        CheckIntervalSeconds = 10,
        HoldSeconds = 30,
        MinImprovementPercent = 5,
        LatencyBudgetMilliseconds = 50,
    };

    // Leader 3 on the dirtiest grid; 1 and 2 cleaner.
    private static PlacementCandidate[] Voters(double g1 = 379, double g2 = 379, double g3 = 412.7, double rtt1 = 2, double rtt2 = 2, bool up1 = true, bool up2 = true) =>
    [
        new(1, g1, rtt1, up1),
        new(2, g2, rtt2, up2),
        new(3, g3, 30, true),
    ];

    /// <summary>Checks every interval from <paramref name="fromMs"/> until a transfer or <paramref name="untilMs"/>; returns (target, when).</summary>
    private static (ulong Target, long AtMs) RunChecks(LeaderPlacementPolicy policy, long fromMs, long untilMs, ulong term, Func<long, PlacementCandidate[]> voters)
    {
        for (var now = fromMs; now <= untilMs; now += Settings.CheckIntervalSeconds * 1000L)
        {
            var target = policy.Check(now, self: 3, term, voters(now));
            if (target != 0)
            {
                return (target, now);
            }
        }
        return (0, -1);
    }

    [Fact]
    public void A_cleaner_caught_up_voter_takes_over_only_after_the_hold_time_and_ties_go_to_the_lower_round_trip_then_id()
    {
        var policy = new LeaderPlacementPolicy(Settings);
        var (target, at) = RunChecks(policy, 0, 120_000, term: 5, _ => Voters(rtt1: 2, rtt2: 2));
        Assert.Equal(1UL, target); // 1 and 2 tie on grid and round trip: the lower id
        Assert.Equal(30_000, at);  // not before the hold time after taking office, and then at once

        policy = new LeaderPlacementPolicy(Settings);
        Assert.Equal(2UL, RunChecks(policy, 0, 120_000, term: 5, _ => Voters(rtt1: 3, rtt2: 2)).Target);
    }

    [Fact]
    public void Less_than_the_minimum_improvement_moves_nothing()
    {
        var policy = new LeaderPlacementPolicy(Settings);
        // 4 % cleaner than the leader's 400: under the 5 % threshold.
        Assert.Equal(0UL, RunChecks(policy, 0, 600_000, term: 1, _ => Voters(g1: 384, g2: 390, g3: 400)).Target);
        // 5.25 % cleaner: moves.
        Assert.Equal(1UL, RunChecks(policy, 0, 600_000, term: 1, _ => Voters(g1: 379, g2: 390, g3: 400)).Target);
    }

    [Fact]
    public void Candidates_behind_or_beyond_the_latency_budget_or_without_a_location_are_passed_over()
    {
        var policy = new LeaderPlacementPolicy(Settings);
        Assert.Equal(0UL, policy.Best(3, Voters(up1: false, up2: false)));
        Assert.Equal(2UL, policy.Best(3, Voters(g1: 100, up1: false)));
        Assert.Equal(2UL, policy.Best(3, Voters(g1: 100, rtt1: 51)));
        Assert.Equal(2UL, policy.Best(3, Voters(g1: 100, rtt1: double.NaN)));
        Assert.Equal(2UL, policy.Best(3, Voters(g1: double.NaN)));
        // A leader without a known grid never moves: there is nothing to be cleaner than.
        Assert.Equal(0UL, policy.Best(3, Voters(g3: double.NaN)));
    }

    [Fact]
    public void A_run_broken_by_one_check_starts_again_and_a_new_term_waits_the_hold_time_anew()
    {
        var policy = new LeaderPlacementPolicy(Settings);
        // Node 1 is cleaner except at t = 20 s, when its grid spikes: the run restarts at 30 s and completes at 60 s.
        var (target, at) = RunChecks(policy, 0, 600_000, term: 2, now => Voters(g1: now == 20_000 ? 500 : 300, g2: 420));
        Assert.Equal(1UL, target);
        Assert.Equal(60_000, at);

        // The best candidate changes from 1 to 2 mid-run: 2's own run must complete.
        policy = new LeaderPlacementPolicy(Settings);
        (target, at) = RunChecks(policy, 0, 600_000, term: 2, now => now < 20_000 ? Voters(g1: 300, g2: 350) : Voters(g1: 360, g2: 300));
        Assert.Equal((2UL, 50_000L), (target, at));

        // Leadership lost and won again (a new term): the hold time counts from the new term.
        policy = new LeaderPlacementPolicy(Settings);
        Assert.Equal(0UL, policy.Check(0, 3, 7, Voters()));
        Assert.Equal(0UL, policy.Check(20_000, 3, 8, Voters()));
        Assert.Equal(0UL, policy.Check(40_000, 3, 8, Voters()));
        Assert.Equal(1UL, policy.Check(50_000, 3, 8, Voters()));
    }

    [Fact]
    public void The_commit_round_trip_is_to_the_nearest_quorum_of_the_other_voters()
    {
        double Rtt(ulong a, ulong b) => (Math.Min(a, b), Math.Max(a, b)) switch
        {
            (1, 2) => 2,
            (1, 3) => 30,
            (2, 3) => 32,
            _ => 1,
        };
        Assert.Equal(2, LeaderPlacementPolicy.QuorumRtt(1, [1, 2, 3], Rtt));
        Assert.Equal(30, LeaderPlacementPolicy.QuorumRtt(3, [1, 2, 3], Rtt));
        Assert.Equal(0, LeaderPlacementPolicy.QuorumRtt(1, [1], Rtt));
        // Five voters: a leader needs two others.
        Assert.Equal(1, LeaderPlacementPolicy.QuorumRtt(3, [1, 2, 3, 4, 5], Rtt));
    }

    [Fact]
    public void Settings_are_checked_together()
    {
        Assert.Empty(Settings.Validate("Aurigraph"));
        var errors = new LeaderPlacementSettings { CheckIntervalSeconds = 60, HoldSeconds = 30, MinImprovementPercent = 0, LatencyBudgetMilliseconds = -1, MaxLagEntries = -1 }.Validate("Aurigraph").ToList();
        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.Contains("HoldSeconds (30) must be at least CheckIntervalSeconds (60)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("MinImprovementPercent", StringComparison.Ordinal));
    }
}
