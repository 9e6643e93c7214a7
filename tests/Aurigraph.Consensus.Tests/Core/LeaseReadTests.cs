namespace Aurigraph.Consensus.Tests.Core;

/// <summary>
/// Lease reads: the leader answers from its lease only while a quorum answered rounds it sent within the election
/// timeout minus the lease margin; otherwise the read takes the confirmation round.
/// </summary>
public sealed class LeaseReadTests
{
    private const int ElectionTicks = 10;

    private static ClusterHarness Cluster() => new(3, configure: cfg => cfg with { ElectionTicks = ElectionTicks, HeartbeatTicks = 1 });

    /// <summary>Ticks every listed node once, then delivers what <paramref name="allow"/> permits.</summary>
    private static void TickAll(ClusterHarness c, Func<Message, bool>? allow, params ulong[] ids)
    {
        foreach (var id in ids)
        {
            c.Tick(id);
        }
        c.Stabilize(allow);
    }

    /// <summary>
    /// The stale-lease scenario: node 1 leads, checks its quorum, and is cut off right after; nodes 2 and 3 elect a
    /// new leader that commits index 4 while node 1 still believes it leads with commit index 2.
    /// </summary>
    private static ClusterHarness LeaderCutOffAfterItsQuorumCheck(bool oldLeaseRule)
    {
        var c = new ClusterHarness(3, configure: cfg => cfg with
        {
            ElectionTicks = ElectionTicks,
            HeartbeatTicks = 1,
            UnsafeLeaseWithoutQuorumRecency = oldLeaseRule,
        });
        c.Elect(1);
        Assert.True(c[1].Propose(new byte[] { 1 }).Accepted);
        c.Stabilize();
        Assert.Equal(2UL, c[1].CommitIndex);

        // One full check-quorum period with everyone connected: the check passes on the last tick.
        for (var t = 0; t < ElectionTicks; t++)
        {
            TickAll(c, null, 1, 2, 3);
        }
        Assert.Equal(NodeRole.Leader, c[1].Role);

        // Cut off right after the check. The followers' leases run out after one election timeout; the old leader
        // would only notice at its next check, one election timeout later, so it ticks one fewer.
        var cut = ClusterHarness.Within(2, 3);
        for (var t = 0; t < ElectionTicks; t++)
        {
            c.Tick(2);
            c.Tick(3);
            if (t < ElectionTicks - 1)
            {
                c.Tick(1);
            }
            c.Stabilize(cut);
        }
        var newLeader = c[3].Role == NodeRole.Leader ? 3UL : 2UL;
        if (c[newLeader].Role != NodeRole.Leader)
        {
            c.Elect(newLeader, cut);
        }
        Assert.True(c[newLeader].Propose(new byte[] { 2 }).Accepted);
        c.Stabilize(cut);
        Assert.Equal(4UL, c[newLeader].CommitIndex);
        Assert.Equal(NodeRole.Leader, c[1].Role); // still believes it leads, in the old term, with commit index 2
        return c;
    }

    [Fact]
    public void A_leader_cut_off_right_after_its_quorum_check_does_not_answer_a_lease_read_with_a_stale_index()
    {
        var c = LeaderCutOffAfterItsQuorumCheck(oldLeaseRule: false);
        var cut = ClusterHarness.Within(2, 3);

        // Its lease has expired: the read takes the confirmation round, which cannot complete while it is cut off.
        Assert.True(c[1].ReadIndex(99, lease: true).Accepted);
        c.Process(1);
        c.Stabilize(cut);
        Assert.DoesNotContain(c.Reads[1], r => r.RequestId == 99);

        // Healed: the old leader hears the new term and steps down; the read is dropped, never answered stale.
        c.Stabilize();
        TickAll(c, null, 1, 2, 3);
        Assert.NotEqual(NodeRole.Leader, c[1].Role);
        Assert.DoesNotContain(c.Reads[1], r => r.RequestId == 99);
    }

    [Fact]
    public void Under_the_old_lease_rule_the_same_leader_answers_with_the_stale_index()
    {
        // The scenario is sharp: with the lease trusted for as long as check-quorum keeps the leader, the read is
        // answered at once with index 2, two entries behind what the new leader committed.
        var c = LeaderCutOffAfterItsQuorumCheck(oldLeaseRule: true);

        Assert.True(c[1].ReadIndex(99, lease: true).Accepted);
        c.Process(1);
        Assert.Contains(c.Reads[1], r => r.RequestId == 99 && r.Index == 2);
    }

    [Fact]
    public void A_lease_read_is_answered_at_once_while_a_quorum_answered_recently_and_not_once_the_answers_are_too_old()
    {
        var c = Cluster();
        c.Elect(1);
        c.Stabilize();

        // The term's first append was answered just now: the lease holds, and the read needs no round.
        Assert.True(c[1].ReadIndex(1, lease: true).Accepted);
        c.Process(1);
        Assert.Contains(c.Reads[1], r => r.RequestId == 1 && r.Index == c[1].CommitIndex);
        Assert.Empty(c.Network);

        // Node 3 answers; node 2 hears nothing. Node 3 plus the leader are a quorum: the lease holds.
        var toNode3 = new Func<Message, bool>(m => m.From != 2 && m.To != 2);
        for (var t = 0; t < ElectionTicks; t++)
        {
            TickAll(c, toNode3, 1, 2, 3);
        }
        Assert.True(c[1].ReadIndex(2, lease: true).Accepted);
        c.Process(1);
        Assert.Contains(c.Reads[1], r => r.RequestId == 2);

        // Now nobody answers. Within the lease (election timeout minus the margin) the lease still holds; after it,
        // a lease read waits for the confirmation round instead.
        var margin = c[1].LeaseMarginTicks;
        Assert.InRange(margin, 1, ElectionTicks - 1);
        var silence = new Func<Message, bool>(_ => false);
        for (var t = 0; t < ElectionTicks - margin - 1; t++)
        {
            TickAll(c, silence, 1);
        }
        Assert.True(c[1].ReadIndex(3, lease: true).Accepted);
        c.Process(1);
        Assert.Contains(c.Reads[1], r => r.RequestId == 3);

        TickAll(c, silence, 1);
        Assert.Equal(NodeRole.Leader, c[1].Role);
        Assert.True(c[1].ReadIndex(4, lease: true).Accepted);
        c.Process(1);
        Assert.DoesNotContain(c.Reads[1], r => r.RequestId == 4);

        // The round goes out; once a follower answers it, the read is confirmed (and the lease renewed).
        c.Stabilize(toNode3);
        Assert.Contains(c.Reads[1], r => r.RequestId == 4);
        Assert.True(c[1].ReadIndex(5, lease: true).Accepted);
        c.Process(1);
        Assert.Contains(c.Reads[1], r => r.RequestId == 5);
    }

    [Fact]
    public void A_follower_that_restarts_refuses_votes_for_an_election_timeout_so_the_lease_it_gave_still_holds()
    {
        var c = Cluster();
        c.Elect(1);
        Assert.True(c[1].Propose(new byte[] { 1 }).Accepted);
        c.Stabilize();

        // Node 2 hears nothing for an election timeout: its lease runs out. Node 3 keeps answering node 1.
        var without2 = new Func<Message, bool>(m => m.From != 2 && m.To != 2);
        for (var t = 0; t < ElectionTicks; t++)
        {
            TickAll(c, without2, 1, 2, 3);
        }

        // Node 3 restarts right after answering: it cannot know it did, and must not vote node 2 in while node 1's
        // lease (which counts node 3's answer) holds.
        c.Crash(3);
        c.Restart(3);
        var cut = ClusterHarness.Within(2, 3);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            c[2].ForceElection();
            c.Stabilize(cut);
        }
        Assert.NotEqual(NodeRole.Leader, c[2].Role);
        Assert.True(c[1].ReadIndex(7, lease: true).Accepted);
        c.Process(1);
        Assert.Contains(c.Reads[1], r => r.RequestId == 7 && r.Index == 2);

        // An election timeout later node 3 votes again (and node 1's lease has run out).
        for (var t = 0; t < ElectionTicks; t++)
        {
            TickAll(c, cut, 1, 2, 3);
        }
        if (c[3].Role != NodeRole.Leader)
        {
            c.Elect(2, cut);
        }
        Assert.True(c[1].ReadIndex(8, lease: true).Accepted);
        c.Process(1);
        Assert.DoesNotContain(c.Reads[1], r => r.RequestId == 8);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(9, true)]
    [InlineData(0, false)]
    [InlineData(10, false)]
    [InlineData(-1, false)]
    public void The_lease_margin_is_validated_against_the_election_timeout(int margin, bool valid)
    {
        var config = new RaftConfig
        {
            Id = 1,
            Voters = [1],
            Storage = new MemoryLogStorage(),
            Random = new SeededRandom(1),
            ElectionTicks = 10,
            LeaseMarginTicks = margin,
        };
        if (valid)
        {
            Assert.Equal(margin, new RaftNode(config).LeaseMarginTicks);
        }
        else
        {
            var error = Assert.Throws<ArgumentException>(() => new RaftNode(config));
            Assert.Contains("LeaseMarginTicks", error.Message, StringComparison.Ordinal);
        }
    }
}
