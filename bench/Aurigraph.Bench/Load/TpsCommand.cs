using System.CommandLine;
using System.Globalization;
using System.Text;
using Aurigraph.Bench.Peer;
using Spectre.Console;

namespace Aurigraph.Bench.Load;

/// <summary>
/// `tps`: one command for the headline comparison. Starts a 3-validator devnet, runs the load, runs etcd with the
/// same shape (value size, concurrency, duration, warm-up; single puts and Txn batches of as many puts as our
/// batches carry), and writes one report with both systems' figures and the ratio ours / etcd from the same run.
/// </summary>
public static class TpsCommand
{
    public static Command Create()
    {
        var duration = new Option<int>("--duration") { Description = "Timed seconds of each run.", DefaultValueFactory = _ => 20 };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 3 };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight, for both systems.", DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { Description = "Transactions per call (ours) and puts per Txn (etcd; at most etcd's --max-txn-ops, 128).", DefaultValueFactory = _ => 128 };
        var valueBytes = new Option<int>("--value-bytes") { Description = "Transaction body size (ours) and value size (etcd).", DefaultValueFactory = _ => 128 };
        var signatures = new Option<string>("--signatures") { Description = "Signature mode of our nodes: ed25519 or none.", DefaultValueFactory = _ => "ed25519" };
        var peerTls = new Option<bool>("--peer-tls") { Description = "Our peers on mutual TLS (true, the default) or plaintext on loopback (false).", DefaultValueFactory = _ => true };
        var basePort = new Option<int>("--base-port") { Description = "The first port our devnet's nodes use.", DefaultValueFactory = _ => 27_100 };
        var latency = new Option<bool>("--latency-runs") { Description = "Also run half of peak (open loop) and light load (1 × 1) on fresh devnets for the latency targets.", DefaultValueFactory = _ => true };
        var command = new Command("tps", "Devnet + load + etcd peer run, one report with the ratio ours / etcd.") { duration, warmup, concurrency, batch, valueBytes, signatures, peerTls, basePort, latency };
        command.SetAction(async (parse, ct) =>
        {
            var seconds = parse.GetValue(duration);
            var load = new LoadOptions
            {
                Targets = [],
                BodyBytes = parse.GetValue(valueBytes),
                Concurrency = parse.GetValue(concurrency),
                Senders = Math.Max(1024, parse.GetValue(concurrency)),
                BatchSize = parse.GetValue(batch),
                Duration = TimeSpan.FromSeconds(seconds),
                Warmup = TimeSpan.FromSeconds(parse.GetValue(warmup)),
                // Enough for 40,000 tx/s over the whole run; the run says so if they run out.
                Transactions = Math.Max(200_000, 40_000 * (seconds + parse.GetValue(warmup))),
                SignatureMode = parse.GetValue(signatures)!,
                PeerTls = parse.GetValue(peerTls),
                BasePort = parse.GetValue(basePort),
            };
            var peer = new PeerRunOptions
            {
                ValueBytes = load.BodyBytes,
                Concurrency = load.Concurrency,
                Duration = load.Duration,
                Warmup = load.Warmup,
                BatchOps = load.BatchSize,
            };
            await RunAsync(load, peer, ct, parse.GetValue(latency));
            return 0;
        });
        return command;
    }

    public static async Task RunAsync(LoadOptions load, PeerRunOptions peer, CancellationToken cancellation, bool latencyRuns = true)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        using var signals = Aurigraph.Node.Hosting.ShutdownSignals.Cancel(stop);

        var started = DateTime.UtcNow;
        AnsiConsole.MarkupLine("[bold]0/2 Ed25519 verification limit of this machine (3 s on one core, 3 s on all)[/]");
        var verify = VerifyRate.Measure(load.BodyBytes, TimeSpan.FromSeconds(3));
        AnsiConsole.MarkupLine("[bold]1/2 Aurigraph: 3-validator devnet on loopback[/]");
        var (ours, ourMarkdown) = await LoadCommand.RunAsync(load, devnetValidators: 3, stop.Token);
        AnsiConsole.MarkupLine("[bold]2/2 etcd: 3 members on loopback, same shape[/]");
        var etcd = await EtcdPeer.RunAsync(peer, stop.Token);
        LoadResult? half = null;
        LoadResult? light = null;
        string? halfMarkdown = null;
        string? lightMarkdown = null;
        if (latencyRuns && ours.CommittedPerSecond > 0)
        {
            AnsiConsole.MarkupLine($"[bold]latency: half of peak, {ours.CommittedPerSecond / 2:N0} tx/s offered (open loop), fresh devnet[/]");
            (half, halfMarkdown) = await LoadCommand.RunAsync(load with { RatePerSecond = ours.CommittedPerSecond / 2 }, devnetValidators: 3, stop.Token);
            AnsiConsole.MarkupLine("[bold]latency: light load, one transaction per call, one call in flight, fresh devnet[/]");
            (light, lightMarkdown) = await LoadCommand.RunAsync(load with { BatchSize = 1, Concurrency = 1, Transactions = 50_000 }, devnetValidators: 3, stop.Token);
        }

        var machine = MachineInfo.Read();
        var commit = RunReport.GitCommit();
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# TPS run: Aurigraph and etcd on the same machine, same run");
        md.AppendLine();
        md.AppendLine(inv, $"- machine: {machine.Cores} cores, {machine.MemoryGb} GiB, {machine.CpuModel}; {machine.Os}; .NET {machine.Runtime}");
        md.AppendLine(inv, $"- commit: `{commit}`; started {started:yyyy-MM-dd HH:mm} UTC, took {(DateTime.UtcNow - started).TotalSeconds:F0} s");
        md.AppendLine(inv, $"- shape: {load.BodyBytes}-byte bodies / values, concurrency {load.Concurrency}, {load.Duration.TotalSeconds:F0} s after {load.Warmup.TotalSeconds:F0} s warm-up; ours: batches of {load.BatchSize} transactions per call, signatures {load.SignatureMode}, peers {(load.PeerTls ? "mutual TLS" : "plaintext")}; etcd: single puts, and Txn of {peer.BatchOps} puts");
        if (etcd.Count > 0)
        {
            md.AppendLine(inv, $"- etcd: {etcd[0].Version}");
        }
        md.AppendLine();
        md.AppendLine("| system | request | committed/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        md.AppendLine(inv, $"| Aurigraph | SubmitTransactions of {load.BatchSize} | {ours.CommittedPerSecond:N0} | {ours.P50Ms:F1} | {ours.P90Ms:F1} | {ours.P99Ms:F1} | {ours.P999Ms:F1} | {ours.Errors.Values.Sum() + ours.Rejections.Values.Sum():N0} |");
        foreach (var r in etcd)
        {
            md.AppendLine(inv, $"| etcd | {r.Request} | {r.PutsPerSecond:N0} | {r.PerPut.P50Ms:F1} | {r.PerPut.P90Ms:F1} | {r.PerPut.P99Ms:F1} | {r.PerPut.P999Ms:F1} | {r.Errors.Values.Sum():N0} |");
        }
        md.AppendLine();
        foreach (var r in etcd)
        {
            md.AppendLine(inv, $"- ours / etcd {r.Request}: **{(r.PutsPerSecond > 0 ? ours.CommittedPerSecond / r.PutsPerSecond : double.NaN):F2}×**");
        }
        md.AppendLine();
        md.AppendLine(inv, $"Ed25519 verification on this machine in this run: {verify.OneCorePerSecond:N0}/s on one core, {verify.AllCoresPerSecond:N0}/s on all {verify.Cores}; limit (one core × cores) {verify.Limit:N0}/s.");
        md.AppendLine();
        md.Append(TpsTargets.Markdown(load, ours, etcd, verify, half, light));
        md.AppendLine("Latency is submit→commit per transaction (ours) and per put (etcd), as the client saw it.");
        md.AppendLine();
        md.AppendLine("## Aurigraph run detail");
        md.AppendLine();
        md.Append(ourMarkdown);
        foreach (var (title, detail) in new[] { ("half of peak", halfMarkdown), ("light load", lightMarkdown) })
        {
            if (detail is not null)
            {
                md.AppendLine();
                md.AppendLine(inv, $"## Aurigraph latency run: {title}");
                md.AppendLine();
                md.Append(detail);
            }
        }
        var markdown = md.ToString();
        var (json, mdPath) = RunReport.Write("tps", new { machine, commit, load, peer, verify, ours, etcd, half, light }, markdown);
        AnsiConsole.WriteLine();
        Console.WriteLine(markdown);
        AnsiConsole.MarkupLine($"[grey]report: {Markup.Escape(mdPath)} and {Markup.Escape(json)}[/]");
    }
}
