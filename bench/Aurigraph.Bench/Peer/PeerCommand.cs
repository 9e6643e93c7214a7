using System.CommandLine;
using Aurigraph.Bench.Load;

namespace Aurigraph.Bench.Peer;

/// <summary>`peer etcd`: the same workload shape against another system, for figures to set beside ours.</summary>
public static class PeerCommand
{
    public static Command Create()
    {
        var defaults = new PeerRunOptions();
        var valueBytes = new Option<int>("--value-bytes") { Description = "Bytes in every value.", DefaultValueFactory = _ => defaults.ValueBytes };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight (one closed-loop worker each).", DefaultValueFactory = _ => defaults.Concurrency };
        var duration = new Option<double>("--duration") { Description = "Timed seconds per mode.", DefaultValueFactory = _ => defaults.Duration.TotalSeconds };
        var warmup = new Option<double>("--warmup") { Description = "Warm-up seconds per mode (not counted).", DefaultValueFactory = _ => defaults.Warmup.TotalSeconds };
        var keys = new Option<int>("--keys") { Description = "Distinct keys over all workers (bench/{worker}/{n}).", DefaultValueFactory = _ => defaults.Keys };
        var target = new Option<PeerTarget>("--target") { Description = "Send to every member round-robin (all) or to the leader only (leader).", DefaultValueFactory = _ => defaults.Target };
        var modes = new Option<PeerMode[]>("--modes")
        {
            Description = "Modes to run: put (one put per request) and/or batch (the system's largest atomic batch).",
            DefaultValueFactory = _ => [.. defaults.Modes],
            AllowMultipleArgumentsPerToken = true,
        };
        var batchOps = new Option<int>("--batch-ops") { Description = "Puts per batched request (etcd: per Txn; etcd refuses more than its --max-txn-ops, 128 by default).", DefaultValueFactory = _ => defaults.BatchOps };
        var timeout = new Option<double>("--timeout") { Description = "Seconds before an unanswered request counts as an error.", DefaultValueFactory = _ => defaults.RequestTimeout.TotalSeconds };
        var portBase = new Option<int>("--port-base") { Description = "First loopback port of the started cluster (member i: client base+2i, peer base+2i+1).", DefaultValueFactory = _ => defaults.PortBase };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder in which the cluster's data gets a fresh subfolder, removed afterwards (default: bench/.peer-data/ in the repository)." };

        var etcd = new Command("etcd", "Start a 3-member etcd cluster on loopback (installing etcd-server with apt-get if missing), drive KV.Put and KV.Txn through its gRPC API, report committed puts/s and latency, then stop it and remove its data.")
        {
            valueBytes, concurrency, duration, warmup, keys, target, modes, batchOps, timeout, portBase, dataDir,
        };
        etcd.SetAction(async (parse, ct) =>
        {
            var options = new PeerRunOptions
            {
                ValueBytes = parse.GetValue(valueBytes),
                Concurrency = parse.GetValue(concurrency),
                Duration = TimeSpan.FromSeconds(parse.GetValue(duration)),
                Warmup = TimeSpan.FromSeconds(parse.GetValue(warmup)),
                Keys = parse.GetValue(keys),
                Target = parse.GetValue(target),
                Modes = parse.GetValue(modes) ?? [.. defaults.Modes],
                BatchOps = parse.GetValue(batchOps),
                RequestTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                PortBase = parse.GetValue(portBase),
                DataRoot = parse.GetValue(dataDir),
            };
            try
            {
                var results = await RunAndReportAsync(options, ct);
                return results.All(r => r.Puts > 0) ? 0 : 1;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("peer etcd: cancelled; the cluster was stopped and its data removed");
                return 130;
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or TimeoutException or IOException)
            {
                Console.Error.WriteLine($"peer etcd: {ex.Message}");
                return 1;
            }
        });
        return new Command("peer", "Run the workload against another system on this machine.") { etcd };
    }

    /// <summary>Runs etcd, prints the tables and writes them (with machine, commit and options) as JSON and Markdown under bench/results/.</summary>
    public static async Task<IReadOnlyList<PeerRunResult>> RunAndReportAsync(PeerRunOptions options, CancellationToken ct)
    {
        var results = await EtcdPeer.RunAsync(options, ct);
        var machine = MachineInfo.Read();
        var commit = RunReport.GitCommit();
        var markdown = PeerReport.Markdown("etcd peer run", machine, commit, options, results);
        var (json, md) = RunReport.Write("peer-etcd", new { machine, commit, options, results }, markdown);
        // Plain Console: the Markdown tables must not be wrapped to the terminal's width.
        Console.WriteLine();
        Console.WriteLine(markdown);
        PeerConsole.Info($"report: {md} and {json}");
        return results;
    }
}
