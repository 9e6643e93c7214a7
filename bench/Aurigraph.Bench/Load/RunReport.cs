using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Aurigraph.Bench.Load;

/// <summary>The machine a run happened on, as the report states it.</summary>
public sealed record MachineInfo(int Cores, double MemoryGb, string CpuModel, string Os, string Runtime)
{
    public static MachineInfo Read()
    {
        var cpu = "unknown";
        double memGb = 0;
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
            var kb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            memGb = long.Parse(kb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0;
        }
        catch (IOException)
        {
        }
        return new MachineInfo(Environment.ProcessorCount, Math.Round(memGb, 1), cpu, System.Runtime.InteropServices.RuntimeInformation.OSDescription, Environment.Version.ToString());
    }
}

/// <summary>Writes a run's options, machine, commit and figures as JSON and Markdown under bench/results/.</summary>
public static class RunReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static string GitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse HEAD") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            var sha = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? sha : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }

    /// <summary>The folder reports go to: bench/results under the repository root when found, else ./bench-results.</summary>
    public static string ResultsDirectory()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Aurigraph.Node.sln")))
            {
                return Path.Combine(dir.FullName, "bench", "results");
            }
        }
        return Path.Combine(Directory.GetCurrentDirectory(), "bench-results");
    }

    public static (string Json, string Markdown) Write(string name, object report, string markdown)
    {
        var dir = ResultsDirectory();
        Directory.CreateDirectory(dir);
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var json = Path.Combine(dir, $"{name}-{stamp}.json");
        var md = Path.Combine(dir, $"{name}-{stamp}.md");
        File.WriteAllText(json, JsonSerializer.Serialize(report, Json));
        File.WriteAllText(md, markdown);
        return (json, md);
    }

    private static string CarbonCell(CarbonFigure? carbon) =>
        carbon is { Transactions: > 0 } c ? c.GramsPerTransaction.ToString("G4", CultureInfo.InvariantCulture) : "n/a";

    public static string Markdown(string title, MachineInfo machine, string commit, LoadOptions options, LoadResult result)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"# {title}");
        sb.AppendLine();
        sb.AppendLine(inv, $"- machine: {machine.Cores} cores, {machine.MemoryGb} GiB, {machine.CpuModel}; {machine.Os}; .NET {machine.Runtime}");
        sb.AppendLine(inv, $"- commit: `{commit}`");
        sb.AppendLine(inv, $"- options: {options.Targets.Count} targets, {options.BodyBytes}-byte bodies, {options.Senders} senders, batch {options.BatchSize}, concurrency {options.Concurrency}, {options.Duration.TotalSeconds:F0} s after {options.Warmup.TotalSeconds:F0} s warm-up, signatures {options.SignatureMode}, carbon metering {(options.Metering ? "on" : "off")}, peers {(options.PeerTls ? "mutual TLS" : "plaintext")}{(options.WanClouds.Count > 0 ? $", WAN emulation across {string.Join(" / ", options.WanClouds)}" : "")}{(options.Leader != 0 ? $", leadership handed to node {options.Leader} before the run" : "")}{(options.PlacementHoldSeconds > 0 ? $", carbon-aware leader placement on ({options.PlacementHoldSeconds} s hold)" : "")}{(options.LeaderAtEnd != 0 ? $", node {options.LeaderAtEnd} led at the end" : "")}, {(options.RatePerSecond > 0 ? $"open loop at {options.RatePerSecond:N0} tx/s" : "closed loop")}");
        sb.AppendLine();
        sb.AppendLine("| committed tx/s | committed | p50 ms | p90 ms | p99 ms | p99.9 ms | rejected | errors | gCO2e/tx |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        sb.AppendLine(inv, $"| {result.CommittedPerSecond:N0} | {result.Committed:N0} | {result.P50Ms:F1} | {result.P90Ms:F1} | {result.P99Ms:F1} | {result.P999Ms:F1} | {result.Rejections.Values.Sum():N0} | {result.Errors.Values.Sum():N0} | {CarbonCell(result.Carbon)} |");
        sb.AppendLine();
        if (result.Carbon is { } carbon)
        {
            sb.AppendLine(inv, $"- gCO2e/tx: {carbon.Grams:G6} gCO2e over {carbon.Transactions:N0} transactions whose carbon records committed during the run (warm-up included), from node {carbon.Node}'s /api/v11/carbon/stats after minus before{(carbon.PendingHeights > 0 ? $"; {carbon.PendingHeights} heights still waited for their record" : "")}");
            sb.AppendLine();
            if (carbon.Models is { Readings: > 0 } m)
            {
                var s = m.Recorded;
                sb.AppendLine(inv, $"Energy models over the same {m.Readings:N0} readings of {m.Heights:N0} heights ({m.Transactions:N0} transactions):");
                sb.AppendLine();
                sb.AppendLine("| model | gCO2e/tx | CPU kWh | CPU consumed kWh | memory kWh | network kWh | storage kWh | facility kWh | operational g | embodied g |");
                sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
                sb.AppendLine(inv, $"| recorded (model 2: provisioned, retained, M) | {m.GramsPerTransaction:G4} | {s.CpuKwh:G4} | {s.CpuConsumedKwh:G4} | {s.MemoryKwh:G4} | {s.NetworkKwh:G4} | {s.StorageKwh:G4} | {s.FacilityKwh:G4} | {s.OperationalGrams:G4} | {s.EmbodiedGrams:G4} |");
                sb.AppendLine(inv, $"| model 1 recomputed (consumed CPU, written bytes × 1 year, no M) | {m.ModelOneGramsPerTransaction:G4} | | | | | | | | |");
                sb.AppendLine();
            }
        }
        if (result.Nodes.Count > 0)
        {
            sb.AppendLine("| node process | CPU % (100 = one core) | peak RSS MB | process CPU s | metered CPU s | meter error |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var n in result.Nodes)
            {
                sb.AppendLine(inv, $"| {n.Pid} | {n.CpuPercent:F0} | {n.PeakRssMb:F0} | {n.ProcessCpuSeconds:F2} | {(n.MeteredCpuSeconds is { } m ? m.ToString("F3", inv) : "—")} | {(n.MeterError is { } e ? $"{100 * e:+0.00;-0.00} %" : "—")} |");
            }
            sb.AppendLine();
            sb.AppendLine("- process CPU: the kernel's utime + stime (/proc, 10 ms ticks) over the timed phase; metered CPU: what the node's carbon meter attributed to blocks over the same phase (`aurigraph_carbon_meter_cpu_seconds_total`, scraped at its start and end); meter error = metered ÷ process − 1 (the conservation target is within 1 %).");
            sb.AppendLine();
            sb.Append(StageTable.Markdown([.. result.Nodes.Where(n => n.Pipeline is not null).Select(n => n.Pipeline!)]));
        }
        foreach (var (reason, count) in result.Rejections.Concat(result.Errors))
        {
            sb.AppendLine(inv, $"- {count:N0} × {reason}");
        }
        if (result.RanOutOfTransactions)
        {
            sb.AppendLine("- the pre-signed transactions ran out before the duration ended: raise --transactions");
        }
        return sb.ToString();
    }
}
