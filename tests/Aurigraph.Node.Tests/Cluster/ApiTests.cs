using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>The client API of real node processes: REST through transcoding, streaming calls, slim-node pruning.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class ApiTests
{
    private const string Chain = "aurigraph-devnet";

    [Fact]
    public async Task Rest_streaming_submit_block_subscription_and_slim_pruning_work_against_real_nodes()
    {
        // Node 4 is a slim node keeping the bodies of only the last 3 blocks (the last with transactions and at most two
        // carbon-only blocks carrying the records of the last two).
        var environment = new Dictionary<ulong, Dictionary<string, string>> { [4] = new() { ["AURIGRAPH__SLIMRETAINEDBLOCKS"] = "3" } };
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 1, environment: environment);
        using var alice = cluster.DevKey(1);
        using var bob = TransactionSigner.Generate();
        using var http = new HttpClient { BaseAddress = new Uri(cluster.Nodes.First(n => n.Member.Id == 2).Member.RestAddress) };

        // REST submit: bytes fields are base64 in JSON, as protobuf's JSON mapping says.
        var tx = alice.Transfer(Chain, 0, bob.PublicKey, 25);
        var post = await http.PostAsJsonAsync("/api/v11/transactions", new
        {
            transactions = new[] { new { body = Convert.ToBase64String(tx.Body.Span), signature = Convert.ToBase64String(tx.Signature.Span) } },
        });
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        using var submitted = JsonDocument.Parse(await post.Content.ReadAsStringAsync());
        var result = submitted.RootElement.GetProperty("results")[0];
        Assert.Equal("TRANSACTION_STATE_COMMITTED", result.GetProperty("state").GetString());
        var txId = result.GetProperty("txId").GetString()!;
        var heightElement = result.GetProperty("height");
        var height = heightElement.ValueKind == JsonValueKind.String
            ? ulong.Parse(heightElement.GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            : heightElement.GetUInt64();

        using (var fetched = JsonDocument.Parse(await http.GetStringAsync($"/api/v11/transactions/{txId}")))
        {
            Assert.Equal("TRANSACTION_STATE_COMMITTED", fetched.RootElement.GetProperty("state").GetString());
            Assert.True(fetched.RootElement.GetProperty("receipt").GetProperty("success").GetBoolean());
        }
        using (var block = JsonDocument.Parse(await http.GetStringAsync($"/api/v11/blocks/{height}")))
        {
            Assert.Equal(1, block.RootElement.GetProperty("transactions").GetArrayLength());
        }
        using (var status = JsonDocument.Parse(await http.GetStringAsync("/api/v11/node/status")))
        {
            Assert.Equal("2", status.RootElement.GetProperty("id").GetString()); // uint64: a string in proto3 JSON
        }
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);

        // Bad input over REST: a 4xx with a JSON body that says why.
        var bad = await http.GetAsync("/api/v11/transactions/not-a-tx-id");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("64 hex characters", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var missing = await http.GetAsync("/api/v11/blocks/999999");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        // Subscribe to committed blocks from height 1 on the slim node, then stream four more transactions in.
        using var subscription = cluster.Blocks(4).SubscribeBlocks(new SubscribeBlocksRequest { FromHeight = 1 });
        using (var stream = cluster.Transactions(3).SubmitTransactionStream())
        {
            for (ulong n = 1; n <= 4; n++)
            {
                var request = new SubmitTransactionsRequest();
                request.Transactions.Add(alice.Transfer(Chain, n, bob.PublicKey, 1));
                await stream.RequestStream.WriteAsync(request);
            }
            await stream.RequestStream.CompleteAsync();
            var response = await stream;
            Assert.Equal(4, response.Results.Count);
            Assert.All(response.Results, r => Assert.Equal(TransactionState.Committed, r.State));
        }
        // Two more, one at a time, so at least two blocks follow whatever the stream's landed in.
        ulong lastWithTransactions = 0;
        for (ulong n = 5; n <= 6; n++)
        {
            var single = new SubmitTransactionsRequest();
            single.Transactions.Add(alice.Transfer(Chain, n, bob.PublicKey, 1));
            var committed = Assert.Single((await cluster.Transactions(1).SubmitTransactionsAsync(single)).Results);
            Assert.Equal(TransactionState.Committed, committed.State);
            lastWithTransactions = committed.Height;
        }
        await cluster.WaitForCarbonRecordsAsync(TimeSpan.FromSeconds(20));
        var tip = (await cluster.Status(1).GetStatusAsync(new GetStatusRequest())).Height;
        Assert.True(tip >= 4, $"tip {tip}");
        Assert.True(lastWithTransactions + 2 >= tip, $"last block with transactions {lastWithTransactions}, tip {tip}");
        await cluster.WaitForHeightAsync(tip, TimeSpan.FromSeconds(20));

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var heights = new List<ulong>();
        while (heights.Count < (int)tip && await subscription.ResponseStream.MoveNext(deadline.Token))
        {
            heights.Add(subscription.ResponseStream.Current.Header.Height);
        }
        Assert.Equal(Enumerable.Range(1, (int)tip).Select(h => (ulong)h), heights);

        // The slim node keeps every header but the bodies of only the last 3 blocks; a validator keeps them all.
        var oldOnSlim = await cluster.Blocks(4).GetBlockAsync(new GetBlockRequest { Height = 1 });
        var oldOnValidator = await cluster.Blocks(1).GetBlockAsync(new GetBlockRequest { Height = 1 });
        var newOnSlim = await cluster.Blocks(4).GetBlockAsync(new GetBlockRequest { Height = lastWithTransactions });
        Assert.Equal(oldOnValidator.Header, oldOnSlim.Header);
        Assert.Empty(oldOnSlim.Transactions);
        Assert.NotEmpty(oldOnValidator.Transactions);
        Assert.NotEmpty(newOnSlim.Transactions);

        var notFound = await Assert.ThrowsAsync<RpcException>(async () => await cluster.Blocks(1).GetBlockAsync(new GetBlockRequest { Height = 999_999 }));
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
    }
}
