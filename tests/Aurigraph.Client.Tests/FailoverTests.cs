using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Tests.Cluster;

namespace Aurigraph.Client.Tests;

/// <summary>Nodes killed under a running client: each test has its own cluster.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class FailoverTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Submissions_go_on_committing_when_the_leader_they_are_routed_to_is_killed()
    {
        await using var cluster = await ClientTestCluster.StartAsync();
        using var scene = new TransferScene(cluster, 1);
        var (client, sender, recipient) = (scene.Client, scene.Sender, scene.Recipient);
        var chain = await client.GetChainIdAsync();
        var first = await client.NextNonceAsync(sender.PublicKeyHex);
        const int count = 20;
        var committed = 0;
        var killedAt = -1;
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));

        var writer = Task.Run(async () =>
        {
            var results = new List<TransactionResult>();
            for (var i = 0; i < count; i++)
            {
                results.Add(await client.SubmitAndWaitAsync(sender.Transfer(chain, first + (ulong)i, recipient.PublicKey, 3).Transaction));
                Interlocked.Increment(ref committed);
            }
            return results;
        });
        await ClientTestCluster.PollAsync(() => Volatile.Read(ref committed) >= 5 || writer.IsCompleted, "five transfers committed", Patience);
        Assert.False(writer.IsFaulted, writer.Exception?.ToString());
        Assert.Equal(cluster.Address(leader), client.KnownLeader);
        killedAt = Volatile.Read(ref committed);
        cluster.Kill(leader);
        var results = await writer.WaitAsync(Patience);

        Assert.True(killedAt < count, "the leader was killed while transfers were still to come");
        Assert.All(results, r => Assert.Equal(TransactionState.Committed, r.State));
        Assert.Equal(count, results.Select(r => r.TxId).Distinct().Count());
        var newLeader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30), excluding: leader);
        using var reader = cluster.Client(newLeader);
        Assert.Equal(3UL * count, (await reader.GetAccountAsync(recipient.PublicKeyHex)).Balance);
        Assert.Equal(first + count, await reader.NextNonceAsync(sender.PublicKeyHex));
    }

    [Fact]
    public async Task A_block_subscription_resumes_on_another_node_without_a_gap_or_a_repeat_when_its_node_is_killed()
    {
        await using var cluster = await ClientTestCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var serving = cluster.Ids.First(id => id != leader);
        using var writer = cluster.Client();
        // The subscriber's list starts with a follower: it serves the stream until it is killed.
        using var subscriber = cluster.Client([serving, .. cluster.Ids.Where(id => id != serving)]);
        using var sender = cluster.DevAccount(2);
        using var recipient = AurigraphKey.Generate();
        var chain = await writer.GetChainIdAsync();
        var nonce = await writer.NextNonceAsync(sender.PublicKeyHex);
        async Task<ulong> TransferAsync() =>
            (await writer.SubmitAndWaitAsync(sender.Transfer(chain, nonce++, recipient.PublicKey, 1).Transaction)).Height;

        var heights = new List<ulong>();
        using var stop = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var block in subscriber.SubscribeBlocksAsync(1, stop.Token))
                {
                    lock (heights)
                    {
                        heights.Add(block.Header.Height);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });
        ulong Seen()
        {
            lock (heights)
            {
                return heights.Count == 0 ? 0 : heights[^1];
            }
        }

        ulong before = 0;
        for (var i = 0; i < 3; i++)
        {
            before = await TransferAsync();
        }
        await ClientTestCluster.PollAsync(() => Seen() >= before || reading.IsCompleted, $"height {before} streamed", Patience);
        cluster.Kill(serving);
        ulong after = 0;
        for (var i = 0; i < 3; i++)
        {
            after = await TransferAsync();
        }
        await ClientTestCluster.PollAsync(() => Seen() >= after || reading.IsCompleted, $"height {after} streamed after node {serving} was killed", Patience);
        await stop.CancelAsync();
        await reading.WaitAsync(Patience);

        List<ulong> seen;
        lock (heights)
        {
            seen = [.. heights];
        }
        Assert.True(after > before, $"blocks committed after the kill ({before} -> {after})");
        Assert.True(seen[^1] >= after, $"streamed up to {seen[^1]}, committed {after}");
        Assert.Equal(Enumerable.Range(1, seen.Count).Select(h => (ulong)h), seen);
    }
}
