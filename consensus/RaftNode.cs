namespace Aurigraph.Consensus;

/// <summary>
/// The HyperRAFT++ core: Raft with pre-vote, check-quorum, pipelined parallel replication, learners and
/// quorum-confirmed reads, snapshots and one-at-a-time membership changes, as a pure state machine. Inputs:
/// <see cref="Tick"/>, <see cref="Step"/>, <see cref="Propose"/>, <see cref="ReadIndex"/>,
/// <see cref="ProposeMembershipChange"/>, <see cref="ReportSnapshot"/>. Outputs: a <see cref="Ready"/>, acknowledged
/// with <see cref="Advance"/>. No threads, clocks, sockets or disk; one thread at a time may call it.
/// </summary>
public sealed partial class RaftNode
{
    private readonly RaftConfig _config;
    private readonly RaftLog _log;
    private readonly HashSet<ulong> _voters = [];
    private readonly HashSet<ulong> _learners = [];
    private ulong[] _voterIds = [];
    private readonly Dictionary<ulong, Progress> _progress = [];
    private readonly IRandomSource _random;

    private List<Message> _messages = [];
    private List<Message> _messagesAfterPersist = [];
    private List<ReadState> _readStates = [];
    private HardState _persistedHardState;
    private bool _readyOutstanding;

    private int _electionElapsed;
    private int _heartbeatElapsed;
    private int _randomizedElectionTimeout;

    public RaftNode(RaftConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;
        _random = config.Random;
        var hs = config.Storage.InitialState();
        // The configured members are the bootstrap configuration; a snapshot or membership changes in the log
        // supersede it.
        _log = new RaftLog(config.Storage, hs.Commit, config.Applied, new MembershipConfig(config.Voters, config.Learners));
        _persistedHardState = hs;
        // A node that ran before may have answered a leader just before it stopped: it keeps that leader's lease.
        _bootLease = hs.Term > 0;
        Term = hs.Term;
        Vote = hs.Vote;
        ApplyMembership(_log.Membership.Current);
        _membershipChanged = false;
        BecomeFollower(Term, 0);
    }

    public ulong Id => _config.Id;

    public ulong Term { get; private set; }

    /// <summary>Whom this node voted for in <see cref="Term"/> (0 = nobody).</summary>
    public ulong Vote { get; private set; }

    /// <summary>The leader this node follows (0 = unknown).</summary>
    public ulong Leader { get; private set; }

    public NodeRole Role { get; private set; }

    public bool IsVoter => _voters.Contains(Id);

    public ulong CommitIndex => _log.Committed;

    public ulong AppliedIndex => _log.Applied;

    public ulong LastIndex => _log.LastIndex;

    public ulong LastTerm => _log.LastTerm;

    /// <summary>The first index still in the log; the entries before it are covered by a snapshot.</summary>
    public ulong FirstIndex => _log.FirstIndex;

    /// <summary>The term of the entry at <paramref name="index"/> in this node's log, or 0 beyond its end.</summary>
    public ulong TermAt(ulong index) => _log.Term(index);

    /// <summary>Replication progress of a peer, as seen by this node while it leads.</summary>
    public Progress? ProgressOf(ulong peer) => Role == NodeRole.Leader && _progress.TryGetValue(peer, out var p) ? p : null;

    public IReadOnlyCollection<ulong> Voters => _voters;

    public IReadOnlyCollection<ulong> Learners => _learners;

    /// <summary>The membership in effect: the configuration of the last membership change in this node's log.</summary>
    public MembershipConfig Membership => _membership;

    private HardState CurrentHardState => new(Term, Vote, _log.Committed);

    private int QuorumSize => (_voterIds.Length / 2) + 1;

    /// <summary>Advances logical time by one tick: election timeouts for followers, heartbeats and check-quorum for leaders.</summary>
    public void Tick()
    {
        _ticks++;
        if (Role == NodeRole.Leader)
        {
            TickLeader();
        }
        else
        {
            TickElection();
        }
    }

    /// <summary>
    /// Feeds one message from a peer. Messages from nodes outside this node's configuration are handled too: a
    /// node catching up may not yet know the leader, or itself, as members; the term and vote rules keep it safe.
    /// </summary>
    public void Step(Message m)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (m.To != Id || m.From == Id)
        {
            return; // misdelivered
        }
        StepMessage(m);
        SyncMembership();
    }

    private void StepMessage(Message m)
    {
        if (m.Term > Term)
        {
            if (!StepHigherTerm(m))
            {
                return;
            }
        }
        else if (m.Term < Term)
        {
            StepLowerTerm(m);
            return;
        }

        switch (m.Type)
        {
            case MessageType.PreVote:
            case MessageType.Vote:
                HandleVoteRequest(m);
                return;
        }

        switch (Role)
        {
            case NodeRole.Leader:
                StepLeader(m);
                break;
            case NodeRole.Candidate:
            case NodeRole.PreCandidate:
                StepCandidate(m);
                break;
            default:
                StepFollower(m);
                break;
        }
    }

    /// <summary>
    /// Proposes a payload (one block) for replication. Only the leader accepts; others refuse with a
    /// leader hint so the host can forward.
    /// </summary>
    public ProposeResult Propose(ReadOnlyMemory<byte> data)
    {
        if (Role != NodeRole.Leader)
        {
            return new ProposeResult(false, 0, 0, RefusalReason.NotLeader, Leader);
        }
        if (_leadTransferee != 0)
        {
            return new ProposeResult(false, 0, 0, RefusalReason.TransferringLeadership, _leadTransferee);
        }
        if (_config.MaxUncommittedBytes > 0 && _uncommittedBytes + data.Length > _config.MaxUncommittedBytes && _uncommittedBytes > 0)
        {
            return new ProposeResult(false, 0, 0, RefusalReason.TooMuchUncommitted, Id);
        }
        var entry = new Entry(_log.LastIndex + 1, Term, EntryType.Normal, data);
        AppendLeaderEntry(entry);
        RequestBroadcast();
        return new ProposeResult(true, entry.Index, entry.Term, RefusalReason.None, Id);
    }

    /// <summary>
    /// While true, Readies carry no committed entries (and committed entries alone make no Ready): the host's applier has
    /// no room for more. Everything else — messages, entries to persist, hard state, read states — still flows, so a
    /// slow applier never holds back heartbeats, votes or replication. The entries come in the first Ready after it is
    /// set back to false.
    /// </summary>
    public bool HoldCommitted { get; set; }

    public bool HasReady =>
        !_readyOutstanding &&
        (_broadcastPending || _messages.Count > 0 || _messagesAfterPersist.Count > 0 || _log.UnstableCount > 0 ||
         (_log.HasNextCommitted && !HoldCommitted) || _readStates.Count > 0 || CurrentHardState != _persistedHardState ||
         _log.PendingSnapshot is not null || _membershipChanged);

    /// <summary>
    /// Collects what the host must do. Only one Ready may be outstanding: call <see cref="Advance"/> before the
    /// next. <see cref="Step"/> and <see cref="Tick"/> may still be called while the host works on it.
    /// </summary>
    public Ready GetReady()
    {
        if (_readyOutstanding)
        {
            throw new InvalidOperationException("the previous Ready has not been advanced");
        }
        FlushBroadcast();
        var hs = CurrentHardState;
        var ready = new Ready
        {
            Snapshot = _log.PendingSnapshot,
            Membership = _membershipChanged ? _membership : null,
            HardState = hs != _persistedHardState ? hs : null,
            Entries = _log.UnstableEntries(),
            Messages = _messages,
            MessagesAfterPersist = _messagesAfterPersist,
            CommittedEntries = _log.HasNextCommitted && !HoldCommitted ? _log.NextCommittedEntries(_config.MaxCommittedBytesPerReady) : [],
            ReadStates = _readStates,
            Leader = Leader,
            Role = Role,
        };
        _messages = [];
        _messagesAfterPersist = [];
        _readStates = [];
        _membershipChanged = false;
        _readyOutstanding = true;
        return ready;
    }

    /// <summary>
    /// While a Ready is outstanding, hands over the messages that promise nothing durable (appends, heartbeats and
    /// their answers, pre-votes, TimeoutNow, snapshots; see <see cref="Send"/>) that arose since it was taken, replicating
    /// what was proposed meanwhile first. A Ready's own such messages go before its write too, so these are as safe to
    /// send now: a long write of the outstanding Ready holds no heartbeat back. What waits for a write stays for the
    /// next Ready. Empty when no Ready is outstanding: then <see cref="GetReady"/> carries them.
    /// </summary>
    public IReadOnlyList<Message> TakeMessages()
    {
        if (!_readyOutstanding)
        {
            return [];
        }
        FlushBroadcast();
        if (_messages.Count == 0)
        {
            return [];
        }
        var messages = _messages;
        _messages = [];
        return messages;
    }

    /// <summary>The host persisted, sent and applied everything in <paramref name="ready"/>.</summary>
    public void Advance(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (!_readyOutstanding)
        {
            throw new InvalidOperationException("no Ready is outstanding");
        }
        _readyOutstanding = false;
        if (ready.Snapshot is { } snapshot)
        {
            _log.SnapshotInstalled(snapshot);
        }
        if (ready.HardState is { } hs)
        {
            _persistedHardState = hs;
        }
        if (ready.Entries.Count > 0)
        {
            var last = ready.Entries[^1];
            _log.StableTo(last.Index, last.Term);
            if (Role == NodeRole.Leader && MaybeCommit())
            {
                RequestBroadcast();
            }
        }
        if (ready.CommittedEntries.Count > 0)
        {
            _log.AppliedTo(ready.CommittedEntries[^1].Index);
        }
    }

    private void Send(Message m)
    {
        // Messages that promise durable state (a vote, a term, an append) wait for the host's write;
        // replication, heartbeats and pre-votes change nothing durable and go at once.
        switch (m.Type)
        {
            case MessageType.Append:
            case MessageType.Heartbeat:
            case MessageType.HeartbeatResponse:
            case MessageType.PreVote:
            case MessageType.PreVoteResponse:
            case MessageType.TimeoutNow:
            case MessageType.Snapshot:
                _messages.Add(m);
                break;
            default:
                _messagesAfterPersist.Add(m);
                break;
        }
    }

    private void Reset(ulong term)
    {
        if (term != Term)
        {
            Term = term;
            Vote = 0;
            _transferredThisTerm = false;
        }
        Leader = 0;
        _electionElapsed = 0;
        _heartbeatElapsed = 0;
        _randomizedElectionTimeout = _config.ElectionTicks + _random.NextInt(0, _config.ElectionTicks);
        _votes.Clear();
        _leadTransferee = 0;
        _transferElapsed = 0;
        _broadcastPending = false;
        _pendingReads.Clear();
        _readsAwaitingCommit.Clear();
        _uncommitted.Clear();
        _uncommittedBytes = 0;
        foreach (var p in _progress.Values)
        {
            p.Reset(_log.LastIndex + 1);
        }
    }

    public override string ToString() =>
        $"node {Id} {Role} term={Term} vote={Vote} lead={Leader} last={_log.LastIndex}/{_log.LastTerm} commit={_log.Committed} applied={_log.Applied}";
}
