namespace Aurigraph.Consensus.Tests.Core;

/// <summary>
/// A hand-driven cluster for scripted scenarios: the test decides which messages are delivered, when nodes
/// tick, crash and restart. Each node's host loop persists synchronously (its "disk" is a MemoryLogStorage
/// that survives a crash), then sends, applies and advances. A snapshot message is delivered as if its data
/// streamed at once, and its outcome reported to the sender (failure when the message is dropped).
/// </summary>
internal sealed class ClusterHarness
{
    private readonly Dictionary<ulong, MemoryLogStorage> _storage = [];
    private readonly Dictionary<ulong, RaftNode> _nodes = [];
    private readonly Dictionary<ulong, (List<ulong> Voters, List<ulong> Learners)> _bootstrap = [];
    private readonly Func<RaftConfig, RaftConfig> _configure;
    private ulong _seed = 1;

    public ClusterHarness(int voters, int learners = 0, Func<RaftConfig, RaftConfig>? configure = null)
    {
        List<ulong> voterIds = [.. Enumerable.Range(1, voters).Select(i => (ulong)i)];
        List<ulong> learnerIds = [.. Enumerable.Range(voters + 1, learners).Select(i => (ulong)i)];
        _configure = configure ?? (c => c);
        foreach (var id in voterIds.Concat(learnerIds))
        {
            _storage[id] = new MemoryLogStorage();
            _bootstrap[id] = (voterIds, learnerIds);
            Start(id);
        }
    }

    /// <summary>Messages matching this are neither delivered nor dropped but moved to <see cref="Held"/> (e.g. a snapshot still streaming).</summary>
    public Func<Message, bool>? Hold { get; set; }

    public List<Message> Held { get; } = [];

    /// <summary>Snapshots each node installed from a leader, in order.</summary>
    public Dictionary<ulong, List<SnapshotMeta>> Installed { get; } = [];

    /// <summary>Outcomes reported to senders of snapshot messages: (sender, peer, succeeded).</summary>
    public List<(ulong From, ulong To, bool Succeeded)> SnapshotReports { get; } = [];

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
            Voters = _bootstrap[id].Voters,
            Learners = _bootstrap[id].Learners,
            Storage = _storage[id],
            Random = new SeededRandom(_seed++),
            // The state machine comes back from the node's snapshot.
            Applied = _storage[id].Snapshot.Index,
        };
        _nodes[id] = new RaftNode(_configure(config));
        Applied[id] = [];
        Reads[id] = [];
        Installed.TryAdd(id, []);
    }

    /// <summary>Starts a new, empty node that joins the cluster: its bootstrap configuration is the given members plus itself as a learner.</summary>
    public void Join(ulong id, IEnumerable<ulong> voters, IEnumerable<ulong> learners)
    {
        _storage[id] = new MemoryLogStorage();
        _bootstrap[id] = ([.. voters], [.. learners.Append(id)]);
        Start(id);
    }

    /// <summary>The node snapshots its state machine at <paramref name="index"/> (default: all it applied) and compacts its log there.</summary>
    public SnapshotMeta Compact(ulong id, ulong? index = null)
    {
        var meta = _nodes[id].SnapshotMetaAt(index ?? _nodes[id].AppliedIndex);
        _storage[id].Compact(meta);
        return meta;
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
            Handle(id, node.GetReady());
        }
    }

    /// <summary>The host loop for one Ready a test took itself: install, persist, send, apply, advance.</summary>
    public void Handle(ulong id, Ready ready)
    {
        Network.AddRange(ready.Messages);
        if (ready.Snapshot is { } snapshot)
        {
            _storage[id].ApplySnapshot(snapshot);
            Installed[id].Add(snapshot);
        }
        if (ready.HardState is { } hs)
        {
            _storage[id].SetHardState(hs);
        }
        _storage[id].Append(ready.Entries);
        Network.AddRange(ready.MessagesAfterPersist);
        Applied[id].AddRange(ready.CommittedEntries);
        Reads[id].AddRange(ready.ReadStates);
        _nodes[id].Advance(ready);
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
                if (Hold is not null && Hold(m))
                {
                    Held.Add(m);
                    continue;
                }
                if (Down.Contains(m.To) || (allow is not null && !allow(m)))
                {
                    ReportSnapshot(m, succeeded: false);
                    continue;
                }
                _nodes[m.To].Step(m);
                delivered++;
                Process(m.To);
                ReportSnapshot(m, succeeded: true);
            }
            ProcessAll();
        }
        return delivered;
    }

    private void ReportSnapshot(Message m, bool succeeded)
    {
        if (m.Type != MessageType.Snapshot || Down.Contains(m.From))
        {
            return;
        }
        SnapshotReports.Add((m.From, m.To, succeeded));
        _nodes[m.From].ReportSnapshot(m.To, succeeded);
        Process(m.From);
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
