using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>Online membership changes on real processes, through the admin API, while a client keeps submitting.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class MembershipTests
{
    private const string Chain = "aurigraph-devnet";
    private const string Token = "membership-test-token";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static Metadata Bearer() => new() { { "authorization", $"Bearer {Token}" } };

    [Fact]
    public async Task A_business_node_is_promoted_and_a_voter_removed_while_clients_submit_and_the_new_voter_counts_in_the_quorum()
    {
        var settings = new Dictionary<string, string> { ["AURIGRAPH__ADMINTOKEN"] = Token };
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0, environment: Enumerable.Range(1, 4).ToDictionary(id => (ulong)id, _ => settings));

        // A client submits one transfer at a time through the business node for the whole test; every one must commit.
        using var stop = new CancellationTokenSource();
        using var bob = TransactionSigner.Generate();
        ulong committed = 0;
        var client = Task.Run(async () =>
        {
            using var alice = cluster.DevKey(1);
            for (ulong nonce = 0; !stop.IsCancellationRequested; nonce++)
            {
                var request = new SubmitTransactionsRequest();
                request.Transactions.Add(alice.Transfer(Chain, nonce, bob.PublicKey, 1));
                var reply = await cluster.Transactions(4).SubmitTransactionsAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
                Assert.True(Assert.Single(reply.Results).State == TransactionState.Committed, $"transfer {nonce}: {reply.Results[0]}");
                Volatile.Write(ref committed, nonce + 1);
            }
        });

        async Task<Membership> ChangeAsync(MembershipChangeType change, ulong node)
        {
            var until = DateTime.UtcNow + Deadline;
            // Once a removal may have taken effect, the removed node hears no leader: it is not asked who leads.
            IReadOnlyCollection<ulong>? asked = change == MembershipChangeType.RemoveNode ? [.. cluster.Ids.Where(id => id != node)] : null;
            while (true)
            {
                var leader = await cluster.WaitForLeaderAsync(Deadline, among: asked);
                try
                {
                    return await new AdminService.AdminServiceClient(cluster.Channel(leader))
                        .ChangeMembershipAsync(new ChangeMembershipRequest { Change = change, NodeId = node }, Bearer(), DateTime.UtcNow.AddSeconds(20));
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition && DateTime.UtcNow < until)
                {
                    // Not the leader any more, or the previous change still committing, or leadership changed before the
                    // change applied ("it may or may not take effect"): the membership the leader now holds says whether it did.
                    var current = await new AdminService.AdminServiceClient(cluster.Channel(await cluster.WaitForLeaderAsync(Deadline, among: asked)))
                        .GetMembershipAsync(new GetMembershipRequest(), Bearer());
                    var done = change switch
                    {
                        MembershipChangeType.PromoteLearner => current.Voters.Contains(node),
                        MembershipChangeType.RemoveNode => !current.Voters.Contains(node) && !current.Learners.Contains(node),
                        _ => false,
                    };
                    if (done)
                    {
                        return current;
                    }
                    await Task.Delay(100); // back-off before retrying a refused request, not synchronisation
                }
            }
        }

        var admin1 = new AdminService.AdminServiceClient(cluster.Channel(1));
        var before = await admin1.GetMembershipAsync(new GetMembershipRequest(), Bearer());
        Assert.Equal([1UL, 2UL, 3UL], before.Voters);
        Assert.Equal([4UL], before.Learners);

        // Errors first: unknown node, a voter "promoted", no token.
        var unknown = await Assert.ThrowsAsync<RpcException>(() => ChangeAsync(MembershipChangeType.AddLearner, 9));
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Contains("not in the address book", unknown.Status.Detail, StringComparison.Ordinal);
        var voter = await Assert.ThrowsAsync<RpcException>(() => ChangeAsync(MembershipChangeType.PromoteLearner, 2));
        Assert.Equal(StatusCode.InvalidArgument, voter.StatusCode);
        var anonymous = await Assert.ThrowsAsync<RpcException>(() => admin1.GetMembershipAsync(new GetMembershipRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);

        // The business node becomes a voter, then validator 1 leaves (whether or not it leads).
        var promoted = await ChangeAsync(MembershipChangeType.PromoteLearner, 4);
        Assert.Equal([1UL, 2UL, 3UL, 4UL], promoted.Voters);
        Assert.Empty(promoted.Learners);
        var removed = await ChangeAsync(MembershipChangeType.RemoveNode, 1);
        Assert.Equal([2UL, 3UL, 4UL], removed.Voters);
        // Index 0: the answer was lost to a leader change and the membership read back (a read has no change index).
        Assert.True(removed.Index == 0 || removed.Index > promoted.Index, $"removal at {removed.Index}, promotion at {promoted.Index}");

        // Every remaining member sees the same membership.
        foreach (var id in new ulong[] { 2, 3, 4 })
        {
            var seen = await cluster.PollAsync(async () =>
            {
                var m = await new AdminService.AdminServiceClient(cluster.Channel(id)).GetMembershipAsync(new GetMembershipRequest(), Bearer());
                return m.Voters.SequenceEqual([2UL, 3UL, 4UL]) ? m : null;
            }, $"node {id} applying the removal", Deadline);
            Assert.Empty(seen.Learners);
        }

        // Nodes 1 (removed) and 2 go: of the voters 2, 3, 4 only 3 and 4 remain — a quorum only because 4 votes now.
        cluster.Kill(1);
        cluster.Kill(2);
        var progressFrom = Volatile.Read(ref committed);
        await cluster.PollAsync(() => Task.FromResult(Volatile.Read(ref committed) >= progressFrom + 5 ? (object?)progressFrom : null), "five more commits with voters 3 and 4 only", Deadline);
        stop.Cancel();
        await client;

        var leaderNow = await cluster.WaitForLeaderAsync(Deadline);
        Assert.Contains(leaderNow, new ulong[] { 3, 4 });
        var account = await cluster.Status(3).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexStringLower(bob.PublicKey), Consistency = ReadConsistency.Linearizable });
        Assert.Equal(committed, account.Balance);
    }
}
