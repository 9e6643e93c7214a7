using System.Diagnostics;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>A cluster across the programme's three clouds on loopback, with WAN emulation: it elects, commits and agrees.</summary>
[Collection("real cluster")]
public sealed class WanClusterTests
{
    private const string Chain = "aurigraph-devnet";

    private static readonly (string Cloud, string Region)[] Clouds = [("aws", "us-east-1"), ("azure", "eastus"), ("gcp", "us-central1")];

    /// <summary>Every node gets every member's location (members are listed in id order) and WAN emulation on.</summary>
    private static Dictionary<ulong, Dictionary<string, string>> Topology(int nodes)
    {
        var settings = new Dictionary<string, string> { ["AURIGRAPH__TRANSPORT__WAN__ENABLED"] = "true" };
        for (var i = 0; i < nodes; i++)
        {
            settings[$"AURIGRAPH__MEMBERS__{i}__CLOUD"] = Clouds[i % 3].Cloud;
            settings[$"AURIGRAPH__MEMBERS__{i}__REGION"] = Clouds[i % 3].Region;
        }
        return Enumerable.Range(1, nodes).ToDictionary(i => (ulong)i, _ => new Dictionary<string, string>(settings));
    }

    [Fact]
    public async Task Three_validators_in_three_clouds_commit_through_emulated_latency_and_agree()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0, environment: Topology(4));
        var log = string.Join('\n', cluster.LinesOf(1));
        Assert.True(log.Contains("WAN EMULATION ON: frames to node 3 (gcp:us-central1) are delayed by a 30 ms round trip", StringComparison.Ordinal), log);
        using var sender = cluster.DevKey(1);
        using var recipient = TransactionSigner.Generate();
        ulong height = 0;
        for (ulong nonce = 0; nonce < 10; nonce++)
        {
            // Through the business node in aws:us-east-1 (node 4): forwarded to the leader wherever it is.
            var result = (await cluster.Transactions(4).SubmitTransactionsAsync(new SubmitTransactionsRequest { Transactions = { sender.Transfer(Chain, nonce, recipient.PublicKey, 1) } })).Results[0];
            Assert.Equal(TransactionState.Committed, result.State);
            height = Math.Max(height, result.Height);
        }
        await cluster.WaitForHeightAsync(height, TimeSpan.FromSeconds(30));
        var hashes = new List<string>();
        foreach (var id in cluster.Ids)
        {
            var block = await cluster.Blocks(id).GetBlockAsync(new GetBlockRequest { Height = height });
            hashes.Add(Convert.ToHexString(block.Header.Hash.Span) + "/" + Convert.ToHexString(block.Header.StateRoot.Span));
        }
        Assert.Single(hashes.Distinct()); // the same block and state on every node
    }

    [Fact]
    public async Task A_lost_cloud_under_load_fails_over_within_30_s_loses_no_acknowledged_transaction_and_catches_up()
    {
        // Validators 1-3 and business nodes 4-6, one of each per cloud (node n and n + 3 share a cloud).
        var environment = Topology(6);
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 3, slim: 0, environment: environment);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        // The entry: a business node in another cloud than the leader's (checked again right before the loss).
        var entry = cluster.Ids.First(id => id > 3 && id != leader + 3);
        using var sender = cluster.DevKey(2);
        using var recipient = TransactionSigner.Generate();

        using var stop = new CancellationTokenSource();
        var acknowledged = new List<long>(); // when each commit was acknowledged
        var writer = Task.Run(async () =>
        {
            ulong nonce = 0;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    // The same nonce again after anything but COMMITTED: the same signed bytes, the same transaction.
                    var request = new SubmitTransactionsRequest { Transactions = { sender.Transfer(Chain, nonce, recipient.PublicKey, 1) } };
                    var result = (await cluster.Transactions(entry).SubmitTransactionsAsync(request, deadline: DateTime.UtcNow.AddSeconds(15))).Results[0];
                    if (result.State == TransactionState.Committed)
                    {
                        lock (acknowledged)
                        {
                            acknowledged.Add(Stopwatch.GetTimestamp());
                        }
                        nonce++;
                    }
                }
                catch (RpcException)
                {
                    // The entry node may answer UNAVAILABLE while no leader is known: retry.
                }
            }
        });
        await cluster.PollAsync(async () => { await Task.Yield(); lock (acknowledged) { return acknowledged.Count >= 20 ? "" : null; } }, "writes before the loss", TimeSpan.FromSeconds(30));

        leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
        ulong[] lost = [leader, leader + 3];
        Assert.DoesNotContain(entry, lost);
        var killedAt = Stopwatch.GetTimestamp();
        foreach (var id in lost)
        {
            cluster.Kill(id); // the whole cloud: its validator (the leader) and its business node
        }
        // Failover: the longest pause in acknowledgements from the loss on (a write answered just after the kill may
        // have committed before it, so the first acknowledgement alone would not show the election).
        await cluster.PollAsync(async () => { await Task.Yield(); lock (acknowledged) { return acknowledged.Count(a => a > killedAt) >= 20 ? "" : null; } }, "writes after the loss", TimeSpan.FromSeconds(60));
        TimeSpan failover;
        lock (acknowledged)
        {
            var after = acknowledged.Where(a => a > killedAt).Prepend(killedAt).ToList();
            failover = after.Zip(after.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b)).Max();
        }
        Assert.True(failover < TimeSpan.FromSeconds(30), $"failover took {failover.TotalSeconds:F1} s");

        // The cloud comes back and catches up while the writes go on; then they stop.
        foreach (var id in lost)
        {
            cluster.Start(id, environment[id]);
        }
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await writer;
        var acked = acknowledged.Count;

        // Nothing acknowledged was lost: a linearizable read anywhere sees every acknowledged transfer (and at most the
        // one left pending when the writer stopped).
        foreach (var id in cluster.Ids)
        {
            var account = await cluster.PollAsync(async () =>
            {
                try
                {
                    return await cluster.Status(id).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexStringLower(recipient.PublicKey), Consistency = ReadConsistency.Linearizable });
                }
                catch (RpcException)
                {
                    return null; // a restarted node may not know the leader yet
                }
            }, $"a linearizable read on node {id}", TimeSpan.FromSeconds(30));
            Assert.InRange(account!.Balance, (ulong)acked, (ulong)acked + 1);
        }
        // The returned nodes hold the same chain: the same block and state root at the survivors' height.
        var height = (await cluster.Status(entry).GetStatusAsync(new GetStatusRequest())).Height;
        await cluster.WaitForHeightAsync(height, TimeSpan.FromSeconds(60));
        var roots = new HashSet<string>();
        foreach (var id in cluster.Ids)
        {
            var block = await cluster.Blocks(id).GetBlockAsync(new GetBlockRequest { Height = height });
            roots.Add(Convert.ToHexString(block.Header.Hash.Span) + "/" + Convert.ToHexString(block.Header.StateRoot.Span));
        }
        Assert.Single(roots);
        Console.WriteLine($"lost cloud of node {leader} under load: failover {failover.TotalMilliseconds:F0} ms, {acked} transactions acknowledged, none lost");
    }
}
