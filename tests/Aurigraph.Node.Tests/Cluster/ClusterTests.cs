using System.Diagnostics;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Google.Protobuf;
using Xunit.Abstractions;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>Five real node processes (3 validators, 1 business, 1 slim) on loopback.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class ClusterTests(ITestOutputHelper output)
{
    private const string Chain = "aurigraph-devnet";

    private static SubmitTransactionsRequest Request(params SignedTransaction[] txs)
    {
        var request = new SubmitTransactionsRequest();
        request.Transactions.AddRange(txs);
        return request;
    }

    [Fact]
    public async Task Submissions_through_a_follower_a_business_and_a_slim_node_commit_on_all_five_with_equal_state_roots()
    {
        await using var cluster = await LocalCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
        var follower = cluster.Ids.First(id => id != leader && id <= 3);
        using var alice = cluster.DevKey(1);
        using var bob = TransactionSigner.Generate();

        var results = new List<TransactionResult>();
        ulong nonce = 0;
        foreach (var via in new[] { follower, 4UL, 5UL })
        {
            var response = await cluster.Transactions(via).SubmitTransactionsAsync(Request(alice.Transfer(Chain, nonce++, bob.PublicKey, 10)));
            results.Add(Assert.Single(response.Results));
        }

        Assert.All(results, r =>
        {
            Assert.Equal(TransactionState.Committed, r.State);
            Assert.True(r.Receipt.Success, r.Receipt.FailureReason);
        });
        var statuses = await cluster.WaitForHeightAsync(results.Max(r => r.Height), TimeSpan.FromSeconds(10));
        var height = statuses.Min(s => s.Height);
        var roots = new HashSet<string>();
        foreach (var id in cluster.Ids)
        {
            var block = await cluster.Blocks(id).GetBlockAsync(new GetBlockRequest { Height = height });
            roots.Add(block.Header.StateRoot.ToBase64());
        }
        Assert.Single(roots);
        Assert.Equal(5, statuses.Count);
    }

    [Fact]
    public async Task Bad_transactions_get_clear_per_transaction_errors_and_leave_state_unchanged()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
        using var alice = cluster.DevKey(1);
        using var bob = TransactionSigner.Generate();
        var client = cluster.Transactions(1);

        var good = alice.Transfer(Chain, 0, bob.PublicKey, 5);
        var committed = Assert.Single((await client.SubmitTransactionsAsync(Request(good))).Results);
        Assert.Equal(TransactionState.Committed, committed.State);
        // The block's carbon record follows in a block of its own (which moves the height, hence the root): let it land.
        await cluster.WaitForCarbonRecordsAsync(TimeSpan.FromSeconds(20));
        var before = (await cluster.Status(1).GetStatusAsync(new GetStatusRequest())).StateRoot;

        var badSignature = alice.Transfer(Chain, 1, bob.PublicKey, 5);
        var sig = badSignature.Signature.ToByteArray();
        sig[0] ^= 0xFF;
        badSignature.Signature = ByteString.CopyFrom(sig);
        var malformed = new SignedTransaction { Body = ByteString.CopyFrom(0xFF, 0x01, 0x02), Signature = ByteString.CopyFrom(new byte[64]) };
        var oversized = alice.Put(Chain, 1, "big"u8, new byte[70 * 1024]);
        var replayed = alice.Transfer(Chain, 0, bob.PublicKey, 7);
        var outOfOrder = alice.Transfer(Chain, 5, bob.PublicKey, 7);

        var results = (await client.SubmitTransactionsAsync(Request(badSignature, malformed, oversized, replayed, outOfOrder))).Results;

        Assert.Collection(
            results,
            r => Assert.Contains("bad signature", r.RejectReason, StringComparison.Ordinal),
            r => Assert.Contains("malformed", r.RejectReason, StringComparison.Ordinal),
            r => Assert.Contains("exceeds the limit", r.RejectReason, StringComparison.Ordinal),
            r => Assert.Contains("already used", r.RejectReason, StringComparison.Ordinal),
            r => Assert.Contains("out-of-order nonce", r.RejectReason, StringComparison.Ordinal));
        Assert.All(results, r => Assert.Equal(TransactionState.Rejected, r.State));
        var after = (await cluster.Status(1).GetStatusAsync(new GetStatusRequest())).StateRoot;
        Assert.Equal(before, after);

        // A replay of the committed transaction itself answers with its original commit.
        var again = Assert.Single((await client.SubmitTransactionsAsync(Request(good))).Results);
        Assert.Equal(committed.Height, again.Height);
    }

    [Fact]
    public async Task Killing_the_leader_elects_a_new_one_within_three_election_timeouts_and_loses_no_acknowledged_transaction()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
        using var alice = cluster.DevKey(2);
        using var bob = TransactionSigner.Generate();
        var acknowledged = new List<TransactionResult>();
        ulong nonce = 0;

        // Submit through the business node while the leader dies.
        async Task SubmitSome(int n)
        {
            for (var i = 0; i < n; i++)
            {
                var r = Assert.Single((await cluster.Transactions(4).SubmitTransactionsAsync(Request(alice.Transfer(Chain, nonce, bob.PublicKey, 1)))).Results);
                if (r.State == TransactionState.Committed)
                {
                    acknowledged.Add(r);
                    nonce++;
                }
            }
        }
        await SubmitSome(5);
        var clock = Stopwatch.StartNew();
        cluster.Kill(leader);
        var newLeader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10), excluding: leader);
        var failover = clock.Elapsed;
        output.WriteLine($"failover: {failover.TotalMilliseconds:F0} ms from the kill to an agreed new leader");
        await SubmitSome(5);

        Assert.NotEqual(leader, newLeader);
        // Raft's bound, not a speed target: a follower times out within twice the election timeout of the last
        // heartbeat; a split vote costs one more such round. Three rounds of the default timeouts (100 ms ticks,
        // 10 election ticks, randomised up to twice that) leave room for one split vote on a loaded machine.
        var bound = TimeSpan.FromMilliseconds(3 * 2 * 10 * 100);
        Assert.True(failover < bound, $"failover took {failover.TotalMilliseconds:F0} ms (bound {bound.TotalMilliseconds:F0} ms)");

        cluster.Start(leader);
        var statuses = await cluster.WaitForHeightAsync(acknowledged.Max(a => a.Height), TimeSpan.FromSeconds(20));
        Assert.Equal(4, statuses.Count);
        foreach (var id in cluster.Ids)
        {
            foreach (var ack in acknowledged)
            {
                var seen = await cluster.Transactions(id).GetTransactionAsync(new GetTransactionRequest { TxId = ack.TxId });
                Assert.Equal(TransactionState.Committed, seen.State);
                Assert.Equal(ack.Height, seen.Height);
            }
        }
    }

    [Fact]
    public async Task A_full_cluster_restart_keeps_heights_and_state_roots()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 1);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
        using var alice = cluster.DevKey(3);
        using var bob = TransactionSigner.Generate();
        for (ulong n = 0; n < 5; n++)
        {
            Assert.Equal(TransactionState.Committed, Assert.Single((await cluster.Transactions(1).SubmitTransactionsAsync(Request(alice.Transfer(Chain, n, bob.PublicKey, 3)))).Results).State);
        }
        await cluster.WaitForHeightAsync(5, TimeSpan.FromSeconds(10));
        var before = await cluster.WaitForCarbonRecordsAsync(TimeSpan.FromSeconds(20));

        foreach (var id in cluster.Ids)
        {
            await cluster.StopAsync(id);
        }
        foreach (var id in cluster.Ids)
        {
            cluster.Start(id);
        }
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        var after = await cluster.WaitForHeightAsync(before.Min(s => s.Height), TimeSpan.FromSeconds(10));

        foreach (var s in after)
        {
            var previous = before.Single(b => b.Id == s.Id);
            Assert.Equal(previous.Height, s.Height);
            Assert.Equal(previous.StateRoot, s.StateRoot);
        }
    }
}
