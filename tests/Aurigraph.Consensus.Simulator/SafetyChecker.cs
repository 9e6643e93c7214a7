namespace Aurigraph.Consensus.Simulation;

/// <summary>A safety property was broken; the message says which and where.</summary>
public sealed class SimulationViolationException(string message) : Exception(message);

/// <summary>
/// Raft's safety properties (Raft paper, Figure 3), checked incrementally after every step of a simulation:
/// Election Safety, Leader Append-Only, Log Matching, Leader Completeness, State Machine Safety, and that no
/// write acknowledged to a client is ever lost. Beyond entries, states: state machines are equal at equal applied
/// indexes, and a snapshot installed from a leader carries exactly the state at its index.
/// </summary>
internal sealed class SafetyChecker
{
    private readonly Dictionary<ulong, ulong> _leaderOfTerm = [];

    // Every entry ever seen in any log, by (index, term): its payload and the term of the entry before it.
    // Log Matching follows by induction when each (index, term) names one payload and one predecessor term.
    private readonly Dictionary<(ulong Index, ulong Term), (ReadOnlyMemory<byte> Data, ulong PrevTerm)> _entries = [];

    // State Machine Safety: the entry applied at each index, by whichever node applied it first.
    private readonly List<Entry> _applied = [];

    // For each applied index: the highest term any leader was seen in when the entry was first applied. The leader
    // that committed it led a term no higher (it was seen when it won, before anything it sent arrived), so every
    // leader of a later term must hold the entry. A leader of an earlier term may win late (a paused candidate
    // counting old votes) and lack it, legitimately: it can commit nothing and is deposed.
    private readonly List<ulong> _appliedUnderTerm = [];
    private ulong _highestLeaderTerm;

    // The state machine's hash after each index, by whichever node reached that index first.
    private readonly List<ulong> _stateAt = [];

    private readonly Dictionary<ulong, (ulong Term, ulong LastIndex, ulong LastTerm)> _leaderView = [];
    private readonly List<(ulong Index, ulong Term)> _acknowledged = [];

    public int LeadersElected => _leaderOfTerm.Count;

    /// <summary>The highest term any leader was seen in.</summary>
    public ulong HighestLeaderTerm => _highestLeaderTerm;

    public long AppliedEntries => _applied.Count;

    public int AcknowledgedWrites => _acknowledged.Count;

    public int SnapshotInstalls { get; private set; }

    /// <summary>Membership changes applied (committed), counted once per index.</summary>
    public int MembershipChangesApplied { get; private set; }

    public void OnReady(SimNode node, Ready ready)
    {
        foreach (var e in ready.Entries)
        {
            var prevTerm = node.Raft.TermAt(e.Index - 1);
            if (_entries.TryGetValue((e.Index, e.Term), out var seen))
            {
                if (seen.PrevTerm != prevTerm || !seen.Data.Span.SequenceEqual(e.Data.Span))
                {
                    throw new SimulationViolationException(
                        $"Log Matching: node {node.Id} holds entry {e.Index}@t{e.Term} with predecessor term {prevTerm}, " +
                        $"another log has it with predecessor term {seen.PrevTerm} or other data");
                }
            }
            else
            {
                _entries[(e.Index, e.Term)] = (e.Data, prevTerm);
            }
        }
    }

    public void OnApply(SimNode node, in Entry e)
    {
        if (e.Index != node.LastApplied + 1)
        {
            throw new SimulationViolationException($"node {node.Id} applied {e.Index} after {node.LastApplied}");
        }
        var slot = (int)(e.Index - 1);
        if (slot < _applied.Count)
        {
            var first = _applied[slot];
            if (first.Term != e.Term || !first.Data.Span.SequenceEqual(e.Data.Span))
            {
                throw new SimulationViolationException(
                    $"State Machine Safety: node {node.Id} applied {e.Index}@t{e.Term}, but {e.Index}@t{first.Term} was applied before");
            }
        }
        else
        {
            _applied.Add(e);
            _appliedUnderTerm.Add(_highestLeaderTerm);
            if (e.Type == EntryType.ConfChange)
            {
                MembershipChangesApplied++;
            }
        }
        node.LastApplied = e.Index;
    }

    /// <summary>After a node applied an entry: its state must be the state every other node had at that index.</summary>
    public void OnStateAt(SimNode node) => CheckState(node, node.LastApplied, node.StateHash, "applying");

    /// <summary>
    /// A node installs a snapshot from a leader: the state machine moves forward only, to an index whose entry was
    /// applied (so committed) with the snapshot's term, and the state installed is the state at that index.
    /// </summary>
    public void OnSnapshotInstalled(SimNode node, SnapshotMeta meta, ulong hash)
    {
        if (meta.Index <= node.LastApplied)
        {
            throw new SimulationViolationException($"node {node.Id} installs snapshot {meta.Index} with {node.LastApplied} already applied: its state would go back");
        }
        var slot = (int)(meta.Index - 1);
        if (slot >= _applied.Count)
        {
            throw new SimulationViolationException($"node {node.Id} installs snapshot {meta.Index}, beyond every applied entry ({_applied.Count})");
        }
        if (_applied[slot].Term != meta.Term)
        {
            throw new SimulationViolationException($"node {node.Id} installs snapshot {meta.Index}@t{meta.Term}, but {meta.Index}@t{_applied[slot].Term} was applied");
        }
        CheckState(node, meta.Index, hash, "installing a snapshot");
        SnapshotInstalls++;
    }

    private void CheckState(SimNode node, ulong index, ulong hash, string how)
    {
        if (index == 0)
        {
            return;
        }
        var slot = (int)(index - 1);
        if (slot < _stateAt.Count)
        {
            if (_stateAt[slot] != hash)
            {
                throw new SimulationViolationException($"State Machine Safety: node {node.Id}'s state at {index} after {how} differs from the state another node had there");
            }
        }
        else if (slot == _stateAt.Count)
        {
            _stateAt.Add(hash);
        }
        else
        {
            throw new SimulationViolationException($"node {node.Id} reached state {index} by {how} while no node reached {_stateAt.Count + 1}");
        }
    }

    public void OnAcknowledged(ulong index, ulong term) => _acknowledged.Add((index, term));

    /// <summary>The term of the entry applied at <paramref name="index"/>, or 0 when no node applied it yet.</summary>
    public ulong AppliedTermAt(ulong index) => index >= 1 && index <= (ulong)_applied.Count ? _applied[(int)(index - 1)].Term : 0;

    /// <summary>Checks the properties that hold of a node's state at any moment; true when it just became leader.</summary>
    public bool Observe(SimNode node)
    {
        var raft = node.Raft;
        if (raft.Role != NodeRole.Leader)
        {
            _leaderView.Remove(node.Id);
            return false;
        }
        var isNew = false;
        if (!_leaderOfTerm.TryGetValue(raft.Term, out var leader))
        {
            _leaderOfTerm[raft.Term] = node.Id;
            _highestLeaderTerm = Math.Max(_highestLeaderTerm, raft.Term);
        }
        else if (leader != node.Id)
        {
            throw new SimulationViolationException($"Election Safety: nodes {leader} and {node.Id} both lead term {raft.Term}");
        }

        if (_leaderView.TryGetValue(node.Id, out var view) && view.Term == raft.Term)
        {
            // (An entry this leader since compacted was applied, so State Machine Safety covers it.)
            if (raft.LastIndex < view.LastIndex || (view.LastIndex + 1 >= raft.FirstIndex && raft.TermAt(view.LastIndex) != view.LastTerm))
            {
                throw new SimulationViolationException(
                    $"Leader Append-Only: leader {node.Id} of term {raft.Term} had {view.LastIndex}@t{view.LastTerm}, now last={raft.LastIndex} term there={raft.TermAt(view.LastIndex)}");
            }
        }
        else
        {
            isNew = true;
            // First sight of this leader in this term: it must hold every entry already applied anywhere while only
            // leaders of earlier terms had been seen (those its snapshot covers, it applied itself).
            for (var i = (int)Math.Max(raft.FirstIndex, 2) - 2; i < _applied.Count; i++)
            {
                var e = _applied[i];
                if (_appliedUnderTerm[i] < raft.Term && raft.TermAt(e.Index) != e.Term)
                {
                    throw new SimulationViolationException(
                        $"Leader Completeness: leader {node.Id} of term {raft.Term} lacks committed entry {e.Index}@t{e.Term} (has term {raft.TermAt(e.Index)})");
                }
            }
        }
        _leaderView[node.Id] = (raft.Term, raft.LastIndex, raft.LastTerm);
        return isNew;
    }

    /// <summary>
    /// At the end of a healed run, once every node applied <paramref name="appliedEverywhere"/>: every write
    /// acknowledged at or below it is in every node's durable log.
    /// </summary>
    public void CheckAcknowledgedWritesKept(IEnumerable<SimNode> nodes, ulong appliedEverywhere)
    {
        foreach (var node in nodes)
        {
            foreach (var (index, term) in _acknowledged)
            {
                if (index > appliedEverywhere || index <= node.Storage.Snapshot.Index)
                {
                    continue; // a compacted write lives on in the snapshot, whose state was checked at install
                }
                if (index > node.Storage.LastIndex || node.Storage.Term(index) != term)
                {
                    throw new SimulationViolationException($"acknowledged write {index}@t{term} is missing from node {node.Id}'s log");
                }
            }
        }
    }
}
