namespace Aurigraph.Consensus;

public sealed partial class RaftNode
{
    // Reads waiting for quorum confirmation, in request order: (request id, read index, confirmation sequence).
    private readonly Queue<(ulong RequestId, ulong Index, ulong Seq)> _pendingReads = new();

    // Reads received before this leader committed an entry of its term (its commit index may be stale until then).
    private readonly List<ulong> _readsAwaitingCommit = [];

    // The latest round number (see StartRound): monotonic across terms; heartbeats carry theirs, appends the latest,
    // and followers echo it.
    private ulong _readSeq;

    /// <summary>
    /// Requests a linearizable read (Raft §6.4 ReadIndex). When a quorum confirms this node still leads, a
    /// <see cref="ReadState"/> with the read index and <paramref name="requestId"/> appears in a Ready; the
    /// host serves the read once it has applied that index. A non-leader refuses with a leader hint.
    /// Reads pending when leadership is lost are dropped: the host's wait times out.
    /// </summary>
    public ProposeResult ReadIndex(ulong requestId) => ReadIndex(requestId, lease: false);

    /// <summary>
    /// A linearizable read; with <paramref name="lease"/> and check-quorum on, the leader answers from its lease
    /// without a confirmation round while a quorum of voters (itself included) answered a round it sent fewer than
    /// <c>ElectionTicks - LeaseMarginTicks</c> ticks ago: those followers refuse to vote for anyone else until an
    /// election timeout after they received it, so no other leader can have committed anything (the argument is on
    /// <see cref="LeaseHolds"/>). This assumes tick rates that differ by no more than the margin covers
    /// (<see cref="RaftConfig.LeaseMarginTicks"/>). Without check-quorum, without a recent quorum, after a transfer
    /// started in the term, or before this leader committed an entry of its term, the read takes the confirmation
    /// round.
    /// </summary>
    public ProposeResult ReadIndex(ulong requestId, bool lease)
    {
        if (Role != NodeRole.Leader)
        {
            return new ProposeResult(false, 0, 0, RefusalReason.NotLeader, Leader);
        }
        // A transfer's target campaigns with votes granted inside everyone's lease: once this leader has started a
        // transfer, its lease proves nothing for the rest of the term, and reads take the confirmation round.
        if (lease && _config.CheckQuorum && !_transferredThisTerm && _log.Term(_log.Committed) == Term && LeaseHolds())
        {
            _readStates.Add(new ReadState(_log.Committed, requestId));
            return new ProposeResult(true, _log.Committed, Term, RefusalReason.None, Id);
        }
        if (_log.Term(_log.Committed) != Term)
        {
            _readsAwaitingCommit.Add(requestId);
        }
        else
        {
            StartRead(requestId);
        }
        return new ProposeResult(true, _log.Committed, Term, RefusalReason.None, Id);
    }

    private void StartRead(ulong requestId)
    {
        if ((_voterIds.Length == 1 && IsVoter) || _config.UnsafeReadIndexWithoutQuorumRound)
        {
            _readStates.Add(new ReadState(_log.Committed, requestId));
            return;
        }
        // The read's round: a quorum answering it (or a later one) confirms this node still led after the read arrived.
        BroadcastHeartbeat();
        _pendingReads.Enqueue((requestId, _log.Committed, _readSeq));
    }

    /// <summary>Releases, in order, every pending read whose confirmation sequence a quorum of voters has echoed.</summary>
    private void ReleaseConfirmedReads()
    {
        while (_pendingReads.Count > 0)
        {
            var (requestId, index, seq) = _pendingReads.Peek();
            var acks = IsVoter ? 1 : 0;
            foreach (var voter in _voterIds)
            {
                if (voter != Id && _progress[voter].ReadAck >= seq)
                {
                    acks++;
                }
            }
            if (acks < QuorumSize)
            {
                return;
            }
            _pendingReads.Dequeue();
            _readStates.Add(new ReadState(index, requestId));
        }
    }
}
