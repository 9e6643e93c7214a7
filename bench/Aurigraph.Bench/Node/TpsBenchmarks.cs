using System.Net;
using System.Net.Sockets;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Ledger;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Aurigraph.Bench.Node;

/// <summary>
/// Transactions per second through a 3-validator cluster in this process: three full node runtimes (consensus
/// loop, RocksDB in a temporary folder, the TCP peer transport on loopback), transactions submitted in batches to
/// the leader's admission path (signature verification included) and awaited until committed. One operation = one
/// committed transaction. The cluster is fresh for every iteration, so every iteration starts from genesis.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(OpsConfig))]
[SimpleJob(RunStrategy.Monitoring, warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class TpsBenchmarks
{
    private const int Batch = 500;
    private SignedSet _set = null!;
    private string _dir = "";
    private NodeRuntime[] _nodes = [];

    /// <summary>Transactions committed per invocation (the Op/s column is therefore transactions per second).</summary>
    public const int Transactions = 20_000;

    [GlobalSetup]
    public void Setup() => _set = new SignedSet(Transactions, 256, puts: true);

    [GlobalCleanup]
    public void Cleanup() => _set.Dispose();

    [IterationSetup]
    public void StartCluster()
    {
        _dir = Path.Combine(Path.GetTempPath(), "aurigraph-tps-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
        var genesis = Path.Combine(_dir, "genesis.json");
        _set.Genesis.Save(genesis);
        var ports = FreePorts(9);
        var members = Enumerable.Range(1, 3).Select(i => new MemberOptions
        {
            Id = (ulong)i,
            Role = NodeRole.Validator,
            PeerAddress = $"127.0.0.1:{ports[i - 1]}",
            ApiAddress = $"http://127.0.0.1:{ports[i + 2]}",
            RestAddress = $"http://127.0.0.1:{ports[i + 5]}",
        }).ToList();
        _nodes = [.. members.Select(m => new NodeRuntime(Options.Create(new NodeOptions
        {
            NodeId = m.Id,
            ChainId = SignedSet.Chain,
            DataDir = Path.Combine(_dir, $"node-{m.Id}"),
            GenesisFile = genesis,
            Members = members,
        }), NullLoggerFactory.Instance))];
        foreach (var node in _nodes)
        {
            node.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        // Wait for an agreed leader before timing.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(_nodes.All(n => n.Snapshot.Leader != 0) && _nodes.Select(n => n.Snapshot.Leader).Distinct().Count() == 1))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("no leader within 30 s");
            }
            Thread.Sleep(20); // polling the runtimes' published state against the deadline above; there is no leader event to wait on
        }
    }

    [IterationCleanup]
    public void StopCluster()
    {
        foreach (var node in _nodes)
        {
            node.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = Transactions)]
    public async Task<int> CommitTransactions()
    {
        var leader = _nodes.First(n => n.Snapshot.Leader == n.Options.NodeId);
        // Batches in flight at once; each sender's transactions appear in nonce order across batches, and batches
        // are handed to admission in order before any is awaited.
        var calls = new List<Task<SubmitTransactionsResponse>>();
        for (var i = 0; i < _set.Transactions.Length; i += Batch)
        {
            calls.Add(leader.SubmitAsync(Aurigraph.Node.Transactions.SubmissionBatch.From(_set.Transactions.AsMemory(i, Math.Min(Batch, _set.Transactions.Length - i)).ToArray()), CancellationToken.None));
        }
        var committed = 0;
        foreach (var call in calls)
        {
            committed += (await call).Results.Count(r => r.State == TransactionState.Committed);
        }
        return committed == _set.Transactions.Length ? committed : throw new InvalidOperationException($"{committed} of {_set.Transactions.Length} committed");
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }
}
