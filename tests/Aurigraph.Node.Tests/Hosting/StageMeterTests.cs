using System.Diagnostics.Metrics;
using Aurigraph.Node.Diagnostics;

namespace Aurigraph.Node.Tests.Hosting;

public sealed class StageMeterTests
{
    /// <summary>Spins until the calling thread has used at least <paramref name="nanoseconds"/> of CPU.</summary>
    private static void Burn(long nanoseconds)
    {
        var until = ThreadCpuClock.Now() + nanoseconds;
        var x = 0UL;
        while (ThreadCpuClock.Now() < until)
        {
            x = (x * 6364136223846793005UL) + 1442695040888963407UL;
        }
        GC.KeepAlive(x);
    }

    [Fact]
    public void A_lap_charges_the_threads_cpu_since_the_last_boundary_to_its_stage()
    {
        Assert.True(ThreadCpuClock.IsThreadCpu, "the per-thread CPU clock is available on Linux");
        using var meter = new StageMeter(enabled: true, exported: false);
        var t = meter.Start();
        Burn(3_000_000);
        t = meter.Lap(PipelineStage.Apply, t);
        Burn(1_000_000);
        meter.Lap(PipelineStage.StoreWrite, t);

        Assert.InRange(meter.Total(PipelineStage.Apply), 3_000_000, 50_000_000);
        Assert.InRange(meter.Total(PipelineStage.StoreWrite), 1_000_000, 50_000_000);
        Assert.Equal(0, meter.Total(PipelineStage.Raft));
    }

    [Fact]
    public void Time_spent_blocked_is_not_cpu()
    {
        using var meter = new StageMeter(enabled: true, exported: false);
        using var never = new ManualResetEventSlim(false);
        var t = meter.Start();
        never.Wait(TimeSpan.FromMilliseconds(200)); // blocked, not running: the thread clock barely moves
        meter.Lap(PipelineStage.LoopOther, t);
        Assert.InRange(meter.Total(PipelineStage.LoopOther), 0, 20_000_000);
    }

    [Fact]
    public void A_meter_that_is_off_reads_no_clock_and_keeps_nothing()
    {
        var meter = StageMeter.Off;
        Assert.Equal(0, meter.Start());
        Burn(1_000_000);
        Assert.Equal(0, meter.Lap(PipelineStage.Apply, 0));
        meter.Add(PipelineStage.Apply, 5);
        Assert.Equal(0, meter.Total(PipelineStage.Apply));
    }

    [Fact]
    public void Parallel_work_charges_the_helper_threads_and_not_the_caller_twice()
    {
        using var meter = new StageMeter(enabled: true, exported: false);
        // Only the caller runs the items: its time belongs to whatever the caller is timing, so nothing is added.
        meter.For(8, new ParallelOptions { MaxDegreeOfParallelism = 1 }, PipelineStage.Verify, _ => Burn(500_000));
        Assert.Equal(0, meter.Total(PipelineStage.Verify));

        // Items that block until a second thread has joined: at least one helper ran items and its time is charged.
        using var bothRunning = new Barrier(2);
        meter.For(2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, PipelineStage.Verify, _ =>
        {
            Assert.True(bothRunning.SignalAndWait(TimeSpan.FromSeconds(30)), "a second thread took an item");
            Burn(2_000_000);
        });
        Assert.InRange(meter.Total(PipelineStage.Verify), 2_000_000, 200_000_000);
    }

    [Fact]
    public void Every_stage_is_exported_in_seconds_with_its_snake_case_label()
    {
        // Other meters of the same name may live in this process (nodes of other tests): values are kept per instrument.
        var seen = new Dictionary<Instrument, Dictionary<string, double>>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StageMeter.MeterName && instrument.Name == "aurigraph.stage.cpu")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "stage")
                {
                    lock (seen)
                    {
                        (seen.TryGetValue(instrument, out var values) ? values : seen[instrument] = [])[(string)tag.Value!] = value;
                    }
                }
            }
        });
        listener.Start();
        using var meter = new StageMeter(enabled: true, exported: true);
        meter.Add(PipelineStage.BlockBuild, 1_500_000_000);
        listener.RecordObservableInstruments();

        var ours = Assert.Single(seen.Values, v => v.TryGetValue("block_build", out var b) && Math.Abs(b - 1.5) < 1e-9);
        Assert.Equal(Enum.GetValues<PipelineStage>().Length, ours.Count);
        Assert.Equal(0, ours["replication_send"]);
        Assert.Contains("log_persist", ours.Keys);
    }
}
