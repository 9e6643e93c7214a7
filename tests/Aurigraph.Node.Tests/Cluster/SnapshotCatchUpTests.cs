using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>
/// Real processes: validators snapshot and compact their logs while clients submit; a business node that starts with an
/// empty data folder after the entries it needs were compacted away catches up by a streamed snapshot to the same state
/// root, and then follows the log like any other member.
/// </summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class SnapshotCatchUpTests
{
    private const string Chain = "aurigraph-devnet";
    private const string Token = "snapshot-test-token";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static Grpc.Core.Metadata Bearer() => new() { { "authorization", $"Bearer {Token}" } };

    [Fact]
    public async Task A_business_node_with_an_empty_data_folder_catches_up_by_snapshot_after_compaction()
    {
        // Small thresholds so that a few hundred entries give several snapshots and compactions.
        var settings = new Dictionary<string, string>
        {
            ["AURIGRAPH__SNAPSHOTENTRIES"] = "40",
            ["AURIGRAPH__COMPACTIONTRAILINGENTRIES"] = "5",
        };
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0, environment: Enumerable.Range(1, 4).ToDictionary(id => (ulong)id, _ => settings));
        await cluster.WaitForLeaderAsync(Deadline);

        // The business node leaves, and its folder with it: it will come back as a new node.
        cluster.Kill(4);
        Directory.Delete(Path.Combine(cluster.Directory, "node-4", "data"), recursive: true);

        // Three senders, one transfer per call through each validator: one block per call, many log entries.
        using var bob = TransactionSigner.Generate();
        var nonces = new ulong[4];
        async Task SubmitRoundAsync(IEnumerable<int> senders)
        {
            await Task.WhenAll(senders.Select(async n =>
            {
                using var key = cluster.DevKey(n);
                var request = new SubmitTransactionsRequest();
                request.Transactions.Add(key.Transfer(Chain, nonces[n - 1]++, bob.PublicKey, 1));
                var reply = await cluster.Transactions((ulong)n).SubmitTransactionsAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
                Assert.Equal(TransactionState.Committed, Assert.Single(reply.Results).State);
            }));
        }

        // Until every validator has compacted well past the start of the log.
        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            await SubmitRoundAsync([1, 2, 3]);
            var statuses = await Task.WhenAll(new ulong[] { 1, 2, 3 }.Select(id => cluster.Status(id).GetStatusAsync(new GetStatusRequest()).ResponseAsync));
            if (statuses.All(s => s.LogFirstIndex > 50 && s.SnapshotIndex > 0))
            {
                break;
            }
            Assert.True(DateTime.UtcNow < until, $"no compaction within {Deadline}: {string.Join(", ", statuses.Select(s => $"{s.Id}: first {s.LogFirstIndex}, snapshot {s.SnapshotIndex}"))}\n{cluster.Output()}");
        }

        // The new business node starts empty; the entries it needs are gone, so only a snapshot can bring it up.
        cluster.Start(4, settings);
        var caughtUp = await cluster.PollAsync(async () =>
        {
            var four = await cluster.TryStatusAsync(4);
            var leader = await cluster.TryStatusAsync(await cluster.WaitForLeaderAsync(Deadline));
            return four is not null && leader is not null && four.SnapshotIndex > 0 && four.Height >= leader.Height - 1 ? four : null;
        }, "node 4 installing a snapshot and reaching the leader's height", Deadline);
        Assert.True(caughtUp.LogFirstIndex > 1, $"node 4's log starts at {caughtUp.LogFirstIndex}");
        Assert.Contains("installed snapshot", cluster.Output(), StringComparison.Ordinal);

        // It now follows the log like any member: a transaction through it commits, and all four agree on the state.
        await SubmitRoundAsync([4]);
        await SubmitRoundAsync([1, 2, 3]);
        var settled = await cluster.WaitForCarbonRecordsAsync(Deadline, allowMissing: true); // node 4 metered nothing while it was away
        Assert.Equal(4, settled.Count);
        Assert.Single(settled.Select(s => s.Height).Distinct());
        Assert.Single(settled.Select(s => s.StateRoot).Distinct());
        var account = await cluster.Status(4).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexStringLower(bob.PublicKey), Consistency = ReadConsistency.Linearizable });
        Assert.Equal(nonces.Sum(n => (long)n), (long)account.Balance);
    }

    [Fact]
    public async Task A_new_business_node_added_through_the_admin_api_to_a_compacted_cluster_catches_up_by_snapshot_and_is_promoted()
    {
        // Node 4 is in every address book but not in the starting membership: it joins only when the operator adds it.
        var settings = new Dictionary<string, string>
        {
            ["AURIGRAPH__SNAPSHOTENTRIES"] = "40",
            ["AURIGRAPH__COMPACTIONTRAILINGENTRIES"] = "5",
            ["AURIGRAPH__ADMINTOKEN"] = Token,
            ["AURIGRAPH__MEMBERS__3__JOINING"] = "true",
        };
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0, environment: Enumerable.Range(1, 4).ToDictionary(id => (ulong)id, _ => settings), startLater: [4]);
        cluster.Start(4, settings); // up, but not a member: nobody sends it anything
        using var bob = TransactionSigner.Generate();
        var nonces = new ulong[3];
        async Task SubmitRoundAsync(ulong through)
        {
            await Task.WhenAll(Enumerable.Range(1, 3).Select(async n =>
            {
                using var key = cluster.DevKey(n);
                var request = new SubmitTransactionsRequest();
                request.Transactions.Add(key.Transfer(Chain, nonces[n - 1]++, bob.PublicKey, 1));
                var reply = await cluster.Transactions(through == 0 ? (ulong)n : through).SubmitTransactionsAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
                Assert.Equal(TransactionState.Committed, Assert.Single(reply.Results).State);
            }));
        }

        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            await SubmitRoundAsync(through: 0);
            var statuses = await Task.WhenAll(new ulong[] { 1, 2, 3 }.Select(id => cluster.Status(id).GetStatusAsync(new GetStatusRequest()).ResponseAsync));
            if (statuses.All(s => s.LogFirstIndex > 50))
            {
                break;
            }
            Assert.True(DateTime.UtcNow < until, $"no compaction within {Deadline}\n{cluster.Output()}");
        }
        var four = await cluster.PollAsync(() => cluster.TryStatusAsync(4), "node 4 answering", Deadline);
        Assert.Equal(0UL, four.Height); // not a member yet: it received nothing

        // The operator adds it as a learner; the entries it needs are compacted, so it gets the state by snapshot.
        var leader = (await cluster.Status(1).GetStatusAsync(new GetStatusRequest())).Leader; // node 4 knows no leader yet
        var admin = new AdminService.AdminServiceClient(cluster.Channel(leader));
        var added = await admin.ChangeMembershipAsync(new ChangeMembershipRequest { Change = MembershipChangeType.AddLearner, NodeId = 4 }, Bearer(), DateTime.UtcNow.AddSeconds(20));
        Assert.Equal([4UL], added.Learners);
        var caughtUp = await cluster.PollAsync(async () =>
        {
            var s = await cluster.TryStatusAsync(4);
            var l = await cluster.TryStatusAsync(leader);
            return s is not null && l is not null && s.SnapshotIndex > 0 && s.Height >= l.Height - 1 ? s : null;
        }, "node 4 catching up by snapshot", Deadline);
        Assert.True(caughtUp.LogFirstIndex > 1);

        // Caught up, it is promoted; a transaction through it commits and all four hold the same state.
        var promoted = await cluster.PollAsync(async () =>
        {
            try
            {
                return await admin.ChangeMembershipAsync(new ChangeMembershipRequest { Change = MembershipChangeType.PromoteLearner, NodeId = 4 }, Bearer(), DateTime.UtcNow.AddSeconds(20));
            }
            catch (Grpc.Core.RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.FailedPrecondition)
            {
                return null; // not caught up in the leader's eyes yet, or the addition still committing
            }
        }, "promoting node 4", Deadline);
        Assert.Equal([1UL, 2UL, 3UL, 4UL], promoted.Voters);
        await SubmitRoundAsync(through: 4);
        var settled = await cluster.WaitForCarbonRecordsAsync(Deadline, allowMissing: true);
        Assert.Single(settled.Select(s => s.Height).Distinct());
        Assert.Single(settled.Select(s => s.StateRoot).Distinct());
    }
}
