using System.CommandLine;
using System.Globalization;
using Aurigraph.Consensus.Simulation;

// The long-running simulator: any number of seeds, seeds per second, and a trace for any one seed.
var seedsOption = new Option<int>("--seeds") { Description = "How many seeds to run.", DefaultValueFactory = _ => 2_000 };
var startOption = new Option<ulong>("--start") { Description = "First seed of the range.", DefaultValueFactory = _ => 1 };
var seedOption = new Option<ulong?>("--seed") { Description = "Run a single seed and print its summary." };
var traceOption = new Option<bool>("--trace") { Description = "With --seed: print the run's event trace." };
var unsafeOption = new Option<UnsafeCore>("--unsafe") { Description = "Run the core with a test-only fault (Figure8, SnapshotIndexOnly, LeaseWithoutQuorumRecency, ReadIndexWithoutQuorumRound, MembershipChangeBeforeTermCommit) and expect violations." };
var pauseLosesTicksOption = new Option<bool>("--pause-loses-ticks") { Description = "Host fault: a paused node's ticks are lost, not queued (expect stale lease reads)." };
var parallelOption = new Option<int>("--parallel") { Description = "Worker threads.", DefaultValueFactory = _ => Environment.ProcessorCount };

var root = new RootCommand("Aurigraph consensus simulator: seeded, fault-injecting runs of a HyperRAFT++ cluster with safety, liveness and linearizability checks.")
{
    seedsOption, startOption, seedOption, traceOption, unsafeOption, parallelOption, pauseLosesTicksOption,
};

root.SetAction(parse =>
{
    var unsafeCore = parse.GetValue(unsafeOption);
    var pauseLosesTicks = parse.GetValue(pauseLosesTicksOption);
    SimulationOptions Adjust(SimulationOptions o) => pauseLosesTicks ? o with { PauseLosesTicks = true } : o;
    if (parse.GetValue(seedOption) is { } single)
    {
        var result = ClusterSimulation.Run(single, Adjust(SimulationOptions.ForSeed(single, unsafeCore)) with { Trace = parse.GetValue(traceOption) });
        if (result.Trace is not null)
        {
            Console.WriteLine(result.Trace);
        }
        Console.WriteLine(ClusterSimulation.Describe(result));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"events {result.Events}, leaders {result.LeadersElected}, applied {result.AppliedEntries}, ops ok {result.OkOperations} unknown {result.UnknownOperations}, crashes {result.Crashes}, compactions {result.Compactions}, snapshots sent {result.SnapshotsSent} installed {result.SnapshotInstalls} resumed {result.SnapshotResumes} failed {result.SnapshotFailures}, membership changes {result.MembershipChanges} applied {result.MembershipChangesApplied}, pauses {result.Pauses}, reads taken by deposed leaders {result.StaleLeaderReads}, fingerprint {result.Fingerprint:x16}"));
        return result.Passed ? 0 : 1;
    }

    var seeds = parse.GetValue(seedsOption);
    var start = parse.GetValue(startOption);
    var lastReport = DateTime.UtcNow;
    var summary = SimulationSweep.Run(start, seeds, unsafeCore, parallelism: parse.GetValue(parallelOption), adjust: Adjust, progress: n =>
    {
        if (n % 1000 == 0)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {n} seeds..."));
        }
    });
    foreach (var failure in summary.Failures)
    {
        Console.WriteLine(ClusterSimulation.Describe(failure));
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{summary.Seeds} seeds from {start} in {summary.Elapsed.TotalSeconds:F1} s: {summary.SeedsPerSecond:F1} seeds/s, {summary.Events} events, {summary.AppliedEntries} entries applied, {summary.Operations} client operations, {summary.Crashes} crashes, {summary.Compactions} compactions, {summary.SnapshotsSent} snapshots sent ({summary.SnapshotResumes} resumed transfers, {summary.SnapshotFailures} reported failed), {summary.SnapshotInstalls} installed, {summary.MembershipChanges} membership changes proposed ({summary.MembershipChangesApplied} applied), {summary.Pauses} pauses, {summary.StaleLeaderReads} reads taken by deposed leaders; {summary.Failures.Count} failing"));
    return summary.Failures.Count == 0 ? 0 : 1;
});

return root.Parse(args).Invoke();
