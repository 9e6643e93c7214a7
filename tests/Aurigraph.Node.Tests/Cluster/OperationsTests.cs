using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>Operating a running cluster: leadership transfer through the admin API, its protection, linearizable reads, graceful hand-over at stop.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class OperationsTests
{
    private const string Chain = "aurigraph-devnet";
    private const string Token = "s3cret-admin-token";

    // 50 ms ticks × 20: the default election timeout.
    private static readonly TimeSpan ElectionTimeout = TimeSpan.FromMilliseconds(50 * 20);

    private static Dictionary<ulong, Dictionary<string, string>> WithToken(params ulong[] ids) =>
        ids.ToDictionary(id => id, _ => new Dictionary<string, string> { ["AURIGRAPH__ADMINTOKEN"] = Token });

    private static Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };

    [Fact]
    public async Task Leadership_moves_to_the_chosen_voter_within_an_election_timeout_while_clients_keep_writing()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0, environment: WithToken(1, 2, 3, 4));
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        var target = cluster.Ids.First(id => id != leader && id <= 3);
        using var sender = cluster.DevKey(2);
        using var recipient = TransactionSigner.Generate();

        // A client writes one transaction at a time through the business node (4) during the transfer.
        using var stop = new CancellationTokenSource();
        var acknowledged = new List<(long At, ulong Nonce)>();
        var writer = Task.Run(async () =>
        {
            ulong nonce = 0;
            while (!stop.IsCancellationRequested)
            {
                var request = new SubmitTransactionsRequest { Transactions = { sender.Transfer(Chain, nonce, recipient.PublicKey, 1) } };
                var result = (await cluster.Transactions(4).SubmitTransactionsAsync(request)).Results[0];
                if (result.State == TransactionState.Committed)
                {
                    lock (acknowledged)
                    {
                        acknowledged.Add((Stopwatch.GetTimestamp(), nonce));
                    }
                    nonce++;
                }
            }
        });
        await cluster.WaitForHeightAsync(3, TimeSpan.FromSeconds(20));

        var admin = new AdminService.AdminServiceClient(cluster.Channel(leader));
        var started = Stopwatch.GetTimestamp();
        var response = await admin.TransferLeadershipAsync(new TransferLeadershipRequest { Target = target }, Bearer(Token));
        var newLeader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10), excluding: leader);
        var transferTime = Stopwatch.GetElapsedTime(started);
        await cluster.WaitForHeightAsync((await cluster.Status(target).GetStatusAsync(new GetStatusRequest())).Height + 3, TimeSpan.FromSeconds(20));
        await stop.CancelAsync();
        await writer;

        Assert.Equal(target, response.Target);
        Assert.Equal(leader, response.PreviousLeader);
        Assert.Equal(target, newLeader);
        Assert.True(response.ElapsedMs < ElectionTimeout.TotalMilliseconds, $"transfer took {response.ElapsedMs:F1} ms at the leader");
        // The write pause: the longest gap between consecutive acknowledgements around the transfer.
        var gaps = acknowledged.Zip(acknowledged.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a.At, b.At).TotalMilliseconds).ToList();
        Assert.NotEmpty(gaps);
        Assert.Equal(Enumerable.Range(0, acknowledged.Count).Select(i => (ulong)i), acknowledged.Select(a => a.Nonce));
        Console.WriteLine($"leadership transfer {leader} -> {target}: {response.ElapsedMs:F1} ms at the leader, {transferTime.TotalMilliseconds:F0} ms until every node agreed; longest write pause {gaps.Max():F1} ms over {acknowledged.Count} writes; gaps: {string.Join(" ", gaps.Select(g => g.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))}");

        // Nothing acknowledged was lost: every node holds the recipient's final balance.
        var balance = (ulong)acknowledged.Count;
        foreach (var id in cluster.Ids)
        {
            var account = await cluster.Status(id).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexStringLower(recipient.PublicKey), Consistency = ReadConsistency.Linearizable });
            Assert.Equal(balance, account.Balance);
        }
    }

    [Fact]
    public async Task Admin_calls_without_the_right_token_are_refused_with_401_and_reads_are_linearizable_on_any_node()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0, environment: WithToken(1, 2, 3));
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        var admin = new AdminService.AdminServiceClient(cluster.Channel(leader));

        var missing = await Assert.ThrowsAsync<RpcException>(() => admin.TransferLeadershipAsync(new TransferLeadershipRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        var wrong = await Assert.ThrowsAsync<RpcException>(() => admin.TransferLeadershipAsync(new TransferLeadershipRequest(), Bearer("guess")).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        // Node 4 has no token configured: its admin API is closed to everyone.
        var closed = await Assert.ThrowsAsync<RpcException>(() => new AdminService.AdminServiceClient(cluster.Channel(4)).TransferLeadershipAsync(new TransferLeadershipRequest(), Bearer(Token)).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, closed.StatusCode);
        Assert.Contains("no Aurigraph:AdminToken", closed.Status.Detail, StringComparison.Ordinal);

        using (var http = new HttpClient { BaseAddress = new Uri(cluster.Nodes.First(n => n.Member.Id == leader).Member.RestAddress) })
        {
            var rest = await http.PostAsync("/api/v11/admin/transfer-leadership", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Unauthorized, rest.StatusCode);
            Assert.Contains("authorization", await rest.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // A write acknowledged through one follower is visible to a linearizable read on another node at once.
        using var sender = cluster.DevKey(3);
        using var recipient = TransactionSigner.Generate();
        var followers = cluster.Ids.Where(id => id != leader).ToArray(); // a validator and the business node among them
        var account = Convert.ToHexStringLower(recipient.PublicKey);
        for (ulong n = 0; n < 5; n++)
        {
            var request = new SubmitTransactionsRequest { Transactions = { sender.Transfer(Chain, n, recipient.PublicKey, 10) } };
            var result = (await cluster.Transactions(followers[0]).SubmitTransactionsAsync(request)).Results[0];
            Assert.Equal(TransactionState.Committed, result.State);
            var read = await cluster.Status(followers[1]).GetAccountAsync(new GetAccountRequest { Account = account, Consistency = ReadConsistency.Linearizable });
            Assert.Equal(10 * (n + 1), read.Balance);
            var leased = await cluster.Status(followers[n % 2]).GetAccountAsync(new GetAccountRequest { Account = account, Consistency = ReadConsistency.Lease });
            Assert.Equal(10 * (n + 1), leased.Balance);
            var tx = await cluster.Transactions(followers[1]).GetTransactionAsync(new GetTransactionRequest { TxId = result.TxId, Consistency = ReadConsistency.Linearizable });
            Assert.Equal(TransactionState.Committed, tx.State);
        }
        using (var http = new HttpClient { BaseAddress = new Uri(cluster.Nodes.First(n => n.Member.Id == followers[1]).Member.RestAddress) })
        {
            using var json = JsonDocument.Parse(await http.GetStringAsync($"/api/v11/accounts/{account}?consistency=READ_CONSISTENCY_LINEARIZABLE"));
            Assert.Equal("50", json.RootElement.GetProperty("balance").ToString());
            var bad = await http.GetAsync("/api/v11/accounts/not-hex");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }
    }

    [Fact]
    public async Task A_leader_stopped_gracefully_hands_leadership_over_before_it_exits()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        await cluster.WaitForHeightAsync(0, TimeSpan.FromSeconds(10));

        var started = Stopwatch.GetTimestamp();
        await cluster.StopAsync(leader);
        var next = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10), excluding: leader);
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.NotEqual(leader, next);
        Assert.Contains($"node {leader}: stopping; leadership handed to node {next}", cluster.Output(), StringComparison.Ordinal);
        Console.WriteLine($"graceful stop of leader {leader}: node {next} leads {elapsed.TotalMilliseconds:F0} ms after the stop signal");
    }

    [Fact]
    public async Task A_rolling_restart_of_every_validator_under_load_loses_no_acknowledged_transaction()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        using var recipient = TransactionSigner.Generate();
        using var stop = new CancellationTokenSource();
        var acknowledged = 0L;
        var refused = 0L;

        // Four clients, each its own sender, submit batches of 16 through the business node the whole time.
        var writers = Enumerable.Range(1, 4).Select(n => Task.Run(async () =>
        {
            using var sender = cluster.DevKey(n);
            ulong nonce = 0;
            while (!stop.IsCancellationRequested)
            {
                var request = new SubmitTransactionsRequest();
                for (var i = 0; i < 16; i++)
                {
                    request.Transactions.Add(sender.Transfer(Chain, nonce + (ulong)i, recipient.PublicKey, 1));
                }
                SubmitTransactionsResponse response;
                try
                {
                    response = await cluster.Transactions(4).SubmitTransactionsAsync(request, deadline: DateTime.UtcNow.AddSeconds(15));
                }
                catch (RpcException)
                {
                    continue; // the whole call failed: nothing acknowledged, resubmit the same nonces
                }
                // Acknowledged are the committed ones at the head of the batch; resume after the last of them.
                var committed = response.Results.TakeWhile(r => r.State == TransactionState.Committed).Count();
                Interlocked.Add(ref acknowledged, committed);
                Interlocked.Add(ref refused, response.Results.Count - committed);
                nonce += (ulong)committed;
            }
        })).ToArray();

        foreach (var id in new ulong[] { 1, 2, 3 })
        {
            var before = Interlocked.Read(ref acknowledged);
            await cluster.StopAsync(id);
            cluster.Start(id);
            var tip = (await cluster.Status(4).GetStatusAsync(new GetStatusRequest())).Height;
            await cluster.WaitForHeightAsync(tip, TimeSpan.FromSeconds(30));
            await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
            // Progress continued across this restart.
            using var progress = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (Interlocked.Read(ref acknowledged) <= before)
            {
                Assert.False(progress.IsCancellationRequested, $"no transaction acknowledged after restarting node {id}\n{cluster.Output()}");
                await Task.Delay(20); // polling the shared counter, not synchronising
            }
        }
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        var total = (ulong)Interlocked.Read(ref acknowledged);
        Assert.True(total > 0);
        await cluster.WaitForHeightAsync((await cluster.Status(4).GetStatusAsync(new GetStatusRequest())).Height, TimeSpan.FromSeconds(30));
        // Once the carbon records of the run are committed, no further block comes: every node at one height and root.
        var statuses = await cluster.WaitForCarbonRecordsAsync(TimeSpan.FromSeconds(30));
        Assert.Single(statuses.Select(s => s.StateRoot).Distinct());
        // Every acknowledged transfer is in the ledger on every node (a transfer still pending when the clients
        // stopped may have committed since: the balance is then higher, and equals the senders' nonces).
        ulong nonces = 0;
        for (var n = 1; n <= 4; n++)
        {
            using var sender = cluster.DevKey(n);
            nonces += (await cluster.Status(4).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexStringLower(sender.PublicKey), Consistency = ReadConsistency.Linearizable })).Nonce;
        }
        foreach (var id in cluster.Ids)
        {
            var account = await cluster.Status(id).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexStringLower(recipient.PublicKey), Consistency = ReadConsistency.Linearizable });
            Assert.True(account.Balance >= total, $"node {id} holds {account.Balance} of {total} acknowledged transfers");
            Assert.Equal(nonces, account.Balance);
        }
        Console.WriteLine($"rolling restart: {total} acknowledged, {Interlocked.Read(ref refused)} refused or pending and resubmitted; every node holds all of them");
    }
}
