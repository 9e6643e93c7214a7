namespace Aurigraph.Consensus.Tests.Core;

/// <summary>Snapshots and log compaction, scenario by scenario: the leader's side, the follower's, and restart.</summary>
public sealed class SnapshotTests
{
    private static ClusterHarness LedCluster(int voters, int learners = 0)
    {
        var c = new ClusterHarness(voters, learners);
        c.Elect(1);
        c.Stabilize();
        return c;
    }

    /// <summary>Node 3 misses <paramref name="entries"/> entries while down; nodes 1 and 2 then compact everything they applied.</summary>
    private static (ClusterHarness Cluster, SnapshotMeta Meta) LaggingFollowerAfterCompaction(int entries = 10)
    {
        var c = LedCluster(3);
        c.Crash(3);
        for (var i = 0; i < entries; i++)
        {
            Assert.True(c[1].Propose(new[] { (byte)i }).Accepted);
        }
        c.Stabilize();
        var meta = c.Compact(1);
        c.Compact(2);
        Assert.Equal(c[1].CommitIndex, meta.Index);
        Assert.Equal(meta.Index + 1, c[1].FirstIndex);
        c.Restart(3);
        return (c, meta);
    }

    /// <summary>Heartbeat rounds, delivering what <paramref name="allow"/> lets through, until node 3 committed <paramref name="commit"/>.</summary>
    private static void RunUntilCaughtUp(ClusterHarness c, ulong commit, Func<Message, bool>? allow = null, int rounds = 30)
    {
        for (var round = 0; round < rounds && c[3].CommitIndex < commit; round++)
        {
            c.Tick(1);
            c.Stabilize(allow);
        }
    }

    [Fact]
    public void A_follower_behind_the_compacted_log_receives_the_leader_s_snapshot_and_installs_it()
    {
        var (c, meta) = LaggingFollowerAfterCompaction();
        var snapshots = new List<Message>();

        RunUntilCaughtUp(c, meta.Index, m =>
        {
            if (m.Type == MessageType.Snapshot)
            {
                snapshots.Add(m);
            }
            return true;
        });

        var sent = Assert.Single(snapshots);
        Assert.Equal((1UL, 3UL), (sent.From, sent.To));
        Assert.Equal(meta, sent.Snapshot);
        Assert.Equal([meta], c.Installed[3]);
        Assert.Equal([(1UL, 3UL, true)], c.SnapshotReports);
        Assert.Equal(meta.Index + 1, c.StorageOf(3).FirstIndex);
        Assert.Equal(meta, c.StorageOf(3).Snapshot);
        Assert.Equal(meta.Index, c[3].AppliedIndex);
        // Below the snapshot node 3 applied only what its own log held before the crash (the first term's no-op).
        Assert.All(c.Applied[3], e => Assert.Equal(1UL, e.Index));
        Assert.Equal(new MembershipConfig([1, 2, 3], []), c[3].Membership);

        // Replication resumes after the snapshot with ordinary appends.
        var next = c[1].Propose(new byte[] { 42 });
        c.Stabilize();
        Assert.Equal(next.Index, c.Applied[3][^1].Index);
        Assert.DoesNotContain(c.Applied[3], e => e.Index > 1 && e.Index <= meta.Index);
        Assert.Equal(ProgressState.Replicate, c[1].ProgressOf(3)!.State);
        Assert.Equal(next.Index, c[1].ProgressOf(3)!.Match);
    }

    [Fact]
    public void A_failed_snapshot_is_sent_again_after_a_heartbeat_round()
    {
        var (c, meta) = LaggingFollowerAfterCompaction();

        // The first transfer fails (the host reports it): probe again, but only after the usual pause.
        RunUntilCaughtUp(c, meta.Index, m => m.Type != MessageType.Snapshot, rounds: 10);
        Assert.True(c.SnapshotReports.Count > 0);
        Assert.All(c.SnapshotReports, r => Assert.False(r.Succeeded));
        var failures = c.SnapshotReports.Count;
        var progress = c[1].ProgressOf(3)!;
        Assert.Equal(ProgressState.Probe, progress.State);
        Assert.True(progress.IsPaused);
        c.ProcessAll();
        Assert.DoesNotContain(c.Network, m => m.Type == MessageType.Snapshot);

        RunUntilCaughtUp(c, meta.Index);

        Assert.Equal(failures + 1, c.SnapshotReports.Count);
        Assert.True(c.SnapshotReports[^1].Succeeded);
        Assert.Equal([meta], c.Installed[3]);
        Assert.Equal(meta.Index, c[3].CommitIndex);
        Assert.Equal(ProgressState.Replicate, c[1].ProgressOf(3)!.State);
    }

    [Fact]
    public void While_a_snapshot_is_in_flight_the_peer_gets_heartbeats_but_no_appends_and_its_acknowledgement_ends_the_wait()
    {
        var (c, meta) = LaggingFollowerAfterCompaction();
        c.Hold = m => m.Type == MessageType.Snapshot; // the host is still streaming it
        for (var round = 0; round < 20 && c.Held.Count == 0; round++)
        {
            c.Tick(1);
            c.Stabilize();
        }
        var held = Assert.Single(c.Held);
        c.Hold = null;
        Assert.Equal(ProgressState.Snapshot, c[1].ProgressOf(3)!.State);
        Assert.Equal(meta.Index, c[1].ProgressOf(3)!.PendingSnapshot);

        Assert.True(c[1].Propose(new byte[] { 7 }).Accepted);
        c.Tick(1, times: 2);
        Assert.DoesNotContain(c.Network, m => m.To == 3 && m.Type is MessageType.Append or MessageType.Snapshot);
        Assert.Contains(c.Network, m => m.To == 3 && m.Type == MessageType.Heartbeat);
        c.Stabilize(m => m.To != 3 && m.From != 3);

        // The transfer completes; the follower's acknowledgement reaches the leader before the host's report.
        c[3].Step(held);
        c.Process(3);
        var ack = Assert.Single(c.Network, m => m.From == 3 && m.Type == MessageType.AppendResponse);
        Assert.Equal(meta.Index, ack.Index);
        Assert.False(ack.Reject);
        c.Network.Remove(ack);
        c[1].Step(ack);
        Assert.Equal(ProgressState.Replicate, c[1].ProgressOf(3)!.State);
        c[1].ReportSnapshot(3, succeeded: true); // late: changes nothing
        Assert.Equal(ProgressState.Replicate, c[1].ProgressOf(3)!.State);

        c.Stabilize();
        Assert.Equal(c[1].LastIndex, c[3].LastIndex);
        Assert.Equal(c[1].CommitIndex, c[3].AppliedIndex);
    }

    [Fact]
    public void A_snapshot_not_newer_than_the_commit_index_is_ignored_and_answered_with_the_commit_index()
    {
        var c = LedCluster(3);
        for (var i = 0; i < 5; i++)
        {
            c[1].Propose(new[] { (byte)i });
        }
        c.Stabilize();
        var commit = c[2].CommitIndex;
        var last = c[2].LastIndex;

        c[2].Step(new Message
        {
            Type = MessageType.Snapshot,
            From = 1,
            To = 2,
            Term = c[1].Term,
            Snapshot = new SnapshotMeta(commit - 2, c[1].TermAt(commit - 2), c[1].Membership),
        });
        var ready = c[2].GetReady();

        Assert.Null(ready.Snapshot);
        var reply = Assert.Single(ready.MessagesAfterPersist);
        Assert.Equal(MessageType.AppendResponse, reply.Type);
        Assert.Equal(commit, reply.Index);
        Assert.False(reply.Reject);
        Assert.Equal((1UL, last, commit), (c[2].FirstIndex, c[2].LastIndex, c[2].CommitIndex));
        c[2].Advance(ready);
    }

    [Fact]
    public void A_snapshot_whose_last_entry_the_log_already_holds_only_moves_the_commit_index()
    {
        var c = LedCluster(3);
        var proposed = c[1].Propose(new byte[] { 1 });
        // Node 2 gets the entry but not the commit that follows it.
        c.Stabilize(m => !(m.To == 2 && m.Type is MessageType.Append or MessageType.Heartbeat && m.Entries.Length == 0));
        Assert.Equal(proposed.Index, c[2].LastIndex);
        Assert.True(c[2].CommitIndex < proposed.Index);

        c[2].Step(new Message
        {
            Type = MessageType.Snapshot,
            From = 1,
            To = 2,
            Term = c[1].Term,
            Snapshot = new SnapshotMeta(proposed.Index, proposed.Term, c[1].Membership),
        });
        var ready = c[2].GetReady();

        Assert.Null(ready.Snapshot);
        Assert.Equal(proposed.Index, c[2].CommitIndex);
        Assert.Equal(proposed.Index, ready.CommittedEntries[^1].Index); // applied from its own log
        Assert.Equal(1UL, c[2].FirstIndex);
        Assert.Equal(proposed.Index, Assert.Single(ready.MessagesAfterPersist).Index);
        c[2].Advance(ready);
    }

    [Fact]
    public void A_restored_snapshot_comes_first_in_the_Ready_and_entries_after_it_follow_in_the_same_Ready()
    {
        var storage = new MemoryLogStorage();
        var node = new RaftNode(new RaftConfig { Id = 3, Voters = [1, 2, 3], Storage = storage, Random = new SeededRandom(3) });
        var members = new MembershipConfig([1, 2, 3], [4]);
        var meta = new SnapshotMeta(10, 2, members);

        node.Step(new Message { Type = MessageType.Snapshot, From = 1, To = 3, Term = 2, Snapshot = meta });
        node.Step(new Message
        {
            Type = MessageType.Append,
            From = 1,
            To = 3,
            Term = 2,
            Index = 10,
            LogTerm = 2,
            Entries = [new Entry(11, 2, EntryType.Normal, new byte[] { 11 }), new Entry(12, 2, EntryType.Normal, new byte[] { 12 })],
            Commit = 12,
        });
        // A node whose restored snapshot awaits installation does not campaign.
        for (var i = 0; i < 40; i++)
        {
            node.Tick();
        }
        var ready = node.GetReady();

        Assert.Equal(meta, ready.Snapshot);
        Assert.Equal(members, ready.Membership);
        Assert.Equal([11UL, 12], ready.Entries.Select(e => e.Index));
        Assert.Equal([11UL, 12], ready.CommittedEntries.Select(e => e.Index));
        Assert.Equal(12UL, ready.HardState!.Value.Commit);
        Assert.Equal([10UL, 12], ready.MessagesAfterPersist.Select(m => m.Index));
        Assert.DoesNotContain(ready.Messages, m => m.Type is MessageType.PreVote or MessageType.Vote);
        Assert.True(ready.MustPersist);
        Assert.Equal([4UL], node.Learners);

        storage.ApplySnapshot(ready.Snapshot!);
        storage.Append(ready.Entries);
        storage.SetHardState(ready.HardState!.Value);
        node.Advance(ready);
        Assert.Equal(12UL, node.AppliedIndex);
        Assert.Equal(11UL, node.FirstIndex);
        Assert.False(node.HasReady);
    }

    [Fact]
    public void A_node_restarts_from_its_snapshot_with_the_snapshot_s_membership_and_applied_index()
    {
        var storage = new MemoryLogStorage();
        var members = new MembershipConfig([1, 2, 3], [9]);
        storage.ApplySnapshot(new SnapshotMeta(50, 4, members));
        storage.Append([new Entry(51, 4, EntryType.Normal, new byte[] { 51 }), new Entry(52, 5, EntryType.NoOp, default)]);
        storage.SetHardState(new HardState(5, 1, 51));

        // The host's configuration names the bootstrap members and nothing applied: the snapshot overrides both.
        var node = new RaftNode(new RaftConfig { Id = 2, Voters = [1, 2, 3], Storage = storage, Random = new SeededRandom(1) });

        Assert.Equal(members, node.Membership);
        Assert.Equal([9UL], node.Learners);
        Assert.Equal(50UL, node.AppliedIndex);
        Assert.Equal(51UL, node.CommitIndex);
        Assert.Equal((51UL, 52UL), (node.FirstIndex, node.LastIndex));
        Assert.Equal(4UL, node.TermAt(50));
        var ready = node.GetReady();
        Assert.Equal([51UL], ready.CommittedEntries.Select(e => e.Index));
        Assert.Null(ready.Snapshot);
    }

    [Fact]
    public void A_cluster_node_restarted_after_compaction_re_applies_only_what_follows_its_snapshot()
    {
        var c = LedCluster(3);
        for (var i = 0; i < 6; i++)
        {
            c[1].Propose(new[] { (byte)i });
        }
        c.Stabilize();
        var meta = c.Compact(2, c[2].AppliedIndex - 2);

        c.Crash(2);
        c.Restart(2);
        c.Process(2);

        Assert.Equal(meta.Index + 1, c[2].FirstIndex);
        Assert.Equal([meta.Index + 1, meta.Index + 2], c.Applied[2].Select(e => e.Index));
        Assert.Equal(c[1].CommitIndex, c[2].AppliedIndex);
    }

    [Fact]
    public void The_host_may_compact_only_what_it_applied()
    {
        var c = LedCluster(3);
        c[1].Propose(new byte[] { 1 });
        c.Stabilize();

        Assert.Throws<ArgumentOutOfRangeException>(() => c[2].SnapshotMetaAt(c[2].AppliedIndex + 1));
        var meta = c.Compact(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => c[2].SnapshotMetaAt(meta.Index - 1));
        Assert.Equal(meta, c[2].SnapshotMetaAt(meta.Index));
    }
}
