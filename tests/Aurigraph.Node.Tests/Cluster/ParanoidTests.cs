using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Transactions;
using Google.Protobuf;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>
/// Followers trust the admitting node's signature check (crash-fault model) unless they run in paranoid mode. Here
/// node 2 admits without checking signatures (signature mode none, trusted ingress) and node 3 is paranoid: a
/// transaction with a forged signature commits on the trusting nodes, and node 3 stops rather than apply it.
/// </summary>
[Collection("real cluster")]
public sealed class ParanoidTests
{
    private const string Chain = "aurigraph-devnet";

    [Fact]
    public async Task A_paranoid_validator_stops_rather_than_apply_a_block_with_a_forged_signature()
    {
        var settings = new Dictionary<ulong, Dictionary<string, string>>
        {
            [2] = new() { ["AURIGRAPH__SIGNATUREMODE"] = "None" },
            [3] = new() { ["AURIGRAPH__PARANOID"] = "true" },
        };
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: settings);
        using var sender = cluster.DevKey(4);
        using var recipient = TransactionSigner.Generate();

        // A genuine transaction first: every node, the paranoid one included, applies it.
        var genuine = new SubmitTransactionsRequest { Transactions = { sender.Transfer(Chain, 0, recipient.PublicKey, 1) } };
        Assert.Equal(TransactionState.Committed, (await cluster.Transactions(2).SubmitTransactionsAsync(genuine)).Results[0].State);
        await cluster.WaitForHeightAsync(1, TimeSpan.FromSeconds(20));
        Assert.False(cluster.HasExited(3));

        var forged = sender.Transfer(Chain, 1, recipient.PublicKey, 1);
        forged.Signature = ByteString.CopyFrom(new byte[TransactionVerifier.SignatureSize]);
        var result = (await cluster.Transactions(2).SubmitTransactionsAsync(new SubmitTransactionsRequest { Transactions = { forged } })).Results[0];
        Assert.Equal(TransactionState.Committed, result.State);

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await cluster.WaitForExitAsync(3, deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"node 3 did not stop within 30 s\n{cluster.Output()}");
        }
        Assert.Equal(ExitCodes.LoopFailed, cluster.ExitCode(3));
        Assert.Contains("paranoid check", cluster.Output(), StringComparison.Ordinal);
        Assert.False(cluster.HasExited(1));
        Assert.False(cluster.HasExited(2));
    }
}
