using Aurigraph.Node.Carbon;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Tests.Hosting;
using Aurigraph.Node.Transactions;
using Microsoft.Extensions.Logging.Abstractions;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>
/// The meter's open interval across runs of one node: kept in its database at a graceful stop, carried by the next run's
/// first reading, and forgotten in the batch that stores that reading, so that it is counted once.
/// </summary>
public sealed class CarbonMeterTailTests : IDisposable
{
    private const string Chain = "aurigraph-tail";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-tail-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>One run of a single-node carbon pipeline over the node's database, in a process the test drives.</summary>
    private sealed class NodeRun : IDisposable
    {
        public NodeRun(string dir, FakeProcess process)
        {
            Database = NodeDatabase.Open(dir, Chain, 1);
            Pipeline = new CarbonPipeline(1, [1UL], [1UL], CarbonServices.CreateOffline(CarbonTestData.Options), Database, new HostHarness.HeldNetwork(1), new RaftLogStorage(Database), 0, NullLogger.Instance, process);
            Pipeline.OnRound(leading: true, leader: 1);
        }

        public NodeDatabase Database { get; }

        public CarbonPipeline Pipeline { get; }

        /// <summary>The kept tail in the database now.</summary>
        public MeterInterval? StoredTail => Pipeline.Ledger.ReadMeterTail();

        public MeterUsage ReadingOf(ulong height) => Pipeline.Ledger.ReadOwnReadings().Single(r => r.Height == height).Usage;

        /// <summary>Applies one block in its own round; <paramref name="written"/> false: the node goes down before the batch is written.</summary>
        public void Apply(ulong height, int transactions, bool written = true)
        {
            using var batch = new WriteBatch();
            var block = new AppliedBlock(height, height, 1, new byte[32], new byte[32], new byte[32], new byte[32], new TransactionId[transactions],
                [.. Enumerable.Repeat(ReceiptRecord.Ok, transactions)], SenderList.FromArrays(new byte[]?[transactions]), StateWriteSet.Empty);
            Pipeline.OnBlockApplied(batch, block, batch.AsSpan().Length);
            Pipeline.OnApplyRound(batch);
            if (written)
            {
                Database.Db.Write(batch, Database.StateWrite);
            }
        }

        public void Dispose()
        {
            Pipeline.Dispose();
            Database.Dispose();
        }
    }

    [Fact]
    public void The_open_interval_kept_at_a_stop_is_carried_by_the_next_runs_first_reading_and_counted_once()
    {
        var first = new FakeProcess();
        MeterInterval tail;
        MeterTotals firstTotals;
        using (var run = new NodeRun(_dir, first))
        {
            Assert.Null(run.StoredTail);
            first.Run(wall: 10_000, cpu: 4_000);
            run.Apply(1, 2);
            first.Run(wall: 3_000, cpu: 1_500); // open when the node stops
            tail = run.Pipeline.PersistOpenInterval()!.Value;
            Assert.Null(run.Pipeline.PersistOpenInterval()); // kept once
            firstTotals = run.Pipeline.MeterTotals!;
        }
        Assert.Equal(1_500, tail.CpuMicros);
        Assert.Equal(3_000, tail.WallMicros);
        // The first run's reading was written after its close, and the tail itself: both are in the tail's storage bytes.
        Assert.True(tail.StoredBytes > CarbonLedger.MeterTailBytes, $"{tail.StoredBytes} stored");

        // The second run goes down right after its first reading was made, before the batch was written: the tail stays.
        using (var run = new NodeRun(_dir, new FakeProcess()))
        {
            Assert.Equal(tail, run.StoredTail);
            run.Apply(2, 1, written: false);
            Assert.Equal(tail, run.StoredTail); // not forgotten outside the reading's batch
        }

        var second = new FakeProcess();
        MeterInterval secondTail;
        using (var run = new NodeRun(_dir, second))
        {
            Assert.Equal(tail, run.StoredTail);
            second.Run(wall: 2_000, cpu: 700);
            run.Apply(2, 1);

            Assert.Null(run.StoredTail); // forgotten with the reading that carries it
            var reading = run.ReadingOf(2);
            Assert.Equal(1_500 + 700, reading.CpuMicros);
            Assert.Equal(3_000 + 2_000, reading.WallMicros);
            var totals = run.Pipeline.MeterTotals!;
            Assert.Equal(tail, totals.Carried);
            Assert.Equal(first.Cpu + second.Cpu, firstTotals.CpuMicros + totals.CpuMicros);
            Assert.Equal(first.Wall + second.Wall, firstTotals.WallMicros + totals.WallMicros);

            second.Run(wall: 1_000, cpu: 300);
            secondTail = run.Pipeline.PersistOpenInterval()!.Value;
        }
        // The second stop keeps only its own open interval: the first tail is not in it again.
        Assert.Equal(300, secondTail.CpuMicros);
        Assert.Equal(1_000, secondTail.WallMicros);

        using (var run = new NodeRun(_dir, new FakeProcess()))
        {
            Assert.Equal(secondTail, run.StoredTail);
            run.Apply(3, 1);
            Assert.Equal(300, run.ReadingOf(3).CpuMicros);
            Assert.Null(run.StoredTail);
        }

        // A run that did not stop gracefully kept nothing: the next one carries nothing.
        var fourth = new FakeProcess();
        using (var run = new NodeRun(_dir, fourth))
        {
            Assert.Null(run.StoredTail);
            fourth.Run(wall: 500, cpu: 100);
            run.Apply(4, 1);
            Assert.Equal(100, run.ReadingOf(4).CpuMicros);
            Assert.Equal(default, run.Pipeline.MeterTotals!.Carried);
        }
    }

    [Fact]
    public void The_tail_is_this_nodes_own_and_stays_out_of_snapshots()
    {
        Assert.True(CarbonLedger.IsLocalKey([CarbonLedger.MeterTailPrefix]));
        Assert.False(CarbonLedger.IsLocalKey("t"u8));
    }
}
