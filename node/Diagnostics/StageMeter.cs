using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Aurigraph.Node.Diagnostics;

/// <summary>
/// CPU time per pipeline stage, summed over every thread that works in it, exported as
/// <c>aurigraph_stage_cpu_seconds_total{stage}</c>. A stage's code takes a reading with <see cref="Start"/> and closes
/// it with <see cref="Lap"/> (which returns the closing reading, so back-to-back stages cost one clock read each);
/// both ends must be on one thread with no await between them. Readings are the thread's CPU clock
/// (<see cref="ThreadCpuClock"/>): one per stage boundary, never one per transaction, so a round of a thousand
/// transactions pays a few hundred nanoseconds for its accounting.
/// </summary>
public sealed class StageMeter : IDisposable
{
    public const string MeterName = "Aurigraph.Node.Stages";

    // Each stage's nanoseconds sit in their own 64-byte line: stages are added to from many threads at once.
    private const int Stride = 8;

    private static readonly string[] Names = [.. Enum.GetValues<PipelineStage>().Select(SnakeCase)];

    private readonly long[] _nanoseconds = new long[Names.Length * Stride];
    private readonly Meter? _meter;

    /// <param name="enabled">false: every call is a no-op returning 0 (no clock is read).</param>
    /// <param name="exported">Whether to publish the totals as metrics (tests make meters that are not).</param>
    public StageMeter(bool enabled = true, bool exported = true)
    {
        Enabled = enabled;
        if (!exported)
        {
            return;
        }
        _meter = new Meter(MeterName);
        _meter.CreateObservableCounter("aurigraph.stage.cpu", Observe, unit: "s",
            description: "CPU time spent in each pipeline stage, summed over its threads (thread CPU clock; wall time where the platform has none)");
        _meter.CreateObservableGauge("aurigraph.stage.thread_cpu_clock", () => enabled && ThreadCpuClock.IsThreadCpu ? 1 : 0,
            description: "1 when stage times are per-thread CPU time, 0 when they are wall time or accounting is off");
    }

    /// <summary>A meter that times nothing and exports nothing, for parts used without a host.</summary>
    public static StageMeter Off { get; } = new(enabled: false, exported: false);

    /// <summary>Whether stages are timed (Aurigraph:StageAccounting).</summary>
    public bool Enabled { get; }

    /// <summary>A reading that opens a stage (0 when accounting is off).</summary>
    public long Start() => Enabled ? ThreadCpuClock.Now() : 0;

    /// <summary>Closes a stage opened at <paramref name="since"/> and returns the reading that closed it (0 when off).</summary>
    public long Lap(PipelineStage stage, long since)
    {
        if (!Enabled)
        {
            return 0;
        }
        var now = ThreadCpuClock.Now();
        Add(stage, now - since);
        return now;
    }

    /// <summary>Adds time measured elsewhere (or subtracts a nested stage's share, with a negative amount).</summary>
    public void Add(PipelineStage stage, long nanoseconds)
    {
        if (Enabled && nanoseconds != 0)
        {
            Interlocked.Add(ref _nanoseconds[(int)stage * Stride], nanoseconds);
        }
    }

    /// <summary>
    /// <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/> whose helper threads' CPU is charged to
    /// <paramref name="stage"/>: each worker reads its thread clock when it starts and when it ends (not per item). The
    /// calling thread takes part too; its share is already inside whatever stage the caller is timing, so only the other
    /// threads' time is added here.
    /// </summary>
    public void For(int count, ParallelOptions options, PipelineStage stage, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!Enabled)
        {
            Parallel.For(0, count, options, body);
            return;
        }
        var caller = Environment.CurrentManagedThreadId;
        Parallel.For(
            0,
            count,
            options,
            () => Environment.CurrentManagedThreadId == caller ? -1L : ThreadCpuClock.Now(),
            (i, _, started) =>
            {
                body(i);
                return started;
            },
            started =>
            {
                if (started >= 0)
                {
                    Add(stage, ThreadCpuClock.Now() - started);
                }
            });
    }

    /// <summary>The stage's total so far, in nanoseconds.</summary>
    public long Total(PipelineStage stage) => Volatile.Read(ref _nanoseconds[(int)stage * Stride]);

    /// <summary>The metric's label for a stage: its name in snake case (BlockBuild → block_build).</summary>
    public static string Label(PipelineStage stage) => Names[(int)stage];

    private IEnumerable<Measurement<double>> Observe()
    {
        for (var i = 0; i < Names.Length; i++)
        {
            // A nested stage is subtracted from its parent after the fact, so a scrape between the two can see a
            // parent a little low; never below zero.
            var total = Math.Max(0, Volatile.Read(ref _nanoseconds[i * Stride]));
            yield return new Measurement<double>(total / 1e9, new KeyValuePair<string, object?>("stage", Names[i]));
        }
    }

    private static string SnakeCase(PipelineStage stage)
    {
        var name = stage.ToString();
        var text = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                text.Append('_');
            }
            text.Append(char.ToLowerInvariant(name[i]));
        }
        Debug.Assert(text.Length > 0, "every stage has a name");
        return text.ToString();
    }

    public void Dispose() => _meter?.Dispose();
}
