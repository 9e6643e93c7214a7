using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;

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
}
