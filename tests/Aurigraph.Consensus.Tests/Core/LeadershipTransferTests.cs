namespace Aurigraph.Consensus.Tests.Core;

/// <summary>Handing leadership to a chosen voter (TimeoutNow), scenario by scenario.</summary>
public sealed class LeadershipTransferTests
{
    private static ClusterHarness LedCluster(int voters, int learners = 0)
    {
        var c = new ClusterHarness(voters, learners, cfg => cfg with { CheckQuorum = true, PreVote = true });
        c.Elect(1);
        c.Stabilize();
        return c;
    }

    [Fact]
    public void A_caught_up_target_takes_over_at_once_inside_everyone_s_lease_and_keeps_the_log()
    {
        var c = LedCluster(3);
        Assert.True(c[1].Propose(new byte[] { 1 }).Accepted);
        c.Stabilize();
        var term = c[1].Term;
        var committed = c[1].CommitIndex;

        Assert.Equal(TransferResult.Started, c[1].TransferLeadership(3));
        c.Stabilize();

        // No tick passed: node 2 is inside its check-quorum lease and still grants the transfer campaign.
        Assert.Equal(NodeRole.Leader, c[3].Role);
        Assert.Equal(term + 1, c[3].Term);
        Assert.Equal(NodeRole.Follower, c[1].Role);
        Assert.Equal(3UL, c[1].Leader);
        Assert.Equal(3UL, c[2].Leader);
        Assert.True(c[3].CommitIndex > committed); // the new term's no-op commits on top of everything before
        Assert.Equal(c.Applied[1].Select(e => e.Index), c.Applied[3].Take(c.Applied[1].Count).Select(e => e.Index));
    }

    [Fact]
    public void A_lagging_target_is_caught_up_first_and_the_leader_takes_no_proposals_meanwhile()
    {
        var c = LedCluster(3);
        // Node 3 misses three entries.
        for (byte i = 0; i < 3; i++)
        {
            Assert.True(c[1].Propose(new[] { i }).Accepted);
        }
        c.Stabilize(m => m.To != 3 && m.From != 3);
        Assert.True(c[3].LastIndex < c[1].LastIndex);

        Assert.Equal(TransferResult.Started, c[1].TransferLeadership(3));
        var refused = c[1].Propose(new byte[] { 9 });
        Assert.False(refused.Accepted);
        Assert.Equal(RefusalReason.TransferringLeadership, refused.Refusal);
        Assert.Equal(3UL, refused.LeaderHint);

        // No TimeoutNow goes out before node 3 holds the whole log.
        c.ProcessAll();
        Assert.DoesNotContain(c.Network, m => m.Type == MessageType.TimeoutNow);
        c.Stabilize();

        Assert.Equal(NodeRole.Leader, c[3].Role);
        Assert.Equal(c[1].LastIndex, c[3].LastIndex);
        Assert.True(c[3].Propose(new byte[] { 10 }).Accepted);
    }

    [Fact]
    public void A_transfer_to_an_unreachable_target_is_abandoned_after_an_election_timeout_and_the_leader_leads_on()
    {
        var c = LedCluster(3);
        c.Crash(3);
        Assert.Equal(TransferResult.Started, c[1].TransferLeadership(3));
        Assert.Equal(RefusalReason.TransferringLeadership, c[1].Propose(new byte[] { 1 }).Refusal);

        for (var i = 0; i < 10; i++)
        {
            c.Tick(1);
            c.Stabilize();
        }

        Assert.Equal(NodeRole.Leader, c[1].Role);
        Assert.Equal(0UL, c[1].LeadTransferee);
        Assert.True(c[1].Propose(new byte[] { 2 }).Accepted);
    }

    [Fact]
    public void Only_a_leader_transfers_and_only_to_another_voter()
    {
        var c = LedCluster(3, learners: 1);
        Assert.Equal(TransferResult.NotLeader, c[2].TransferLeadership(3));
        Assert.Equal(TransferResult.AlreadyLeader, c[1].TransferLeadership(1));
        Assert.Equal(TransferResult.NotAVoter, c[1].TransferLeadership(4));
        Assert.Equal(TransferResult.NotAVoter, c[1].TransferLeadership(99));
        Assert.Equal(0UL, c[1].LeadTransferee);
    }

    [Fact]
    public void A_TimeoutNow_from_a_node_that_is_not_the_leader_is_ignored()
    {
        var c = LedCluster(3);
        var term = c[2].Term;
        c[2].Step(new Message { Type = MessageType.TimeoutNow, From = 3, To = 2, Term = term });
        c.Stabilize();
        Assert.Equal(NodeRole.Follower, c[2].Role);
        Assert.Equal(term, c[2].Term);
        Assert.Equal(NodeRole.Leader, c[1].Role);
    }

    [Fact]
    public void A_lease_read_is_answered_at_once_by_a_leader_with_a_lease_but_not_after_it_started_a_transfer()
    {
        var c = LedCluster(3);
        Assert.True(c[1].Propose(new byte[] { 1 }).Accepted);
        c.Stabilize();

        // With its lease, the leader answers a lease read in the same Ready, with no heartbeat round.
        Assert.True(c[1].ReadIndex(11, lease: true).Accepted);
        c.Process(1);
        Assert.Contains(c.Reads[1], r => r.RequestId == 11 && r.Index == c[1].CommitIndex);

        // The leader hands over to node 3, which wins with node 2 and commits a write; node 1 hears none of it.
        Assert.Equal(TransferResult.Started, c[1].TransferLeadership(3));
        c.Stabilize(m => !(m.To == 1 && m.From != 1) || m.Type == MessageType.AppendResponse && m.Term == c[1].Term);
        Assert.Equal(NodeRole.Leader, c[3].Role);
        Assert.True(c[3].Propose(new byte[] { 2 }).Accepted);
        c.Stabilize(ClusterHarness.Within(2, 3));
        Assert.Equal(NodeRole.Leader, c[1].Role); // still believes it leads, in the old term

        // A lease read there would miss node 3's write; the old leader must not answer it from its lease.
        c[1].ReadIndex(12, lease: true);
        c.Process(1);
        Assert.DoesNotContain(c.Reads[1], r => r.RequestId == 12);
    }
}
