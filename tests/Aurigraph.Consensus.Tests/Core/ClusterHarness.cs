namespace Aurigraph.Consensus.Tests.Core;

/// <summary>
/// A hand-driven cluster for scripted scenarios: the test decides which messages are delivered, when nodes
/// tick, crash and restart. Each node's host loop persists synchronously (its "disk" is a MemoryLogStorage
/// that survives a crash), then sends, applies and advances.
/// </summary>
internal sealed class ClusterHarness
{
    private readonly Dictionary<ulong, MemoryLogStorage> _storage = [];
    private readonly Dictionary<ulong, RaftNode> _nodes = [];
    private readonly List<ulong> _voters;
    private readonly List<ulong> _learners;
    private readonly Func<RaftConfig, RaftConfig> _configure;
    private ulong _seed = 1;

    public ClusterHarness(int voters, int learners = 0, Func<RaftConfig, RaftConfig>? configure = null)
    {
        _voters = [.. Enumerable.Range(1, voters).Select(i => (ulong)i)];
        _learners = [.. Enumerable.Range(voters + 1, learners).Select(i => (ulong)i)];
        _configure = configure ?? (c => c);
        foreach (var id in _voters.Concat(_learners))
        {
            _storage[id] = new MemoryLogStorage();
            Applied[id] = [];
            Start(id);
        }
    }

    /// <summary>Messages sent and not yet delivered, in send order.</summary>
    public List<Message> Network { get; } = [];

    /// <summary>Entries each node applied, in order (reset when a node restarts, as its state machine is volatile).</summary>
    public Dictionary<ulong, List<Entry>> Applied { get; } = [];

    public Dictionary<ulong, List<ReadState>> Reads { get; } = [];

    public HashSet<ulong> Down { get; } = [];

    public IEnumerable<ulong> Ids => _nodes.Keys;

    public RaftNode this[ulong id] => _nodes[id];

    public MemoryLogStorage StorageOf(ulong id) => _storage[id];

    private void Start(ulong id)
    {
        var config = new RaftConfig
        {
            Id = id,
            Voters = _voters,
            Learners = _learners,
            Storage = _storage[id],
            Random = new SeededRandom(_seed++),
        };
        _nodes[id] = new RaftNode(_configure(config));
        Applied[id] = [];
        Reads[id] = [];
    }

    /// <summary>Runs a node's host loop until it has nothing left to do.</summary>
    public void Process(ulong id)
    {
        if (Down.Contains(id))
        {
            return;
        }
        var node = _nodes[id];
        while (node.HasReady)
        {
            var ready = node.GetReady();
            Network.AddRange(ready.Messages);
            if (ready.HardState is { } hs)
            {
                _storage[id].SetHardState(hs);
            }
            _storage[id].Append(ready.Entries);
            Network.AddRange(ready.MessagesAfterPersist);
            Applied[id].AddRange(ready.CommittedEntries);
            Reads[id].AddRange(ready.ReadStates);
            node.Advance(ready);
        }
    }

    public void ProcessAll()
    {
        foreach (var id in _nodes.Keys)
        {
            Process(id);
        }
    }

    /// <summary>Delivers in-flight messages the filter allows (dropping the rest) until the network is quiet.</summary>
    public int Stabilize(Func<Message, bool>? allow = null)
    {
        var delivered = 0;
        ProcessAll();
        while (Network.Count > 0)
        {
            var batch = Network.ToArray();
            Network.Clear();
            foreach (var m in batch)
            {
                if (Down.Contains(m.To) || (allow is not null && !allow(m)))
                {
                    continue;
                }
                _nodes[m.To].Step(m);
                delivered++;
                Process(m.To);
            }
            ProcessAll();
        }
        return delivered;
    }

    /// <summary>Only messages whose sender and receiver are both in <paramref name="group"/>.</summary>
    public static Func<Message, bool> Within(params ulong[] group) => m => group.Contains(m.From) && group.Contains(m.To);

    public void Tick(ulong id, int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            _nodes[id].Tick();
        }
        Process(id);
    }

    /// <summary>Starts elections at <paramref name="id"/> until it leads, delivering only what <paramref name="allow"/> permits.</summary>
    public void Elect(ulong id, Func<Message, bool>? allow = null)
    {
        for (var attempt = 0; attempt < 5 && _nodes[id].Role != NodeRole.Leader; attempt++)
        {
            _nodes[id].ForceElection();
            Stabilize(allow);
        }
        Assert.Equal(NodeRole.Leader, _nodes[id].Role);
    }

    /// <summary>The node stops: it loses everything not persisted; messages to it are dropped.</summary>
    public void Crash(ulong id)
    {
        Down.Add(id);
        Network.RemoveAll(m => m.From == id || m.To == id);
    }

    public void Restart(ulong id)
    {
        Down.Remove(id);
        Start(id);
    }
}
