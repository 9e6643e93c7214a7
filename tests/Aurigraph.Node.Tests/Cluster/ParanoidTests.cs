using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Transactions;
using Google.Protobuf;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>
/// Paranoid mode. A paranoid leader proposes only what it verified itself, so a committed block is never a poison
/// pill; a paranoid follower that meets a bad signature in a committed block (proposed by a leader that is not
/// paranoid) applies it like every other node and raises an integrity alarm, instead of stopping at that block at
/// every restart. Node 2 admits without checking signatures (signature mode none, trusted ingress) in both tests.
/// </summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class ParanoidTests
{
    private const string Chain = "aurigraph-devnet";
    private const string Token = "paranoid-test-token";

    private static readonly ulong[] Validators = [1, 2, 3];

    private static Dictionary<ulong, Dictionary<string, string>> Settings(params ulong[] paranoid) =>
        Validators.ToDictionary(id => id, id =>
        {
            var env = new Dictionary<string, string> { ["AURIGRAPH__ADMINTOKEN"] = Token };
            if (id == 2)
            {
                env["AURIGRAPH__SIGNATUREMODE"] = "None";
            }
            if (paranoid.Contains(id))
            {
                env["AURIGRAPH__PARANOID"] = "true";
            }
            return env;
        });

    /// <summary>Hands leadership to <paramref name="target"/> unless it leads already.</summary>
    private static async Task MakeLeaderAsync(LocalCluster cluster, ulong target)
    {
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        if (leader == target)
        {
            return;
        }
        var admin = new AdminService.AdminServiceClient(cluster.Channel(leader));
        await admin.TransferLeadershipAsync(new TransferLeadershipRequest { Target = target }, new Metadata { { "authorization", "Bearer " + Token } });
        Assert.Equal(target, await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20), excluding: leader));
    }

    [Fact]
    public async Task A_paranoid_leader_refuses_a_forged_signature_that_a_trusting_node_forwarded()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: Settings(1, 3));
        await MakeLeaderAsync(cluster, 1);
        using var sender = cluster.DevKey(4);
        using var recipient = TransactionSigner.Generate();

        var forged = sender.Transfer(Chain, 0, recipient.PublicKey, 1);
        forged.Signature = ByteString.CopyFrom(new byte[TransactionVerifier.SignatureSize]);
        var result = (await cluster.Transactions(2).SubmitTransactionsAsync(new SubmitTransactionsRequest { Transactions = { forged } })).Results[0];

        // Node 2 forwarded it to the leader, the one node it ever went to, which refused it: a true REJECTED.
        Assert.Equal(TransactionState.Rejected, result.State);
        Assert.Equal("bad signature", result.RejectReason);
        // The sender's genuine transaction with the same nonce commits: the forged one held nothing.
        var genuine = sender.Transfer(Chain, 0, recipient.PublicKey, 1);
        Assert.Equal(TransactionState.Committed, (await cluster.Transactions(2).SubmitTransactionsAsync(new SubmitTransactionsRequest { Transactions = { genuine } })).Results[0].State);
        var statuses = await cluster.WaitForHeightAsync(1, TimeSpan.FromSeconds(20));
        Assert.All(statuses, s => Assert.Equal("", s.IntegrityAlarm));
        Assert.All(cluster.Ids, id => Assert.False(cluster.HasExited(id)));
    }

    [Fact]
    public async Task A_paranoid_follower_raises_an_alarm_and_keeps_applying_rather_than_stop_at_a_committed_block()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: Settings(3));
        await MakeLeaderAsync(cluster, 2);
        using var sender = cluster.DevKey(4);
        using var recipient = TransactionSigner.Generate();

        var forged = sender.Transfer(Chain, 0, recipient.PublicKey, 1);
        forged.Signature = ByteString.CopyFrom(new byte[TransactionVerifier.SignatureSize]);
        var result = (await cluster.Transactions(2).SubmitTransactionsAsync(new SubmitTransactionsRequest { Transactions = { forged } })).Results[0];
        Assert.Equal(TransactionState.Committed, result.State); // the trusting leader took it: trusted ingress

        // Node 3 applies the committed block like the others, raises the alarm, and the cluster goes on.
        var alarm = await cluster.PollAsync(
            async () => (await cluster.TryStatusAsync(3)) is { IntegrityAlarm.Length: > 0 } s ? s.IntegrityAlarm : null,
            "node 3's integrity alarm", TimeSpan.FromSeconds(20));
        Assert.Contains("paranoid check", alarm, StringComparison.Ordinal);
        Assert.Contains(result.TxId, alarm, StringComparison.Ordinal);
        var next = sender.Transfer(Chain, 1, recipient.PublicKey, 1);
        Assert.Equal(TransactionState.Committed, (await cluster.Transactions(3).SubmitTransactionsAsync(new SubmitTransactionsRequest { Transactions = { next } })).Results[0].State);
        var statuses = await cluster.WaitForCarbonRecordsAsync(TimeSpan.FromSeconds(30)); // every node at one height
        Assert.Single(statuses.Select(s => s.StateRoot).Distinct());
        Assert.All(cluster.Ids, id => Assert.False(cluster.HasExited(id)));
        Assert.Equal("", statuses.Single(s => s.Id == 1).IntegrityAlarm);
    }
}
