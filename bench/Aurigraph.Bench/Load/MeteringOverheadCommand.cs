using System.CommandLine;
using System.Globalization;
using System.Text;
using Spectre.Console;

namespace Aurigraph.Bench.Load;

/// <summary>
/// `metering-overhead`: what carbon metering costs in committed tx/s. Runs the same load against fresh 3-validator
/// devnets with metering on and off, alternating (on, off, on, off, ...) so drift of the machine hits both sides,
/// and reports each run, the means and the overhead (1 − off-mean / on-mean, against the 1 % target).
/// </summary>
public static class MeteringOverheadCommand
{
    public static Command Create()
    {
        var pairs = new Option<int>("--pairs") { Description = "On/off pairs to run.", DefaultValueFactory = _ => 2 };
        var duration = new Option<int>("--duration") { Description = "Timed seconds of each run.", DefaultValueFactory = _ => 15 };
        var concurrency = new Option<int>("--concurrency") { DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 128 };
        var signatures = new Option<string>("--signatures") { DefaultValueFactory = _ => "ed25519" };
        var command = new Command("metering-overhead", "Committed tx/s with carbon metering on and off, alternating, on fresh devnets; one report with the overhead.")
        {
            pairs, duration, concurrency, batch, signatures,
        };
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
            await RunAsync(load, parse.GetValue(pairs), ct);
            return 0;
        });
        return command;
    }

    public static async Task RunAsync(LoadOptions load, int pairs, CancellationToken ct)
    {
        var runs = new List<(bool Metering, LoadResult Result)>();
        for (var i = 0; i < pairs; i++)
        {
            foreach (var metering in new[] { true, false })
            {
                AnsiConsole.MarkupLine($"[bold]run {runs.Count + 1}/{2 * pairs}: metering {(metering ? "on" : "off")}[/]");
                var (result, _) = await LoadCommand.RunAsync(load with { Metering = metering }, devnetValidators: 3, ct);
                runs.Add((metering, result));
            }
        }
        var inv = CultureInfo.InvariantCulture;
        var on = runs.Where(r => r.Metering).Average(r => r.Result.CommittedPerSecond);
        var off = runs.Where(r => !r.Metering).Average(r => r.Result.CommittedPerSecond);
        var overhead = 1 - (on / off);
        var machine = MachineInfo.Read();
        var md = new StringBuilder();
        md.AppendLine("# Carbon metering overhead");
        md.AppendLine();
        md.AppendLine(inv, $"- machine: {machine.Cores} cores, {machine.MemoryGb} GiB, {machine.CpuModel}; {machine.Os}; .NET {machine.Runtime}");
        md.AppendLine(inv, $"- commit: `{RunReport.GitCommit()}`");
        md.AppendLine(inv, $"- shape: 3-validator devnet per run, {load.BodyBytes}-byte bodies, batch {load.BatchSize}, concurrency {load.Concurrency}, {load.Duration.TotalSeconds:F0} s after {load.Warmup.TotalSeconds:F0} s warm-up, signatures {load.SignatureMode}; runs alternate on/off");
        md.AppendLine();
        md.AppendLine("| run | metering | committed tx/s | p50 ms | p99 ms |");
        md.AppendLine("|---:|---|---:|---:|---:|");
        for (var i = 0; i < runs.Count; i++)
        {
            var r = runs[i].Result;
            md.AppendLine(inv, $"| {i + 1} | {(runs[i].Metering ? "on" : "off")} | {r.CommittedPerSecond:N0} | {r.P50Ms:F1} | {r.P99Ms:F1} |");
        }
        md.AppendLine();
        md.AppendLine(inv, $"Mean with metering: {on:N0} tx/s; without: {off:N0} tx/s; overhead **{100 * overhead:F1} %** (target ≤ 1 %: {(overhead <= 0.01 ? "met" : "missed")}). The spread between runs of the same setting is the noise floor of this comparison.");
        var markdown = md.ToString();
        var (json, path) = RunReport.Write("metering", new { machine, load, runs = runs.Select(r => new { r.Metering, r.Result }), on, off, overhead }, markdown);
        Console.WriteLine(markdown);
        AnsiConsole.MarkupLine($"[grey]report: {Markup.Escape(path)} and {Markup.Escape(json)}[/]");
    }
}
