using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Transactions;

public sealed class BatchPolicyTests
{
    [Fact]
    public void The_target_grows_to_the_ceiling_under_sustained_load_and_returns_to_the_floor_when_it_goes_away()
    {
        var policy = new BatchPolicy(floor: 1_000, ceiling: 100_000, latencyGoalMs: 50);
        Assert.Equal(1_000, policy.Target);

        // Sustained load: after every block a backlog of several blocks is still waiting.
        var targets = new List<int>();
        for (var block = 0; block < 10; block++)
        {
            policy.Observe(queued: 3 * policy.Target, commitLatencyMs: 20);
            targets.Add(policy.Target);
        }
        Assert.Equal([2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 100_000, 100_000, 100_000, 100_000], targets);

        // The load goes away: the queue is (nearly) empty after each block.
        targets.Clear();
        for (var block = 0; block < 10; block++)
        {
            policy.Observe(queued: 10, commitLatencyMs: 5);
            targets.Add(policy.Target);
        }
        Assert.Equal([50_000, 25_000, 12_500, 6_250, 3_125, 1_562, 1_000, 1_000, 1_000, 1_000], targets);
    }

    [Fact]
    public void A_steady_load_that_fits_keeps_the_target_and_slow_commits_without_backlog_shrink_it()
    {
        var policy = new BatchPolicy(floor: 100, ceiling: 10_000, latencyGoalMs: 50);
        policy.Observe(queued: 200, commitLatencyMs: 10);
        policy.Observe(queued: 400, commitLatencyMs: 10);
        Assert.Equal(400, policy.Target);

        // Half a block waiting and fast commits: the target holds.
        policy.Observe(queued: 200, commitLatencyMs: 10);
        Assert.Equal(400, policy.Target);

        // Commits slower than the goal with less than a block waiting: smaller blocks.
        policy.Observe(queued: 200, commitLatencyMs: 80);
        Assert.Equal(200, policy.Target);

        // But a backlog wins over latency: throughput first when the queue is deep.
        policy.Observe(queued: 5_000, commitLatencyMs: 400);
        Assert.Equal(400, policy.Target);
    }

    [Fact]
    public void Invalid_bounds_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchPolicy(0, 10, 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchPolicy(100, 10, 50));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchPolicy(1, 10, 0));
    }
}
