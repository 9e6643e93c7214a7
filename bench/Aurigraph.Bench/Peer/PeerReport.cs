using System.Globalization;
using System.Text;
using Aurigraph.Bench.Load;

namespace Aurigraph.Bench.Peer;

/// <summary>Markdown for peer runs: throughput and latency tables of any number of results, one row per system and mode.</summary>
public static class PeerReport
{
    public static string Markdown(string title, MachineInfo machine, string commit, PeerRunOptions options, IReadOnlyList<PeerRunResult> results)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(results);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"# {title}");
        sb.AppendLine();
        sb.AppendLine(inv, $"- machine: {machine.Cores} cores, {machine.MemoryGb} GiB, {machine.CpuModel}; {machine.Os}; .NET {machine.Runtime}");
        sb.AppendLine(inv, $"- commit: `{commit}`");
        foreach (var version in results.Select(r => $"{r.System}: {r.Version}").Distinct())
        {
            sb.AppendLine(inv, $"- {version}");
        }
        sb.AppendLine(inv, $"- options: {options.Members} members on loopback, {options.ValueBytes}-byte values, concurrency {options.Concurrency}, {options.Keys:N0} keys, target {options.Target.ToString().ToLowerInvariant()}, batch {options.BatchOps} puts, {options.Duration.TotalSeconds:F0} s after {options.Warmup.TotalSeconds:F0} s warm-up, request timeout {options.RequestTimeout.TotalSeconds:F0} s");
        sb.AppendLine();
        sb.AppendLine("| system | request | committed puts/s | requests/s | puts | requests | errors |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            sb.AppendLine(inv, $"| {r.System} | {r.Request} | {r.PutsPerSecond:N0} | {r.RequestsPerSecond:N0} | {r.Puts:N0} | {r.Requests:N0} | {r.Errors.Values.Sum():N0} |");
        }
        sb.AppendLine();
        sb.AppendLine("| system | request | latency of | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |");
        sb.AppendLine("|---|---|---|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            foreach (var (per, l) in new[] { ("request", r.PerRequest), ("put", r.PerPut) })
            {
                sb.AppendLine(inv, $"| {r.System} | {r.Request} | {per} | {l.P50Ms:F2} | {l.P90Ms:F2} | {l.P99Ms:F2} | {l.P999Ms:F2} | {l.MaxMs:F2} |");
            }
        }
        var notes = results
            .SelectMany(r => r.Errors.Select(e => $"- {r.System} {r.Request}: {e.Value:N0} × {e.Key}")
                .Concat(r.WarmupErrors.Select(e => $"- {r.System} {r.Request} (warm-up, not counted): {e.Value:N0} × {e.Key}")))
            .ToList();
        if (notes.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Errors:");
            sb.AppendLine();
            foreach (var n in notes)
            {
                sb.AppendLine(n);
            }
        }
        return sb.ToString();
    }
}
