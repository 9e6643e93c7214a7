using System.Diagnostics;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>A cluster across the programme's three clouds on loopback, with WAN emulation: it elects, commits and agrees.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class WanClusterTests
{
    private const string Chain = "aurigraph-devnet";

    private static readonly (string Cloud, string Region)[] Clouds = [("aws", "us-east-1"), ("azure", "eastus"), ("gcp", "us-central1")];

    /// <summary>Every node gets every member's location (members are listed in id order) and WAN emulation on.</summary>
    internal static Dictionary<ulong, Dictionary<string, string>> Topology(int nodes)
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

        // The leader measures its round trips from heartbeats: each path at least its emulated round trip (less the
        // 5 % jitter each way), and exported per peer.
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
        var rest = cluster.Nodes.Single(n => n.Member.Id == leader).Member.RestAddress;
        using var http = new HttpClient { BaseAddress = new Uri(rest) };
        var measured = await cluster.PollAsync(
            async () =>
            {
                var text = await http.GetStringAsync("/metrics");
                var found = Aurigraph.Node.Hosting.TimeoutsCommand.RoundTrips(text);
                return Enumerable.Range(1, 3).Select(i => (ulong)i).Where(i => i != leader).All(found.ContainsKey) ? found : null;
            },
            "the leader's measured round trips in /metrics",
            TimeSpan.FromSeconds(20));
        double Table(ulong a, ulong b) => (Math.Min(a, b), Math.Max(a, b)) switch { (1, 2) => 2, (1, 3) => 30, _ => 32 };
        foreach (var (peer, ms) in measured.Where(p => p.Key <= 3))
        {
            Assert.True(ms >= Table(leader, peer) * 0.9, $"round trip {leader}->{peer} measured {ms:F1} ms, under the emulated {Table(leader, peer)} ms");
        }

        // The timeouts command reads the same figures and says what the slowest path calls for.
        var (exit, output, error) = await LocalCluster.RunCliAsync("timeouts", "--rest", rest);
        Assert.True(exit == 0, error);
        using var advice = System.Text.Json.JsonDocument.Parse(output);
        var slowest = advice.RootElement.GetProperty("slowestMilliseconds").GetDouble();
        var farthest = new ulong[] { 1, 2, 3 }.Where(p => p != leader).Max(p => Table(leader, p));
        Assert.True(slowest >= farthest * 0.9, $"slowest path {slowest} ms, the farthest peer is {farthest} ms away");
        var settings = advice.RootElement.GetProperty("settings");
        var tick = settings.GetProperty("TickMilliseconds").GetInt32();
        Assert.True(tick * settings.GetProperty("ElectionTicks").GetInt32() >= 10 * slowest, output);
        Assert.True(tick * settings.GetProperty("HeartbeatTicks").GetInt32() >= slowest / 2, output);
        Assert.Contains("AURIGRAPH__ELECTIONTICKS=", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lost_cloud_under_load_fails_over_within_30_s_loses_no_acknowledged_transaction_and_catches_up()
    {
        // Validators 1-3 and business nodes 4-6, one of each per cloud (node n and n + 3 share a cloud).
        var environment = Topology(6);
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 3, slim: 0, environment: environment);
        await using var load = await Writes.StartAsync(cluster);

        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
        ulong[] lost = [leader, leader + 3];
        Assert.DoesNotContain(load.Entry, lost);
        var killedAt = Stopwatch.GetTimestamp();
        foreach (var id in lost)
        {
            cluster.Kill(id); // the whole cloud: its validator (the leader) and its business node
        }
        var failover = await load.PauseAfterAsync(killedAt);
        Assert.True(failover < TimeSpan.FromSeconds(30), $"failover took {failover.TotalSeconds:F1} s");

        // The cloud comes back and catches up while the writes go on; then they stop.
        foreach (var id in lost)
        {
            cluster.Start(id, environment[id]);
        }
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var acked = await load.StopAsync();
        await AssertNothingLostAndOneChainAsync(cluster, load, acked);
        Console.WriteLine($"lost cloud of node {leader} under load: failover {failover.TotalMilliseconds:F0} ms, {acked} transactions acknowledged, none lost");
    }

    [Fact]
    public async Task A_cloud_cut_off_by_a_partition_loses_its_leadership_and_rejoins_the_one_chain_when_it_heals()
    {
        var partition = Path.Combine(Path.GetTempPath(), "aurigraph-partition-" + Guid.NewGuid().ToString("N")[..8]);
        var environment = Topology(6);
        foreach (var settings in environment.Values)
        {
            settings["AURIGRAPH__TRANSPORT__WAN__PARTITIONFILE"] = partition;
        }
        try
        {
            await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 3, slim: 0, environment: environment);
            await using var load = await Writes.StartAsync(cluster);
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
            Assert.NotEqual(leader + 3, load.Entry);
            var isolated = Clouds[(int)(leader - 1)];

            var cutAt = Stopwatch.GetTimestamp();
            await File.WriteAllTextAsync(partition, $"{isolated.Cloud}:{isolated.Region}\n");
            var pause = await load.PauseAfterAsync(cutAt);
            Assert.True(pause < TimeSpan.FromSeconds(30), $"writes paused {pause.TotalSeconds:F1} s");
            // The majority elected another leader; the cut-off one stepped down (check-quorum) and knows no leader.
            var majority = cluster.Ids.Where(id => id != leader && id != leader + 3).ToList();
            var newLeader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30), among: majority);
            Assert.NotEqual(leader, newLeader);
            var stepped = await cluster.PollAsync(async () => (await cluster.Status(leader).GetStatusAsync(new GetStatusRequest())) is { RaftState: not "Leader" } s ? s : null, "the cut-off leader stepping down", TimeSpan.FromSeconds(30));
            Assert.NotEqual("Leader", stepped.RaftState);

            File.Delete(partition); // heal
            await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            var acked = await load.StopAsync();
            await AssertNothingLostAndOneChainAsync(cluster, load, acked);
            Console.WriteLine($"partition of node {leader}'s cloud under load: writes paused {pause.TotalMilliseconds:F0} ms, new leader {newLeader}, {acked} transactions acknowledged, none lost");
        }
        finally
        {
            File.Delete(partition);
        }
    }

    /// <summary>Every acknowledged transfer is seen by a linearizable read on every node, and every node holds the same block and state.</summary>
    private static async Task AssertNothingLostAndOneChainAsync(LocalCluster cluster, Writes load, int acked)
    {
        foreach (var id in cluster.Ids)
        {
            var account = await cluster.PollAsync(async () =>
            {
                try
                {
                    return await cluster.Status(id).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexStringLower(load.Recipient.PublicKey), Consistency = ReadConsistency.Linearizable });
                }
                catch (RpcException)
                {
                    return null; // a restarted or rejoining node may not know the leader yet
                }
            }, $"a linearizable read on node {id}", TimeSpan.FromSeconds(30));
            // At most one more: the write left pending when the writer stopped may commit yet.
            Assert.InRange(account!.Balance, (ulong)acked, (ulong)acked + 1);
        }
        var height = (await cluster.Status(load.Entry).GetStatusAsync(new GetStatusRequest())).Height;
        await cluster.WaitForHeightAsync(height, TimeSpan.FromSeconds(60));
        var blocks = new HashSet<string>();
        foreach (var id in cluster.Ids)
        {
            var block = await cluster.Blocks(id).GetBlockAsync(new GetBlockRequest { Height = height });
            blocks.Add(Convert.ToHexString(block.Header.Hash.Span) + "/" + Convert.ToHexString(block.Header.StateRoot.Span));
        }
        Assert.Single(blocks);
    }

    /// <summary>
    /// A client writing one transfer at a time through a business node in another cloud than the leader's, retrying the
    /// same signed bytes until COMMITTED; it records when each commit was acknowledged.
    /// </summary>
    private sealed class Writes : IAsyncDisposable
    {
        private readonly List<long> _acknowledged = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly TransactionSigner _sender;
        private readonly LocalCluster _cluster;
        private Task _writer = Task.CompletedTask;

        private Writes(LocalCluster cluster, ulong entry)
        {
            _cluster = cluster;
            Entry = entry;
            _sender = cluster.DevKey(2);
        }

        public ulong Entry { get; }

        public TransactionSigner Recipient { get; } = TransactionSigner.Generate();

        public static async Task<Writes> StartAsync(LocalCluster cluster)
        {
            var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
            var writes = new Writes(cluster, cluster.Ids.First(id => id > 3 && id != leader + 3));
            writes._writer = Task.Run(writes.RunAsync);
            await cluster.PollAsync(async () => { await Task.Yield(); return writes.Count(0) >= 20 ? "" : null; }, "writes before the fault", TimeSpan.FromSeconds(30));
            return writes;
        }

        /// <summary>Waits for 20 acknowledgements after <paramref name="since"/>; returns the longest pause from then on.</summary>
        public async Task<TimeSpan> PauseAfterAsync(long since)
        {
            await _cluster.PollAsync(async () => { await Task.Yield(); return Count(since) >= 20 ? "" : null; }, "writes after the fault", TimeSpan.FromSeconds(60));
            lock (_acknowledged)
            {
                // A write answered just after the fault may have committed before it: the pause shows the election.
                var after = _acknowledged.Where(a => a > since).Prepend(since).ToList();
                return after.Zip(after.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b)).Max();
            }
        }

        /// <summary>Stops writing; returns how many commits were acknowledged.</summary>
        public async Task<int> StopAsync()
        {
            await _stop.CancelAsync();
            await _writer;
            lock (_acknowledged)
            {
                return _acknowledged.Count;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
            _sender.Dispose();
            Recipient.Dispose();
        }

        private int Count(long since)
        {
            lock (_acknowledged)
            {
                return _acknowledged.Count(a => a > since);
            }
        }

        private async Task RunAsync()
        {
            ulong nonce = 0;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    // The same nonce again after anything but COMMITTED: the same signed bytes, the same transaction.
                    var request = new SubmitTransactionsRequest { Transactions = { _sender.Transfer(Chain, nonce, Recipient.PublicKey, 1) } };
                    var result = (await _cluster.Transactions(Entry).SubmitTransactionsAsync(request, deadline: DateTime.UtcNow.AddSeconds(15))).Results[0];
                    if (result.State == TransactionState.Committed)
                    {
                        lock (_acknowledged)
                        {
                            _acknowledged.Add(Stopwatch.GetTimestamp());
                        }
                        nonce++;
                    }
                }
                catch (RpcException)
                {
                    // The entry node may answer UNAVAILABLE while no leader is known: retry.
                }
            }
        }
    }
}
