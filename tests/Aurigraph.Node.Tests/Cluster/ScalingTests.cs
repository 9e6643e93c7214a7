using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>The scaling procedure (docs/scaling.md): business and slim nodes added and removed while clients write.</summary>
[Collection("real cluster")]
public sealed class ScalingTests
{
    private const string Chain = "aurigraph-devnet";
    private const string Token = "scaling-admin-token";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Business_and_slim_nodes_join_catch_up_and_leave_while_a_client_writes_and_nothing_acknowledged_is_lost()
    {
        // Validators 1-3, business 4 and 5, slim 6 and 7. Nodes 5 and 7 are in every address book but join later.
        var settings = new Dictionary<string, string>
        {
            ["AURIGRAPH__ADMINTOKEN"] = Token,
            ["AURIGRAPH__MEMBERS__4__JOINING"] = "true",
            ["AURIGRAPH__MEMBERS__6__JOINING"] = "true",
        };
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 2, slim: 2, environment: Enumerable.Range(1, 7).ToDictionary(id => (ulong)id, _ => settings), startLater: [5, 7]);

        using var stop = new CancellationTokenSource();
        using var recipient = TransactionSigner.Generate();
        ulong acknowledged = 0;
        var writer = Task.Run(async () =>
        {
            using var sender = cluster.DevKey(3);
            for (ulong nonce = 0; !stop.IsCancellationRequested; nonce++)
            {
                var request = new SubmitTransactionsRequest { Transactions = { sender.Transfer(Chain, nonce, recipient.PublicKey, 1) } };
                var reply = await cluster.Transactions(4).SubmitTransactionsAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
                Assert.True(reply.Results[0].State == TransactionState.Committed, $"transfer {nonce}: {reply.Results[0]}");
                Interlocked.Exchange(ref acknowledged, nonce + 1);
            }
        });
        async Task WritesAsync(int more)
        {
            var target = Interlocked.Read(ref acknowledged) + (ulong)more;
            await cluster.PollAsync(async () => { await Task.Yield(); return writer.IsFaulted || Interlocked.Read(ref acknowledged) >= target ? "" : null; }, $"{more} more writes", Deadline);
            if (writer.IsFaulted)
            {
                await writer;
            }
        }
        await WritesAsync(5);

        // Scale out: the operator adds each node on the leader, then starts it; it catches up while the writes go on.
        foreach (var node in new ulong[] { 5, 7 })
        {
            var added = await ChangeAsync(cluster, MembershipChangeType.AddLearner, node);
            Assert.Contains(node, added.Learners);
            cluster.Start(node, settings);
        }
        await WritesAsync(10);
        var leader = await cluster.WaitForLeaderAsync(Deadline);
        var height = (await cluster.Status(leader).GetStatusAsync(new GetStatusRequest())).Height;
        foreach (var node in new ulong[] { 5, 7 })
        {
            await cluster.PollAsync(async () => (await cluster.TryStatusAsync(node))?.Height >= height ? "" : null, $"node {node} caught up", Deadline);
        }

        // Scale in: the original slim node and the business node just added leave; the writes go on without them.
        foreach (var node in new ulong[] { 6, 5 })
        {
            var removed = await ChangeAsync(cluster, MembershipChangeType.RemoveNode, node);
            Assert.DoesNotContain(node, removed.Learners);
            Assert.DoesNotContain(node, removed.Voters);
        }
        var removedAt = (await cluster.Status(leader).GetStatusAsync(new GetStatusRequest())).Height;
        await WritesAsync(10);
        await stop.CancelAsync();
        await writer;

        var membership = await Admin(cluster, await cluster.WaitForLeaderAsync(Deadline)).GetMembershipAsync(new GetMembershipRequest(), Bearer());
        Assert.Equal([1UL, 2UL, 3UL], membership.Voters);
        Assert.Equal([4UL, 7UL], membership.Learners.Order());
        // What was acknowledged is there (a linearizable read on a validator), and the nodes that stayed hold it too.
        var total = Interlocked.Read(ref acknowledged);
        var account = await cluster.Status(1).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexString(recipient.PublicKey), Consistency = ReadConsistency.Linearizable });
        Assert.Equal(total, account.Balance);
        var final = account.Height;
        foreach (var node in new ulong[] { 2, 3, 4, 7 })
        {
            await cluster.PollAsync(async () => (await cluster.TryStatusAsync(node))?.Height >= final ? "" : null, $"node {node} at height {final}", Deadline);
        }
        // The removed nodes get nothing after their removal: they stay behind the writes that followed it.
        foreach (var node in new ulong[] { 5, 6 })
        {
            var status = await cluster.TryStatusAsync(node);
            Assert.True(status is null || status.Height < final, $"node {node} removed at height {removedAt} is at {status?.Height}, the cluster at {final}");
        }
    }

    private static Metadata Bearer() => new() { { "authorization", $"Bearer {Token}" } };

    private static AdminService.AdminServiceClient Admin(LocalCluster cluster, ulong id) => new(cluster.Channel(id));

    /// <summary>A learner change on the leader; a refusal because a previous change is still committing is retried.</summary>
    private static async Task<Membership> ChangeAsync(LocalCluster cluster, MembershipChangeType change, ulong node)
    {
        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            var leader = await cluster.WaitForLeaderAsync(Deadline);
            try
            {
                return await Admin(cluster, leader).ChangeMembershipAsync(new ChangeMembershipRequest { Change = change, NodeId = node }, Bearer(), DateTime.UtcNow.AddSeconds(20));
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition && DateTime.UtcNow < until)
            {
                await Task.Delay(100); // back-off before retrying a refused request, not synchronisation
            }
        }
    }
}
