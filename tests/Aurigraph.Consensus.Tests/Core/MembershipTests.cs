namespace Aurigraph.Consensus.Tests.Core;

/// <summary>Online membership changes, one server at a time, scenario by scenario.</summary>
public sealed class MembershipTests
{
    private static ClusterHarness LedCluster(int voters, Func<RaftConfig, RaftConfig>? configure = null)
    {
        var c = new ClusterHarness(voters, configure: configure);
        c.Elect(1);
        c.Stabilize();
        return c;
    }

    private static MembershipConfig Config(ulong[] voters, ulong[]? learners = null) => new(voters, learners ?? []);

    private static ProposeResult Change(ClusterHarness c, ulong leader, MembershipChangeType type, ulong node) =>
        c[leader].ProposeMembershipChange(new MembershipChange(type, node));

    /// <summary>Heartbeat rounds from the leader, delivering what <paramref name="allow"/> lets through, until <paramref name="done"/>.</summary>
    private static void Rounds(ClusterHarness c, ulong leader, Func<bool> done, Func<Message, bool>? allow = null, int max = 30)
    {
        c.Stabilize(allow);
        for (var i = 0; i < max && !done(); i++)
        {
            c.Tick(leader);
            c.Stabilize(allow);
        }
    }

    /// <summary>Adds node 4 as a learner (started as a joining node) and lets it catch up.</summary>
    private static void AddLearner4(ClusterHarness c)
    {
        Assert.True(Change(c, 1, MembershipChangeType.AddLearner, 4).Accepted);
        c.Join(4, [1, 2, 3], []);
        c.Stabilize();
    }

    [Fact]
    public void A_learner_is_added_catches_up_and_is_promoted_to_a_voter_that_can_lead()
    {
        var c = LedCluster(3);
        for (var i = 0; i < 5; i++)
        {
            c[1].Propose(new[] { (byte)i });
        }
        c.Stabilize();

        var add = Change(c, 1, MembershipChangeType.AddLearner, 4);
        Assert.True(add.Accepted);
        // In effect on the leader as soon as it is appended, and reported to its host in the next Ready.
        Assert.Equal(Config([1, 2, 3], [4]), c[1].Membership);
        Assert.True(c[1].ProgressOf(4)!.IsLearner);
        var ready = c[1].GetReady();
        Assert.Equal(Config([1, 2, 3], [4]), ready.Membership);
        Assert.Contains(ready.Entries, e => e.Index == add.Index && e.Type == EntryType.ConfChange);
        c.Handle(1, ready);
        Assert.True(c[1].Propose(new byte[] { 9 }).Accepted);
        var next = c[1].GetReady();
        Assert.Null(next.Membership); // reported once
        c.Handle(1, next);
        c.Join(4, [1, 2, 3], []);
        c.Stabilize();

        Assert.All(c.Ids, id => Assert.Equal(Config([1, 2, 3], [4]), c[id].Membership));
        Assert.Equal(c[1].LastIndex, c[4].LastIndex);
        Assert.Equal(c[1].CommitIndex, c[4].AppliedIndex);
        Assert.False(c[4].IsVoter);

        var promote = Change(c, 1, MembershipChangeType.PromoteLearner, 4);
        Assert.True(promote.Accepted);
        c.Stabilize();

        Assert.All(c.Ids, id => Assert.Equal(Config([1, 2, 3, 4]), c[id].Membership));
        Assert.True(c[4].IsVoter);
        Assert.False(c[1].ProgressOf(4)!.IsLearner);
        Assert.Contains(c.Applied[4], e => e.Index == promote.Index && e.Type == EntryType.ConfChange);
        var (change, config) = MembershipChange.Decode(c.Applied[4].Single(e => e.Index == promote.Index).Data.Span);
        Assert.Equal(new MembershipChange(MembershipChangeType.PromoteLearner, 4), change);
        Assert.Equal(Config([1, 2, 3, 4]), config);

        Assert.Equal(TransferResult.Started, c[1].TransferLeadership(4));
        c.Stabilize();
        Assert.Equal(NodeRole.Leader, c[4].Role);
    }

    [Fact]
    public void Promotion_is_refused_until_the_learner_has_caught_up_and_answers()
    {
        var c = LedCluster(3, cfg => cfg with { PromotionCatchUpGap = 5, MaxSizePerMessage = 1 });
        for (var i = 0; i < 20; i++)
        {
            c[1].Propose(new[] { (byte)i });
        }
        c.Stabilize();
        Assert.True(Change(c, 1, MembershipChangeType.AddLearner, 4).Accepted);
        c.Join(4, [1, 2, 3], []);
        // The change commits among the voters while node 4 receives nothing yet.
        c.Stabilize(m => m.To != 4 && m.From != 4);

        var early = Change(c, 1, MembershipChangeType.PromoteLearner, 4);
        Assert.False(early.Accepted);
        Assert.Equal(RefusalReason.LearnerNotCaughtUp, early.Refusal);

        // Within the gap but not at the end is enough.
        var last = c[1].LastIndex;
        Rounds(c, 1, () => c[1].ProgressOf(4)!.Match >= last - 3, m => !(m.To == 4 && m.Type == MessageType.Append && m.Entries.Any(e => e.Index > last - 3)));
        Assert.InRange(c[1].ProgressOf(4)!.Match, c[1].LastIndex - 5, c[1].LastIndex - 1);

        // A learner that went quiet for a check-quorum period is not promoted either.
        c.Crash(4);
        c.Tick(1, times: 10);
        c.Stabilize();
        var quiet = Change(c, 1, MembershipChangeType.PromoteLearner, 4);
        Assert.False(quiet.Accepted);
        Assert.Equal(RefusalReason.LearnerNotCaughtUp, quiet.Refusal);

        c.Restart(4);
        Rounds(c, 1, () => c[1].ProgressOf(4)!.RecentActive && c[1].ProgressOf(4)!.Match == c[1].LastIndex);
        Assert.True(Change(c, 1, MembershipChangeType.PromoteLearner, 4).Accepted);
    }

    [Fact]
    public void Only_one_change_at_a_time_only_from_a_leader_not_during_a_transfer_and_only_one_that_fits()
    {
        var c = LedCluster(3);
        Assert.Equal(RefusalReason.NotLeader, Change(c, 2, MembershipChangeType.AddLearner, 4).Refusal);
        Assert.Equal(1UL, Change(c, 2, MembershipChangeType.AddLearner, 4).LeaderHint);
        Assert.Equal(RefusalReason.InvalidMembershipChange, Change(c, 1, MembershipChangeType.AddLearner, 2).Refusal);
        Assert.Equal(RefusalReason.InvalidMembershipChange, Change(c, 1, MembershipChangeType.PromoteLearner, 3).Refusal);
        Assert.Equal(RefusalReason.InvalidMembershipChange, Change(c, 1, MembershipChangeType.RemoveNode, 9).Refusal);

        Assert.True(Change(c, 1, MembershipChangeType.AddLearner, 4).Accepted);
        var second = Change(c, 1, MembershipChangeType.AddLearner, 5);
        Assert.False(second.Accepted);
        Assert.Equal(RefusalReason.MembershipChangeInProgress, second.Refusal);
        c.Join(4, [1, 2, 3], []);
        c.Stabilize();
        Assert.Equal(TransferResult.Started, c[1].TransferLeadership(2));
        Assert.Equal(RefusalReason.TransferringLeadership, Change(c, 1, MembershipChangeType.AddLearner, 5).Refusal);

        // A new leader takes no change before it has committed an entry of its term: a change from an earlier
        // term may still be on its way.
        c.Stabilize(m => !(m.To == 2 && m.Type == MessageType.AppendResponse));
        Assert.Equal(NodeRole.Leader, c[2].Role);
        Assert.True(c[2].CommitIndex < c[2].LastIndex);
        Assert.Equal(RefusalReason.MembershipChangeInProgress, Change(c, 2, MembershipChangeType.AddLearner, 5).Refusal);
        Rounds(c, 2, () => c[2].CommitIndex == c[2].LastIndex);
        Assert.True(Change(c, 2, MembershipChangeType.AddLearner, 5).Accepted);
    }

    [Fact]
    public void A_leader_that_removes_itself_leads_without_counting_itself_then_steps_down_and_hands_over()
    {
        var c = LedCluster(3);
        var term = c[1].Term;

        var removal = Change(c, 1, MembershipChangeType.RemoveNode, 1);
        Assert.True(removal.Accepted);
        Assert.Equal(NodeRole.Leader, c[1].Role);
        Assert.False(c[1].IsVoter);

        // Node 2 alone acknowledges: with the leader not counted, {2, 3} needs both.
        c.Stabilize(m => m.To != 3 && m.From != 3);
        Assert.True(c[1].CommitIndex < removal.Index);
        Assert.Equal(NodeRole.Leader, c[1].Role);

        Rounds(c, 1, () => c[1].Role != NodeRole.Leader);
        Assert.Equal(NodeRole.Follower, c[1].Role);
        var next = c.Ids.Single(id => c[id].Role == NodeRole.Leader);
        Assert.NotEqual(1UL, next);
        Assert.Equal(term + 1, c[next].Term); // handed over at once, not after an election timeout
        Assert.All([2UL, 3UL], id => Assert.Equal(Config([2, 3]), c[id].Membership));
        Assert.True(c[2].AppliedIndex >= removal.Index);

        var after = c[next].Propose(new byte[] { 1 });
        c.Stabilize();
        Assert.Equal(after.Index, c[next].CommitIndex);
        Assert.True(c[1].LastIndex < after.Index); // no longer replicated to

        // The removed node never campaigns.
        for (var i = 0; i < 60; i++)
        {
            c.Tick(1);
        }
        Assert.DoesNotContain(c.Network, m => m.From == 1);
        Assert.Equal(NodeRole.Follower, c[1].Role);
    }

    [Fact]
    public void A_promotion_makes_four_voters_whose_quorum_of_three_decides_its_own_entry_and_the_next()
    {
        var c = LedCluster(3);
        AddLearner4(c);

        var promote = Change(c, 1, MembershipChangeType.PromoteLearner, 4);
        Assert.True(promote.Accepted);
        // Leader and node 2 would be a quorum of the old three voters, not of the new four.
        c.Stabilize(m => m.To is not (3 or 4) && m.From is not (3 or 4));
        Assert.True(c[1].CommitIndex < promote.Index);
        Rounds(c, 1, () => c[1].CommitIndex >= promote.Index, m => m.To != 3 && m.From != 3);
        Assert.Equal(promote.Index, c[1].CommitIndex);

        c.Crash(3);
        c.Crash(4);
        var entry = c[1].Propose(new byte[] { 7 });
        c.Stabilize();
        Assert.Equal(c[2].LastIndex, entry.Index);
        Assert.True(c[1].CommitIndex < entry.Index, "two acknowledgements of four voters committed an entry");

        c.Restart(4);
        Rounds(c, 1, () => c[1].CommitIndex >= entry.Index);
        Assert.Equal(entry.Index, c[1].CommitIndex);
    }

    [Fact]
    public void Removing_a_dead_voter_shrinks_the_quorum_so_the_rest_commit_again()
    {
        var c = LedCluster(5);
        c.Crash(4);
        c.Crash(5);
        c.Crash(3);
        var stuck = c[1].Propose(new byte[] { 1 });
        c.Stabilize();
        Assert.True(c[1].CommitIndex < stuck.Index);

        c.Restart(3);
        Rounds(c, 1, () => c[1].CommitIndex >= stuck.Index);
        Assert.Equal(stuck.Index, c[1].CommitIndex); // 3 of 5
        var removal = Change(c, 1, MembershipChangeType.RemoveNode, 5);
        Assert.True(removal.Accepted);
        c.Stabilize();
        Assert.Equal(removal.Index, c[1].CommitIndex); // 3 of 4
        Assert.Equal(Config([1, 2, 3, 4]), c[1].Membership);
    }

    [Fact]
    public void A_change_truncated_from_a_follower_s_log_no_longer_applies_there()
    {
        var c = new ClusterHarness(3, configure: cfg => cfg with { CheckQuorum = false });
        c.Elect(1);
        c.Stabilize();
        Assert.True(Change(c, 1, MembershipChangeType.AddLearner, 4).Accepted);
        c.Stabilize(_ => false); // only node 1 holds it
        Assert.Equal(Config([1, 2, 3], [4]), c[1].Membership);
        c.Crash(1);

        c.Elect(2, ClusterHarness.Within(2, 3));
        c[2].Propose(new byte[] { 2 });
        c.Stabilize(ClusterHarness.Within(2, 3));
        c.Restart(1);
        Assert.Equal(Config([1, 2, 3], [4]), c[1].Membership); // read back from its log at restart
        c.Tick(2);
        c.Stabilize();

        Assert.Equal(c[2].LastIndex, c[1].LastIndex);
        Assert.Equal(Config([1, 2, 3]), c[1].Membership);
        Assert.Equal(RefusalReason.NotLeader, Change(c, 1, MembershipChangeType.AddLearner, 4).Refusal);
    }

    [Fact]
    public void A_node_restarts_with_the_membership_its_log_and_snapshot_say()
    {
        var c = LedCluster(3);
        AddLearner4(c);
        Assert.True(Change(c, 1, MembershipChangeType.PromoteLearner, 4).Accepted);
        c.Stabilize();
        c.Compact(2);
        Assert.True(Change(c, 1, MembershipChangeType.RemoveNode, 3).Accepted);
        c.Stabilize();

        c.Crash(2);
        c.Restart(2); // bootstrap configuration: voters 1, 2, 3
        Assert.Equal(Config([1, 2, 3, 4]), c.StorageOf(2).Snapshot.Config);
        Assert.Equal(Config([1, 2, 4]), c[2].Membership);
        Assert.Equal(Config([1, 2, 3, 4]), c[2].MembershipAt(c.StorageOf(2).Snapshot.Index));
    }

    [Fact]
    public void A_joining_learner_behind_the_compacted_log_takes_its_membership_from_the_snapshot()
    {
        var c = LedCluster(3);
        for (var i = 0; i < 5; i++)
        {
            c[1].Propose(new[] { (byte)i });
        }
        var add = Change(c, 1, MembershipChangeType.AddLearner, 4);
        c.Stabilize(m => m.To != 4);
        var meta = c.Compact(1);
        Assert.Equal(Config([1, 2, 3], [4]), meta.Config);

        // Its bootstrap configuration is wrong on purpose: the snapshot's is what counts.
        c.Join(4, [1, 2, 3], [9]);
        for (var i = 0; i < 20 && c[4].AppliedIndex < add.Index; i++)
        {
            c.Tick(1);
            c.Stabilize();
        }

        Assert.Equal([meta], c.Installed[4]);
        Assert.Equal(Config([1, 2, 3], [4]), c[4].Membership);
        Assert.Equal(c[1].CommitIndex, c[4].AppliedIndex);
    }
}

/// <summary>The payload of a membership change entry: its format versions and the context it carries.</summary>
public sealed class MembershipChangeFormatTests
{
    private static readonly MembershipConfig After = new([1, 2, 3], [4]);

    [Fact]
    public void A_change_without_context_keeps_the_first_format_and_has_an_empty_context()
    {
        var bytes = new MembershipChange(MembershipChangeType.AddLearner, 4).Encode(After);
        Assert.Equal(1, bytes[0]);
        Assert.Equal(18 + (8 * 4), bytes.Length);
        var (change, config) = MembershipChange.Decode(bytes);
        Assert.Equal(new MembershipChange(MembershipChangeType.AddLearner, 4), change);
        Assert.Equal(After, config);
        Assert.True(MembershipChange.ContextOf(bytes).IsEmpty);
    }

    [Fact]
    public void A_context_round_trips_and_a_payload_whose_lengths_disagree_is_refused()
    {
        var context = "member record"u8.ToArray();
        var bytes = new MembershipChange(MembershipChangeType.AddLearner, 4).Encode(After, context);
        Assert.Equal(2, bytes[0]);
        Assert.Equal(context, MembershipChange.ContextOf(bytes).ToArray());
        Assert.Equal(After, MembershipChange.Decode(bytes).Config);

        Assert.Throws<FormatException>(() => MembershipChange.Decode(bytes.AsSpan(0, bytes.Length - 1)));
        Assert.Throws<FormatException>(() => MembershipChange.ContextOf(bytes.AsMemory(0, 18 + 32 + 2)));
        var longer = bytes.Concat(new byte[] { 0 }).ToArray();
        Assert.Throws<FormatException>(() => MembershipChange.Decode(longer));
        var unknown = (byte[])bytes.Clone();
        unknown[0] = 3;
        Assert.Throws<FormatException>(() => MembershipChange.Decode(unknown));
        Assert.Throws<ArgumentException>(() => new MembershipChange(MembershipChangeType.AddLearner, 4).Encode(After, new byte[MembershipChange.MaxContextBytes + 1]));
    }

    [Fact]
    public void A_proposed_context_reaches_every_node_with_the_entry_and_an_oversized_one_is_refused()
    {
        var c = new ClusterHarness(3);
        c.Elect(1);
        c.Stabilize();
        Assert.Equal(RefusalReason.InvalidMembershipChange,
            c[1].ProposeMembershipChange(new MembershipChange(MembershipChangeType.AddLearner, 4), new byte[MembershipChange.MaxContextBytes + 1]).Refusal);

        var context = "node 4 at 127.0.0.1:7004"u8.ToArray();
        var add = c[1].ProposeMembershipChange(new MembershipChange(MembershipChangeType.AddLearner, 4), context);
        Assert.True(add.Accepted);
        c.Join(4, [1, 2, 3], []);
        c.Stabilize();
        Assert.Equal(4, c.Ids.Count());
        Assert.All(c.Ids, id =>
        {
            var entry = c.Applied[id].Single(e => e.Index == add.Index);
            Assert.Equal(context, MembershipChange.ContextOf(entry.Data).ToArray());
            Assert.Equal(new MembershipConfig([1, 2, 3], [4]), c[id].Membership);
        });
    }
}
