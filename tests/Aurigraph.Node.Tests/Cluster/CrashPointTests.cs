using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>A validator crashes (SIGKILL) at each named fault point while clients submit; after restarting it, nothing acknowledged is lost.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class CrashPointTests
{
    private const string Chain = "aurigraph-devnet";

    [Theory]
    [InlineData(FaultPoints.BeforeLogWrite)]
    [InlineData(FaultPoints.AfterLogWrite)]
    [InlineData(FaultPoints.BeforeCommit)]
    [InlineData(FaultPoints.BeforeApply)]
    public async Task A_validator_killed_at_a_fault_point_recovers_with_nothing_acknowledged_lost(string point)
    {
        var armed = new Dictionary<ulong, Dictionary<string, string>>
        {
            [1] = new() { ["AURIGRAPH_FAULT_POINT"] = point, ["AURIGRAPH_FAULT_AFTER"] = "6" },
        };
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: armed);
        using var sender = cluster.DevKey(4);
        using var recipient = TransactionSigner.Generate();
        var acknowledged = new List<TransactionResult>();
        ulong nonce = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        // Submit through node 2 until node 1 has hit its fault point and died, then a few more.
        var afterDeath = 0;
        while (afterDeath < 3)
        {
            if (timeout.IsCancellationRequested)
            {
                Assert.Fail($"no progress within 60 s ({acknowledged.Count} acknowledged, node 1 exited: {cluster.HasExited(1)})\n{cluster.Output()}");
            }
            var request = new SubmitTransactionsRequest();
            request.Transactions.Add(sender.Transfer(Chain, nonce, recipient.PublicKey, 1));
            TransactionResult result;
            try
            {
                result = (await cluster.Transactions(2).SubmitTransactionsAsync(request, cancellationToken: timeout.Token)).Results[0];
            }
            catch (Grpc.Core.RpcException)
            {
                continue;
            }
            if (result.State == TransactionState.Committed)
            {
                acknowledged.Add(result);
                nonce++;
            }
            if (cluster.HasExited(1))
            {
                afterDeath++;
            }
        }
        Assert.Contains($"fault point {point} hit", cluster.Output(), StringComparison.Ordinal);

        cluster.Start(1);
        var statuses = await cluster.WaitForHeightAsync(acknowledged.Max(a => a.Height), TimeSpan.FromSeconds(30));
        Assert.Equal(3, statuses.Count);
        var height = statuses.Min(s => s.Height);
        var roots = new HashSet<string>();
        foreach (var id in cluster.Ids)
        {
            roots.Add((await cluster.Blocks(id).GetBlockAsync(new GetBlockRequest { Height = height })).Header.StateRoot.ToBase64());
            foreach (var ack in acknowledged)
            {
                var seen = await cluster.Transactions(id).GetTransactionAsync(new GetTransactionRequest { TxId = ack.TxId });
                Assert.Equal(TransactionState.Committed, seen.State);
            }
        }
        Assert.Single(roots);
    }
}
