using System.Collections.Concurrent;
using System.Diagnostics;

namespace Aurigraph.Consensus.Simulation;

/// <summary>Totals of a run over many seeds.</summary>
public sealed record SweepSummary(
    ulong FirstSeed,
    int Seeds,
    IReadOnlyList<SimulationResult> Failures,
    long Events,
    long AppliedEntries,
    long Operations,
    long Crashes,
    TimeSpan Elapsed,
    long SnapshotsSent = 0,
    long SnapshotInstalls = 0,
    long Compactions = 0,
    long SnapshotResumes = 0,
    long SnapshotFailures = 0,
    long MembershipChanges = 0,
    long MembershipChangesApplied = 0,
    long Pauses = 0,
    long StaleLeaderReads = 0)
{
    public double SeedsPerSecond => Seeds / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>Runs a range of seeds across the machine's cores. Each seed is independent and deterministic.</summary>
public static class SimulationSweep
{
    public static SweepSummary Run(ulong firstSeed, int seeds, UnsafeCore unsafeCore = UnsafeCore.None, int maxFailures = 10, int? parallelism = null, Action<int>? progress = null, Func<SimulationOptions, SimulationOptions>? adjust = null)
    {
        var failures = new ConcurrentBag<SimulationResult>();
        long events = 0, applied = 0, ops = 0, crashes = 0, snapshotsSent = 0, installs = 0, compactions = 0, resumes = 0, snapshotFailures = 0, changes = 0, changesApplied = 0, pauses = 0, staleReads = 0;
        var done = 0;
        var clock = Stopwatch.StartNew();
        Parallel.For(
            0,
            seeds,
            new ParallelOptions { MaxDegreeOfParallelism = parallelism ?? Environment.ProcessorCount },
            (i, state) =>
            {
                var seed = firstSeed + (ulong)i;
                var options = SimulationOptions.ForSeed(seed, unsafeCore);
                var result = ClusterSimulation.Run(seed, adjust is null ? options : adjust(options));
                Interlocked.Add(ref events, result.Events);
                Interlocked.Add(ref applied, result.AppliedEntries);
                Interlocked.Add(ref ops, result.OkOperations + result.UnknownOperations);
                Interlocked.Add(ref crashes, result.Crashes);
                Interlocked.Add(ref snapshotsSent, result.SnapshotsSent);
                Interlocked.Add(ref installs, result.SnapshotInstalls);
                Interlocked.Add(ref compactions, result.Compactions);
                Interlocked.Add(ref resumes, result.SnapshotResumes);
                Interlocked.Add(ref snapshotFailures, result.SnapshotFailures);
                Interlocked.Add(ref changes, result.MembershipChanges);
                Interlocked.Add(ref changesApplied, result.MembershipChangesApplied);
                Interlocked.Add(ref pauses, result.Pauses);
                Interlocked.Add(ref staleReads, result.StaleLeaderReads);
                if (!result.Passed)
                {
                    failures.Add(result);
                    if (failures.Count >= maxFailures)
                    {
                        state.Stop();
                    }
                }
                var n = Interlocked.Increment(ref done);
                progress?.Invoke(n);
            });
        clock.Stop();
        return new SweepSummary(firstSeed, done, [.. failures.OrderBy(f => f.Seed)], events, applied, ops, crashes, clock.Elapsed, snapshotsSent, installs, compactions, resumes, snapshotFailures, changes, changesApplied, pauses, staleReads);
    }
}
