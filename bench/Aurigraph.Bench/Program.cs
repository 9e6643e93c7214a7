using System.CommandLine;
using BenchmarkDotNet.Running;

// Cluster runs are commands (load, peer etcd, tps); anything else goes to the BenchmarkDotNet suites, grouped by
// area (folder = namespace): pick with --filter, e.g. --filter '*Core*'.
string[] commands = ["load", "peer", "tps", "metering-overhead", "tls-overhead", "snapshot"];
if (args.Length > 0 && commands.Contains(args[0]))
{
    var root = new RootCommand("Aurigraph cluster benchmarks.")
    {
        Aurigraph.Bench.Load.LoadCommand.Create(),
        Aurigraph.Bench.Peer.PeerCommand.Create(),
        Aurigraph.Bench.Load.TpsCommand.Create(),
        Aurigraph.Bench.Load.MeteringOverheadCommand.Create(),
        Aurigraph.Bench.Load.MeteringOverheadCommand.CreateTls(),
        Aurigraph.Bench.Snapshots.SnapshotCommand.Create(),
    };
    return await root.Parse(args).InvokeAsync();
}
BenchmarkSwitcher.FromAssembly(typeof(Aurigraph.Bench.Consensus.CoreCommitBenchmarks).Assembly).Run(args);
return 0;
