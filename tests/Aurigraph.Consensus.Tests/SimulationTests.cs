using Aurigraph.Consensus.Simulation;

namespace Aurigraph.Consensus.Tests;

/// <summary>The seeded cluster simulation as CI runs it: the seed budget, determinism, and proof that the checks bite.</summary>
public sealed class SimulationTests
{
    /// <summary>Seeds CI runs. The long sweep (any number) is the simulator's command line; see docs/consensus.md.</summary>
    public const int CiSeeds = 10_000;

    [Fact]
    public void Every_seed_in_the_CI_budget_keeps_safety_liveness_and_linearizability()
    {
        var summary = SimulationSweep.Run(1, CiSeeds);

        if (summary.Failures.Count > 0)
        {
            // Replay the first failure with its trace: the same seed gives the same run.
            var replay = ClusterSimulation.Run(summary.Failures[0].Seed, trace: true);
            var tail = string.Join('\n', (replay.Trace ?? "").Split('\n').TakeLast(150));
            Assert.Fail(string.Concat(summary.Failures.Select(ClusterSimulation.Describe)) + "\n--- trace of the first failing seed (tail) ---\n" + tail);
        }
        Assert.Equal(CiSeeds, summary.Seeds);
        Assert.True(summary.AppliedEntries > CiSeeds * 10L, $"only {summary.AppliedEntries} entries applied");
        Assert.True(summary.Crashes > CiSeeds / 2, $"only {summary.Crashes} crashes injected");
        Assert.True(summary.SnapshotInstalls > CiSeeds, $"only {summary.SnapshotInstalls} snapshots installed");
        Assert.True(summary.SnapshotsSent > summary.SnapshotInstalls, "expected transfers that failed or were not needed");
        Assert.True(summary.MembershipChangesApplied > CiSeeds / 2, $"only {summary.MembershipChangesApplied} membership changes applied");
    }

    /// <summary>
    /// Each test-only fault and what it must show as: a stale read breaks linearizability; two membership changes in
    /// flight at once break safety, or leave configurations under which no candidate can win (a liveness hang).
    /// </summary>
    [Theory]
    [InlineData(UnsafeCore.Figure8, "Leader Completeness|State Machine Safety|Log Matching|acknowledged write|Linearizability|core invariant")]
    [InlineData(UnsafeCore.SnapshotIndexOnly, "Leader Completeness|State Machine Safety|Log Matching|acknowledged write|Linearizability|core invariant")]
    [InlineData(UnsafeCore.LeaseWithoutQuorumRecency, "^Linearizability")]
    [InlineData(UnsafeCore.ReadIndexWithoutQuorumRound, "^Linearizability")]
    [InlineData(UnsafeCore.MembershipChangeBeforeTermCommit, "Leader Completeness|State Machine Safety|Log Matching|acknowledged write|Linearizability|core invariant|Liveness")]
    public void A_test_only_core_fault_is_reported_within_the_CI_budget(UnsafeCore fault, string violation)
    {
        var summary = SimulationSweep.Run(1, CiSeeds, fault, maxFailures: 1);

        var failure = Assert.Single(summary.Failures.Take(1));
        Assert.Matches(violation, failure.Violation);

        // The failing seed replays to the same violation, with a readable trace that ends in it.
        var replay = ClusterSimulation.Run(failure.Seed, fault, trace: true);
        Assert.Equal(failure.Violation, replay.Violation);
        Assert.Equal(failure.Fingerprint, replay.Fingerprint);
        Assert.Contains("VIOLATION", replay.Trace);
        Assert.Contains("recv", replay.Trace);
    }

    [Fact]
    public void A_host_that_loses_a_paused_node_s_ticks_is_caught_serving_stale_lease_reads()
    {
        // The lease assumes ticks that track elapsed time. A host whose timer drops the ticks a pause missed leaves a
        // paused leader's lease clock where it stopped while its followers' clocks ran on: the correct core then
        // serves stale lease reads, and the simulator must say so.
        static SimulationOptions LosesTicks(SimulationOptions o) => o with { PauseLosesTicks = true };
        var summary = SimulationSweep.Run(1, CiSeeds, maxFailures: 1, adjust: LosesTicks);

        var failure = Assert.Single(summary.Failures.Take(1));
        Assert.StartsWith("Linearizability", failure.Violation, StringComparison.Ordinal);
        Assert.True(ClusterSimulation.Run(failure.Seed, SimulationOptions.ForSeed(failure.Seed)).Passed, "the same seed passes when the host queues the ticks");
    }

    [Theory]
    [InlineData(7UL)]
    [InlineData(2578UL)]
    [InlineData(424242UL)]
    public void A_seed_replays_event_for_event(ulong seed)
    {
        var first = ClusterSimulation.Run(seed);
        var second = ClusterSimulation.Run(seed);
        var traced = ClusterSimulation.Run(seed, trace: true);

        Assert.True(first.Passed, first.Violation);
        Assert.Equal(first.Fingerprint, second.Fingerprint);
        Assert.Equal(first.Events, second.Events);
        Assert.Equal(first.AppliedEntries, second.AppliedEntries);
        // Tracing observes the run without changing it.
        Assert.Equal(first.Fingerprint, traced.Fingerprint);
        Assert.NotEqual(first.Fingerprint, ClusterSimulation.Run(seed + 1).Fingerprint);
    }

    [Fact]
    public void The_fault_model_exercises_elections_crashes_and_uncertain_client_outcomes()
    {
        var results = Enumerable.Range(1, 200).Select(s => ClusterSimulation.Run((ulong)s)).ToList();

        Assert.All(results, r => Assert.True(r.Passed, r.Violation));
        Assert.True(results.Sum(r => r.LeadersElected) > 2 * results.Count, "expected re-elections under faults");
        Assert.True(results.Sum(r => r.Crashes) > results.Count / 2);
        Assert.True(results.Sum(r => r.UnknownOperations) > 0, "expected client operations with unknown outcome");
        Assert.True(results.Sum(r => r.OkOperations) > 20 * results.Count);
        Assert.True(results.Sum(r => r.SnapshotInstalls) > results.Count, "expected followers to install leaders' snapshots");
        Assert.True(results.Sum(r => r.SnapshotResumes) > 0, "expected snapshot transfers resumed after a lost chunk");
        Assert.True(results.Sum(r => r.SnapshotFailures) > 0, "expected snapshot transfers reported failed");
        Assert.True(results.Sum(r => r.MembershipChangesApplied) > results.Count / 2, "expected membership changes to commit");
        Assert.Contains(results, r => r.MembershipChangesApplied >= 3);
        Assert.Contains(results, r => r.Options.Voters == 5);
        Assert.Contains(results, r => r.Options.Learners > 0);
        Assert.True(results.Sum(r => r.Pauses) > results.Count, "expected process pauses");
        Assert.True(results.Sum(r => r.StaleLeaderReads) > 0, "expected reads sent to leaders that were already deposed");
        Assert.Contains(results, r => r.Options.TickSkewPermille > 0);
        Assert.All(results, r => Assert.InRange(r.Options.TickSkewPermille, 0, r.Options.MaxTickSkewPermille));
        Assert.Contains(results, r => r.Options is { AsyncHost: true, ClientPartitions: true, Readers: > 0 });
    }

    [Fact]
    public void The_simulated_clock_skew_stays_within_what_the_default_lease_margin_covers()
    {
        var options = new SimulationOptions();
        var margin = Math.Max(1, options.ElectionTicks / 5);
        var fastest = 1 - (options.MaxTickSkewPermille / 1000.0);
        var slowest = 1 + (options.MaxTickSkewPermille / 1000.0);

        // The leader trusts ElectionTicks - margin of its (slowest) ticks; a follower's lease lasts at least
        // ElectionTicks - 1 of its (fastest) ticks.
        Assert.True((options.ElectionTicks - margin) * slowest <= (options.ElectionTicks - 1) * fastest);
        Assert.True(options.MaxTickSkewPermille > 0);
        var core = new RaftNode(new RaftConfig { Id = 1, Voters = [1], Storage = new MemoryLogStorage(), Random = new SeededRandom(1), ElectionTicks = options.ElectionTicks });
        Assert.Equal(margin, core.LeaseMarginTicks);
    }
}
