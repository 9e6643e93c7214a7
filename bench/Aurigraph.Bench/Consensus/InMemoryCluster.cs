using Aurigraph.Consensus;

namespace Aurigraph.Bench.Consensus;

/// <summary>
/// Three voters wired back to back in one thread: every message is delivered at once, every Ready is
/// "persisted" to a <see cref="MemoryLogStorage"/>. What remains is the core's own cost.
/// </summary>
internal sealed class InMemoryCluster
{
    private readonly RaftNode[] _nodes;
    private readonly MemoryLogStorage[] _storage;
    private readonly Queue<Message> _network = new();

    public InMemoryCluster(int voters)
    {
        ulong[] ids = [.. Enumerable.Range(1, voters).Select(i => (ulong)i)];
        _storage = [.. ids.Select(_ => new MemoryLogStorage())];
        _nodes = [.. ids.Select((id, i) => new RaftNode(new RaftConfig
        {
            Id = id,
            Voters = ids,
            Storage = _storage[i],
            Random = new SeededRandom(id),
        }))];
        while (_nodes[0].Role != NodeRole.Leader)
        {
            _nodes[0].Tick();
            Pump();
        }
    }

    public RaftNode Leader => _nodes[0];

    public long EntriesApplied { get; private set; }

    /// <summary>Runs every node's host loop and delivers messages until nothing is left to do.</summary>
    public void Pump()
    {
        bool busy;
        do
        {
            busy = false;
            for (var i = 0; i < _nodes.Length; i++)
            {
                var node = _nodes[i];
                while (node.HasReady)
                {
                    busy = true;
                    var ready = node.GetReady();
                    foreach (var m in ready.Messages)
                    {
                        _network.Enqueue(m);
                    }
                    if (ready.HardState is { } hs)
                    {
                        _storage[i].SetHardState(hs);
                    }
                    _storage[i].Append(ready.Entries);
                    foreach (var m in ready.MessagesAfterPersist)
                    {
                        _network.Enqueue(m);
                    }
                    EntriesApplied += ready.CommittedEntries.Count;
                    node.Advance(ready);
                }
            }
            while (_network.TryDequeue(out var m))
            {
                busy = true;
                _nodes[m.To - 1].Step(m);
            }
        }
        while (busy);
    }
}
