using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Aurigraph.Consensus.Simulation.Linearizability;

namespace Aurigraph.Consensus.Simulation;

/// <summary>The outcome of one seeded run.</summary>
public sealed record SimulationResult(
    ulong Seed,
    SimulationOptions Options,
    string? Violation,
    string? Trace,
    long Events,
    int LeadersElected,
    long AppliedEntries,
    int OkOperations,
    int UnknownOperations,
    int Crashes,
    ulong Fingerprint,
    int SnapshotsSent = 0,
    int SnapshotInstalls = 0,
    int Compactions = 0,
    int SnapshotResumes = 0,
    int SnapshotFailures = 0,
    int MembershipChanges = 0,
    int MembershipChangesApplied = 0,
    int Pauses = 0,
    int StaleLeaderReads = 0)
{
    public bool Passed => Violation is null;
}

/// <summary>
/// A deterministic, seeded simulation of a HyperRAFT++ cluster: simulated time, a network that delays,
/// drops, duplicates, reorders and partitions (symmetric, one-way, and connections clogged one by one and
/// restored in random order), crashes that lose whatever was not yet durable, slow disks, process pauses, clocks
/// running at different rates (within what the lease margin covers), an asynchronous host, and clients reading and
/// writing a key/value store, partitions cutting them off too, readers reading from every node that claims to lead
/// (see the partial files for clients and pauses). Nodes snapshot their state machine and compact their logs; a leader's
/// snapshot travels to a lagging peer in chunks over the same faulty network, resuming after losses. In some
/// runs the membership changes too: spare nodes join as learners, learners are promoted, voters and learners are
/// removed (the leader among them) and re-added, and new leaders are asked for a change the moment they win. Safety is
/// checked after every step; after the faults heal, a leader must emerge and a fresh write must reach every node
/// within a bound; the client history must be linearizable. One seed = one run: the same seed replays the same
/// run, event for event.
/// </summary>
public sealed partial class ClusterSimulation
{
    private enum EventKind : byte
    {
        Tick,
        Deliver,
        DiskWriteDone,
        ClientNext,
        ClientTimeout,
        Fault,
        Clog,
        Unclog,
        Heal,
        HuntLeader,
        DeliverChunk,
        SnapshotTimer,
        Promote,
        Resume,
        ApplyDone,
        ClientRequest,
        ChangeAfterElection,
    }

    private readonly record struct SimEvent(EventKind Kind, int Node, int Incarnation, Message? Message, long Token, SnapshotChunk? Chunk = null, int Client = 0);

    private readonly ulong _seed;
    private readonly SimulationOptions _o;
    private readonly SeededRandom _rng;
    private readonly PriorityQueue<SimEvent, (long Time, long Seq)> _queue = new();
    private readonly SimNode[] _nodes;
    private readonly bool[,] _blocked;
    private readonly bool[] _clogged;
    private readonly SafetyChecker _safety = new();
    private readonly List<KvOperation> _history = [];
    private readonly SimClient[] _clients;
    private readonly Queue<string>? _trace;
    private long _seq;
    private long _now;
    private long _historyClock;
    private ulong _nextReadId;
    private long _events;
    private int _crashes;
    private ulong _fingerprint = 14695981039346656037UL;
    private bool _healed;
    private (ulong Index, ulong Term)? _marker;
    private bool _livenessMet;
    private long? _liveAtMs;
    private long _transferIds;
    private int _snapshotsSent;
    private int _compactions;
    private int _snapshotResumes;
    private int _snapshotFailures;
    private int _membershipChanges;
    private int _pauses;
    private int _staleLeaderReads;

    // The members that must be live and caught up at the end: the last live leader's configuration.
    private SimNode[] _members = [];

    private ClusterSimulation(ulong seed, SimulationOptions options)
    {
        _seed = seed;
        _o = options;
        _rng = new SeededRandom(seed);
        var total = options.Voters + options.Learners + (options.MembershipChanges ? options.Spares : 0);
        _nodes = new SimNode[total];
        ulong[] voters = [.. Enumerable.Range(1, options.Voters).Select(i => (ulong)i)];
        ulong[] learners = [.. Enumerable.Range(options.Voters + 1, options.Learners).Select(i => (ulong)i)];
        for (var i = 0; i < total; i++)
        {
            _nodes[i] = new SimNode((ulong)i + 1) { Bootstrap = i < voters.Length + learners.Length ? (voters, learners) : null };
        }
        _blocked = new bool[total, total];
        _clogged = new bool[total];
        var clients = options.Clients + options.Readers;
        _clientCut = new bool[clients, total];
        _clients = new SimClient[clients];
        for (var c = 0; c < clients; c++)
        {
            _clients[c] = new SimClient(c + 1) { LeaderGuess = _rng.NextInt(0, total), IsReader = c >= options.Clients };
        }
        if (options.Trace)
        {
            _trace = new Queue<string>();
        }
    }

    /// <summary>Runs one seed. Never throws for a protocol bug: a violation is reported in the result.</summary>
    public static SimulationResult Run(ulong seed, SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ClusterSimulation(seed, options).Execute();
    }

    /// <summary>Runs one seed with the configuration <see cref="SimulationOptions.ForSeed"/> derives from it.</summary>
    public static SimulationResult Run(ulong seed, UnsafeCore unsafeCore = UnsafeCore.None, bool trace = false) =>
        Run(seed, SimulationOptions.ForSeed(seed, unsafeCore) with { Trace = trace });

    private SimulationResult Execute()
    {
        string? violation = null;
        try
        {
            Start();
            RunUntilLive();
            foreach (var client in _clients)
            {
                // Still in flight when the run stops: the outcome is unknown.
                if (client.Pending is { Kind: KvOpKind.Put } op)
                {
                    _history.Add(op);
                }
            }
            _safety.CheckAcknowledgedWritesKept(_members, _marker!.Value.Index);
            var lin = KvLinearizabilityChecker.Check(_history);
            if (!lin.IsLinearizable)
            {
                throw new SimulationViolationException("Linearizability: " + lin.Explanation);
            }
        }
        catch (SimulationViolationException ex)
        {
            violation = ex.Message;
        }
        catch (InvalidOperationException ex)
        {
            // The core refuses to break its own invariants (e.g. truncating a committed entry) by throwing.
            violation = "core invariant: " + ex.Message;
            Log($"at {ex.StackTrace}");
        }
        catch (TimeoutException ex)
        {
            violation = "linearizability check exceeded its budget: " + ex.Message;
        }
        if (violation is not null)
        {
            Log($"VIOLATION {violation}");
        }
        return new SimulationResult(
            _seed,
            _o,
            violation,
            _trace is null ? null : string.Join('\n', _trace),
            _events,
            _safety.LeadersElected,
            _safety.AppliedEntries,
            _history.Count(op => !op.IsUnknown),
            _history.Count(op => op.IsUnknown),
            _crashes,
            _fingerprint,
            _snapshotsSent,
            _safety.SnapshotInstalls,
            _compactions,
            _snapshotResumes,
            _snapshotFailures,
            _membershipChanges,
            _safety.MembershipChangesApplied,
            _pauses,
            _staleLeaderReads);
    }

    private void Start()
    {
        for (var i = 0; i < _nodes.Length; i++)
        {
            if (_nodes[i].Started)
            {
                Boot(i);
            }
        }
        foreach (var c in _clients)
        {
            Schedule(_rng.NextInt(0, 50), new SimEvent(EventKind.ClientNext, 0, 0, null, c.Id));
        }
        if (_o.MeanFaultIntervalMs > 0)
        {
            for (long t = NextFaultGap(); t < _o.FaultPhaseMs; t += NextFaultGap())
            {
                Schedule(t, new SimEvent(EventKind.Fault, 0, 0, null, 0));
            }
        }
        Schedule(_o.FaultPhaseMs, new SimEvent(EventKind.Heal, 0, 0, null, 0));
    }

    private int NextFaultGap() => _rng.NextInt(_o.MeanFaultIntervalMs / 2, (_o.MeanFaultIntervalMs * 3 / 2) + 1);

    private void RunUntilLive()
    {
        // Randomized timeouts reach 2 × ElectionTicks.
        var bound = _o.FaultPhaseMs + ((long)_o.LivenessElectionTimeouts * _o.ElectionTicks * 2 * _o.TickMs);
        while (_queue.TryDequeue(out var ev, out var key))
        {
            if (key.Time > bound)
            {
                break;
            }
            _now = key.Time;
            _events++;
            Process(ev);
            if (_livenessMet)
            {
                RunHealthyWindow();
                return;
            }
        }
        throw new SimulationViolationException(
            $"Liveness: {(_marker is null ? "no stable leader" : $"marker {_marker} not applied everywhere")} by {bound} ms after healing at {_o.FaultPhaseMs} ms; " +
            string.Join("; ", _nodes.Select(n => n.Raft?.ToString() ?? $"node {n.Id} never started")));
    }

    /// <summary>
    /// Once the cluster is live again, every client operation started from then on must complete within
    /// <see cref="SimulationOptions.EffectiveClientLatencyBoundMs"/>: a healed cluster serves, it does not merely elect.
    /// </summary>
    private void RunHealthyWindow()
    {
        _liveAtMs = _now;
        var end = _now + _o.HealthyWindowMs;
        while (_queue.TryPeek(out _, out var key) && key.Time <= end)
        {
            var ev = _queue.Dequeue();
            _now = key.Time;
            _events++;
            Process(ev);
        }
        foreach (var client in _clients)
        {
            if (client.Pending is not null && client.PendingSinceMs >= _liveAtMs && _now - client.PendingSinceMs > _o.EffectiveClientLatencyBoundMs)
            {
                throw new SimulationViolationException($"Liveness: client {client.Id}'s operation pending for {_now - client.PendingSinceMs} ms on a healed cluster");
            }
        }
    }

    private void Process(SimEvent ev)
    {
        Mix((ulong)_now, (ulong)ev.Kind, (ulong)ev.Node);
        if (PausedTarget(ev) is { } paused)
        {
            Hold(paused, ev);
            return;
        }
        Dispatch(ev);
    }

    private void Dispatch(SimEvent ev)
    {
        switch (ev.Kind)
        {
            case EventKind.Tick:
                OnTick(ev);
                break;
            case EventKind.Deliver:
                OnDeliver(ev.Message!);
                break;
            case EventKind.DiskWriteDone:
                OnDiskWriteDone(ev);
                break;
            case EventKind.ClientNext:
                OnClientNext(_clients[ev.Token - 1]);
                break;
            case EventKind.ClientTimeout:
                OnClientTimeout(_clients[ev.Node], ev.Token);
                break;
            case EventKind.Fault:
                InjectFault();
                break;
            case EventKind.Clog when !_healed:
                _clogged[ev.Node] = true;
                Log($"clog n{ev.Node + 1}");
                break;
            case EventKind.Unclog:
                _clogged[ev.Node] = false;
                Log($"unclog n{ev.Node + 1}");
                break;
            case EventKind.Heal:
                Heal();
                break;
            case EventKind.HuntLeader:
                HuntLeader(ev);
                break;
            case EventKind.DeliverChunk:
                OnDeliverChunk(ev.Chunk!);
                break;
            case EventKind.SnapshotTimer:
                OnSnapshotTimer(ev);
                break;
            case EventKind.Promote when !_healed:
                Promote(ev);
                break;
            case EventKind.Resume:
                Resume(ev);
                break;
            case EventKind.ApplyDone:
                OnApplyDone(ev);
                break;
            case EventKind.ClientRequest:
                OnQueuedClientRequest(ev);
                break;
            case EventKind.ChangeAfterElection when !_healed:
                ChangeAfterElection(ev);
                break;
        }
    }

    // ---- nodes -------------------------------------------------------------------------------------

    private void Boot(int i)
    {
        var node = _nodes[i];
        node.LoseVolatileState();
        if (node.Snapshot is { } snapshot)
        {
            node.Restore(snapshot); // the host loads its state machine from its snapshot, then replays the log after it
        }
        node.Incarnation++;
        node.Up = true;
        node.Raft = new RaftNode(new RaftConfig
        {
            Applied = node.LastApplied,
            Id = node.Id,
            Voters = node.Bootstrap!.Value.Voters,
            Learners = node.Bootstrap!.Value.Learners,
            PromotionCatchUpGap = _o.PromotionCatchUpGap,
            Storage = node.Storage,
            Random = new SeededRandom(_rng.NextUInt64()),
            ElectionTicks = _o.ElectionTicks,
            HeartbeatTicks = _o.HeartbeatTicks,
            MaxSizePerMessage = _o.MaxSizePerMessage,
            MaxInflightMessages = _o.MaxInflightMessages,
            UnsafeCommitEarlierTermEntries = _o.Unsafe == UnsafeCore.Figure8,
            UnsafeSnapshotMatchByIndexOnly = _o.Unsafe == UnsafeCore.SnapshotIndexOnly,
            UnsafeLeaseWithoutQuorumRecency = _o.Unsafe == UnsafeCore.LeaseWithoutQuorumRecency,
            UnsafeReadIndexWithoutQuorumRound = _o.Unsafe == UnsafeCore.ReadIndexWithoutQuorumRound,
            UnsafeMembershipChangeBeforeTermCommit = _o.Unsafe == UnsafeCore.MembershipChangeBeforeTermCommit,
        });
        // Each node's clock runs at its own rate, within the skew the lease margin covers.
        node.TickPeriodX100 = (_o.TickMs * 100) + (_o.TickSkewPermille == 0 ? 0 : _rng.NextInt(-_o.TickSkewPermille, _o.TickSkewPermille + 1) * _o.TickMs / 10);
        node.TickRemainderX100 = 0;
        Log($"boot n{node.Id} (incarnation {node.Incarnation}) {node.Raft}");
        Schedule(_rng.NextInt(1, _o.TickMs + 1), new SimEvent(EventKind.Tick, i, node.Incarnation, null, 0));
    }

    private void Crash(int i)
    {
        var node = _nodes[i];
        node.Up = false;
        node.Incarnation++;
        _crashes++;
        node.Paused = false;
        node.PauseBuffer.Clear();
        Log($"CRASH n{node.Id}: loses {(node.Writing is null ? "nothing unwritten" : "an unfinished disk write")} and all volatile state");
        node.LoseVolatileState();
        foreach (var client in _clients)
        {
            // The client's connection resets: its request's outcome is unknown, and it moves on.
            if (client.Pending is not null && client.PendingNode == i)
            {
                OnClientTimeout(client, client.Token);
            }
        }
    }

    private void OnTick(SimEvent ev)
    {
        var node = _nodes[ev.Node];
        if (!node.Up || node.Incarnation != ev.Incarnation)
        {
            return;
        }
        node.Raft.Tick();
        AfterInput(node);
        if (ev.Token != ReplayedTick)
        {
            ScheduleTick(node, ev);
        }
        if (_healed)
        {
            CheckLiveness();
        }
    }

    private void OnDeliver(Message m)
    {
        if (Reachable(m.From, m.To, m) is not { } node)
        {
            return;
        }
        Mix((ulong)m.Type, m.Index, m.Term);
        Log($"recv {m}");
        node.Raft.Step(m);
        AfterInput(node);
    }

    private void OnDiskWriteDone(SimEvent ev)
    {
        var node = _nodes[ev.Node];
        if (!node.Up || node.Incarnation != ev.Incarnation || node.Writing is null || node.Applying)
        {
            return;
        }
        var ready = node.Writing;
        node.Writing = null;
        Complete(node, ready);
        AfterInput(node);
    }

    /// <summary>Runs the host loop for a node until it has nothing to do or waits on its disk, then checks safety.</summary>
    private void AfterInput(SimNode node)
    {
        while (node.Up && node.Writing is null && node.Raft.HasReady)
        {
            var ready = node.Raft.GetReady();
            _safety.OnReady(node, ready);
            // An asynchronous host hands a Ready's messages to its transport after a while.
            var sendLag = _o.AsyncHost ? _rng.NextInt(0, _o.AsyncHostMaxLagMs + 1) : 0;
            foreach (var m in ready.Messages)
            {
                if (m.Type == MessageType.Snapshot)
                {
                    StartTransfer(node, m);
                }
                else
                {
                    Send(m, sendLag);
                }
            }
            if (ready.MustPersist)
            {
                var latency = node.SlowDisk ? _rng.NextInt(1, _o.SlowDiskMaxMs + 1) : _rng.NextInt(0, 2);
                if (latency > 0)
                {
                    node.Writing = ready;
                    Schedule(latency, new SimEvent(EventKind.DiskWriteDone, (int)node.Id - 1, node.Incarnation, null, 0));
                    break;
                }
            }
            if (!Complete(node, ready))
            {
                break;
            }
        }
        if (node.Up && _safety.Observe(node) && !_healed)
        {
            OnNewLeader(node);
        }
    }

    private void OnNewLeader(SimNode node)
    {
        if (_o.MembershipChanges && _rng.Chance(_o.ChangeAfterElectionRate))
        {
            // An operator (or automation) changes the membership through the new leader at once.
            Schedule(_rng.NextInt(0, _o.MaxDelayMs + 1), new SimEvent(EventKind.ChangeAfterElection, (int)node.Id - 1, node.Incarnation, null, 6));
        }
        if (_rng.Chance(_o.LeaderNemesisRate))
        {
            // Jepsen-style nemesis: strike a leader moments after it wins, before its term's entries spread.
            Schedule(_rng.NextInt(0, (6 * _o.MaxDelayMs) + 1), new SimEvent(EventKind.HuntLeader, (int)node.Id - 1, node.Incarnation, null, 0));
        }
        else if (_rng.Chance(_o.LeaderIsolationRate))
        {
            // Cut the leader off once it has led a while (committed in its term, holding its lease), clients with it
            // or not: the stale-leader case for reads.
            var electionMs = _o.ElectionTicks * _o.TickMs;
            Schedule(_rng.NextInt(electionMs / 2, (3 * electionMs) + 1), new SimEvent(EventKind.HuntLeader, (int)node.Id - 1, node.Incarnation, null, IsolateOnly));
        }
    }

    /// <summary>A <see cref="EventKind.HuntLeader"/> that isolates the leader (with some clients), never crashes it.</summary>
    private const long IsolateOnly = 1;

    /// <summary>
    /// The disk write of a Ready finished: make it durable, release the messages that promised it, apply, advance.
    /// An asynchronous host applies and advances a while later (the core allows Step and Tick meanwhile, but no
    /// new Ready); returns false then.
    /// </summary>
    private bool Complete(SimNode node, Ready ready)
    {
        if (ready.Snapshot is { } meta)
        {
            Install(node, meta);
        }
        if (ready.HardState is { } hs)
        {
            node.Storage.SetHardState(hs);
        }
        node.Storage.Append(ready.Entries);
        foreach (var m in ready.MessagesAfterPersist)
        {
            Send(m);
        }
        if (_o.AsyncHost && (ready.CommittedEntries.Count > 0 || ready.ReadStates.Count > 0) && _rng.Chance(0.5))
        {
            node.Writing = ready;
            node.Applying = true;
            Schedule(_rng.NextInt(1, _o.AsyncHostMaxLagMs + 1), new SimEvent(EventKind.ApplyDone, (int)node.Id - 1, node.Incarnation, null, 0));
            return false;
        }
        ApplyAndAdvance(node, ready);
        return true;
    }

    private void OnApplyDone(SimEvent ev)
    {
        var node = _nodes[ev.Node];
        if (!node.Up || node.Incarnation != ev.Incarnation || !node.Applying || node.Writing is not { } ready)
        {
            return;
        }
        node.Writing = null;
        node.Applying = false;
        ApplyAndAdvance(node, ready);
        AfterInput(node);
    }

    private void ApplyAndAdvance(SimNode node, Ready ready)
    {
        foreach (var e in ready.CommittedEntries)
        {
            Apply(node, e);
        }
        node.ConfirmedReads.AddRange(ready.ReadStates);
        ServeConfirmedReads(node);
        node.Raft.Advance(ready);
        // (Not while the core holds a newer snapshot from the leader for the next Ready: that replaces the whole log.)
        if (_o.SnapshotEvery > 0 && node.LastApplied >= node.Storage.Snapshot.Index + (ulong)_o.SnapshotEvery && node.LastApplied + 1 >= node.Raft.FirstIndex)
        {
            TakeSnapshot(node);
        }
    }

    private void Apply(SimNode node, in Entry e)
    {
        _safety.OnApply(node, e);
        ApplyToStateMachine(node, e);
        _safety.OnStateAt(node);
    }

    private void ApplyToStateMachine(SimNode node, in Entry e)
    {
        if (e.Type != EntryType.Normal)
        {
            return;
        }
        var cmd = KvCommand.Decode(e.Data.Span);
        if (cmd.Kind == KvCommand.Put)
        {
            node.Put(cmd.Key, cmd.Value);
            if (node.PendingWrites.Remove((cmd.ClientId, cmd.Seq), out var token))
            {
                var client = _clients[cmd.ClientId - 1];
                if (client.Token == token && client.Pending is { } op)
                {
                    _safety.OnAcknowledged(e.Index, e.Term);
                    Finish(client, node, op with { Return = ++_historyClock });
                }
            }
        }
        Log($"apply n{node.Id} {e.Index}@t{e.Term} {(cmd.Kind == KvCommand.Put ? $"c{cmd.ClientId}#{cmd.Seq} k{cmd.Key}={cmd.Value}" : "marker")}");
    }

    private void ServeConfirmedReads(SimNode node)
    {
        for (var i = 0; i < node.ConfirmedReads.Count; i++)
        {
            var rs = node.ConfirmedReads[i];
            if (rs.Index > node.LastApplied)
            {
                continue;
            }
            node.ConfirmedReads.RemoveAt(i--);
            if (!node.PendingReads.Remove(rs.RequestId, out var read))
            {
                continue;
            }
            var client = _clients[read.Client - 1];
            if (client.Token == read.Token && client.Pending is { } op)
            {
                long? value = node.Kv.TryGetValue(read.Key, out var v) ? v : null;
                Log($"read n{node.Id} c{client.Id} k{read.Key} -> {(value?.ToString(CultureInfo.InvariantCulture) ?? "absent")} at index {rs.Index}");
                Finish(client, node, op with { Value = value, Return = ++_historyClock });
            }
        }
    }

    // ---- snapshots ---------------------------------------------------------------------------------

    /// <summary>The host snapshots its state machine at what it applied and compacts its log there.</summary>
    private void TakeSnapshot(SimNode node)
    {
        var meta = node.Raft.SnapshotMetaAt(node.LastApplied);
        node.Snapshot = SimSnapshot.Capture(meta, node.Kv);
        node.Storage.Compact(meta);
        _compactions++;
        Log($"compact n{node.Id} through {meta.Index}@t{meta.Term}");
    }

    /// <summary>A Ready's snapshot: the staged data becomes the state machine, the log restarts after it, durably.</summary>
    private void Install(SimNode node, SnapshotMeta meta)
    {
        if (!node.Staged.TryGetValue(meta.Index, out var staged) || staged.Meta.Term != meta.Term)
        {
            throw new SimulationViolationException($"node {node.Id} must install {meta} but holds no staged data for it");
        }
        _safety.OnSnapshotInstalled(node, meta, staged.Hash);
        node.Restore(staged);
        node.Storage.ApplySnapshot(meta);
        node.Snapshot = staged;
        foreach (var index in node.Staged.Keys.Where(i => i <= meta.Index).ToList())
        {
            node.Staged.Remove(index);
        }
        Log($"install n{node.Id} {meta}");
    }

    /// <summary>The core asked to send a snapshot: stream the host's own (current) snapshot to the peer.</summary>
    private void StartTransfer(SimNode node, Message m)
    {
        if (node.Snapshot is not { } snapshot || snapshot.Meta.Index < m.Snapshot!.Index)
        {
            throw new SimulationViolationException($"node {node.Id} was asked to send {m.Snapshot} but holds {node.Snapshot?.Meta.ToString() ?? "no snapshot"}");
        }
        var transfer = new OutgoingTransfer(m.To, snapshot, m.Term, ++_transferIds);
        node.Transfers[m.To] = transfer;
        _snapshotsSent++;
        Log($"snapshot n{node.Id} -> n{m.To}: {snapshot.Meta}, {snapshot.Bytes.Length} bytes");
        SendWindow(node, transfer);
        Schedule(_o.SnapshotRetryMs, new SimEvent(EventKind.SnapshotTimer, (int)node.Id - 1, node.Incarnation, null, transfer.Id));
    }

    private void SendWindow(SimNode node, OutgoingTransfer t)
    {
        var total = t.Snapshot.Bytes.Length;
        var windowEnd = Math.Min(total, t.Acked + (_o.SnapshotWindowChunks * _o.SnapshotChunkBytes));
        while (t.Sent < windowEnd)
        {
            var length = Math.Min(_o.SnapshotChunkBytes, total - t.Sent);
            SendChunk(new SnapshotChunk(node.Id, t.Peer, t.Term, t.Snapshot.Meta, t.Id, t.Sent, t.Snapshot.Bytes.AsMemory(t.Sent, length), total, IsAck: false));
            t.Sent += length;
        }
    }

    private void OnDeliverChunk(SnapshotChunk chunk)
    {
        if (Reachable(chunk.From, chunk.To, chunk) is not { } node)
        {
            return;
        }
        Mix(chunk.IsAck ? 1UL : 2UL, (ulong)chunk.Offset, chunk.Meta.Index);
        Log($"recv {chunk}");
        if (chunk.IsAck)
        {
            OnChunkAck(node, chunk);
        }
        else
        {
            OnChunk(node, chunk);
        }
    }

    /// <summary>The receiver keeps bytes that continue what it holds, and always answers with how much it holds.</summary>
    private void OnChunk(SimNode node, SnapshotChunk chunk)
    {
        if (node.Staged.TryGetValue(chunk.Meta.Index, out var whole) && whole.Meta.Term == chunk.Meta.Term)
        {
            SendChunk(chunk with { From = node.Id, To = chunk.From, Offset = chunk.Total, Data = default, IsAck = true });
            StepSnapshot(node, chunk);
            return;
        }
        if (node.Receiving is not { } receiving || !receiving.IsFor(chunk))
        {
            receiving = node.Receiving = new IncomingTransfer(chunk.From, chunk.Meta, chunk.Total);
        }
        if (chunk.Offset == receiving.Received)
        {
            chunk.Data.Span.CopyTo(receiving.Buffer.AsSpan(receiving.Received));
            receiving.Received += chunk.Data.Length;
        }
        SendChunk(chunk with { From = node.Id, To = chunk.From, Offset = receiving.Received, Data = default, IsAck = true });
        if (receiving.Received < receiving.Buffer.Length)
        {
            return;
        }
        // Whole: stage it and let the core decide (install, or ignore a snapshot it does not need).
        node.Receiving = null;
        node.Staged[chunk.Meta.Index] = SimSnapshot.Decode(chunk.Meta, receiving.Buffer);
        StepSnapshot(node, chunk);
    }

    /// <summary>
    /// Tells the core of a snapshot held whole, once per sender and term: a later leader sending a snapshot already
    /// staged must still reach the core, which may have ignored the first one as coming from an old term.
    /// </summary>
    private void StepSnapshot(SimNode node, SnapshotChunk chunk)
    {
        if (node.SnapshotsStepped.Add((chunk.Meta.Index, chunk.From, chunk.Term)))
        {
            node.Raft.Step(new Message { Type = MessageType.Snapshot, From = chunk.From, To = node.Id, Term = chunk.Term, Snapshot = chunk.Meta });
            AfterInput(node);
        }
    }

    private void OnChunkAck(SimNode node, SnapshotChunk ack)
    {
        if (!node.Transfers.TryGetValue(ack.From, out var t) || t.Id != ack.TransferId)
        {
            return;
        }
        if (ack.Offset < t.Acked)
        {
            // The receiver holds less than it said before: it restarted and lost its staging. Resume from its offset.
            t.Sent = Math.Min(t.Sent, ack.Offset);
        }
        t.Acked = ack.Offset;
        if (t.Acked == t.Snapshot.Bytes.Length)
        {
            FinishTransfer(node, t, succeeded: true);
            return;
        }
        if (t.Sent < t.Snapshot.Bytes.Length)
        {
            SendWindow(node, t);
        }
    }

    /// <summary>Resend from the receiver's offset when nothing moved since the last round; give up (and say so) after a few.</summary>
    private void OnSnapshotTimer(SimEvent ev)
    {
        var node = _nodes[ev.Node];
        if (!node.Up || node.Incarnation != ev.Incarnation)
        {
            return;
        }
        var t = node.Transfers.Values.FirstOrDefault(x => x.Id == ev.Token);
        if (t is null)
        {
            return;
        }
        if (t.Acked > t.AckedAtLastTimer)
        {
            t.AckedAtLastTimer = t.Acked;
            t.Retries = 0;
        }
        else if (++t.Retries > _o.SnapshotMaxRetries)
        {
            FinishTransfer(node, t, succeeded: false);
            return;
        }
        else
        {
            if (t.Acked > 0)
            {
                _snapshotResumes++;
                Log($"snapshot n{node.Id} -> n{t.Peer} resumes at {t.Acked}");
            }
            t.Sent = t.Acked;
            SendWindow(node, t);
        }
        Schedule(_o.SnapshotRetryMs, ev);
    }

    private void FinishTransfer(SimNode node, OutgoingTransfer t, bool succeeded)
    {
        node.Transfers.Remove(t.Peer);
        if (!succeeded)
        {
            _snapshotFailures++;
        }
        Log($"snapshot n{node.Id} -> n{t.Peer} {(succeeded ? "sent" : "FAILED")}");
        node.Raft.ReportSnapshot(t.Peer, succeeded);
        AfterInput(node);
    }

    private void SendChunk(SnapshotChunk chunk) => Transmit(new SimEvent(EventKind.DeliverChunk, (int)chunk.To - 1, 0, null, 0, chunk), chunk);

    // ---- network -----------------------------------------------------------------------------------

    private bool Blocked(int from, int to) => _blocked[from, to] || _clogged[from] || _clogged[to];

    private void Send(Message m, int hostLagMs = 0) => Transmit(new SimEvent(EventKind.Deliver, (int)m.To - 1, 0, m, 0), m, hostLagMs);

    /// <summary>What the network does to anything sent: in the fault phase it may drop it or deliver it twice; it always delays it.</summary>
    private void Transmit(SimEvent delivery, object what, int hostLagMs = 0)
    {
        if (!_healed && _rng.Chance(_o.DropRate))
        {
            Log($"drop {what}");
            return;
        }
        Schedule(hostLagMs + _rng.NextInt(_o.MinDelayMs, _o.MaxDelayMs + 1), delivery);
        if (!_healed && _rng.Chance(_o.DuplicateRate))
        {
            Schedule(_rng.NextInt(_o.MinDelayMs, (_o.MaxDelayMs * 3) + 1), delivery);
        }
    }

    /// <summary>The receiver of something arriving from <paramref name="from"/>, or null when it is down or the link is cut.</summary>
    private SimNode? Reachable(ulong from, ulong to, object what)
    {
        var node = _nodes[(int)to - 1];
        if (!node.Up)
        {
            return null;
        }
        if (Blocked((int)from - 1, (int)to - 1))
        {
            Log($"cut  {what}");
            return null;
        }
        return node;
    }

    // ---- plumbing ----------------------------------------------------------------------------------

    private void Shuffle(int[] items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = _rng.NextInt(0, i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private void Schedule(long delay, SimEvent ev) => _queue.Enqueue(ev, (_now + delay, ++_seq));

    private void Mix(ulong a, ulong b, ulong c)
    {
        _fingerprint = (_fingerprint ^ a) * 1099511628211UL;
        _fingerprint = (_fingerprint ^ b) * 1099511628211UL;
        _fingerprint = (_fingerprint ^ c) * 1099511628211UL;
    }

    private void Log(string line)
    {
        if (_trace is null)
        {
            return;
        }
        _trace.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{_now,7} ms  {line}"));
        if (_trace.Count > 4000)
        {
            _trace.Dequeue();
        }
    }

    // Trace lines are formatted only when tracing: a sweep of thousands of seeds pays nothing for them.
    private void Log([InterpolatedStringHandlerArgument("")] ref TraceLine line)
    {
        if (line.Enabled)
        {
            Log(line.ToStringAndClear());
        }
    }

    [InterpolatedStringHandler]
    private ref struct TraceLine
    {
        private DefaultInterpolatedStringHandler _inner;

        public TraceLine(int literalLength, int formattedCount, ClusterSimulation sim, out bool enabled)
        {
            Enabled = enabled = sim._trace is not null;
            _inner = enabled ? new DefaultInterpolatedStringHandler(literalLength, formattedCount, CultureInfo.InvariantCulture) : default;
        }

        public bool Enabled { get; }

        public void AppendLiteral(string s) => _inner.AppendLiteral(s);

        public void AppendFormatted<T>(T value) => _inner.AppendFormatted(value);

        public void AppendFormatted<T>(T value, string? format) => _inner.AppendFormatted(value, format);

        public void AppendFormatted<T>(T value, int alignment) => _inner.AppendFormatted(value, alignment);

        public string ToStringAndClear() => _inner.ToStringAndClear();
    }

    /// <summary>A one-paragraph description of a failing run: seed, configuration, violation, and how to replay it.</summary>
    public static string Describe(SimulationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"seed {result.Seed}: {result.Violation ?? "passed"}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  options: {result.Options}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  replay: dotnet run --project tests/Aurigraph.Consensus.Simulator -c Release -- --seed {result.Seed} --trace{(result.Options.Unsafe == UnsafeCore.None ? "" : " --unsafe " + result.Options.Unsafe)}\n");
        return sb.ToString();
    }
}
