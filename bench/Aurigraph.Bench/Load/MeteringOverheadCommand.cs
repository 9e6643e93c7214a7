using System.CommandLine;
using System.Globalization;
using System.Text;
using Spectre.Console;

namespace Aurigraph.Bench.Load;

/// <summary>
/// `metering-overhead`: what carbon metering costs. Runs the same load against fresh 3-validator devnets with metering on
/// and off after an unmeasured warm-up run, in ABBA order (on, off, off, on, on, off, ...) so that a linear drift of the
/// machine hits both sides alike, and reports each run and two overheads with their spread: committed tx/s
/// (1 − on-mean ÷ off-mean) and the nodes' CPU per committed transaction (on-mean ÷ off-mean − 1; on a CPU-bound machine
/// the cost that throughput follows, and less noisy than throughput).
/// <para>`tls-overhead` runs the same ABBA comparison with the peers on mutual TLS and on plaintext.</para>
/// </summary>
public static class MeteringOverheadCommand
{
    /// <summary>What one side of the comparison switches on.</summary>
    public enum Factor
    {
        Metering,
        PeerTls,
    }
    public static Command Create() => Create(Factor.Metering);

    /// <summary>`tls-overhead`: committed tx/s and CPU/tx with peers on mutual TLS and on plaintext.</summary>
    public static Command CreateTls() => Create(Factor.PeerTls);

    private static Command Create(Factor factor)
    {
        var pairs = new Option<int>("--pairs") { Description = "On/off pairs to run.", DefaultValueFactory = _ => 4 };
        var warmups = new Option<int>("--warmup-runs") { Description = "Unmeasured runs before the pairs (file caches, JIT of the tools).", DefaultValueFactory = _ => 1 };
        var duration = new Option<int>("--duration") { Description = "Timed seconds of each run.", DefaultValueFactory = _ => 15 };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 128 };
        var signatures = new Option<string>("--signatures") { DefaultValueFactory = _ => "ed25519" };
        var command = factor == Factor.Metering
            ? new Command("metering-overhead", "Committed tx/s with carbon metering on and off, alternating, on fresh devnets; one report with the overhead.")
            : new Command("tls-overhead", "Committed tx/s with peers on mutual TLS and on plaintext, alternating, on fresh devnets; one report with the overhead.");
        command.Options.Add(pairs);
        command.Options.Add(warmups);
        command.Options.Add(duration);
        command.Options.Add(concurrency);
        command.Options.Add(batch);
        command.Options.Add(signatures);
        command.SetAction(async (parse, ct) =>
        {
            var seconds = parse.GetValue(duration);
            var load = new LoadOptions
            {
                Targets = [],
                Concurrency = parse.GetValue(concurrency),
                BatchSize = parse.GetValue(batch),
                Duration = TimeSpan.FromSeconds(seconds),
                Warmup = TimeSpan.FromSeconds(3),
                Transactions = Math.Max(200_000, 40_000 * (seconds + 3)),
                SignatureMode = parse.GetValue(signatures)!,
            };
            await RunAsync(load, parse.GetValue(pairs), parse.GetValue(warmups), factor, ct);
            return 0;
        });
        return command;
    }

    public static Task RunAsync(LoadOptions load, int pairs, int warmupRuns, CancellationToken ct) => RunAsync(load, pairs, warmupRuns, Factor.Metering, ct);

    private static LoadOptions With(LoadOptions load, Factor factor, bool on) =>
        factor == Factor.Metering ? load with { Metering = on } : load with { PeerTls = on };

    public static async Task RunAsync(LoadOptions load, int pairs, int warmupRuns, Factor factor, CancellationToken ct)
    {
        var name = factor == Factor.Metering ? "metering" : "peer TLS";
        for (var i = 0; i < warmupRuns; i++)
        {
            AnsiConsole.MarkupLine($"[bold]warm-up run {i + 1}/{warmupRuns} (not counted)[/]");
            await LoadCommand.RunAsync(With(load, factor, true), devnetValidators: 3, ct);
        }
        var runs = new List<(bool On, LoadResult Result)>();
        for (var i = 0; i < pairs; i++)
        {
            foreach (var metering in i % 2 == 0 ? new[] { true, false } : [false, true])
            {
                AnsiConsole.MarkupLine($"[bold]run {runs.Count + 1}/{2 * pairs}: {name} {(metering ? "on" : "off")}[/]");
                var (result, _) = await LoadCommand.RunAsync(With(load, factor, metering), devnetValidators: 3, ct);
                runs.Add((metering, result));
            }
        }
        var inv = CultureInfo.InvariantCulture;
        var tpsOn = Stats(runs.Where(r => r.On).Select(r => r.Result.CommittedPerSecond));
        var tpsOff = Stats(runs.Where(r => !r.On).Select(r => r.Result.CommittedPerSecond));
        var cpuOn = Stats(runs.Where(r => r.On).Select(r => CpuMsPerThousand(r.Result)));
        var cpuOff = Stats(runs.Where(r => !r.On).Select(r => CpuMsPerThousand(r.Result)));
        var tpsOverhead = 1 - (tpsOn.Mean / tpsOff.Mean);
        var cpuOverhead = (cpuOn.Mean / cpuOff.Mean) - 1;
        // Standard error of a ratio of two independent means (first-order): relative errors add in quadrature.
        var tpsError = Math.Sqrt(Math.Pow(tpsOn.Error / tpsOn.Mean, 2) + Math.Pow(tpsOff.Error / tpsOff.Mean, 2));
        var cpuError = Math.Sqrt(Math.Pow(cpuOn.Error / cpuOn.Mean, 2) + Math.Pow(cpuOff.Error / cpuOff.Mean, 2));
        var machine = MachineInfo.Read();
        var md = new StringBuilder();
        md.AppendLine(factor == Factor.Metering ? "# Carbon metering overhead" : "# Peer TLS overhead (mutual TLS 1.3 against plaintext TCP)");
        md.AppendLine();
        md.AppendLine(inv, $"- machine: {machine.Cores} cores, {machine.MemoryGb} GiB, {machine.CpuModel}; {machine.Os}; .NET {machine.Runtime}");
        md.AppendLine(inv, $"- commit: `{RunReport.GitCommit()}`");
        md.AppendLine(inv, $"- shape: 3-validator devnet per run, {load.BodyBytes}-byte bodies, batch {load.BatchSize}, concurrency {load.Concurrency}, {load.Duration.TotalSeconds:F0} s after {load.Warmup.TotalSeconds:F0} s warm-up, signatures {load.SignatureMode}; {warmupRuns} unmeasured run(s) first, then ABBA order");
        md.AppendLine();
        md.AppendLine(inv, $"| run | {name} | committed tx/s | node CPU ms / 1k tx | p50 ms | p99 ms |");
        md.AppendLine("|---:|---|---:|---:|---:|---:|");
        for (var i = 0; i < runs.Count; i++)
        {
            var r = runs[i].Result;
            md.AppendLine(inv, $"| {i + 1} | {(runs[i].On ? "on" : "off")} | {r.CommittedPerSecond:N0} | {CpuMsPerThousand(r):F1} | {r.P50Ms:F1} | {r.P99Ms:F1} |");
        }
        md.AppendLine();
        md.AppendLine(inv, $"- committed tx/s: on {tpsOn.Mean:N0} ± {tpsOn.Error:N0}, off {tpsOff.Mean:N0} ± {tpsOff.Error:N0} (mean ± standard error); overhead **{100 * tpsOverhead:F1} % ± {100 * tpsError:F1} %**");
        md.AppendLine(inv, $"- node CPU per 1,000 committed transactions (all three nodes, /proc utime + stime over the timed phase): on {cpuOn.Mean:F1} ± {cpuOn.Error:F1} ms, off {cpuOff.Mean:F1} ± {cpuOff.Error:F1} ms; overhead **{100 * cpuOverhead:F1} % ± {100 * cpuError:F1} %**");
        if (factor == Factor.Metering)
        {
            md.AppendLine(inv, $"- target ≤ 1 % of committed tx/s: {(tpsOverhead <= 0.01 ? "met" : "missed")} on the throughput figure; the CPU figure is the cost throughput follows on this CPU-bound machine. A difference smaller than its ± is within the noise of the runs.");
        }
        else
        {
            md.AppendLine("- A difference smaller than its ± is within the noise of the runs.");
        }
        var markdown = md.ToString();
        var (json, path) = RunReport.Write(factor == Factor.Metering ? "metering" : "tls-overhead", new { machine, load, warmupRuns, runs = runs.Select(r => new { r.On, r.Result, CpuMsPerThousand = CpuMsPerThousand(r.Result) }), tpsOn, tpsOff, tpsOverhead, tpsError, cpuOn, cpuOff, cpuOverhead, cpuError }, markdown);
        Console.WriteLine(markdown);
        AnsiConsole.MarkupLine($"[grey]report: {Markup.Escape(path)} and {Markup.Escape(json)}[/]");
    }

    /// <summary>The nodes' CPU milliseconds (all processes, over the timed phase) per 1,000 committed transactions.</summary>
    private static double CpuMsPerThousand(LoadResult r) =>
        r.Committed == 0 ? 0 : r.Nodes.Sum(n => n.ProcessCpuSeconds ?? 0) * 1000 / r.Committed * 1000;

    private static Summary Stats(IEnumerable<double> values)
    {
        var v = values.ToList();
        var mean = v.Average();
        var sd = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)) : double.NaN;
        return new Summary(mean, sd, sd / Math.Sqrt(v.Count));
    }

    /// <summary>Mean, sample standard deviation and standard error of the mean.</summary>
    private sealed record Summary(double Mean, double StdDev, double Error);
}
