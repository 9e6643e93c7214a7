using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>
/// Conservation on real processes: the per-block figures every node committed through consensus add up to what its meter
/// took from the process's counters (process CPU, peer-transport bytes sent and received, bytes stored) from the meter's
/// start to its last close — CPU within 1 %, bytes exactly.
/// </summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed partial class CarbonConservationTests
{
    private const string Chain = "aurigraph-devnet";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private sealed record Sums(long CpuMicros, long Sent, long Received, long Stored, long Blocks);

    [GeneratedRegex(@"^(aurigraph_carbon_meter_\w+?)(?:\{[^}]*direction=""(\w+)""[^}]*\}|\{[^}]*\})?\s+(\S+)$", RegexOptions.Multiline)]
    private static partial Regex MeterLine();

    private static HttpClient Rest(LocalCluster cluster, ulong id) =>
        new() { BaseAddress = new Uri(cluster.Nodes.First(n => n.Member.Id == id).Member.RestAddress), Timeout = TimeSpan.FromSeconds(5) };

    private static ulong U64(JsonElement e, string name) => !e.TryGetProperty(name, out var v) ? 0
        : v.ValueKind == JsonValueKind.String ? ulong.Parse(v.GetString()!, CultureInfo.InvariantCulture) : v.GetUInt64();

    /// <summary>The node's meter totals from its Prometheus scrape.</summary>
    private static async Task<Sums> MeterAsync(LocalCluster cluster, ulong id)
    {
        using var http = Rest(cluster, id);
        var text = await http.GetStringAsync("/metrics");
        double cpu = 0;
        long sent = 0, received = 0, stored = 0, blocks = 0;
        foreach (Match m in MeterLine().Matches(text))
        {
            var value = double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
            switch (m.Groups[1].Value, m.Groups[2].Value)
            {
                case ("aurigraph_carbon_meter_cpu_seconds_total", _): cpu = value; break;
                case ("aurigraph_carbon_meter_peer_bytes_total", "sent"): sent = (long)value; break;
                case ("aurigraph_carbon_meter_peer_bytes_total", "received"): received = (long)value; break;
                case ("aurigraph_carbon_meter_stored_bytes_total", _): stored = (long)value; break;
                case ("aurigraph_carbon_meter_blocks_total", _): blocks = (long)value; break;
                default: break;
            }
        }
        return new Sums((long)Math.Round(cpu * 1e6), sent, received, stored, blocks);
    }

    /// <summary>Each member's readings summed over every committed block record, read from one node's API.</summary>
    private static async Task<Dictionary<ulong, Sums>> RecordedAsync(LocalCluster cluster, ulong from, ulong tip)
    {
        using var http = Rest(cluster, from);
        var sums = new Dictionary<ulong, Sums>();
        for (ulong h = 1; h <= tip; h++)
        {
            var response = await http.GetAsync($"/api/v11/carbon/block/{h}");
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                continue; // a block without transactions has no record
            }
            response.EnsureSuccessStatusCode();
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            foreach (var r in doc.RootElement.GetProperty("readings").EnumerateArray())
            {
                if (!r.TryGetProperty("measurement", out var m))
                {
                    continue; // missing: nothing measured
                }
                var id = U64(r, "nodeId");
                var s = sums.GetValueOrDefault(id) ?? new Sums(0, 0, 0, 0, 0);
                sums[id] = new Sums(
                    s.CpuMicros + (long)Math.Round(m.GetProperty("cpuSeconds").GetDouble() * 1e6),
                    s.Sent + (long)U64(m, "bytesSent"),
                    s.Received + (long)U64(m, "bytesReceived"),
                    s.Stored + (long)U64(m, "bytesStored"),
                    s.Blocks + 1);
            }
        }
        return sums;
    }

    [Fact]
    public async Task Every_nodes_committed_per_block_figures_add_up_to_its_process_counters()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0);
        await cluster.WaitForLeaderAsync(Deadline);

        // Four senders in parallel, each 600 transfers in batches of 50 through a different node: many blocks, each
        // interval shared by several blocks on some nodes.
        var recipient = TransactionSigner.Generate();
        var senders = Enumerable.Range(1, 4).Select(n => Task.Run(async () =>
        {
            using var key = cluster.DevKey(n);
            var client = cluster.Transactions((ulong)n);
            for (ulong nonce = 0; nonce < 600; nonce += 50)
            {
                var batch = new SubmitTransactionsRequest();
                for (var k = nonce; k < nonce + 50; k++)
                {
                    batch.Transactions.Add(key.Transfer(Chain, k, recipient.PublicKey, 1));
                }
                var reply = await client.SubmitTransactionsAsync(batch, deadline: DateTime.UtcNow.AddSeconds(30));
                Assert.All(reply.Results, r => Assert.Equal(TransactionState.Committed, r.State));
            }
        })).ToList();
        await Task.WhenAll(senders);
        recipient.Dispose();

        // Once no record is waiting and no block is on its way, every close's readings are committed.
        var until = DateTime.UtcNow + Deadline;
        Dictionary<ulong, Sums> recorded;
        Dictionary<ulong, Sums> meters;
        while (true)
        {
            var statuses = await cluster.WaitForCarbonRecordsAsync(Deadline);
            recorded = await RecordedAsync(cluster, 1, statuses[0].Height);
            meters = [];
            foreach (var id in cluster.Ids)
            {
                meters[id] = await MeterAsync(cluster, id);
            }
            if (cluster.Ids.All(id => recorded.GetValueOrDefault(id)?.Blocks == meters[id].Blocks) || DateTime.UtcNow > until)
            {
                break;
            }
            await Task.Delay(100); // polling interval against the deadline above: a late reading may still be on its way
        }

        foreach (var id in cluster.Ids)
        {
            var meter = meters[id];
            Assert.True(recorded.TryGetValue(id, out var sum), $"node {id} has no committed readings");
            Assert.True(meter.Blocks > 1, $"node {id} metered {meter.Blocks} block(s)");
            Assert.Equal(meter.Blocks, sum.Blocks);
            Assert.True(meter.CpuMicros > 0, $"node {id}: no CPU metered");
            // CPU: within 1 % (the scrape and the readings carry microseconds; the shares are integers and add up exactly).
            Assert.True(Math.Abs(sum.CpuMicros - meter.CpuMicros) <= meter.CpuMicros / 100, $"node {id}: readings {sum.CpuMicros} µs vs meter {meter.CpuMicros} µs");
            // Bytes: exactly the transport's and storage counters over the span.
            Assert.Equal(meter.Sent, sum.Sent);
            Assert.Equal(meter.Received, sum.Received);
            Assert.Equal(meter.Stored, sum.Stored);
            Assert.True(sum.Sent > 0 && sum.Received > 0 && sum.Stored > 0, $"node {id}: {sum}");
        }

        // Stage accounting on the same run: every node spent CPU in the stages every transaction passes through, each
        // node that took submissions in admission, and the stages together never exceed the process's CPU (they are
        // disjoint parts of its threads' time).
        foreach (var id in cluster.Ids)
        {
            var stages = await StagesAsync(cluster, id);
            var processCpu = ProcessCpuSeconds(cluster.ProcessId(id));
            foreach (var stage in new[] { "ingress", "admission", "raft", "log_persist", "apply", "index", "store_write", "completion" })
            {
                Assert.True(stages.GetValueOrDefault(stage) > 0, $"node {id}: no CPU in stage {stage} ({string.Join(", ", stages)})");
            }
            Assert.All(stages, s => Assert.True(s.Value >= 0, $"node {id}: stage {s.Key} at {s.Value} s"));
            // /proc counts whole 10 ms ticks per thread; the stages count nanoseconds.
            Assert.True(stages.Values.Sum() <= processCpu + 0.05, $"node {id}: stages {stages.Values.Sum():F3} s > process {processCpu:F3} s");
            // Every call was answered: nothing is left inside the ingress gate.
            using var http = Rest(cluster, id);
            var text = await http.GetStringAsync("/metrics");
            Assert.Matches(@"(?m)^aurigraph_ingress_transactions(\{[^}]*\})? 0$", text);
            Assert.Matches(@"(?m)^aurigraph_ingress_bytes(_bytes)?(\{[^}]*\})? 0$", text);
        }
    }

    [Fact]
    public async Task A_node_stopped_gracefully_carries_its_open_interval_into_its_first_close_after_the_restart()
    {
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0);
        var leader = await cluster.WaitForLeaderAsync(Deadline);
        var restarted = cluster.Ids.First(id => id != leader);
        using var recipient = TransactionSigner.Generate();
        using var key = cluster.DevKey(1);
        async Task TransferAsync(ulong from)
        {
            var batch = new SubmitTransactionsRequest();
            for (var nonce = from; nonce < from + 5; nonce++)
            {
                batch.Transactions.Add(key.Transfer(Chain, nonce, recipient.PublicKey, 1));
            }
            var reply = await cluster.Transactions(leader).SubmitTransactionsAsync(batch, deadline: DateTime.UtcNow.AddSeconds(30));
            Assert.All(reply.Results, r => Assert.Equal(TransactionState.Committed, r.State));
        }

        await TransferAsync(0);
        await cluster.StopAsync(restarted);
        cluster.Start(restarted);
        await cluster.WaitForLeaderAsync(Deadline);
        await TransferAsync(5); // a block with transactions after the restart: the restarted node's first close

        var carried = await cluster.PollAsync(async () =>
        {
            try
            {
                using var http = Rest(cluster, restarted);
                var m = CarriedLine().Match(await http.GetStringAsync("/metrics"));
                return m.Success && double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) > 0 ? m.Groups[1].Value : null;
            }
            catch (HttpRequestException)
            {
                return null; // still starting
            }
        }, $"node {restarted}: the previous run's open interval carried into a close", Deadline);
        Assert.True(double.Parse(carried, CultureInfo.InvariantCulture) > 0);
    }

    [GeneratedRegex(@"(?m)^aurigraph_carbon_meter_carried_cpu_seconds(?:\{[^}]*\})?\s+(\S+)$")]
    private static partial Regex CarriedLine();

    [GeneratedRegex(@"^aurigraph_stage_cpu_seconds_total\{[^}]*stage=""(\w+)""[^}]*\}\s+(\S+)$", RegexOptions.Multiline)]
    private static partial Regex StageLine();

    private static async Task<Dictionary<string, double>> StagesAsync(LocalCluster cluster, ulong id)
    {
        using var http = Rest(cluster, id);
        var text = await http.GetStringAsync("/metrics");
        return StageLine().Matches(text).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>utime + stime of the process, from /proc (USER_HZ = 100).</summary>
    private static double ProcessCpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }
}
