using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Tests.Cluster;
using Google.Protobuf;

namespace Aurigraph.Client.Tests;

/// <summary>Submitting, retrying and reading against one real cluster that every test leaves whole.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class SubmitAndReadTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task Submit_and_wait_commits_and_a_linearizable_read_on_another_node_sees_the_balance()
    {
        var cluster = fixture.Cluster;
        using var scene = new TransferScene(cluster, 1);
        var tx = await scene.NextTransferAsync(1234);
        var (client, recipient) = (scene.Client, scene.Recipient);

        var result = await client.SubmitAndWaitAsync(tx.Transaction);

        Assert.Equal(TransactionState.Committed, result.State);
        Assert.True(result.Receipt.Success, result.Receipt.FailureReason);
        Assert.Equal(tx.TxId, result.TxId);
        Assert.True(result.Height > 0);
        // The statuses named the leader, and submissions go to it first.
        Assert.Equal(cluster.Address(await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30))), client.KnownLeader);
        // Every node, each asked on its own, answers the committed balance at once (no waiting for it to apply).
        foreach (var id in cluster.Ids)
        {
            using var reader = cluster.Client(id);
            Assert.Equal(1234UL, (await reader.GetAccountAsync(recipient.PublicKeyHex)).Balance);
            Assert.Equal(TransactionState.Committed, (await reader.GetTransactionAsync(tx.TxId)).State);
        }
    }

    [Fact]
    public async Task The_same_signed_bytes_submitted_again_commit_once_under_one_id()
    {
        var cluster = fixture.Cluster;
        using var scene = new TransferScene(cluster, 2);
        var tx = await scene.NextTransferAsync(500);
        var client = scene.Client;

        // At once, three times in one call and concurrently from two clients, then again after the commit on each node.
        using var other = cluster.Client([.. cluster.Ids.Reverse()]);
        var together = await Task.WhenAll(
            client.SubmitAndWaitAsync([tx.Transaction, tx.Transaction, tx.Transaction]),
            other.SubmitAndWaitAsync([tx.Transaction]));
        var results = together.SelectMany(r => r).ToList();
        foreach (var id in cluster.Ids)
        {
            using var one = cluster.Client(id);
            results.Add(await one.SubmitAndWaitAsync(tx.Transaction));
        }

        Assert.All(results, r => Assert.Equal(TransactionState.Committed, r.State));
        Assert.Single(results.Select(r => (r.TxId, r.Height, r.Index)).Distinct());
        Assert.Equal(tx.TxId, results[0].TxId);
        Assert.Equal(500UL, (await client.GetAccountAsync(scene.Recipient.PublicKeyHex)).Balance);
    }

    [Fact]
    public async Task A_node_address_that_refuses_connections_first_in_the_list_is_passed_over()
    {
        var cluster = fixture.Cluster;
        var refusing = ClientTestCluster.RefusingAddress();
        using var client = ClientTestCluster.Client([refusing, cluster.Address(cluster.Ids.First())]);
        using var sender = cluster.DevAccount(3);
        using var recipient = AurigraphKey.Generate();

        Assert.True((await client.GetStatusAsync()).Id > 0);
        var tx = await client.NextTransferAsync(sender, recipient.PublicKey, 9);
        var result = await client.SubmitAndWaitAsync(tx.Transaction);

        Assert.Equal(TransactionState.Committed, result.State);
        Assert.Equal(9UL, (await client.GetAccountAsync(recipient.PublicKeyHex)).Balance);

        // With only the refusing address, the error is typed and names it.
        using var none = new AurigraphClient(new AurigraphClientOptions { Nodes = { refusing }, Retry = new AurigraphRetryPolicy { MaxAttempts = 2 } });
        var error = await Assert.ThrowsAsync<NoNodeAvailableException>(() => none.GetStatusAsync());
        Assert.Equal(Grpc.Core.StatusCode.Unavailable, error.Code);
        Assert.Contains(refusing, error.Failures.Keys);
    }

    [Fact]
    public async Task A_streamed_submission_commits_every_transaction_in_order()
    {
        var cluster = fixture.Cluster;
        using var scene = new TransferScene(cluster, 4);
        var (client, sender, recipient) = (scene.Client, scene.Sender, scene.Recipient);
        var chain = await client.GetChainIdAsync();
        var first = await client.NextNonceAsync(sender.PublicKeyHex);
        const int count = 60;
        var signed = Enumerable.Range(0, count).Select(i => sender.Transfer(chain, first + (ulong)i, recipient.PublicKey, 1)).ToList();

        async IAsyncEnumerable<SignedTransaction> Source()
        {
            foreach (var tx in signed)
            {
                await Task.Yield();
                yield return tx.Transaction;
            }
        }
        var results = await client.SubmitStreamAsync(Source(), batchSize: 7);

        Assert.Equal(signed.Select(s => s.TxId), results.Select(r => r.TxId));
        Assert.All(results, r => Assert.Equal(TransactionState.Committed, r.State));
        var account = await client.GetAccountAsync(recipient.PublicKeyHex);
        Assert.Equal((ulong)count, account.Balance);
        Assert.Equal(first + count, await client.NextNonceAsync(sender.PublicKeyHex));
    }

    [Fact]
    public async Task A_bad_signature_is_a_typed_rejection_with_the_reason()
    {
        using var client = fixture.Cluster.Client();
        using var stranger = AurigraphKey.Generate();
        var tx = stranger.Put(await client.GetChainIdAsync(), 0, "k"u8, "v"u8);
        var signature = tx.Transaction.Signature.ToByteArray();
        signature[0] ^= 0xFF;
        var forged = new SignedTransaction { Body = tx.Transaction.Body, Signature = ByteString.CopyFrom(signature) };

        var error = await Assert.ThrowsAsync<TransactionRejectedException>(() => client.SubmitAndWaitAsync(forged));

        Assert.Equal(tx.TxId, error.TxId);
        Assert.Contains("signature", error.RejectReason, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(TransactionState.Rejected, Assert.Single(error.Results).State);
        Assert.False((await client.GetValueAsync(stranger.PublicKeyHex, "k"u8.ToArray())).Found);
    }

    [Fact]
    public async Task A_put_commits_and_reads_back_at_each_consistency()
    {
        using var client = fixture.Cluster.Client();
        using var owner = AurigraphKey.Generate();
        var tx = owner.Put(await client.GetChainIdAsync(), 0, "colour"u8, "teal"u8);

        // The fresh account has no balance: a put costs nothing, so it commits.
        Assert.Equal(TransactionState.Committed, (await client.SubmitAndWaitAsync(tx.Transaction)).State);

        var value = await client.GetValueAsync(owner.PublicKeyHex, "colour"u8.ToArray());
        Assert.True(value.Found);
        Assert.Equal("teal", value.Data.ToStringUtf8());
        Assert.Equal("teal", (await client.GetValueAsync(owner.PublicKeyHex, "colour"u8.ToArray(), ReadConsistency.Lease)).Data.ToStringUtf8());
        var block = await client.GetBlockAsync((await client.GetTransactionAsync(tx.TxId)).Height);
        Assert.Contains(block.Transactions, t => t.Body == tx.Transaction.Body);
    }

    [Fact]
    public async Task Key_files_round_trip_and_the_devnet_dev_keys_load()
    {
        var cluster = fixture.Cluster;
        var path = Path.Combine(cluster.Directory, "saved.key");
        using var key = AurigraphKey.Generate();
        key.Save(path);
        using var loaded = AurigraphKey.Load(path);
        Assert.Equal(key.PublicKeyHex, loaded.PublicKeyHex);
        Assert.Equal(key.ExportSeedHex(), (await File.ReadAllTextAsync(path)).Trim());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        // The devnet's dev keys are its genesis accounts: each has a balance on the chain.
        using var client = cluster.Client();
        for (var n = 1; n <= 4; n++)
        {
            using var dev = cluster.DevAccount(n);
            Assert.True((await client.GetAccountAsync(dev.PublicKeyHex)).Balance > 0, $"dev-{n} has a balance");
        }

        await File.WriteAllTextAsync(path, "not a key");
        Assert.Throws<InvalidDataException>(() => AurigraphKey.Load(path));
        Assert.Throws<FormatException>(() => AurigraphKey.FromSeedHex(new string('a', 63)));
    }

    [Fact]
    public async Task The_cli_keygen_writes_a_key_the_library_loads_and_transfer_fails_over_along_its_nodes()
    {
        var cluster = fixture.Cluster;
        var keyFile = Path.Combine(cluster.Directory, "cli.key");
        var (keygenExit, keygenOutput, _) = await LocalCluster.RunCliAsync("keygen", "--out", keyFile);
        Assert.Equal(0, keygenExit);
        using var generated = AurigraphKey.Load(keyFile);
        Assert.Contains($"public key (account id): {generated.PublicKeyHex}", keygenOutput, StringComparison.Ordinal);

        var refusing = ClientTestCluster.RefusingAddress();
        var (exit, output, error) = await LocalCluster.RunCliAsync("transfer", "--node", refusing, "--node", cluster.Address(cluster.Ids.Last()),
            "--key", Path.Combine(cluster.Directory, "keys", "dev-3.key"), "--to", generated.PublicKeyHex, "--amount", "77");

        Assert.True(exit == 0, $"exit {exit}: {output} {error}");
        Assert.Contains("\"state\": \"TRANSACTION_STATE_COMMITTED\"", output, StringComparison.Ordinal);
        using var client = cluster.Client();
        Assert.Equal(77UL, (await client.GetAccountAsync(generated.PublicKeyHex)).Balance);

        // With no node that answers, one line names the failure (exit 1).
        var (deadExit, _, deadError) = await LocalCluster.RunCliAsync("status", "--node", refusing);
        Assert.Equal(1, deadExit);
        Assert.StartsWith("error: Unavailable: no node answered: " + refusing, deadError, StringComparison.Ordinal);
    }
}
