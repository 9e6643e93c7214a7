using System.Globalization;
using System.Text;
using Aurigraph.Bench.Peer;

namespace Aurigraph.Bench.Load;

/// <summary>The performance targets a tps run is judged against, each with the figure needed, the figure measured, and met or not.</summary>
public static class TpsTargets
{
    /// <summary>CPU µs per committed transaction, summed over the nodes (each node's process CPU ÷ what it applied).</summary>
    public static double ClusterCpuMicros(LoadResult run) =>
        run.Nodes.Select(n => n.Pipeline).Where(p => p is not null).Sum(p => p!.PerTransactionMicros(p.ProcessCpuSeconds));

    public static string Markdown(LoadOptions load, LoadResult ours, IReadOnlyList<PeerRunResult> etcd, VerifyRate verify, LoadResult? half, LoadResult? light)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| target | needed | measured | met |");
        sb.AppendLine("|---|---:|---:|---|");
        void Row(string target, string needed, string measured, bool? met) =>
            sb.AppendLine(inv, $"| {target} | {needed} | {measured} | {(met is null ? "not measured" : met.Value ? "yes" : "no")} |");
        var put = etcd.FirstOrDefault(r => r.Request == "KV.Put")?.PutsPerSecond ?? double.NaN;
        var txn = etcd.FirstOrDefault(r => r.Request.StartsWith("KV.Txn", StringComparison.Ordinal))?.PutsPerSecond ?? double.NaN;
        var cpu = ClusterCpuMicros(ours);
        if (load.SignatureMode == "none")
        {
            Row("none mode: cluster CPU per committed transaction", "≤ 15 µs", $"{cpu:F1} µs", double.IsFinite(cpu) ? cpu <= 15 : null);
            Row($"none mode: ≥ 3 × etcd Txn of {load.BatchSize} ({txn:N0} puts/s)", $"{3 * txn:N0} tx/s", $"{ours.CommittedPerSecond:N0} tx/s ({ours.CommittedPerSecond / txn:F2}×)", double.IsFinite(txn) ? ours.CommittedPerSecond >= 3 * txn : null);
            Row($"moonshot: ≥ 30 × etcd KV.Put ({put:N0}/s)", $"{30 * put:N0} tx/s", $"{ours.CommittedPerSecond:N0} tx/s ({ours.CommittedPerSecond / put:F2}×)", double.IsFinite(put) ? ours.CommittedPerSecond >= 30 * put : null);
        }
        else
        {
            Row("ed25519: ≥ 80 % of the verification limit", $"{0.8 * verify.Limit:N0} tx/s", $"{ours.CommittedPerSecond:N0} tx/s ({100 * ours.CommittedPerSecond / verify.Limit:F0} %)", ours.CommittedPerSecond >= 0.8 * verify.Limit);
            Row("(for reference) cluster CPU per committed transaction", "—", $"{cpu:F1} µs", null);
        }
        Row("p99 submit→commit at half of peak (open loop)", "≤ 100 ms", half is null ? "—" : $"{half.P99Ms:F1} ms at {half.CommittedPerSecond:N0} tx/s", half is null ? null : half.P99Ms <= 100);
        Row("p50 submit→commit at light load (1 transaction per call, 1 call in flight)", "≤ 10 ms", light is null ? "—" : $"{light.P50Ms:F1} ms", light is null ? null : light.P50Ms <= 10);
        var rss = ours.Nodes.Select(n => n.PeakRssMb).DefaultIfEmpty(0).Max();
        Row("peak RSS per validator", "≤ 256 MB", $"{rss:N0} MB", ours.Nodes.Count > 0 ? rss <= 256 : null);
        var changes = ours.Nodes.Select(n => n.Pipeline?.LeaderChanges ?? 0).DefaultIfEmpty(0).Max();
        Row($"leader changes during the {load.Duration.TotalSeconds:F0} s saturation phase (most any node saw)", "0", changes.ToString("N0", inv), ours.Nodes.Any(n => n.Pipeline is not null) ? changes == 0 : null);
        Row("idle CPU per node", "≤ 0.5 % of a core", "see `bench/idle-cpu.sh`", null);
        sb.AppendLine();
        return sb.ToString();
    }
}
