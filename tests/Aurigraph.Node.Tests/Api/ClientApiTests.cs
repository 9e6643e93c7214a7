using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Tests.Cluster;
using Aurigraph.Node.Transactions;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Aurigraph.Node.Tests.Api;

/// <summary>One real single-validator node with an admin token, shared by the client API contract tests.</summary>
public sealed class SingleNodeFixture : IAsyncLifetime
{
    public const string Token = "api-test-token";

    internal LocalCluster Cluster { get; private set; } = null!;

    public string RestAddress => Cluster.Nodes[0].Member.RestAddress;

    public string GrpcAddress => Cluster.Nodes[0].Member.ApiAddress;

    public async Task InitializeAsync() =>
        Cluster = await LocalCluster.StartAsync(validators: 1, business: 0, slim: 0,
            environment: new Dictionary<ulong, Dictionary<string, string>> { [1] = new() { ["AURIGRAPH__ADMINTOKEN"] = Token } });

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>
/// The client API as an outside client sees it (gRPC and REST against a real node process): message limits, the JSON
/// error shape, proto3 JSON for 64-bit integers and bytes, enum validation, and key/value ownership.
/// </summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class ClientApiTests(SingleNodeFixture fixture) : IClassFixture<SingleNodeFixture>
{
    private const string Chain = "aurigraph-devnet";
    private const int MaxMessageBytes = 64 * 1024 * 1024; // the default of Aurigraph:Api:MaxMessageBytes

    private HttpClient Rest() => new() { BaseAddress = new Uri(fixture.RestAddress), Timeout = TimeSpan.FromSeconds(60) };

    private static async Task<JsonElement> ErrorBody(HttpResponseMessage response, HttpStatusCode status, StatusCode code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement.Clone();
        Assert.Equal((int)code, root.GetProperty("code").GetInt32());
        Assert.Equal(JsonValueKind.Array, root.GetProperty("details").ValueKind);
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("message").GetString()));
        return root;
    }

    /// <summary>A submission of one transaction whose serialized request is exactly <paramref name="messageBytes"/> bytes.</summary>
    private static SubmitTransactionsRequest RequestOf(int messageBytes)
    {
        var bodyBytes = messageBytes - 100;
        while (true)
        {
            var request = new SubmitTransactionsRequest();
            request.Transactions.Add(new SignedTransaction { Body = UnsafeByteOperations.UnsafeWrap(new byte[bodyBytes]), Signature = ByteString.CopyFrom(new byte[64]) });
            var size = request.CalculateSize();
            if (size == messageBytes)
            {
                return request;
            }
            bodyBytes += messageBytes - size;
        }
    }

    [Fact]
    public async Task A_submission_that_is_not_protobuf_is_invalid_argument_and_the_node_still_serves()
    {
        using var channel = GrpcChannel.ForAddress(fixture.GrpcAddress);
        // Raw bytes on the service's own method: a truncated element (field 1 claims 5 bytes, 2 follow).
        var raw = new Method<byte[], SubmitTransactionsResponse>(MethodType.Unary, "aurigraph.v1.TransactionService", "SubmitTransactions",
            Marshallers.Create(static (byte[] b) => b, static b => b),
            Marshallers.Create(static (SubmitTransactionsResponse r) => r.ToByteArray(), SubmitTransactionsResponse.Parser.ParseFrom));
        var invoker = channel.CreateCallInvoker();
        var bad = await Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(raw, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), new byte[] { 0x0A, 0x05, 0x0A, 0x01 }));
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Contains("malformed SubmitTransactionsRequest", bad.Status.Detail, StringComparison.Ordinal);

        // Well-formed bytes on the same raw method are read as a submission (one element with an empty body: refused by admission).
        var answer = await invoker.AsyncUnaryCall(raw, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), new byte[] { 0x0A, 0x00 });
        Assert.Equal(TransactionState.Rejected, Assert.Single(answer.Results).State);
        Assert.Equal(1UL, (await new NodeService.NodeServiceClient(channel).GetStatusAsync(new GetStatusRequest())).Id);
    }

    [Fact]
    public async Task A_grpc_message_between_30_MB_and_the_limit_is_read_and_one_over_it_is_resource_exhausted_naming_the_setting()
    {
        using var channel = GrpcChannel.ForAddress(fixture.GrpcAddress, new GrpcChannelOptions { MaxSendMessageSize = null, MaxReceiveMessageSize = null });
        var client = new TransactionService.TransactionServiceClient(channel);

        // 40 MB and exactly the limit: read in full and answered per transaction (the transaction is over its own limit).
        foreach (var size in new[] { 40_000_000, MaxMessageBytes })
        {
            var answer = await client.SubmitTransactionsAsync(RequestOf(size), deadline: DateTime.UtcNow.AddSeconds(60));
            var result = Assert.Single(answer.Results);
            Assert.Equal(TransactionState.Rejected, result.State);
            Assert.Contains("exceeds the limit of 65536", result.RejectReason, StringComparison.Ordinal);
        }

        // One byte over: RESOURCE_EXHAUSTED with the limit and the setting that sets it.
        var over = await Assert.ThrowsAsync<RpcException>(async () => await client.SubmitTransactionsAsync(RequestOf(MaxMessageBytes + 1), deadline: DateTime.UtcNow.AddSeconds(60)));
        Assert.Equal(StatusCode.ResourceExhausted, over.StatusCode);
        Assert.Contains("Aurigraph:Api:MaxMessageBytes", over.Status.Detail, StringComparison.Ordinal);
        Assert.Contains($"{MaxMessageBytes + 1} bytes", over.Status.Detail, StringComparison.Ordinal);

        // The node still serves after refusing it.
        Assert.Equal(1UL, (await new NodeService.NodeServiceClient(channel).GetStatusAsync(new GetStatusRequest())).Id);
    }

    [Fact]
    public async Task A_call_with_more_transactions_than_the_ingress_gate_holds_is_refused_whole_naming_the_setting()
    {
        using var channel = GrpcChannel.ForAddress(fixture.GrpcAddress);
        var client = new TransactionService.TransactionServiceClient(channel);
        using var key = fixture.Cluster.DevKey(4);
        var recipient = new byte[32];
        recipient[0] = 9;
        // 65,537 signed transfers: one more than the default Aurigraph:IngressTransactions, in a message far below its byte limit.
        var request = new SubmitTransactionsRequest();
        for (ulong nonce = 0; nonce <= 65_536; nonce++)
        {
            request.Transactions.Add(key.Transfer(Chain, nonce, recipient, 1));
        }
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.SubmitTransactionsAsync(request, deadline: DateTime.UtcNow.AddSeconds(60)));
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("Aurigraph:IngressTransactions = 65536", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("send fewer transactions per call", refused.Status.Detail, StringComparison.Ordinal);

        // Nothing of it was remembered: its first transaction is unknown, and the same transaction alone commits.
        var first = TransactionId.Of(request.Transactions[0].Body.Span);
        var lookup = await client.GetTransactionAsync(new GetTransactionRequest { TxId = first.ToString() });
        Assert.Equal(TransactionState.Unknown, lookup.State);
        var alone = new SubmitTransactionsRequest();
        alone.Transactions.Add(request.Transactions[0]);
        var answer = await client.SubmitTransactionsAsync(alone, deadline: DateTime.UtcNow.AddSeconds(60));
        Assert.Equal(TransactionState.Committed, Assert.Single(answer.Results).State);
    }

    [Fact]
    public async Task An_oversized_message_later_in_a_client_stream_is_resource_exhausted_naming_the_setting()
    {
        using var channel = GrpcChannel.ForAddress(fixture.GrpcAddress, new GrpcChannelOptions { MaxSendMessageSize = null });
        using var stream = new TransactionService.TransactionServiceClient(channel).SubmitTransactionStream(deadline: DateTime.UtcNow.AddSeconds(60));
        await stream.RequestStream.WriteAsync(RequestOf(1_000));
        await stream.RequestStream.WriteAsync(RequestOf(MaxMessageBytes)); // at the limit: read
        await WriteUntilRefused(stream.RequestStream, RequestOf(MaxMessageBytes + 1));
        var over = await Assert.ThrowsAsync<RpcException>(async () => await stream.ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, over.StatusCode);
        Assert.Contains("Aurigraph:Api:MaxMessageBytes", over.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oversized_first_message_of_a_client_stream_is_resource_exhausted_naming_the_setting()
    {
        using var channel = GrpcChannel.ForAddress(fixture.GrpcAddress, new GrpcChannelOptions { MaxSendMessageSize = null });
        using var stream = new TransactionService.TransactionServiceClient(channel).SubmitTransactionStream(deadline: DateTime.UtcNow.AddSeconds(60));
        await WriteUntilRefused(stream.RequestStream, RequestOf(MaxMessageBytes + 1));
        var over = await Assert.ThrowsAsync<RpcException>(async () => await stream.ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, over.StatusCode);
        Assert.Contains("Aurigraph:Api:MaxMessageBytes", over.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rest_body_over_its_limit_is_413_with_a_json_reason_naming_the_setting()
    {
        using var http = Rest();
        const long RestLimit = 2L * MaxMessageBytes;

        // Declared length over the limit: refused before the body is sent (the client waits for 100-continue).
        using (var declared = new HttpRequestMessage(HttpMethod.Post, "/api/v11/transactions") { Content = new ZeroJsonContent(RestLimit + 1, chunked: false) })
        {
            declared.Headers.ExpectContinue = true;
            var error = await ErrorBody(await http.SendAsync(declared), HttpStatusCode.RequestEntityTooLarge, StatusCode.ResourceExhausted);
            Assert.Contains("Aurigraph:Api:MaxMessageBytes", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // Chunked, no declared length: refused once the read passes the limit.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/api/v11/transactions") { Content = new ZeroJsonContent(RestLimit + 1, chunked: true) };
        var answer = await ErrorBody(await http.SendAsync(chunked), HttpStatusCode.RequestEntityTooLarge, StatusCode.ResourceExhausted);
        Assert.Contains($"{RestLimit} bytes", answer.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_routes_and_wrong_methods_answer_the_json_error_shape()
    {
        using var http = Rest();
        var notFound = await ErrorBody(await http.GetAsync("/api/v11/no-such-thing"), HttpStatusCode.NotFound, StatusCode.NotFound);
        Assert.Contains("/api/v11/no-such-thing", notFound.GetProperty("message").GetString(), StringComparison.Ordinal);

        var wrongMethod = await ErrorBody(await http.DeleteAsync("/api/v11/node/status"), HttpStatusCode.MethodNotAllowed, StatusCode.Unimplemented);
        Assert.Contains("allowed: GET", wrongMethod.GetProperty("message").GetString(), StringComparison.Ordinal);
        var getOnPost = await ErrorBody(await http.GetAsync("/api/v11/transactions"), HttpStatusCode.MethodNotAllowed, StatusCode.Unimplemented);
        Assert.Contains("allowed: POST", getOnPost.GetProperty("message").GetString(), StringComparison.Ordinal);

        // The services' own errors keep the same shape.
        await ErrorBody(await http.GetAsync("/api/v11/blocks/999999"), HttpStatusCode.NotFound, StatusCode.NotFound);
    }

    [Fact]
    public async Task Rest_writes_64_bit_integers_as_strings_and_reads_both_forms()
    {
        using var http = Rest();
        using (var status = JsonDocument.Parse(await http.GetStringAsync("/api/v11/node/status")))
        {
            foreach (var field in new[] { "id", "term", "leader", "commitIndex", "appliedIndex", "height", "logFirstIndex", "snapshotIndex" })
            {
                Assert.True(status.RootElement.TryGetProperty(field, out var value), $"{field} missing");
                Assert.True(value.ValueKind == JsonValueKind.String, $"{field} is {value.ValueKind}: {value}");
                Assert.True(ulong.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out _), $"{field}: {value}");
            }
            Assert.Equal("1", status.RootElement.GetProperty("id").GetString());
        }
        using (var ready = JsonDocument.Parse(await http.GetStringAsync("/readyz")))
        {
            Assert.Equal("1", ready.RootElement.GetProperty("leader").GetString());
            Assert.Equal(JsonValueKind.String, ready.RootElement.GetProperty("commitIndex").ValueKind);
        }

        // uint64 input as a string and as a number: both reach the service (which refuses node id 0 with its own reason).
        foreach (var nodeId in new[] { "\"0\"", "0" })
        {
            using var post = Admin(HttpMethod.Post, "/api/v11/admin/membership", $$"""{"change": "REMOVE_NODE", "nodeId": {{nodeId}}}""");
            var error = await ErrorBody(await http.SendAsync(post), HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
            Assert.Contains("nodeId must name a member", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Rest_bytes_fields_take_url_safe_and_unpadded_base64()
    {
        using var http = Rest();
        using var sender = fixture.Cluster.DevKey(2);
        using var recipient = TransactionSigner.Generate();
        // A transfer whose body's base64 uses the URL-safe characters and needs padding, so both matter.
        SignedTransaction tx;
        var amount = 1UL;
        do
        {
            tx = sender.Transfer(Chain, 0, recipient.PublicKey, amount++);
        }
        while (!(Url(tx.Body).Contains('-', StringComparison.Ordinal) || Url(tx.Body).Contains('_', StringComparison.Ordinal)) || tx.Body.Length % 3 == 0);
        var json = $$"""{"transactions": [{"body": "{{Url(tx.Body)}}", "signature": "{{Url(tx.Signature)}}"}]}""";
        var post = await http.PostAsync("/api/v11/transactions", new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await post.Content.ReadAsStringAsync();
        Assert.True(post.StatusCode == HttpStatusCode.OK, text);
        using var answer = JsonDocument.Parse(text);
        var result = answer.RootElement.GetProperty("results")[0];
        Assert.Equal("TRANSACTION_STATE_COMMITTED", result.GetProperty("state").GetString());
        Assert.Equal(TransactionId.Of(tx.Body.Span).ToString(), result.GetProperty("txId").GetString());

        // Not base64 in either alphabet: 400 naming the field.
        var bad = await http.PostAsync("/api/v11/transactions", new StringContent("""{"transactions": [{"body": "a-b+", "signature": "AA"}]}""", Encoding.UTF8, "application/json"));
        var error = await ErrorBody(bad, HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
        Assert.Contains("transactions[0].body", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        static string Url(ByteString bytes) => Convert.ToBase64String(bytes.Span).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    [Fact]
    public async Task A_read_consistency_outside_the_enum_is_invalid_argument_naming_the_allowed_values()
    {
        var account = new string('0', 64);
        var node = fixture.Cluster.Status(1);
        var grpc = await Assert.ThrowsAsync<RpcException>(async () => await node.GetAccountAsync(new GetAccountRequest { Account = account, Consistency = (ReadConsistency)7 }));
        Assert.Equal(StatusCode.InvalidArgument, grpc.StatusCode);
        Assert.Contains("consistency", grpc.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("READ_CONSISTENCY_LINEARIZABLE", grpc.Status.Detail, StringComparison.Ordinal);
        var lookup = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Cluster.Transactions(1).GetTransactionAsync(new GetTransactionRequest { TxId = new string('a', 64), Consistency = (ReadConsistency)7 }));
        Assert.Equal(StatusCode.InvalidArgument, lookup.StatusCode);
        var value = await Assert.ThrowsAsync<RpcException>(async () => await node.GetValueAsync(new GetValueRequest { Owner = account, KeyHex = "00", Consistency = (ReadConsistency)3 }));
        Assert.Equal(StatusCode.InvalidArgument, value.StatusCode);

        using var http = Rest();
        foreach (var given in new[] { "READ_CONSISTENCY_SOMETIMES", "7" })
        {
            var error = await ErrorBody(await http.GetAsync($"/api/v11/accounts/{account}?consistency={given}"), HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
            var message = error.GetProperty("message").GetString()!;
            Assert.Contains($"consistency: '{given}'", message, StringComparison.Ordinal);
            Assert.Contains("READ_CONSISTENCY_LOCAL (0), READ_CONSISTENCY_LINEARIZABLE (1), READ_CONSISTENCY_LEASE (2)", message, StringComparison.Ordinal);
        }
        // An enum in a JSON body, by name or number.
        foreach (var change in new[] { "\"SWAP_NODE\"", "7" })
        {
            using var post = Admin(HttpMethod.Post, "/api/v11/admin/membership", $$"""{"change": {{change}}, "nodeId": "1"}""");
            var error = await ErrorBody(await http.SendAsync(post), HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
            Assert.Contains("change: ", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Contains("PROMOTE_LEARNER (2)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        // The defined values still read.
        using var ok = JsonDocument.Parse(await http.GetStringAsync($"/api/v11/accounts/{account}?consistency=READ_CONSISTENCY_LINEARIZABLE"));
        Assert.Equal(account, ok.RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_put_cannot_overwrite_another_accounts_record_and_reads_name_the_owner()
    {
        using var alice = fixture.Cluster.DevKey(3);
        using var mallory = TransactionSigner.Generate();
        var submit = fixture.Cluster.Transactions(1);
        var key = "owner-test"u8.ToArray();
        var aliceTx = new SubmitTransactionsRequest();
        aliceTx.Transactions.Add(alice.Put(Chain, 0, key, "alice's"u8));
        Assert.Equal(TransactionState.Committed, Assert.Single((await submit.SubmitTransactionsAsync(aliceTx)).Results).State);
        var malloryTx = new SubmitTransactionsRequest();
        malloryTx.Transactions.Add(mallory.Put(Chain, 0, key, "mallory's"u8));
        Assert.Equal(TransactionState.Committed, Assert.Single((await submit.SubmitTransactionsAsync(malloryTx)).Results).State);

        var node = fixture.Cluster.Status(1);
        var keyHex = Convert.ToHexStringLower(key);
        var aliceValue = await node.GetValueAsync(new GetValueRequest { Owner = Convert.ToHexStringLower(alice.PublicKey), KeyHex = keyHex, Consistency = ReadConsistency.Linearizable });
        Assert.True(aliceValue.Found);
        Assert.Equal("alice's", aliceValue.Data.ToStringUtf8());
        Assert.Equal(Convert.ToHexStringLower(alice.PublicKey), aliceValue.Owner);
        var malloryValue = await node.GetValueAsync(new GetValueRequest { Owner = Convert.ToHexStringLower(mallory.PublicKey), KeyHex = keyHex });
        Assert.Equal("mallory's", malloryValue.Data.ToStringUtf8());

        using var http = Rest();
        using var rest = JsonDocument.Parse(await http.GetStringAsync($"/api/v11/values/{Convert.ToHexStringLower(alice.PublicKey)}/{keyHex}?consistency=READ_CONSISTENCY_LINEARIZABLE"));
        Assert.Equal(Convert.ToBase64String("alice's"u8), rest.RootElement.GetProperty("data").GetString());
        var noOwner = await ErrorBody(await http.GetAsync($"/api/v11/values/00/{keyHex}"), HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
        Assert.Contains("owner", noOwner.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Writes <paramref name="message"/> and completes the stream; the server may end the call mid-write, failing the write.</summary>
    private static async Task WriteUntilRefused(IClientStreamWriter<SubmitTransactionsRequest> stream, SubmitTransactionsRequest message)
    {
        try
        {
            await stream.WriteAsync(message);
            await stream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The call's status is read from its response.
        }
        catch (InvalidOperationException)
        {
            // The call already completed.
        }
    }

    private static HttpRequestMessage Admin(HttpMethod method, string path, string json)
    {
        var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SingleNodeFixture.Token);
        return request;
    }

    /// <summary>A JSON body of <paramref name="bytes"/> bytes (one long base64 body field), streamed without holding it in memory.</summary>
    private sealed class ZeroJsonContent : HttpContent
    {
        private readonly long _bytes;
        private readonly bool _chunked;

        public ZeroJsonContent(long bytes, bool chunked)
        {
            _bytes = bytes;
            _chunked = chunked;
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        private static readonly byte[] Head = "{\"transactions\": [{\"signature\": \"AA==\", \"body\": \""u8.ToArray();
        private static readonly byte[] Tail = "\"}]}"u8.ToArray();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(Head);
            var chunk = Enumerable.Repeat((byte)'A', 64 * 1024).ToArray();
            for (var left = _bytes - Head.Length - Tail.Length; left > 0;)
            {
                var n = (int)Math.Min(chunk.Length, left);
                await stream.WriteAsync(chunk.AsMemory(0, n));
                left -= n;
            }
            await stream.WriteAsync(Tail);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _bytes;
            return !_chunked;
        }
    }
}
