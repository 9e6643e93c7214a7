using Aurigraph.Consensus;

namespace Aurigraph.Node.Tests.Hosting;

/// <summary>The consensus host driven step by step with injected time and a held network (see <see cref="HostHarness"/>).</summary>
public sealed class HostHarnessTests
{
    private static async Task<(ulong Leader, ulong Term, ulong Height, string Root)> RunAsync(ulong seed)
    {
        await using var harness = HostHarness.Create(validators: 3, seed);
        await harness.StepUntil(() => harness.AgreedLeader() != 0, 200, "an agreed leader");
        var leader = harness.AgreedLeader();
        var recipient = new byte[32];
        recipient[31] = 1;
        harness.Node(leader).Submit(harness.Funded.Transfer(HostHarness.Chain, 0, recipient, 10), harness.Funded.Transfer(HostHarness.Chain, 1, recipient, 5));
        await harness.StepUntil(() => harness.Ids.All(id => harness.Node(id).Host.Store.FindTransaction(TransactionId.Of(harness.Funded.Transfer(HostHarness.Chain, 1, recipient, 5).Body.Span)) is not null), 100, "both transfers applied on every node");
        var snapshot = harness.Node(leader).Host.Snapshot;
        var roots = harness.Ids.Select(id => Convert.ToHexString(harness.Node(id).Host.Snapshot.StateRoot)).Distinct().ToList();
        Assert.Single(roots); // one state on every node
        return (leader, snapshot.Term, snapshot.Height, roots[0]);
    }

    /// <summary>A started harness with an agreed leader, and one of its followers.</summary>
    private static async Task<(HostHarness Harness, ulong Leader, ulong Follower)> ElectedAsync(ulong seed)
    {
        var harness = HostHarness.Create(validators: 3, seed);
        await harness.StepUntil(() => harness.AgreedLeader() != 0, 200, "an agreed leader");
        var leader = harness.AgreedLeader();
        return (harness, leader, harness.Ids.First(id => id != leader));
    }

    /// <summary>Un-pauses <paramref name="id"/> with a clean message log and runs one round of its loop.</summary>
    private static void ResumeForOneRound(HostHarness harness, ulong id)
    {
        harness.Node(id).Network.Log.Clear();
        harness.Node(id).Paused = false;
        harness.Node(id).Host.RunRound();
    }

    [Fact]
    public async Task Every_round_of_the_loop_is_counted_on_its_nodes_metrics()
    {
        await using var harness = HostHarness.Create(validators: 3, seed: 13);
        var instruments = harness.Ids.ToDictionary(id => (System.Diagnostics.Metrics.Instrument)harness.Node(id).Metrics.LoopRounds, id => id);
        var rounds = harness.Ids.ToDictionary(id => id, _ => 0L);
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instruments.ContainsKey(instrument))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (rounds)
            {
                rounds[instruments[instrument]] += value;
            }
        });
        listener.Start();

        for (var i = 0; i < 25; i++)
        {
            await harness.Step();
        }

        // One round per node per step; none on its own (the harness drives every round).
        Assert.All(harness.Ids, id => Assert.Equal(25L, rounds[id]));
    }

    [Fact]
    public async Task Hosts_elect_a_leader_and_commit_transfers_on_every_node_and_a_seed_replays_the_run_exactly()
    {
        var first = await RunAsync(seed: 7);
        var again = await RunAsync(seed: 7);
        Assert.Equal(first, again);
        Assert.True(first.Height >= 1, $"height {first.Height}");
    }

    [Fact]
    public async Task A_follower_whose_loop_stalled_past_an_election_timeout_gets_every_elapsed_tick_in_its_next_round()
    {
        var (harness, leader, follower) = await ElectedAsync(seed: 11);
        await using var _ = harness;
        // A few quiet steps so the follower has heard heartbeats recently.
        for (var i = 0; i < 3; i++)
        {
            await harness.Step();
        }

        // The leader and the follower stall together for more than the longest randomized election timeout (2 × ElectionTicks).
        harness.Node(leader).Paused = true;
        harness.Node(follower).Paused = true;
        var other = harness.Ids.First(id => id != leader && id != follower);
        harness.Node(other).Paused = true;
        for (var i = 0; i < (2 * harness.ElectionTicks) + 2; i++)
        {
            await harness.Step();
        }
        harness.Node(follower).Network.TakeSent();

        // One round after the stall: the follower takes what waited (old heartbeats) and then every tick that elapsed,
        // so it campaigns now. A timer that merged its missed wake-ups into one tick would need ~40 more rounds.
        ResumeForOneRound(harness, follower);

        Assert.Contains(harness.Node(follower).Network.Log, m => m.Type is MessageType.PreVote or MessageType.Vote);
        Assert.NotEqual(Consensus.NodeRole.Follower, harness.Node(follower).Host.Snapshot.RaftRole);
    }

    [Fact]
    public async Task A_follower_whose_loop_was_busy_while_heartbeats_arrived_handles_each_at_its_arrival_and_does_not_campaign()
    {
        var (harness, leader, follower) = await ElectedAsync(seed: 13);
        await using var _ = harness;
        var term = harness.Node(follower).Host.Snapshot.Term;

        // The follower's loop is busy for three election timeouts (a long apply); the leader keeps sending heartbeats,
        // which its pump takes as they come.
        harness.Node(follower).Paused = true;
        for (var i = 0; i < 3 * harness.ElectionTicks; i++)
        {
            await harness.Step();
        }
        ResumeForOneRound(harness, follower);

        // Each heartbeat is handled at the tick it arrived, so the election timer never ran out: no campaign, same term.
        // Handling them all at once after three election timeouts of ticks (or before them) would start one.
        Assert.DoesNotContain(harness.Node(follower).Network.Log, m => m.Type is MessageType.PreVote or MessageType.Vote);
        Assert.Equal(Consensus.NodeRole.Follower, harness.Node(follower).Host.Snapshot.RaftRole);
        Assert.Equal(term, harness.Node(follower).Host.Snapshot.Term);
        Assert.Equal(leader, harness.AgreedLeader());
    }

    [Fact]
    public async Task A_vote_request_from_a_node_that_is_not_a_voter_here_does_not_move_the_term_and_one_from_a_voter_does()
    {
        var (harness, leader, follower) = await ElectedAsync(seed: 21);
        await using var _ = harness;
        var term = harness.Node(follower).Host.Snapshot.Term;
        var host = harness.Node(follower).Host;
        // Node 9: a certificate of this cluster the transport admitted, but no member of this node's log.
        foreach (var type in new[] { MessageType.Vote, MessageType.PreVote })
        {
            // As a leadership transfer's campaign (context 1), which a lease does not stop.
            await host.DeliverAsync(new Aurigraph.Node.Transport.PeerInput(9, new Message { Type = type, From = 9, To = follower, Term = term + 5, LogTerm = term, Index = 1_000, Context = 1 }, 0, ReadOnlyMemory<byte>.Empty));
        }
        host.RunRound();
        Assert.Equal(term, host.Snapshot.Term);
        Assert.DoesNotContain(harness.Node(follower).Network.Log, m => m.To == 9);

        var other = harness.Ids.First(id => id != leader && id != follower);
        await host.DeliverAsync(new Aurigraph.Node.Transport.PeerInput(other, new Message { Type = MessageType.Vote, From = other, To = follower, Term = term + 5, LogTerm = term, Index = 1_000, Context = 1 }, 0, ReadOnlyMemory<byte>.Empty));
        host.RunRound();
        Assert.Equal(term + 5, host.Snapshot.Term); // the same request from a voter is heard: its higher term is taken
    }
}
