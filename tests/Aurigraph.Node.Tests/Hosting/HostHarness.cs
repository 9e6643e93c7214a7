using System.Threading.Channels;
using Aurigraph.Consensus;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transactions;
using Aurigraph.Node.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Hosting;

/// <summary>
/// Drives real consensus hosts (RocksDB in a temporary folder, the real ledger and admission-to-block path) with no
/// threads, sockets or wall clock of their own: one fake clock for all, and a network that holds every message until
/// <see cref="Step"/> delivers it. A step advances the clock one tick, delivers what was sent (in sender order, then
/// send order), then runs one loop round on each running node in id order — so a seed replays a run exactly.
/// A paused node's loop runs no round, so it sends nothing; its peer pump still takes what arrives (a loop busy with a
/// long apply), and the inputs wait in its inbox, stamped with the time they arrived.
/// </summary>
internal sealed class HostHarness : IAsyncDisposable
{
    public const string Chain = "aurigraph-harness";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "aurigraph-harness-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly SortedDictionary<ulong, HarnessNode> _nodes = [];

    private HostHarness()
    {
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public int TickMilliseconds => 50;

    public int ElectionTicks => 20;

    /// <summary>A funded account every node's genesis holds (a fixed key, so runs of one seed are identical).</summary>
    public TransactionSigner Funded { get; } = TransactionSigner.FromSeed(Enumerable.Repeat((byte)7, 32).ToArray());

    public IEnumerable<ulong> Ids => _nodes.Keys;

    public HarnessNode Node(ulong id) => _nodes[id];

    /// <param name="configure">Changes every node's options before its host is built (limits under test).</param>
    public static HostHarness Create(int validators, ulong seed, Action<NodeOptions>? configure = null)
    {
        var harness = new HostHarness();
        var genesis = new Genesis { ChainId = Chain, Accounts = [new GenesisAccount { PublicKey = Convert.ToHexString(harness.Funded.PublicKey), Balance = 1_000_000 }] };
        var members = Enumerable.Range(1, validators).Select(i => new MemberOptions
        {
            Id = (ulong)i,
            Role = Aurigraph.Node.Hosting.NodeRole.Validator,
            PeerAddress = $"127.0.0.1:{40_000 + i}",
            ApiAddress = $"http://127.0.0.1:{41_000 + i}",
            RestAddress = $"http://127.0.0.1:{42_000 + i}",
        }).ToList();
        foreach (var member in members)
        {
            harness._nodes[member.Id] = HarnessNode.Create(harness, member.Id, members, genesis, seed, configure);
        }
        return harness;
    }

    /// <summary>One tick of the shared clock, every message sent so far delivered, one round on each running node.</summary>
    public async Task Step()
    {
        Time.Advance(TimeSpan.FromMilliseconds(TickMilliseconds));
        foreach (var from in _nodes.Values)
        {
            foreach (var (to, input) in from.Network.TakeSent())
            {
                if (_nodes.TryGetValue(to, out var target))
                {
                    await target.Host.DeliverAsync(input);
                }
            }
        }
        foreach (var node in _nodes.Values.Where(n => !n.Paused))
        {
            node.Host.RunRound();
        }
    }

    public async Task StepUntil(Func<bool> done, int maxSteps, string what)
    {
        for (var i = 0; i < maxSteps; i++)
        {
            if (done())
            {
                return;
            }
            await Step();
        }
        Assert.True(done(), $"{what} within {maxSteps} steps");
    }

    /// <summary>The node every running node agrees leads, or 0.</summary>
    public ulong AgreedLeader()
    {
        var leaders = _nodes.Values.Where(n => !n.Paused).Select(n => n.Host.Snapshot.Leader).Distinct().ToList();
        return leaders.Count == 1 && leaders[0] != 0 && _nodes[leaders[0]].Host.Snapshot.RaftRole == Consensus.NodeRole.Leader ? leaders[0] : 0;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Values)
        {
            await node.DisposeAsync();
        }
        Funded.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>One node of the harness: its host, database and held network.</summary>
    internal sealed class HarnessNode : IAsyncDisposable
    {
        private NodeDatabase _database = null!;
        private CarbonPipeline _carbon = null!;
        private NodeMetrics _metrics = null!;

        public NodeMetrics Metrics => _metrics;

        public ConsensusHost Host { get; private set; } = null!;

        public HeldNetwork Network { get; private set; } = null!;

        public TransactionVerifier Verifier { get; private set; } = null!;

        public bool Paused { get; set; }

        public static HarnessNode Create(HostHarness harness, ulong id, List<MemberOptions> members, Genesis genesis, ulong seed, Action<NodeOptions>? configure)
        {
            var dir = Path.Combine(harness._directory, $"node-{id}");
            Directory.CreateDirectory(dir);
            var options = new NodeOptions
            {
                NodeId = id,
                ChainId = Chain,
                DataDir = dir,
                Members = members,
                TickMilliseconds = harness.TickMilliseconds,
                ElectionTicks = harness.ElectionTicks,
                HeartbeatTicks = 1,
                SignatureMode = SignatureMode.None,
            };
            configure?.Invoke(options);
            var node = new HarnessNode { Network = new HeldNetwork(id) };
            node._database = NodeDatabase.Open(dir, Chain, id);
            var log = new RaftLogStorage(node._database, options.LogCacheBytes);
            var store = new LedgerStore(node._database);
            var ledger = LedgerState.FromGenesis(genesis, store, options.Memory.StateCacheBytes);
            using (var batch = new WriteBatch())
            {
                store.AddGenesis(batch, ledger);
                node._database.Db.Write(batch, node._database.SyncWrite);
            }
            ledger.Persisted();
            node.Verifier = new TransactionVerifier(Chain, options.MaxTransactionBytes);
            var carbonOptions = new CarbonOptions { Metering = false };
            var grid = new GridIntensityProviderChain([], StaticGridIntensityTable.LoadEmbedded(), carbonOptions.GridIntensity, harness.Time);
            var services = new CarbonServices(Microsoft.Extensions.Options.Options.Create(carbonOptions), new EnergyModel(carbonOptions), grid, harness.Time);
            var ids = members.Select(m => m.Id).ToList();
            node._carbon = new CarbonPipeline(id, ids, ids, services, node._database, node.Network, log, ledger.Height, NullLogger.Instance);
            node._metrics = new NodeMetrics(() => node.Host.Snapshot);
            node.Host = new ConsensusHost(options, node._database, log, ledger, node.Network, node.Verifier, new SubmissionTracker(), new BlockFeed(),
                NullLogger.Instance, new SeededRandom(seed * 1_000_003 + id), node._metrics, node._carbon, time: harness.Time);
            return node;
        }

        /// <summary>Hands transactions to the loop as admission would (no signature check: the harness's nodes run mode none).</summary>
        public void Submit(params Aurigraph.Node.Api.V1.SignedTransaction[] transactions) =>
            Host.Submit([.. transactions.Select(t => Verifier.Verify(t.Body.Memory, t.Signature.Memory, checkSignature: false).Transaction!)]);

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            _carbon.Dispose();
            _metrics.Dispose();
            _database.Dispose();
        }
    }

    /// <summary>A network that keeps what a node sends until the harness delivers it.</summary>
    internal sealed class HeldNetwork(ulong self) : IPeerNetwork
    {
        private readonly List<(ulong To, PeerInput Input)> _sent = [];
        private readonly Channel<PeerInput> _never = Channel.CreateUnbounded<PeerInput>();

        /// <summary>Every message sent since the harness last took them, kept for inspection.</summary>
        public List<Message> Log { get; } = [];

        /// <summary>Every application message sent, kept for inspection: its destination, channel and size.</summary>
        public List<(ulong To, byte Channel, int Bytes)> Applications { get; } = [];

        public ChannelReader<PeerInput> Incoming => _never.Reader;

        public IReadOnlyList<PeerTrafficCounters> Traffic => [];

        private readonly HashSet<ulong> _peers = [];

        public IReadOnlyCollection<ulong> Peers
        {
            get
            {
                lock (_peers)
                {
                    return [.. _peers];
                }
            }
        }

        public bool AddPeer(ulong id, System.Net.IPEndPoint endPoint, WanLink? wan = null)
        {
            lock (_peers)
            {
                return id != self && _peers.Add(id);
            }
        }

        public bool RemovePeer(ulong id)
        {
            lock (_peers)
            {
                return _peers.Remove(id);
            }
        }

        public void Send(Message message)
        {
            lock (_sent)
            {
                _sent.Add((message.To, new PeerInput(self, message, 0, ReadOnlyMemory<byte>.Empty)));
                Log.Add(message);
            }
        }

        public void SendApplication(ulong to, byte channel, ReadOnlyMemory<byte> payload)
        {
            lock (_sent)
            {
                _sent.Add((to, new PeerInput(self, null, channel, payload)));
                Applications.Add((to, channel, payload.Length));
            }
        }

        public List<(ulong To, PeerInput Input)> TakeSent()
        {
            lock (_sent)
            {
                var taken = _sent.ToList();
                _sent.Clear();
                return taken;
            }
        }
    }
}
