using System.Runtime.InteropServices;

namespace Aurigraph.Consensus.Tests.Core;

/// <summary>Behaviour of the core, scenario by scenario, on a hand-driven cluster.</summary>
public sealed class RaftNodeTests
{
    private static ClusterHarness Cluster(int voters, int learners = 0, int maxInflight = 64, long maxInflightBytes = 64L << 20, long maxSizePerMessage = 1 << 20, long maxUncommitted = 1L << 30, bool checkQuorum = true) =>
        new(voters, learners, cfg => cfg with
        {
            MaxInflightMessages = maxInflight,
            MaxInflightBytes = maxInflightBytes,
            MaxSizePerMessage = maxSizePerMessage,
            MaxUncommittedBytes = maxUncommitted,
            CheckQuorum = checkQuorum,
        });

    private static ClusterHarness LedCluster(int voters, int learners = 0)
    {
        var c = Cluster(voters, learners);
        c.Elect(1);
        c.Stabilize();
        return c;
    }

    [Fact]
    public void A_single_voter_commits_its_entry_only_after_the_host_reports_it_durable()
    {
        var c = Cluster(1);
        var node = c[1];
        node.ForceElection();
        Assert.Equal(NodeRole.Leader, node.Role);

        var ready = node.GetReady();
        Assert.Single(ready.Entries); // the term's no-op
        Assert.Equal(0UL, node.CommitIndex);
        Assert.Empty(ready.CommittedEntries);

        c.StorageOf(1).SetHardState(ready.HardState!.Value);
        c.StorageOf(1).Append(ready.Entries);
        node.Advance(ready);
        Assert.Equal(1UL, node.CommitIndex);
        Assert.Single(node.GetReady().CommittedEntries);
    }

    [Fact]
    public void Held_committed_entries_wait_while_replication_and_heartbeats_go_on()
    {
        var c = LedCluster(3);
        var leader = c[1];
        leader.HoldCommitted = true;
        var first = leader.Propose(new byte[] { 1 });
        c.Stabilize();
        // Committed on a quorum, but the host said its applier has no room: nothing committed reaches a Ready.
        Assert.Equal(first.Index, leader.CommitIndex);
        Assert.DoesNotContain(c.Applied[1], e => e.Index == first.Index);
        Assert.True(leader.AppliedIndex < first.Index);
        Assert.False(leader.HasReady);

        // Replication of new proposals and heartbeats still flow while held.
        var second = leader.Propose(new byte[] { 2 });
        Assert.True(leader.HasReady);
        var ready = leader.GetReady();
        Assert.Empty(ready.CommittedEntries);
        Assert.Contains(ready.Messages, m => m.Type == MessageType.Append && m.Entries.Any(e => e.Index == second.Index));
        c.Handle(1, ready);
        leader.Tick();
        leader.Tick();
        Assert.True(leader.HasReady);
        ready = leader.GetReady();
        Assert.Contains(ready.Messages, m => m.Type == MessageType.Heartbeat);
        Assert.Empty(ready.CommittedEntries);
        c.Handle(1, ready);
        c.Stabilize();
        Assert.Equal(second.Index, leader.CommitIndex);

        // Released: both come, in order, in the next Ready.
        leader.HoldCommitted = false;
        Assert.True(leader.HasReady);
        var released = leader.GetReady().CommittedEntries.Select(e => e.Index).ToList();
        Assert.Equal([first.Index, second.Index], released.Where(i => i == first.Index || i == second.Index));
        Assert.Equal(released.Order(), released);
    }

    [Fact]
    public void The_leader_replicates_in_the_same_Ready_that_asks_it_to_persist()
    {
        var c = LedCluster(3);
        var leader = c[1];
        var result = leader.Propose(new byte[] { 42 });
        Assert.True(result.Accepted);

        var ready = leader.GetReady();
        var entry = Assert.Single(ready.Entries);
        Assert.Equal(result.Index, entry.Index);
        var appends = ready.Messages.Where(m => m.Type == MessageType.Append).ToList();
        Assert.Equal([2UL, 3UL], appends.Select(m => m.To).Order());
        Assert.All(appends, m => Assert.Contains(m.Entries, e => e.Index == result.Index));
        Assert.Empty(ready.MessagesAfterPersist);
    }

    [Fact]
    public void The_leader_counts_itself_toward_the_quorum_only_once_its_write_is_durable()
    {
        var c = LedCluster(3);
        c.Crash(3);
        var leader = c[1];
        var result = leader.Propose(new byte[] { 1, 2, 3 });

        // Hold the leader's write; let follower 2 receive, persist and acknowledge.
        var ready = leader.GetReady();
        foreach (var m in ready.Messages.Where(m => m.To == 2))
        {
            c[2].Step(m);
        }
        c.Process(2);
        foreach (var m in c.Network.Where(m => m.To == 1).ToList())
        {
            leader.Step(m);
        }
        c.Network.Clear();
        Assert.True(leader.CommitIndex < result.Index, "committed with only one durable copy of two needed");

        c.StorageOf(1).Append(ready.Entries);
        leader.Advance(ready);
        Assert.Equal(result.Index, leader.CommitIndex);
    }

    [Fact]
    public void Votes_and_append_acknowledgements_wait_for_persistence_while_appends_and_prevotes_do_not()
    {
        var c = LedCluster(3);
        c[1].Propose(new byte[] { 9 });
        var leaderReady = c[1].GetReady();
        Assert.Contains(leaderReady.Messages, m => m.Type == MessageType.Append);

        c[2].Step(leaderReady.Messages.First(m => m.To == 2));
        var followerReady = c[2].GetReady();
        Assert.DoesNotContain(followerReady.Messages, m => m.Type == MessageType.AppendResponse);
        Assert.Contains(followerReady.MessagesAfterPersist, m => m.Type == MessageType.AppendResponse && !m.Reject);
        Assert.NotEmpty(followerReady.Entries);
    }

    [Fact]
    public void While_a_write_is_outstanding_heartbeats_and_new_appends_go_out_and_what_waits_for_a_write_does_not()
    {
        var c = LedCluster(3);
        var leader = c[1];
        Assert.Empty(leader.TakeMessages()); // nothing outstanding: the next Ready carries everything

        leader.Propose(new byte[] { 1 });
        var ready = leader.GetReady(); // its write is held
        var second = leader.Propose(new byte[] { 2 });
        c.Tick(1, times: 1); // a heartbeat is due at every tick (HeartbeatTicks = 1)
        var sent = leader.TakeMessages();
        Assert.Contains(sent, m => m.Type == MessageType.Heartbeat);
        Assert.Contains(sent, m => m.Type == MessageType.Append && m.Entries.Any(e => e.Index == second.Index));
        Assert.Empty(leader.TakeMessages()); // taken once

        // A follower with its own write outstanding answers heartbeats at once, but its acknowledgement of new
        // entries waits for the next Ready, after a write.
        var follower = c[2];
        follower.Step(sent.First(m => m.To == 2 && m.Type == MessageType.Append));
        var followerReady = follower.GetReady();
        follower.Step(sent.First(m => m.To == 2 && m.Type == MessageType.Heartbeat));
        var answers = follower.TakeMessages();
        Assert.Contains(answers, m => m.Type == MessageType.HeartbeatResponse);
        Assert.DoesNotContain(answers, m => m.Type == MessageType.AppendResponse);
        Assert.Contains(followerReady.MessagesAfterPersist, m => m.Type == MessageType.AppendResponse);

        c.Handle(2, followerReady);
        c.Handle(1, ready);
        Assert.True(leader.HasReady);
    }

    [Fact]
    public void A_follower_that_lost_its_in_flight_appends_catches_up_from_heartbeats_alone()
    {
        var c = LedCluster(3);
        var leader = c[1];
        Assert.Equal(ProgressState.Replicate, leader.ProgressOf(3)!.State);

        // Follower 3 goes down; appends sent to it optimistically are lost while 1 and 2 commit.
        c.Crash(3);
        for (byte i = 0; i < 5; i++)
        {
            Assert.True(leader.Propose(new byte[] { i }).Accepted);
        }
        c.Stabilize();
        var committed = leader.CommitIndex;
        Assert.True(leader.ProgressOf(3)!.Next > committed, "the leader kept sending to 3 optimistically");

        // It restarts with its durable log; no further proposal arrives. Heartbeats alone must reveal the gap.
        c.Restart(3);
        for (var round = 0; round < 20 && c[3].CommitIndex < committed; round++)
        {
            c.Tick(1);
            c.Stabilize();
        }

        Assert.Equal(committed, c[3].CommitIndex);
        Assert.Equal(committed, leader.ProgressOf(3)!.Match);
    }

    [Fact]
    public void A_follower_refuses_proposals_and_reads_with_a_leader_hint()
    {
        var c = LedCluster(3);

        var propose = c[2].Propose(new byte[] { 1 });
        var read = c[3].ReadIndex(7);

        Assert.False(propose.Accepted);
        Assert.Equal(RefusalReason.NotLeader, propose.Refusal);
        Assert.Equal(1UL, propose.LeaderHint);
        Assert.False(read.Accepted);
        Assert.Equal(1UL, read.LeaderHint);
    }

    [Fact]
    public void Pre_vote_keeps_a_partitioned_node_from_raising_its_term_and_disrupting_the_leader()
    {
        var c = LedCluster(3);
        var term = c[1].Term;

        // Node 3 is cut off: its pre-votes go nowhere, its term stays.
        for (var i = 0; i < 100; i++)
        {
            c.Tick(3);
            c.Stabilize(m => m.From != 3 && m.To != 3);
        }
        Assert.Equal(term, c[3].Term);
        Assert.NotEqual(NodeRole.Leader, c[3].Role);

        // Rejoined, it campaigns again: the others, hearing from a live leader, refuse. The leader keeps its term.
        for (var i = 0; i < 40; i++)
        {
            c.Tick(1);
            c.Tick(3);
            c.Stabilize();
        }
        Assert.Equal(NodeRole.Leader, c[1].Role);
        Assert.Equal(term, c[1].Term);
        Assert.Equal(1UL, c[3].Leader);
    }

    [Fact]
    public void Check_quorum_makes_a_leader_that_hears_from_no_quorum_step_down()
    {
        var c = LedCluster(3);
        c.Crash(2);
        c.Crash(3);

        for (var i = 0; i < 2 * 10; i++)
        {
            c.Tick(1);
        }

        Assert.Equal(NodeRole.Follower, c[1].Role);
        Assert.Equal(0UL, c[1].Leader);
    }

    [Fact]
    public void Learners_receive_the_log_but_never_campaign_or_count_toward_a_quorum()
    {
        var c = LedCluster(3, learners: 1);
        Assert.Equal(c[1].CommitIndex, c[4].CommitIndex);

        c.Crash(2);
        c.Crash(3);
        var result = c[1].Propose(new byte[] { 5 });
        c.Stabilize();
        Assert.Equal(result.Index, c[4].LastIndex); // the learner holds it...
        Assert.True(c[1].CommitIndex < result.Index); // ...but leader + learner are no quorum

        c.Restart(2);
        c.Restart(3);
        c.Crash(1);
        for (var i = 0; i < 200; i++)
        {
            c.Tick(4);
        }
        Assert.Equal(NodeRole.Follower, c[4].Role);
        Assert.DoesNotContain(c.Network, m => m.From == 4);
    }

    [Fact]
    public void Pipelining_fills_the_window_by_message_count_then_pauses()
    {
        var c = Cluster(3, maxInflight: 4, maxSizePerMessage: 1);
        c.Elect(1);
        c.Stabilize();
        for (var i = 0; i < 10; i++)
        {
            c[1].Propose(new byte[] { (byte)i });
        }
        c.Process(1);

        var toTwo = c.Network.Where(m => m.To == 2 && m.Type == MessageType.Append && m.Entries.Length > 0).ToList();
        Assert.Equal(4, toTwo.Count);
        Assert.True(c[1].ProgressOf(2)!.IsPaused);

        // Acknowledgements open the window again and the rest flows.
        c.Stabilize();
        Assert.Equal(c[1].LastIndex, c[2].LastIndex);
        Assert.Equal(c[1].LastIndex, c[1].CommitIndex);
    }

    [Fact]
    public void Pipelining_is_bounded_by_bytes_in_flight_too()
    {
        var payload = new byte[1000];
        var c = Cluster(3, maxInflight: 64, maxInflightBytes: 3 * (payload.Length + Entry.Overhead), maxSizePerMessage: 1);
        c.Elect(1);
        c.Stabilize();
        for (var i = 0; i < 10; i++)
        {
            c[1].Propose(payload);
        }
        c.Process(1);

        Assert.Equal(3, c.Network.Count(m => m.To == 2 && m.Type == MessageType.Append && m.Entries.Length > 0));
    }

    [Fact]
    public void A_conflict_hint_skips_a_whole_divergent_term_in_one_round_trip()
    {
        // Without check-quorum leases, so node 2 can be elected the moment node 1 fails.
        var c = Cluster(3, checkQuorum: false);
        c.Elect(1);
        c.Stabilize();
        // Node 1 appends 50 entries nobody else gets, then fails.
        for (var i = 0; i < 50; i++)
        {
            c[1].Propose(new byte[] { 1 });
        }
        c.Stabilize(_ => false);
        c.Crash(1);
        // Node 2 leads term 2 and writes 50 entries of its own at the same indexes.
        c.Elect(2, ClusterHarness.Within(2, 3));
        for (var i = 0; i < 50; i++)
        {
            c[2].Propose(new byte[] { 2 });
        }
        c.Stabilize(ClusterHarness.Within(2, 3));

        // Node 2 fails; node 1 returns with 50 divergent entries and votes for node 3, whose log is longer
        // and newer. Node 3 starts replicating to node 1 optimistically from its own end: decrementing one
        // index per rejection would take some 50 round trips.
        c.Crash(2);
        c.Restart(1);
        var rejections = 0;
        c.Elect(3, m =>
        {
            if (m.Type == MessageType.AppendResponse && m.Reject && m.From == 1)
            {
                rejections++;
            }
            return true;
        });
        c.Stabilize();

        Assert.InRange(rejections, 1, 2);
        Assert.Equal(c[3].LastIndex, c[1].LastIndex);
        Assert.Equal(c[3].TermAt(c[3].LastIndex), c[1].TermAt(c[1].LastIndex));
        Assert.Equal(c[3].CommitIndex, c[1].CommitIndex);
    }

    [Fact]
    public void A_16_MB_block_travels_as_one_entry_and_the_core_never_copies_it()
    {
        var c = LedCluster(3);
        var block = new byte[16 << 20];
        block[0] = 0xAB;
        block[^1] = 0xCD;

        var result = c[1].Propose(block);
        c.Stabilize();

        foreach (var id in c.Ids)
        {
            var applied = Assert.Single(c.Applied[id], e => e.Index == result.Index);
            Assert.True(MemoryMarshal.TryGetArray(applied.Data, out var segment));
            Assert.Same(block, segment.Array);
        }
    }

    [Fact]
    public void A_read_is_confirmed_only_after_a_quorum_acknowledges_the_leader()
    {
        var c = LedCluster(3);
        var commit = c[1].CommitIndex;

        Assert.True(c[1].ReadIndex(99).Accepted);
        c.Process(1);
        Assert.Empty(c.Reads[1]);

        c.Stabilize();
        var read = Assert.Single(c.Reads[1]);
        Assert.Equal(new ReadState(commit, 99), read);
    }

    [Fact]
    public void A_read_on_an_isolated_leader_is_never_confirmed()
    {
        var c = LedCluster(3);
        c[1].ReadIndex(5);
        c.Stabilize(m => m.From != 1 && m.To != 1);
        Assert.Empty(c.Reads[1]);
    }

    [Fact]
    public void Proposals_beyond_the_uncommitted_byte_limit_are_refused_not_dropped()
    {
        var c = Cluster(3, maxUncommitted: 100);
        c.Elect(1);
        c.Stabilize();
        c.Crash(2);
        c.Crash(3);

        Assert.True(c[1].Propose(new byte[80]).Accepted);
        var refused = c[1].Propose(new byte[80]);

        Assert.False(refused.Accepted);
        Assert.Equal(RefusalReason.TooMuchUncommitted, refused.Refusal);
    }

    [Fact]
    public void A_restarted_node_recovers_term_vote_and_log_from_storage()
    {
        var c = LedCluster(3);
        c[1].Propose(new byte[] { 7 });
        c.Stabilize();
        var (term, last, commit) = (c[2].Term, c[2].LastIndex, c[2].CommitIndex);

        c.Crash(2);
        c.Restart(2);

        Assert.Equal(term, c[2].Term);
        Assert.Equal(1UL, c[2].Vote);
        Assert.Equal(last, c[2].LastIndex);
        Assert.Equal(commit, c[2].CommitIndex);
        c.Process(2);
        Assert.Equal((int)commit, c.Applied[2].Count); // re-applies from its durable log
    }

    [Fact]
    public void Config_errors_are_reported_at_construction()
    {
        var storage = new MemoryLogStorage();
        var random = new SeededRandom(1);
        Assert.Throws<ArgumentException>(() => new RaftNode(new RaftConfig { Id = 0, Voters = [1], Storage = storage, Random = random }));
        Assert.Throws<ArgumentException>(() => new RaftNode(new RaftConfig { Id = 4, Voters = [1, 2, 3], Storage = storage, Random = random }));
        Assert.Throws<ArgumentException>(() => new RaftNode(new RaftConfig { Id = 1, Voters = [1, 2], Learners = [2], Storage = storage, Random = random }));
        Assert.Throws<ArgumentException>(() => new RaftNode(new RaftConfig { Id = 1, Voters = [1], Storage = storage, Random = random, ElectionTicks = 1, HeartbeatTicks = 1 }));
    }
}
