using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;
using Aurigraph.Node.Transport;
using Google.Protobuf;
using Grpc.Core;
using ReadConsistency = Aurigraph.Node.Api.V1.ReadConsistency;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>
/// What an outside client found, each replayed against a real cluster: a forged signature must never reach a block,
/// a forwarded transaction must not be committed without its signature verified when the forwarder is not proven,
/// and a REJECTED answer must mean the transaction never commits — across a leader change and across quorum loss.
/// </summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class TrueAnswerTests
{
    private const string Chain = "aurigraph-devnet";
    private const string Token = "true-answer-test-token";

    private static Dictionary<ulong, Dictionary<string, string>> Everyone(int nodes, Dictionary<string, string> settings) =>
        Enumerable.Range(1, nodes).ToDictionary(i => (ulong)i, _ => new Dictionary<string, string>(settings));

    private static async Task<TransactionResult> SubmitAsync(LocalCluster cluster, ulong node, SignedTransaction tx) =>
        (await cluster.Transactions(node).SubmitTransactionsAsync(new SubmitTransactionsRequest { Transactions = { tx } })).Results[0];

    [Fact]
    public async Task A_copy_with_a_forged_signature_of_a_once_refused_body_commits_only_with_the_verified_signature()
    {
        // Paranoid everywhere: a bad signature in a committed block would raise every node's integrity alarm.
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0, environment: Everyone(4, new() { ["AURIGRAPH__PARANOID"] = "true" }));
        using var sender = cluster.DevKey(1);
        using var recipient = TransactionSigner.Generate();

        var early = sender.Transfer(Chain, 1, recipient.PublicKey, 7);
        var refused = await SubmitAsync(cluster, 4, early);
        Assert.Equal(TransactionState.Rejected, refused.State);
        Assert.Contains("out-of-order nonce", refused.RejectReason, StringComparison.Ordinal);
        Assert.Equal(TransactionState.Committed, (await SubmitAsync(cluster, 4, sender.Transfer(Chain, 0, recipient.PublicKey, 1))).State);

        var forged = early.Clone();
        forged.Signature = ByteString.CopyFrom(Enumerable.Range(0, 64).Select(i => (byte)(i * 37 + 11)).ToArray());
        var copy = await SubmitAsync(cluster, 4, forged);

        // Answered as the original (now in order), and the block holds the signature that was verified.
        Assert.Equal(refused.TxId, copy.TxId);
        Assert.Equal(TransactionState.Committed, copy.State);
        // Node 4 answered once it applied the block; node 1 may learn the commit a heartbeat later.
        await cluster.WaitForHeightAsync(copy.Height, TimeSpan.FromSeconds(10));
        var block = await cluster.Blocks(1).GetBlockAsync(new GetBlockRequest { Height = copy.Height });
        var stored = block.Transactions[(int)copy.Index];
        Assert.Equal(early.Body, stored.Body);
        Assert.Equal(early.Signature, stored.Signature);
        var statuses = await cluster.WaitForCarbonRecordsAsync(TimeSpan.FromSeconds(30));
        Assert.All(statuses, s => Assert.Equal("", s.IntegrityAlarm));
    }

    [Fact]
    public async Task A_forward_frame_from_an_unproven_peer_with_a_forged_signature_never_commits()
    {
        // The insecure switch (plaintext peers on loopback): a forwarder is then not proven to be a member, so the
        // leader checks forwarded signatures itself. (With mutual TLS, the default, such a client never gets a frame
        // read at all: SecureClusterTests.)
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: Everyone(3, new() { ["AURIGRAPH__TRANSPORT__INSECURE"] = "true" }));
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        using var victim = cluster.DevKey(1);
        using var other = cluster.DevKey(2);
        using var thief = TransactionSigner.Generate();
        var verifier = new TransactionVerifier(Chain, 64 * 1024);
        var theft = victim.Transfer(Chain, 0, thief.PublicKey, 1_000);
        theft.Signature = ByteString.CopyFrom(new byte[TransactionVerifier.SignatureSize]);
        var marker = other.Transfer(Chain, 0, thief.PublicKey, 1);
        VerifiedTransaction Parsed(SignedTransaction tx) => verifier.Verify(tx.Body.Memory, tx.Signature.Memory, checkSignature: false).Transaction!;

        // A plain TCP client claims to be member 3 (or 2) and forwards the forgery, then a genuine transaction on the
        // same connection: the leader handles one connection's frames in order, so once the marker commits the
        // forgery was judged.
        var claimed = cluster.Ids.First(id => id != leader);
        var address = IPEndPoint.Parse(cluster.Nodes.Single(n => n.Member.Id == leader).Member.PeerAddress);
        using var client = new TcpClient();
        await client.ConnectAsync(address);
        var stream = client.GetStream();
        var frames = new ArrayBufferWriter<byte>();
        FrameCodec.WriteHandshake(frames, new Handshake(FrameCodec.ProtocolVersion, Chain, claimed, TransportLane.Bulk));
        Assert.True(FrameCodec.TryWriteApplication(frames, ConsensusHost.ForwardChannel, BlockPayload.Encode([Parsed(theft)]), 1 << 20, out _));
        Assert.True(FrameCodec.TryWriteApplication(frames, ConsensusHost.ForwardChannel, BlockPayload.Encode([Parsed(marker)]), 1 << 20, out _));
        await stream.WriteAsync(frames.WrittenMemory);
        await stream.FlushAsync();

        var markerId = TransactionId.Of(marker.Body.Span).ToString();
        await cluster.PollAsync(
            async () => (await cluster.Transactions(leader).GetTransactionAsync(new GetTransactionRequest { TxId = markerId })).State == TransactionState.Committed ? markerId : null,
            "the marker transaction's commit", TimeSpan.FromSeconds(20));
        var theftId = TransactionId.Of(theft.Body.Span).ToString();
        foreach (var id in cluster.Ids)
        {
            var seen = await cluster.Transactions(id).GetTransactionAsync(new GetTransactionRequest { TxId = theftId, Consistency = ReadConsistency.Linearizable });
            Assert.NotEqual(TransactionState.Committed, seen.State);
        }
        var account = await cluster.Status(leader).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexString(victim.PublicKey), Consistency = ReadConsistency.Linearizable });
        Assert.Equal(0UL, account.Nonce);
    }

    [Fact]
    public async Task Batches_in_flight_when_the_leader_dies_get_no_rejection_that_later_commits()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        var senders = Enumerable.Range(1, 4).Select(cluster.DevKey).ToList();
        using var recipient = TransactionSigner.Generate();
        const int Batches = 10, BatchSize = 250;
        var firstBatchDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Four clients, one sender each, send their batches one after another through a validator that does not lead
        // while the leader is killed: many transactions are on their way to it, or in its log, when it dies, and the
        // validator they were sent to may be the next leader.
        var entry = cluster.Ids.First(id => id != leader && id <= 3);
        var clients = senders.Select(sender => Task.Run(async () =>
        {
            var results = new List<TransactionResult>();
            for (var b = 0; b < Batches; b++)
            {
                var request = new SubmitTransactionsRequest();
                for (var n = 0; n < BatchSize; n++)
                {
                    request.Transactions.Add(sender.Transfer(Chain, (ulong)(b * BatchSize + n), recipient.PublicKey, 1));
                }
                results.AddRange((await cluster.Transactions(entry).SubmitTransactionsAsync(request)).Results);
                firstBatchDone.TrySetResult();
            }
            return results;
        })).ToList();
        await firstBatchDone.Task.WaitAsync(TimeSpan.FromSeconds(60));
        cluster.Kill(leader);
        var answers = (await Task.WhenAll(clients)).SelectMany(r => r).ToList();
        var survivor = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));

        // Settle: a transaction at the next nonce commits in the new leader's term, so every earlier one is decided.
        using var settler = cluster.DevKey(1);
        await cluster.PollAsync(
            async () =>
            {
                try
                {
                    var account = await cluster.Status(entry).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexString(settler.PublicKey), Consistency = ReadConsistency.Linearizable });
                    return await SubmitAsync(cluster, entry, settler.Transfer(Chain, account.Nonce, recipient.PublicKey, 1)) is { State: TransactionState.Committed } r ? r : null;
                }
                catch (RpcException)
                {
                    return null; // still recovering
                }
            },
            "a settling transaction", TimeSpan.FromSeconds(30));
        var rejected = answers.Where(r => r.State == TransactionState.Rejected).ToList();
        var committedAfterRejection = new List<string>();
        foreach (var answer in rejected)
        {
            var seen = await cluster.Transactions(survivor).GetTransactionAsync(new GetTransactionRequest { TxId = answer.TxId, Consistency = ReadConsistency.Linearizable });
            if (seen.State == TransactionState.Committed)
            {
                committedAfterRejection.Add($"{answer.TxId} ({answer.RejectReason})");
            }
        }
        Console.WriteLine($"leader killed under load: {answers.Count(a => a.State == TransactionState.Committed)} committed, {answers.Count(a => a.State == TransactionState.Pending)} pending, {rejected.Count} rejected ({string.Join("; ", rejected.Select(a => a.RejectReason).Distinct().Take(3))})");
        Assert.True(committedAfterRejection.Count == 0, $"{committedAfterRejection.Count} answered REJECTED and committed, e.g. {committedAfterRejection.FirstOrDefault()}");
        foreach (var sender in senders)
        {
            sender.Dispose();
        }
    }

    [Fact]
    public async Task Under_quorum_loss_no_transaction_answered_rejected_ever_commits()
    {
        var settings = Everyone(4, []);
        settings[4]["AURIGRAPH__COMMITTIMEOUTMILLISECONDS"] = "1500";
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0, environment: settings);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        using var sender = cluster.DevKey(3);
        using var recipient = TransactionSigner.Generate();
        var answers = new List<TransactionResult>();
        var nonce = 0UL;
        var amount = 1UL;

        // A client that believes every answer: after REJECTED it reuses the nonce (with another body), after
        // COMMITTED or PENDING it moves on.
        async Task SubmitRoundAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var result = await SubmitAsync(cluster, 4, sender.Transfer(Chain, nonce, recipient.PublicKey, amount++));
                answers.Add(result);
                if (result.State != TransactionState.Rejected)
                {
                    nonce++;
                }
            }
        }

        await SubmitRoundAsync(5);
        // Two validators down, the leader among them when it is one of the first two: no quorum is left.
        var killed = cluster.Ids.Where(id => id <= 3).OrderBy(id => id == leader ? 0 : 1).Take(2).ToList();
        var survivor = cluster.Ids.Single(id => id <= 3 && !killed.Contains(id));
        cluster.Kill(killed[0]);
        await SubmitRoundAsync(4);
        cluster.Kill(killed[1]);
        await SubmitRoundAsync(8);
        foreach (var id in killed)
        {
            cluster.Start(id, settings[id]);
        }
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await SubmitRoundAsync(3);

        // Settle: a transaction at the account's next nonce commits, so every earlier one is decided.
        var last = await cluster.PollAsync(
            async () =>
            {
                try
                {
                    var account = await cluster.Status(4).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexString(sender.PublicKey), Consistency = ReadConsistency.Linearizable });
                    return await SubmitAsync(cluster, 4, sender.Transfer(Chain, account.Nonce, recipient.PublicKey, amount++)) is { State: TransactionState.Committed } r ? r : null;
                }
                catch (RpcException)
                {
                    return null; // still recovering
                }
            },
            "a settling transaction", TimeSpan.FromSeconds(30));
        Assert.Equal(TransactionState.Committed, last.State);
        foreach (var rejected in answers.Where(a => a.State == TransactionState.Rejected))
        {
            foreach (var id in new[] { survivor, 4UL })
            {
                var seen = await cluster.Transactions(id).GetTransactionAsync(new GetTransactionRequest { TxId = rejected.TxId, Consistency = ReadConsistency.Linearizable });
                Assert.True(seen.State != TransactionState.Committed, $"{rejected.TxId} was answered REJECTED ({rejected.RejectReason}) and committed at height {seen.Height}");
            }
        }
        Console.WriteLine($"quorum loss: {answers.Count(a => a.State == TransactionState.Committed)} committed, {answers.Count(a => a.State == TransactionState.Pending)} pending, {answers.Count(a => a.State == TransactionState.Rejected)} rejected ({string.Join("; ", answers.Where(a => a.State == TransactionState.Rejected).Select(a => a.RejectReason).Distinct())})");
    }
}
