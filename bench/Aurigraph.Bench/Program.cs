using BenchmarkDotNet.Running;

// BenchmarkDotNet suites, grouped by area (folder = namespace). Pick with --filter, e.g. --filter '*Core*'.
BenchmarkSwitcher.FromAssembly(typeof(Aurigraph.Bench.Consensus.CoreCommitBenchmarks).Assembly).Run(args);
