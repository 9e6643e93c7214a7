namespace Aurigraph.Consensus;

public sealed partial class RaftNode
{
    private readonly Dictionary<ulong, bool> _votes = [];

    /// <summary>
    /// A node that has heard from a live leader within an election timeout ignores (pre-)votes (check-quorum lease);
    /// so does a node in the first election timeout after a restart, as it may have heard from one just before.
    /// </summary>
    private bool InLease =>
        _config.CheckQuorum && ((Leader != 0 && _electionElapsed < _config.ElectionTicks) || (_bootLease && _ticks < _config.ElectionTicks));

    /// <summary>
    /// Only a voter campaigns, and not while a snapshot it restored awaits the host's install: until then its log
    /// cannot serve the entries it would have to replicate.
    /// </summary>
    private bool CanCampaign => IsVoter && _log.PendingSnapshot is null;

    private void TickElection()
    {
        _electionElapsed++;
        if (CanCampaign && _electionElapsed >= _randomizedElectionTimeout)
        {
            _electionElapsed = 0;
            Campaign(preVote: _config.PreVote);
        }
    }

    /// <summary>Starts an election now, as if the election timeout had fired (scripted tests).</summary>
    internal void ForceElection()
    {
        if (CanCampaign && Role != NodeRole.Leader)
        {
            _electionElapsed = 0;
            Campaign(preVote: _config.PreVote);
        }
    }

    private void BecomeFollower(ulong term, ulong leader)
    {
        Reset(term);
        Role = NodeRole.Follower;
        Leader = leader;
    }

    private void Campaign(bool preVote, bool transfer = false)
    {
        ulong electionTerm;
        MessageType type;
        if (preVote)
        {
            // A pre-candidate asks whether it could win before disturbing anyone's term.
            Reset(Term);
            Role = NodeRole.PreCandidate;
            electionTerm = Term + 1;
            type = MessageType.PreVote;
        }
        else
        {
            Reset(Term + 1);
            Role = NodeRole.Candidate;
            Vote = Id;
            electionTerm = Term;
            type = MessageType.Vote;
        }
        if (RecordVote(Id, granted: true))
        {
            return;
        }
        var lastIndex = _log.LastIndex;
        var lastTerm = _log.LastTerm;
        foreach (var voter in _voterIds)
        {
            if (voter != Id)
            {
                Send(new Message { Type = type, From = Id, To = voter, Term = electionTerm, Index = lastIndex, LogTerm = lastTerm, Context = transfer ? TransferCampaign : 0 });
            }
        }
    }

    /// <summary>Records a (pre-)vote; returns true when the tally decided the election.</summary>
    private bool RecordVote(ulong from, bool granted)
    {
        _votes.TryAdd(from, granted);
        var yes = 0;
        var no = 0;
        foreach (var (voter, g) in _votes)
        {
            if (!_voters.Contains(voter))
            {
                continue;
            }
            if (g)
            {
                yes++;
            }
            else
            {
                no++;
            }
        }
        if (yes >= QuorumSize)
        {
            if (Role == NodeRole.PreCandidate)
            {
                Campaign(preVote: false);
            }
            else
            {
                BecomeLeader();
            }
            return true;
        }
        if (no >= QuorumSize)
        {
            BecomeFollower(Term, 0);
            return true;
        }
        return false;
    }

    private void BecomeLeader()
    {
        Reset(Term);
        Role = NodeRole.Leader;
        Leader = Id;
        // The term's rounds start now: the first appends carry this round, so their answers give the lease.
        ResetRounds();
        StartRound();
        foreach (var p in _progress.Values)
        {
            // Assume peers are active for the first check-quorum period.
            p.RecentActive = true;
        }
        // A no-op opens the term, so entries of earlier terms commit through it (Raft §5.4.2).
        AppendLeaderEntry(new Entry(_log.LastIndex + 1, Term, EntryType.NoOp, ReadOnlyMemory<byte>.Empty));
        RequestBroadcast();
    }

    /// <summary>Handles a message of a higher term; returns false when it must be dropped.</summary>
    private bool StepHigherTerm(Message m)
    {
        switch (m.Type)
        {
            case MessageType.PreVote:
                // Answered without adopting the term: the candidate may never run.
                return !InLease;
            case MessageType.PreVoteResponse when !m.Reject:
                // A grant carries the term the pre-candidate would run in.
                return true;
            case MessageType.Vote:
                if (InLease && m.Context != TransferCampaign)
                {
                    return false;
                }
                BecomeFollower(m.Term, 0);
                return true;
            case MessageType.Append:
            case MessageType.Heartbeat:
            case MessageType.Snapshot:
                BecomeFollower(m.Term, m.From);
                return true;
            default:
                BecomeFollower(m.Term, 0);
                return true;
        }
    }

    private void StepLowerTerm(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append:
            case MessageType.Heartbeat:
            case MessageType.Snapshot:
                // A stale leader (e.g. back from a partition) learns our term and steps down.
                Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term });
                break;
            case MessageType.PreVote:
                Send(new Message { Type = MessageType.PreVoteResponse, From = Id, To = m.From, Term = Term, Reject = true });
                break;
        }
    }

    private void HandleVoteRequest(Message m)
    {
        var isPreVote = m.Type == MessageType.PreVote;
        var canVote =
            Vote == m.From ||
            (Vote == 0 && Leader == 0) ||
            (isPreVote && m.Term > Term);
        // Granted whatever this node's own configuration says of it (Raft thesis §4.1): a candidate asks only the
        // voters of its configuration and counts only theirs, and a node whose log holds a newer, uncommitted change
        // (its own removal, say) or lacks one (its promotion) must still answer, or no quorum may be reachable.
        var grant = canVote && _log.IsUpToDate(m.Index, m.LogTerm);
        var responseType = isPreVote ? MessageType.PreVoteResponse : MessageType.VoteResponse;
        if (grant)
        {
            if (!isPreVote)
            {
                _electionElapsed = 0;
                Vote = m.From;
            }
            Send(new Message { Type = responseType, From = Id, To = m.From, Term = m.Term });
        }
        else
        {
            Send(new Message { Type = responseType, From = Id, To = m.From, Term = Term, Reject = true });
        }
    }

    private void StepCandidate(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append:
                BecomeFollower(m.Term, m.From);
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                BecomeFollower(m.Term, m.From);
                HandleHeartbeat(m);
                break;
            case MessageType.Snapshot:
                BecomeFollower(m.Term, m.From);
                HandleSnapshot(m);
                break;
            case MessageType.PreVoteResponse when Role == NodeRole.PreCandidate:
            case MessageType.VoteResponse when Role == NodeRole.Candidate:
                RecordVote(m.From, !m.Reject);
                break;
        }
    }

    private void StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append:
                _electionElapsed = 0;
                Leader = m.From;
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                _electionElapsed = 0;
                Leader = m.From;
                HandleHeartbeat(m);
                break;
            case MessageType.Snapshot:
                _electionElapsed = 0;
                Leader = m.From;
                HandleSnapshot(m);
                break;
            case MessageType.TimeoutNow:
                HandleTimeoutNow(m);
                break;
        }
    }

    private void TickLeader()
    {
        TickTransfer();
        TrimRounds();
        _heartbeatElapsed++;
        _electionElapsed++;
        if (_electionElapsed >= _config.ElectionTicks)
        {
            _electionElapsed = 0;
            if (_config.CheckQuorum && !QuorumActive())
            {
                BecomeFollower(Term, 0);
                return;
            }
        }
        if (_heartbeatElapsed >= _config.HeartbeatTicks)
        {
            _heartbeatElapsed = 0;
            BroadcastHeartbeat();
        }
    }

    /// <summary>Check-quorum: did a quorum of voters (counting ourselves) answer during the last period? Resets the marks.</summary>
    private bool QuorumActive()
    {
        var active = IsVoter ? 1 : 0;
        foreach (var (id, p) in _progress)
        {
            if (p.RecentActive && !p.IsLearner && _voters.Contains(id))
            {
                active++;
            }
            p.RecentActive = false;
        }
        return active >= QuorumSize;
    }
}
