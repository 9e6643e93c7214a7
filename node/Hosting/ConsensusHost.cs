using System.Diagnostics;
using System.Buffers.Binary;
using System.Text;
using System.Threading.Channels;
using Aurigraph.Consensus;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transactions;
using Aurigraph.Node.Transport;
using Google.Protobuf;
using RocksDbSharp;

namespace Aurigraph.Node.Hosting;

/// <summary>What the API reads about the node, published by the consensus loop after every round.</summary>
internal sealed record NodeSnapshot(
    Consensus.NodeRole RaftRole,
    ulong Term,
    ulong Leader,
    ulong CommitIndex,
    ulong AppliedIndex,
    ulong Height,
    byte[] StateRoot,
    int BlockTarget,
    IReadOnlyList<(ulong Id, ulong Match, bool Active)> Peers)
{
    /// <summary>The first raft log entry the node still holds.</summary>
    public ulong LogFirstIndex { get; init; }

    /// <summary>Raft index of the latest state snapshot the node holds (0 = none).</summary>
    public ulong SnapshotIndex { get; init; }

    /// <summary>The latest paranoid-check failure since start, or null.</summary>
    public string? IntegrityAlarm { get; init; }
}

/// <summary>
/// The node's consensus loop and the stages around it. Inputs (peer frames, ticks, submissions, commands) arrive
/// through one bounded inbox (<see cref="LoopInbox"/>); the loop admits transactions (the mempool of the
/// <see cref="BlockProposer"/>, or forwarding to the leader), cuts blocks, and runs the Ready contract: send, hand the
/// write to the <see cref="LogPersister"/> (one synced write per Ready, on its own thread; it sends what waited for
/// it), keep taking inputs and sending heartbeats meanwhile, then hand committed entries to the <see cref="ApplyStage"/>
/// (its own thread: apply, index, write) and advance; the <see cref="CommitNotifier"/> answers clients on its own
/// thread. Neither a write nor an apply runs on the loop, so ticks and heartbeats never wait behind them. Everything
/// that touches the core runs on the loop; the ledger is the applier's (the loop only reads nonces, which the ledger
/// serves to another thread); other threads talk to the loop through <see cref="Submit"/> and read <see cref="Snapshot"/>.
/// </summary>
internal sealed partial class ConsensusHost : IAsyncDisposable
{
    private readonly NodeOptions _options;
    private readonly RaftNode _raft;
    private readonly NodeDatabase _database;
    private readonly RaftLogStorage _log;
    private readonly LedgerStore _store;
    private readonly LedgerState _ledger;
    private readonly IPeerNetwork _transport;
    private readonly TransactionVerifier _verifier;
    private readonly SubmissionTracker _tracker;
    private readonly ILogger _logger;
    private readonly NodeMetrics _metrics;
    private ulong _lastLeader;
    private readonly BlockProposer _proposer;
    private readonly Action<VerifiedTransaction> _onProposed;
    private readonly CarbonPipeline _carbon;

    // Every input to the loop — peer frames, ticks, submissions, commands — arrives through this one bounded inbox.
    private readonly LoopInbox _inputs;
    // Submitted transactions count against the ingress gate until the loop takes them (null: no gate, for tests).
    private readonly IngressGate? _ingress;
    private long _ticks;

    // Ticks are counted from this moment: the core has been fed _ticksFed of them (see CatchUpTicks).
    private readonly long _tickOrigin;

    // The clock every timing of the loop reads (ticks, the round budget, propose→commit); the system's outside tests.
    private readonly TimeProvider _time;
    private long _ticksFed;

    // Whether the leader checks forwarded transactions' signatures again (see ParseForwarded).
    private readonly bool _verifyForwarded;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private Task? _ticker;
    private NodeSnapshot _snapshot;
    private Consensus.NodeRole _lastRole;

    // The stages after the core; _persisting is the Ready whose write the persister holds (null: none), see ProcessReady.
    private readonly LogPersister _persister;
    private readonly ApplyStage _applier;
    private readonly CommitNotifier _notifier;
    private Ready? _persisting;

    // Stage accounting: the loop thread's CPU reading at the last stage boundary of the current round (see Lap).
    private readonly StageMeter _stages;
    private long _lapAt;

    public ConsensusHost(
        NodeOptions options,
        NodeDatabase database,
        RaftLogStorage log,
        LedgerState ledger,
        IPeerNetwork transport,
        TransactionVerifier verifier,
        SubmissionTracker tracker,
        BlockFeed feed,
        ILogger logger,
        IRandomSource random,
        NodeMetrics metrics,
        CarbonPipeline carbon,
        StageMeter? stages = null,
        IngressGate? ingress = null,
        int peerInputCapacity = 8192,
        TimeProvider? time = null,
        AddressBook? book = null)
    {
        _time = time ?? TimeProvider.System;
        _tickOrigin = _time.GetTimestamp();
        _inputs = new LoopInbox(peerInputCapacity, _time);
        _ingress = ingress;
        _stages = stages ?? StageMeter.Off;
        ledger.Stages = _stages;
        _carbon = carbon;
        _metrics = metrics;
        _verifyForwarded = options.VerifiesForwardedSignatures;
        _options = options;
        _database = database;
        _log = log;
        _ledger = ledger;
        _transport = transport;
        _verifier = verifier;
        _tracker = tracker;
        _logger = logger;
        _proposer = new BlockProposer(options, _time, logger);
        _onProposed = tx =>
        {
            _proposed.Add(tx.Id);
            Departed(tx, _options.NodeId);
        };
        _limits = options.Pipeline;
        _store = new LedgerStore(database);
        _persister = new LogPersister(log, transport, _stages, _inputs.Tick);
        _notifier = new CommitNotifier(tracker, feed, metrics, _stages);
        _applier = new ApplyStage(
            new BlockApplier(options, database, log, ledger, _store, carbon, verifier, _stages, metrics, logger),
            _notifier,
            _stages,
            new AppliedState(log.ReadAppliedIndex(), ledger.Height, ledger.StateRoot, [.. ledger.LastBlockHash]),
            _inputs.Command,
            OnApplied);
        _book = book ?? AddressBook.Open(options, null);
        var (voters, learners) = Bootstrap(options, _book);
        _raft = new RaftNode(new Consensus.RaftConfig
        {
            Id = options.NodeId,
            Voters = voters,
            Learners = learners,
            Storage = log,
            Random = random,
            ElectionTicks = options.ElectionTicks,
            HeartbeatTicks = options.HeartbeatTicks,
            MaxCommittedBytesPerReady = options.CommittedBytesPerReady,
            MaxSizePerMessage = _limits.MaxAppendBytes,
            // The memory budget's share for entries proposed and not committed, and for entries in flight to a follower.
            MaxUncommittedBytes = options.Memory.UncommittedBytes,
            MaxInflightBytes = options.Memory.UncommittedBytes,
            Applied = log.ReadAppliedIndex(),
        });
        InitSnapshots();
        InitReadIds();
        InitPlacement();
        SyncPeers();
        // Carbon readings are expected from the members in effect (the log's, after changes), not the whole address book.
        _carbon.OnMembership(_raft.Voters, [.. _raft.Voters, .. _raft.Learners]);
        _snapshot = Publish();
    }

    public NodeSnapshot Snapshot => Volatile.Read(ref _snapshot);

    public LedgerStore Store => _store;

    /// <summary>The consensus loop; faults if the loop stops on an error.</summary>
    public Task Loop => _loop ?? Task.CompletedTask;

    public void Start()
    {
        _persister.Start();
        _notifier.Start();
        _applier.Start();
        _loop = Task.Run(() => RunAsync(_stop.Token));
        _ticker = Task.Run(() => TickAsync(_stop.Token));
    }

    /// <summary>Hands verified transactions to the loop for admission (here if leader, else forwarded).</summary>
    public void Submit(VerifiedTransaction[] transactions) => _inputs.Submit(new HostInput(default, transactions, Tick: false));

    /// <summary>
    /// Feeds the core every tick that has elapsed on the monotonic clock since the last one it got. The timer only wakes
    /// the loop: a timer merges the ticks it missed (a GC pause, a stalled VM, a long fsync), and a leader whose tick
    /// count fell behind wall time would trust a check-quorum lease its followers already let expire. Runs before each
    /// input up to its arrival, at the end of a round's inputs, and right before a lease read is decided. After a stall longer than a few election timeouts the rest is skipped: more ticks would change nothing.
    /// </summary>
    private void CatchUpTicks() => CatchUpTicks(_time.GetTimestamp());

    /// <summary>
    /// Feeds the ticks that had elapsed by <paramref name="until"/> (a timestamp of the loop's clock). The loop calls it
    /// with each input's arrival time before handling the input, so an input that waited while the loop was busy (a long
    /// apply, a GC pause) is handled at the tick count of its arrival: a heartbeat that arrived in time resets the
    /// election timer in time, an acknowledgement counts toward check-quorum in the period it arrived in.
    /// </summary>
    private void CatchUpTicks(long until)
    {
        var due = (long)(_time.GetElapsedTime(_tickOrigin, until).TotalMilliseconds / _options.TickMilliseconds);
        var behind = due - _ticksFed;
        var most = 4L * _options.ElectionTicks;
        if (behind > most)
        {
            _ticksFed = due - most;
            behind = most;
        }
        for (; behind > 0; behind--)
        {
            _ticksFed++;
            _raft.Tick();
            _snapshots.Tick(NowMs);
            if (++_ticks % _options.ElectionTicks == 0)
            {
                RetryForwards();
                CheckPlacement();
                CheckRoundTrips();
            }
        }
        Debug.Assert(_ticksFed <= due, "the core never runs ahead of the clock");
    }

    private async Task TickAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.TickMilliseconds), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                _inputs.Tick();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var incoming = _transport.Incoming;
        var pumpPeers = Task.Run(async () =>
        {
            await foreach (var input in incoming.ReadAllAsync(ct).ConfigureAwait(false))
            {
                await AcceptPeerInputAsync(input, ct).ConfigureAwait(false);
            }
        }, ct);
        try
        {
            while (await _inputs.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                Round();
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            HostLog.LoopFailed(_logger, ex);
            // Stop the peer pump too, so the loop's task completes (faulted) and the runtime can stop the node.
            await _stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            try
            {
                await pumpPeers.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>
    /// Takes one input from a peer off the loop: snapshot chunks are written to disk here, forwarded transactions parsed
    /// here (the loop only admits them); everything goes into the inbox, waiting while its peer capacity is taken.
    /// </summary>
    private async ValueTask AcceptPeerInputAsync(PeerInput input, CancellationToken ct)
    {
        if (input.Raft is null && input.Channel == SnapshotChannel)
        {
            _snapshots.OnMessage(input.From, input.Payload, NowMs);
            return;
        }
        if (input.Raft is null && input.Channel == ForwardChannel)
        {
            var started = _stages.Start();
            var parsed = ParseForwarded(input.From, input.Payload);
            _stages.Lap(_verifyForwarded ? PipelineStage.Verify : PipelineStage.Forwarding, started);
            await _inputs.WritePeerAsync(new HostInput(input, null, Tick: false) { Forwarded = parsed }, ct).ConfigureAwait(false);
            return;
        }
        await _inputs.WritePeerAsync(new HostInput(input, null, Tick: false), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// For a harness that drives hosts that were never started, on its own thread: hands a peer input to the host as its
    /// peer pump would (after <see cref="Start"/> the pump does this itself).
    /// </summary>
    internal ValueTask DeliverAsync(PeerInput input) => AcceptPeerInputAsync(input, CancellationToken.None);

    /// <summary>For a harness: wakes the loop for its ticks and runs one round on the caller's thread (never after <see cref="Start"/>).</summary>
    internal void RunRound()
    {
        Debug.Assert(_loop is null, "a started host runs its own rounds");
        _inputs.Tick();
        Round();
    }

    /// <summary>One round: take everything that arrived, then cut blocks and run the Ready contract once for all of it.</summary>
    private void Round()
    {
        _metrics.LoopRounds.Add(1);
        _lapAt = _stages.Start();
        while (_inputs.TryRead(out var input))
        {
            CatchUpTicks(input.Arrived);
            if (input.Tick)
            {
                Lap(PipelineStage.Raft);
            }
            else if (input.Transactions is { } batch)
            {
                long bytes = 0;
                foreach (var tx in batch)
                {
                    Admit(tx, forwardedBy: 0, rejections: null);
                    bytes += tx.Size;
                }
                _ingress?.Leave(batch.Length, bytes);
                Lap(PipelineStage.Mempool);
            }
            else if (input.Forwarded is { } forwarded)
            {
                AdmitForwarded(forwarded);
                Lap(PipelineStage.Forwarding);
            }
            else if (input.Command is { } command)
            {
                command();
                Lap(PipelineStage.LoopOther);
            }
            else if (input.Peer.Raft is not null || (input.Peer.Channel != ForwardChannel && input.Peer.Channel != 0))
            {
                OnHeartbeatAnswered(input);
                Lap(HandlePeerInput(input.Peer));
            }
        }
        CatchUpTicks();
        Lap(PipelineStage.Raft);
        AdmitCaughtUp();
        Lap(PipelineStage.Mempool);
        FlushForwards();
        Lap(PipelineStage.Forwarding);
        _proposer.Cut(_raft, _carbon, _onProposed);
        Lap(PipelineStage.BlockBuild);
        _proposer.CutCarbonOnly(_raft, _carbon);
        Lap(PipelineStage.Carbon);
        ProcessReady();
        CompleteTransfers();
        Volatile.Write(ref _snapshot, Publish());
        Lap(PipelineStage.LoopOther);
    }

    /// <summary>Charges the loop's CPU since the last boundary of this round to <paramref name="stage"/>.</summary>
    private void Lap(PipelineStage stage) => _lapAt = _stages.Lap(stage, _lapAt);

    /// <summary>Handles one peer input on the loop; returns the stage its time belongs to.</summary>
    private PipelineStage HandlePeerInput(PeerInput input)
    {
        if (input.Raft is { } message)
        {
            // A vote is asked only by a voter: a node this one does not count as a voter (not yet, or no longer, or
            // never — a certificate of this cluster admitted before its record arrived) cannot move the term by asking.
            if (message.Type is not (MessageType.Vote or MessageType.PreVote) || _raft.Membership.IsVoter(message.From))
            {
                _raft.Step(message);
            }
            return PipelineStage.Raft;
        }
        switch (input.Channel)
        {
            case RejectionChannel:
                OnForwardRejections(input.From, input.Payload.Span);
                return PipelineStage.Forwarding;
            case CarbonPipeline.ReadingsChannel:
                _carbon.OnReadings(input.From, input.Payload);
                return PipelineStage.Carbon;
            case ReadIndexRequestChannel:
                HandleReadIndexRequest(input.From, input.Payload.Span);
                break;
            case ReadIndexResponseChannel:
                HandleReadIndexResponse(input.Payload.Span);
                break;
            default:
                HostLog.UnknownChannel(_logger, input.Channel, input.From);
                break;
        }
        return PipelineStage.LoopOther;
    }

    /// <summary>
    /// Runs Readies until none is left, a Ready's write is on the persister, or the round has used its budget
    /// (<see cref="NodeOptions.RoundBudgetMilliseconds"/>). With Readies left the loop wakes itself and takes what arrived
    /// meanwhile — ticks, acknowledgements, votes — before it goes on, so a long run of committed blocks never holds
    /// heartbeats back for more than a budget plus one Ready (whose committed entries are bounded by
    /// <see cref="NodeOptions.CommittedBytesPerReady"/>). While the persister syncs, the loop sends what the core produced
    /// that needs no write (heartbeats, appends of new proposals) and finishes the Ready in the round after the write.
    /// </summary>
    private void ProcessReady()
    {
        Lap(PipelineStage.LoopOther);
        if (_persisting is { } waiting)
        {
            if (!_persister.TryFinish())
            {
                SendAll(_raft.TakeMessages());
                Lap(PipelineStage.ReplicationSend);
                return;
            }
            _persisting = null;
            FinishReady(waiting);
        }
        var started = _time.GetTimestamp();
        while (HasReady())
        {
            if (_time.GetElapsedTime(started).TotalMilliseconds >= _options.RoundBudgetMilliseconds)
            {
                _inputs.Tick(); // wakes the loop; the Readies left wait one pass over the inbox
                return;
            }
            var ready = _raft.GetReady();
            Lap(PipelineStage.Raft);
            if (ready.Entries.Count > 0 || ready.Membership is not null)
            {
                LearnAddresses(ready);
            }
            _carbon.OnReady(ready);
            Lap(PipelineStage.Carbon);
            SendAll(ready.Messages);
            Lap(PipelineStage.ReplicationSend);
            if (ready.Snapshot is { } snapshot)
            {
                InstallSnapshot(snapshot); // before the Ready's entries are persisted and its committed entries applied
                Lap(PipelineStage.LoopOther);
            }
            if (ready.MustPersist)
            {
                _persister.Begin(_log.Prepare(ready.HardState, ready.Entries), ready.MessagesAfterPersist, ready.Entries.Count > 0);
                Lap(PipelineStage.LogPersist);
                if (!_persister.TryFinish())
                {
                    _persisting = ready; // finished in the round after the write (the persister wakes the loop)
                    return;
                }
            }
            else if (ready.MessagesAfterPersist.Count > 0)
            {
                FaultPoints.Hit(FaultPoints.BeforeCommit);
                SendAll(ready.MessagesAfterPersist);
                Lap(PipelineStage.ReplicationSend);
            }
            FinishReady(ready);
        }
    }

    /// <summary>The rest of a Ready once its write is durable: reads, apply, leadership, advance, and what follows them.</summary>
    private void FinishReady(Ready ready)
    {
        if (ready.ReadStates.Count > 0)
        {
            OnReadStates(ready.ReadStates);
        }
        if (ready.CommittedEntries.Count > 0)
        {
            Lap(PipelineStage.LoopOther);
            _applier.Apply(ready.CommittedEntries); // its answers come back through OnApplied
            RememberRemovals(ready.CommittedEntries);
            Lap(PipelineStage.Completion);
        }
        if (ready.Leader != _lastLeader)
        {
            _lastLeader = ready.Leader;
            _metrics.LeaderChanges.Add(1);
            if (ready.Leader != 0 && ready.Leader != _options.NodeId)
            {
                RetryForwards(); // what went to the old leader goes to the new one now, not at the next retry round
            }
            FailReadsAwaitingIndex("leadership changed before the read was confirmed; retry");
        }
        if (ready.Role != _lastRole)
        {
            OnRoleChanged(_lastRole, ready.Role);
            _lastRole = ready.Role;
        }
        Lap(PipelineStage.LoopOther);
        _raft.Advance(ready);
        Lap(PipelineStage.Raft);
        ServeAppliedReads();
        CompleteMembershipWaits(ready);
        Lap(PipelineStage.LoopOther);
    }

    /// <summary>Whether the core has a Ready; committed entries count only while the applier has room for them.</summary>
    private bool HasReady()
    {
        _raft.HoldCommitted = _applier.Full;
        return _raft.HasReady;
    }

    /// <summary>Sends what the core produced; snapshots go through the snapshot sender.</summary>
    private void SendAll(IReadOnlyList<Message> messages)
    {
        foreach (var m in messages)
        {
            if (m.Type == MessageType.Snapshot)
            {
                SendSnapshot(m);
            }
            else
            {
                OnHeartbeatSent(m);
                _transport.Send(m);
            }
        }
    }

    private void OnRoleChanged(Consensus.NodeRole from, Consensus.NodeRole to)
    {
        HostLog.RoleChanged(_logger, _options.NodeId, from, to, _raft.Term, _raft.Leader);
        if (from == Consensus.NodeRole.Leader)
        {
            RoundTrips.Clear();
            OnLeadershipLost();
        }
        if (to == Consensus.NodeRole.Leader)
        {
            _proposer.OnBecameLeader(_raft.LastIndex);
            _termStartIndex = _raft.LastIndex; // the term's no-op: admission waits until it is applied
        }
    }

    /// <summary>
    /// The applier finished a run (applied, written, handed to the notifier): the loop's own bookkeeping — what it
    /// proposed and forwarded is settled, the mempool's nonce sequences catch up, the batch policy learns the latency —
    /// and a snapshot when one is due.
    /// </summary>
    private void OnApplied(AppliedRun run)
    {
        Lap(PipelineStage.LoopOther);
        foreach (var (result, _) in run.Blocks)
        {
            _proposer.OnApplied(result.LogIndex);
            for (var i = 0; i < result.TransactionIds.Length; i++)
            {
                _proposed.Remove(result.TransactionIds[i]);
                if (_departed.Count > 0)
                {
                    _departed.Remove(result.TransactionIds[i]);
                }
            }
            _proposer.Pool.OnApplied(key => _ledger.Account(key).Nonce, result.Senders);
        }
        Lap(PipelineStage.Completion);
        MaybeSnapshot();
        Lap(PipelineStage.LoopOther);
    }

    /// <summary>
    /// The snapshot for this round: the previous one when nothing it shows changed (most rounds of an idle node are a
    /// tick or a heartbeat), so such a round allocates nothing. The ledger changes only when the applied index moves.
    /// </summary>
    private NodeSnapshot Publish()
    {
        if (_snapshot is { } last && Unchanged(last))
        {
            return last;
        }
        var members = _raft.Membership;
        var peers = new List<(ulong Id, ulong Match, bool Active)>(members.Voters.Count + members.Learners.Count);
        foreach (var id in StatusPeers(members))
        {
            var p = _raft.ProgressOf(id);
            peers.Add((id, p?.Match ?? 0, p?.RecentActive ?? false));
        }
        var applied = _applier.State;
        return new NodeSnapshot(_raft.Role, _raft.Term, _raft.Leader, _raft.CommitIndex, applied.Index, applied.Height, applied.StateRoot, _proposer.Target, peers)
        {
            LogFirstIndex = _log.FirstIndex,
            SnapshotIndex = _latestSnapshot?.Info.Header.Index ?? 0,
            IntegrityAlarm = _applier.IntegrityAlarm,
        };
    }

    private bool Unchanged(NodeSnapshot last)
    {
        if (last.RaftRole != _raft.Role || last.Term != _raft.Term || last.Leader != _raft.Leader || last.CommitIndex != _raft.CommitIndex
            || last.AppliedIndex != _applier.State.Index || last.Height != _applier.State.Height || last.BlockTarget != _proposer.Target
            || last.LogFirstIndex != _log.FirstIndex || last.SnapshotIndex != (_latestSnapshot?.Info.Header.Index ?? 0)
            || !ReferenceEquals(last.IntegrityAlarm, _applier.IntegrityAlarm))
        {
            return false;
        }
        // Every round of the loop asks this: no enumerator is allocated.
        var members = _raft.Membership;
        var i = 0;
        return SamePeers(last, members.Voters, ref i) && SamePeers(last, members.Learners, ref i) && i == last.Peers.Count;
    }

    private bool SamePeers(NodeSnapshot last, IReadOnlyList<ulong> ids, ref int i)
    {
        for (var k = 0; k < ids.Count; k++)
        {
            var id = ids[k];
            if (id == _options.NodeId)
            {
                continue;
            }
            var p = _raft.ProgressOf(id);
            if (i >= last.Peers.Count || last.Peers[i] != (id, p?.Match ?? 0, p?.RecentActive ?? false))
            {
                return false;
            }
            i++;
        }
        return true;
    }

    /// <summary>The members a status lists: the membership in effect, this node aside (voters, then learners).</summary>
    private IEnumerable<ulong> StatusPeers(MembershipConfig members)
    {
        foreach (var id in members.Voters)
        {
            if (id != _options.NodeId)
            {
                yield return id;
            }
        }
        foreach (var id in members.Learners)
        {
            if (id != _options.NodeId)
            {
                yield return id;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _inputs.Complete();
        foreach (var task in new[] { _loop, _ticker })
        {
            if (task is not null)
            {
                // A loop that failed has logged why; stopping must still complete.
                await task.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
        _applier.Dispose();
        _persister.Dispose();
        _notifier.Dispose();
        _stop.Dispose();
        _inputs.Dispose();
    }
}

/// <summary>One input to the consensus loop: a peer frame, a batch of admitted transactions, or a tick.</summary>
internal readonly record struct HostInput(PeerInput Peer, VerifiedTransaction[]? Transactions, bool Tick)
{
    /// <summary>A forwarded batch, already parsed off the loop.</summary>
    public ForwardedBatch? Forwarded { get; init; }

    /// <summary>Work that must run on the loop (reads of the ledger, operator commands).</summary>
    public Action? Command { get; init; }

    /// <summary>When it arrived (the loop's clock, stamped by the inbox): the loop feeds the ticks up to then before handling it.</summary>
    public long Arrived { get; init; }
}

