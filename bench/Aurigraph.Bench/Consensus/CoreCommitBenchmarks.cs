using Aurigraph.Consensus;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Aurigraph.Bench.Consensus;

/// <summary>
/// Entries and bytes committed per second by the consensus core alone: a 3-voter in-memory cluster with
/// instant delivery. One operation = one entry proposed, replicated to both followers, committed and
/// applied everywhere; the batch of <see cref="EntriesPerInvoke"/> is proposed at once, as a leader
/// under load would. The cluster is rebuilt every iteration so the in-memory log does not grow without end.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
[SimpleJob(warmupCount: 3, iterationCount: 10, invocationCount: 8)]
public class CoreCommitBenchmarks
{
    public const int EntriesPerInvoke = 256;

    private InMemoryCluster _cluster = null!;
    private byte[] _payload = [];

    [Params(100, 64 * 1024, 1024 * 1024)]
    public int EntryBytes { get; set; }

    [GlobalSetup]
    public void Setup() => _payload = new byte[EntryBytes];

    [IterationSetup]
    public void NewCluster() => _cluster = new InMemoryCluster(3);

    [Benchmark(OperationsPerInvoke = EntriesPerInvoke)]
    public long CommitEntries()
    {
        var leader = _cluster.Leader;
        var target = leader.LastIndex + EntriesPerInvoke;
        for (var i = 0; i < EntriesPerInvoke; i++)
        {
            leader.Propose(_payload);
        }
        _cluster.Pump();
        if (leader.CommitIndex != target)
        {
            throw new InvalidOperationException($"committed {leader.CommitIndex}, expected {target}");
        }
        return _cluster.EntriesApplied;
    }

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig()
        {
            AddColumn(StatisticColumn.OperationsPerSecond);
            AddColumn(new MegabytesPerSecondColumn());
        }
    }

    /// <summary>Payload megabytes committed per second (operations per second × entry size).</summary>
    private sealed class MegabytesPerSecondColumn : IColumn
    {
        public string Id => nameof(MegabytesPerSecondColumn);

        public string ColumnName => "MB/s";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Payload megabytes (10^6 B) committed per second";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is not { } stats)
            {
                return "-";
            }
            var size = (int)benchmarkCase.Parameters["EntryBytes"];
            var opsPerSecond = 1e9 / stats.Mean;
            return (opsPerSecond * size / 1e6).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        }

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}
