using System.Globalization;
using System.Text;
using Aurigraph.Node.Diagnostics;

namespace Aurigraph.Bench.Load;

/// <summary>
/// One node's resource use over a timed phase, from its /metrics and the kernel, taken at the phase's start and end:
/// CPU per pipeline stage (the node's own thread-CPU accounting), CPU per thread group (/proc), bytes allocated,
/// collections, and bytes written to storage, with the transactions it committed in between.
/// </summary>
public sealed record NodePipeline(
    ulong NodeId,
    double Committed,
    double ProcessCpuSeconds,
    IReadOnlyDictionary<string, double> StageCpuSeconds,
    IReadOnlyDictionary<string, double> ThreadCpuSeconds,
    double? AllocatedBytes,
    IReadOnlyDictionary<string, double> GcCollections,
    double? GcPauseSeconds,
    long? DiskWriteBytes)
{
    /// <summary>Times the node saw the leader change during the phase.</summary>
    public double LeaderChanges { get; init; }

    /// <summary>The GC heap (every generation) after its last collection, at the end of the phase.</summary>
    public double? GcHeapBytes { get; init; }

    /// <summary>Memory the GC had committed at its last collection, at the end of the phase.</summary>
    public double? GcCommittedBytes { get; init; }

    /// <summary>RocksDB's memtables, block cache and table readers at the end of the phase (the node's aurigraph_storage_* gauges).</summary>
    public (double? Memtables, double? BlockCache, double? TableReaders) StorageBytes { get; init; }

    public static NodePipeline Between(ulong nodeId, (ProcessReading Process, Dictionary<string, double> Scrape) first, (ProcessReading Process, Dictionary<string, double> Scrape) last)
    {
        static Dictionary<string, double> Delta(IReadOnlyDictionary<string, double> a, IReadOnlyDictionary<string, double> b)
        {
            var d = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var (k, v) in b)
            {
                d[k] = v - a.GetValueOrDefault(k);
            }
            return d;
        }
        static double? Diff(double? a, double? b) => a is { } x && b is { } y ? y - x : null;
        return new NodePipeline(
            nodeId,
            Diff(MetricsScrape.Sum(first.Scrape, "aurigraph_transactions_committed_total"), MetricsScrape.Sum(last.Scrape, "aurigraph_transactions_committed_total")) ?? 0,
            last.Process.CpuSeconds - first.Process.CpuSeconds,
            Delta(MetricsScrape.ByLabel(first.Scrape, "aurigraph_stage_cpu_seconds_total", "stage"), MetricsScrape.ByLabel(last.Scrape, "aurigraph_stage_cpu_seconds_total", "stage")),
            Delta(first.Process.ThreadCpuSeconds, last.Process.ThreadCpuSeconds),
            Diff(MetricsScrape.Sum(first.Scrape, "dotnet_gc_heap_total_allocated_bytes_total"), MetricsScrape.Sum(last.Scrape, "dotnet_gc_heap_total_allocated_bytes_total")),
            Delta(MetricsScrape.ByLabel(first.Scrape, "dotnet_gc_collections_total", "gc_heap_generation"), MetricsScrape.ByLabel(last.Scrape, "dotnet_gc_collections_total", "gc_heap_generation")),
            Diff(MetricsScrape.Sum(first.Scrape, "dotnet_gc_pause_time_seconds_total"), MetricsScrape.Sum(last.Scrape, "dotnet_gc_pause_time_seconds_total")),
            last.Process.DiskWriteBytes - first.Process.DiskWriteBytes)
        {
            GcHeapBytes = MetricsScrape.Sum(last.Scrape, "dotnet_gc_last_collection_heap_size_bytes"),
            GcCommittedBytes = MetricsScrape.Sum(last.Scrape, "dotnet_gc_last_collection_memory_committed_size_bytes"),
            StorageBytes = (MetricsScrape.Sum(last.Scrape, "aurigraph_storage_memtable_bytes"), MetricsScrape.Sum(last.Scrape, "aurigraph_storage_block_cache_bytes"), MetricsScrape.Sum(last.Scrape, "aurigraph_storage_table_readers_bytes")),
            LeaderChanges = Diff(MetricsScrape.Sum(first.Scrape, "aurigraph_consensus_leader_changes_total"), MetricsScrape.Sum(last.Scrape, "aurigraph_consensus_leader_changes_total")) ?? 0,
        };
    }

    /// <summary>Sum of the stage times (seconds).</summary>
    public double StagesSeconds => StageCpuSeconds.Values.Sum();

    /// <summary>Microseconds per committed transaction of a CPU figure in seconds (NaN when nothing committed).</summary>
    public double PerTransactionMicros(double seconds) => Committed > 0 ? seconds * 1e6 / Committed : double.NaN;
}

/// <summary>The stage table every load and tps report carries: CPU µs per committed transaction, per node and stage.</summary>
public static class StageTable
{
    private static readonly string[] Generations = ["gen0", "gen1", "gen2"];

    public static string Markdown(IReadOnlyList<NodePipeline> nodes)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        if (nodes.Count == 0)
        {
            return "";
        }
        nodes = [.. nodes.OrderBy(n => n.NodeId)];
        sb.AppendLine("### CPU per committed transaction, by stage (µs)");
        sb.AppendLine();
        Header(sb, "stage", nodes, cluster: true);
        void Row(string label, Func<NodePipeline, double> seconds, bool bold = false)
        {
            var cells = nodes.Select(n => n.PerTransactionMicros(seconds(n))).ToList();
            var b = bold ? "**" : "";
            sb.Append(inv, $"| {b}{label}{b} |");
            foreach (var c in cells)
            {
                sb.Append(inv, $" {b}{Cell(c)}{b} |");
            }
            sb.AppendLine(inv, $" {b}{Cell(cells.Where(double.IsFinite).Sum())}{b} |");
        }
        foreach (var stage in Enum.GetValues<PipelineStage>())
        {
            var label = StageMeter.Label(stage);
            Row(label, n => n.StageCpuSeconds.GetValueOrDefault(label));
        }
        Row("all stages", n => n.StagesSeconds, bold: true);
        Row("outside the stages", n => n.ProcessCpuSeconds - n.StagesSeconds);
        Row("process (kernel's utime + stime)", n => n.ProcessCpuSeconds, bold: true);
        sb.AppendLine();
        sb.AppendLine("- stages: the node's own accounting (`aurigraph_stage_cpu_seconds_total{stage}`, thread CPU clock at stage boundaries), scraped at the start and end of the timed phase; ÷ the transactions the node applied in between (`aurigraph_transactions_committed_total`). Outside the stages: the HTTP/2 server and protobuf decoding of calls, TLS, stream reads, the runtime (JIT, GC threads, timers) and RocksDB's background threads. The cluster column sums the nodes: every node applies every transaction.");
        sb.AppendLine();

        var groups = nodes.SelectMany(n => n.ThreadCpuSeconds.Keys).Distinct(StringComparer.Ordinal)
            .Select(g => (Group: g, Total: nodes.Sum(n => n.ThreadCpuSeconds.GetValueOrDefault(g))))
            .Where(g => g.Total > 0.005)
            .OrderByDescending(g => g.Total)
            .ToList();
        if (groups.Count > 0)
        {
            sb.AppendLine("### CPU per committed transaction, by thread (µs, from /proc/<pid>/task)");
            sb.AppendLine();
            Header(sb, "threads", nodes, cluster: true);
            foreach (var (group, _) in groups)
            {
                Row($"`{group}`", n => Math.Max(0, n.ThreadCpuSeconds.GetValueOrDefault(group)));
            }
            Row("threads that exited during the phase", n => n.ProcessCpuSeconds - n.ThreadCpuSeconds.Values.Where(v => v > 0).Sum());
            sb.AppendLine();
        }

        sb.AppendLine("### Memory traffic and storage per committed transaction");
        sb.AppendLine();
        Header(sb, "per transaction", nodes, cluster: false);
        void Line(string label, Func<NodePipeline, string> cell)
        {
            sb.Append(inv, $"| {label} |");
            foreach (var n in nodes)
            {
                sb.Append(inv, $" {cell(n)} |");
            }
            sb.AppendLine();
        }
        Line("transactions applied in the phase", n => n.Committed.ToString("N0", inv));
        Line("bytes allocated (GC heap)", n => n.AllocatedBytes is { } a && n.Committed > 0 ? (a / n.Committed).ToString("N0", inv) : "—");
        Line("bytes written to storage (/proc/<pid>/io write_bytes)", n => n.DiskWriteBytes is { } w && n.Committed > 0 ? (w / n.Committed).ToString("N0", inv) : "—");
        Line("collections gen0 / gen1 / gen2", n => string.Join(" / ", Generations.Select(g => n.GcCollections.GetValueOrDefault(g).ToString("N0", inv))));
        Line("GC pause, ms in the phase", n => n.GcPauseSeconds is { } p ? (p * 1000).ToString("N0", inv) : "—");
        Line("leader changes seen in the phase", n => n.LeaderChanges.ToString("N0", inv));
        static string Mb(double? bytes) => bytes is { } b ? (b / 1048576).ToString("N0", CultureInfo.InvariantCulture) : "—";
        Line("GC heap after the last collection, MB (end of the phase)", n => Mb(n.GcHeapBytes));
        Line("GC memory committed at the last collection, MB", n => Mb(n.GcCommittedBytes));
        Line("RocksDB memtables / block cache / table readers, MB", n => $"{Mb(n.StorageBytes.Memtables)} / {Mb(n.StorageBytes.BlockCache)} / {Mb(n.StorageBytes.TableReaders)}");
        sb.AppendLine();
        return sb.ToString();
    }

    private static void Header(StringBuilder sb, string first, IReadOnlyList<NodePipeline> nodes, bool cluster)
    {
        sb.Append(CultureInfo.InvariantCulture, $"| {first} |");
        foreach (var n in nodes)
        {
            sb.Append(CultureInfo.InvariantCulture, $" node {n.NodeId} |");
        }
        sb.AppendLine(cluster ? " cluster |" : "");
        sb.Append("|---|");
        sb.Append(string.Concat(Enumerable.Repeat("---:|", nodes.Count + (cluster ? 1 : 0))));
        sb.AppendLine();
    }

    private static string Cell(double micros) => double.IsFinite(micros) ? micros.ToString(micros < 10 ? "F2" : "F1", CultureInfo.InvariantCulture) : "—";
}
