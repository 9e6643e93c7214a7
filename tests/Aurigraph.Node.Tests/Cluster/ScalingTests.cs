using Aurigraph.Node.Api.V1;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>The scaling procedure (docs/scaling.md): business and slim nodes added and removed while clients write.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class ScalingTests
{
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

        using var writes = new TransferWriter(cluster, through: 4, devKey: 3);
        await writes.WritesAsync(5, Deadline);

        // Scale out: the operator adds each node on the leader, then starts it; it catches up while the writes go on.
        foreach (var node in new ulong[] { 5, 7 })
        {
            var added = await ChangeAsync(cluster, MembershipChangeType.AddLearner, node);
            Assert.Contains(node, added.Learners);
            cluster.Start(node, settings);
        }
        await writes.WritesAsync(10, Deadline);
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
        await writes.WritesAsync(10, Deadline);
        var total = await writes.StopAsync();

        var membership = await Admin(cluster, await cluster.WaitForLeaderAsync(Deadline)).GetMembershipAsync(new GetMembershipRequest(), Bearer());
        Assert.Equal([1UL, 2UL, 3UL], membership.Voters);
        Assert.Equal([4UL, 7UL], membership.Learners.Order());
        // What was acknowledged is there (a linearizable read on a validator), and the nodes that stayed hold it too.
        var account = await cluster.Status(1).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexString(writes.Recipient.PublicKey), Consistency = ReadConsistency.Linearizable });
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
