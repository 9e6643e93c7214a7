namespace Aurigraph.Consensus.Tests.Core;

/// <summary>
/// The Raft paper's Figure 8, scripted on three nodes: a leader must not commit an entry of an earlier term
/// by counting replicas, or a later leader can overwrite it. The no-op that opens each term and one entry
/// per append (so the old entry travels alone) set the scene.
/// </summary>
public sealed class Figure8Tests
{
    private static readonly byte[] Payload = [0xF8];

    private static (ClusterHarness Cluster, ulong OldEntryIndex, bool CommittedEarly) RunUntilOldEntryReplicated(bool unsafeCore)
    {
        var c = new ClusterHarness(3, configure: cfg => cfg with
        {
            PreVote = false,
            CheckQuorum = false,
            MaxSizePerMessage = 1, // one entry per append
            UnsafeCommitEarlierTermEntries = unsafeCore,
        });

        // (a) S1 leads term 1; its no-op (index 1) commits everywhere.
        c.Elect(1);
        c.Stabilize();
        Assert.All(c.Ids, id => Assert.Equal(1UL, c[id].CommitIndex));

        // S1 appends X at index 2 (term 1), writes it to its own disk, and crashes before sending it.
        var x = c[1].Propose(Payload);
        Assert.True(x.Accepted);
        c.Stabilize(allow: _ => false);
        c.Crash(1);

        // (b) S2 wins term 2 with S3's vote; its no-op at index 2 (term 2) stays on S2, which crashes.
        c.Elect(2, allow: m => m.Type is MessageType.Vote or MessageType.VoteResponse);
        Assert.Equal(2UL, c[2].TermAt(2));
        c.Crash(2);
        c.Restart(1);

        // (c) S1 wins term 3 with S3's vote and replicates X (term 1) to S3, one entry per message, but its
        // own no-op (index 3, term 3) does not reach S3 before S1 fails.
        // (S3 rejects the first probe, which carries the no-op after index 2, since it lacks index 2.)
        c.Elect(1, allow: m => ClusterHarness.Within(1, 3)(m) &&
            !(m.Type == MessageType.Append && m.Entries.Any(e => e.Index == 3) && c[3].TermAt(2) == 1));
        Assert.Equal(1UL, c[3].TermAt(2)); // X is on a majority (S1, S3)
        var committedEarly = c[1].CommitIndex >= x.Index;
        return (c, x.Index, committedEarly);
    }

    [Fact]
    public void Safe_core_does_not_commit_an_earlier_term_entry_by_counting_replicas()
    {
        var (c, index, committedEarly) = RunUntilOldEntryReplicated(unsafeCore: false);
        Assert.False(committedEarly);
        Assert.DoesNotContain(c.Applied[1], e => e.Index == index);

        // (d) S1 fails; S2 wins term 4 with S3's vote (its last term 2 beats S3's last term 1) and
        // overwrites index 2 — harmless, because X was never committed or applied anywhere.
        c.Crash(1);
        c.Restart(2);
        c.Elect(2, allow: ClusterHarness.Within(2, 3));
        c.Stabilize(ClusterHarness.Within(2, 3));
        Assert.Equal(2UL, c[3].TermAt(2));
        Assert.True(c[3].CommitIndex >= 3);
        c.Restart(1);
        c.Stabilize();
        AssertAppliedLogsAgree(c);
    }

    [Fact]
    public void Unsafe_core_commits_an_entry_that_a_later_leader_overwrites()
    {
        var (c, index, committedEarly) = RunUntilOldEntryReplicated(unsafeCore: true);
        Assert.True(committedEarly);
        var applied = Assert.Single(c.Applied[1], e => e.Index == index);
        Assert.Equal(1UL, applied.Term);

        c.Crash(1);
        c.Restart(2);
        c.Elect(2, allow: ClusterHarness.Within(2, 3));
        c.Stabilize(ClusterHarness.Within(2, 3));

        // The committed, applied X is gone: S3 applied S2's entry at the same index.
        var overwritten = Assert.Single(c.Applied[3], e => e.Index == index);
        Assert.NotEqual(applied.Term, overwritten.Term);
    }

    private static void AssertAppliedLogsAgree(ClusterHarness c)
    {
        var reference = c.Applied.Values.MaxBy(a => a.Count)!;
        foreach (var (id, applied) in c.Applied)
        {
            for (var i = 0; i < applied.Count; i++)
            {
                Assert.True(applied[i].Index == reference[i].Index && applied[i].Term == reference[i].Term, $"node {id} applied {applied[i].Index}@t{applied[i].Term}, another {reference[i].Index}@t{reference[i].Term}");
            }
        }
    }
}
