namespace Aurigraph.Consensus;

public sealed partial class RaftNode
{
    // Entries this leader proposed and has not yet seen committed: (index, bytes), for MaxUncommittedBytes.
    private readonly Queue<(ulong Index, long Bytes)> _uncommitted = new();
    private long _uncommittedBytes;

    private void AppendLeaderEntry(in Entry entry)
    {
        _log.AppendNew(entry);
        _uncommitted.Enqueue((entry.Index, entry.Data.Length));
        _uncommittedBytes += entry.Data.Length;
        // The leader's own copy counts toward the quorum only once the host reports it durable (Advance),
        // so a single-voter cluster commits after its write, never before.
    }

    // Set when new entries or a new commit index should go out. The sends happen once, when the host
    // collects the next Ready, so every proposal and acknowledgement between two Readies shares one
    // append per follower instead of one each.
    private bool _broadcastPending;

    private void RequestBroadcast() => _broadcastPending = true;

    private void FlushBroadcast()
    {
        if (_broadcastPending && Role == NodeRole.Leader)
        {
            BroadcastAppend();
        }
        _broadcastPending = false;
    }

    /// <summary>Sends pending entries to every peer, filling each in-flight window (parallel, pipelined replication).</summary>
    private void BroadcastAppend()
    {
        foreach (var (id, p) in _progress)
        {
            // An empty append only when the peer has not yet been told the current commit index.
            var sendIfEmpty = p.SentCommit < _log.Committed;
            while (MaybeSendAppend(id, p, sendIfEmpty))
            {
                sendIfEmpty = false;
                if (p.State != ProgressState.Replicate)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Heartbeat rounds without progress after which a replicating follower is probed again (half an election timeout, at least 2).</summary>
    private int StallHeartbeats => Math.Max(2, _config.ElectionTicks / (2 * _config.HeartbeatTicks));

    /// <summary>
    /// Sends the next append to a peer unless its window is paused, or a snapshot when the entries it needs are
    /// compacted; returns whether entries were sent.
    /// </summary>
    private bool MaybeSendAppend(ulong to, Progress p, bool sendIfEmpty)
    {
        if (p.IsPaused)
        {
            return false;
        }
        if (p.Next < _log.FirstIndex)
        {
            MaybeSendSnapshot(to, p);
            return false;
        }
        var prevIndex = p.Next - 1;
        var prevTerm = _log.Term(prevIndex);
        var entries = p.Next <= _log.LastIndex ? _log.Slice(p.Next, _log.LastIndex + 1, _config.MaxSizePerMessage) : [];
        if (entries.Length == 0 && !sendIfEmpty)
        {
            return false;
        }
        p.SentCommit = _log.Committed;
        Send(new Message
        {
            Type = MessageType.Append,
            From = Id,
            To = to,
            Term = Term,
            Index = prevIndex,
            LogTerm = prevTerm,
            Entries = entries,
            Commit = _log.Committed,
            // The latest round, sent at or before now: an answer shows the follower's lease began no earlier.
            Context = _readSeq,
        });
        if (entries.Length > 0)
        {
            long bytes = 0;
            foreach (var e in entries)
            {
                bytes += e.Size;
            }
            p.SentEntries(entries[^1].Index, bytes);
        }
        return entries.Length > 0;
    }

    private void BroadcastHeartbeat()
    {
        var round = StartRound();
        foreach (var (id, p) in _progress)
        {
            Send(new Message
            {
                Type = MessageType.Heartbeat,
                From = Id,
                To = id,
                Term = Term,
                // Never beyond what the follower is known to hold, so it can commit without checking terms.
                Commit = Math.Min(p.Match, _log.Committed),
                Context = round,
            });
        }
    }

    private void HandleAppend(Message m)
    {
        if (m.Index < _log.Committed)
        {
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term, Index = _log.Committed, Context = m.Context });
            return;
        }
        if (_log.MaybeAppend(m.Index, m.LogTerm, m.Entries) is { } lastNew)
        {
            _log.CommitTo(Math.Min(m.Commit, lastNew));
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term, Index = lastNew, Context = m.Context });
            return;
        }
        // Conflict hint (Raft §5.3 optimisation): the conflicting term and its first index, or our log's end.
        ulong hintIndex;
        ulong hintTerm;
        if (m.Index > _log.LastIndex)
        {
            hintIndex = _log.LastIndex + 1;
            hintTerm = 0;
        }
        else
        {
            hintTerm = _log.Term(m.Index);
            hintIndex = Math.Max(_log.FirstIndexOfTerm(m.Index, hintTerm), _log.Committed + 1);
        }
        Send(new Message
        {
            Type = MessageType.AppendResponse,
            From = Id,
            To = m.From,
            Term = Term,
            Index = m.Index,
            Reject = true,
            RejectHint = hintIndex,
            LogTerm = hintTerm,
            Context = m.Context,
        });
    }

    private void HandleHeartbeat(Message m)
    {
        _log.CommitTo(Math.Min(m.Commit, _log.LastIndex));
        Send(new Message { Type = MessageType.HeartbeatResponse, From = Id, To = m.From, Term = Term, Context = m.Context });
    }

    private void StepLeader(Message m)
    {
        if (!_progress.TryGetValue(m.From, out var p))
        {
            return;
        }
        switch (m.Type)
        {
            case MessageType.AppendResponse:
                p.RecentActive = true;
                OnRoundAnswered(p, m.Context);
                if (m.Reject)
                {
                    HandleAppendRejection(m, p);
                }
                else
                {
                    HandleAppendAcceptance(m, p);
                }
                break;
            case MessageType.HeartbeatResponse:
                p.RecentActive = true;
                OnRoundAnswered(p, m.Context);
                p.ProbeSent = false;
                if (p.State == ProgressState.Replicate && p.Inflights.Full)
                {
                    // An append in the window may have been lost: free one slot so replication resumes; a gap
                    // makes the follower reject, which drops this peer back to probing.
                    p.Inflights.FreeFirstOne();
                }
                if (p.Match < _log.LastIndex)
                {
                    p.StalledHeartbeats = p.Match == p.MatchAtHeartbeat ? p.StalledHeartbeats + 1 : 0;
                    p.MatchAtHeartbeat = p.Match;
                    if (p.State == ProgressState.Replicate && p.StalledHeartbeats >= StallHeartbeats)
                    {
                        // The follower answers heartbeats but its match has not moved for several rounds while it
                        // is behind: the appends in the window were lost (it restarted, or a connection dropped
                        // them). With no new proposal nothing else would reveal the gap, so probe from its match.
                        p.BecomeProbe();
                        p.StalledHeartbeats = 0;
                    }
                    // A probe goes even without entries: a peer added by a membership change starts past the
                    // leader's log, and only its rejection says where its own log ends.
                    MaybeSendAppend(m.From, p, sendIfEmpty: p.State == ProgressState.Probe);
                }
                else
                {
                    p.StalledHeartbeats = 0;
                    p.MatchAtHeartbeat = p.Match;
                }
                if (m.Context > p.ReadAck)
                {
                    p.ReadAck = m.Context;
                    ReleaseConfirmedReads();
                }
                break;
        }
    }

    private void HandleAppendRejection(Message m, Progress p)
    {
        var nextProbe = m.RejectHint;
        if (m.LogTerm > 0 && m.Index + 1 >= _log.FirstIndex)
        {
            // If we hold entries of the follower's conflicting term, resume after our last one of that term;
            // otherwise skip the follower's whole term.
            var candidate = _log.LastIndexWithTermAtMost(m.Index, m.LogTerm);
            if (_log.Term(candidate) == m.LogTerm)
            {
                nextProbe = candidate + 1;
            }
        }
        if (p.MaybeDecrTo(m.Index, nextProbe))
        {
            if (p.State == ProgressState.Replicate)
            {
                p.BecomeProbe();
                p.Next = Math.Max(p.Match + 1, Math.Min(m.Index, nextProbe));
            }
            MaybeSendAppend(m.From, p, sendIfEmpty: true);
        }
    }

    private void HandleAppendAcceptance(Message m, Progress p)
    {
        var wasPaused = p.IsPaused;
        if (p.MaybeUpdate(m.Index))
        {
            if (p.State == ProgressState.Probe)
            {
                p.BecomeReplicate();
            }
            else if (p.State == ProgressState.Snapshot)
            {
                // The peer holds the snapshot (or caught up otherwise): replicate from its match once the log has
                // what follows it, whatever the host reports later.
                if (p.Match + 1 >= _log.FirstIndex)
                {
                    p.BecomeProbe();
                    p.BecomeReplicate();
                }
            }
            else
            {
                p.Inflights.FreeLE(m.Index);
            }
            if (MaybeCommit())
            {
                RequestBroadcast();
            }
        }
        else if (p.State == ProgressState.Replicate)
        {
            p.Inflights.FreeLE(m.Index);
        }
        MaybeFinishTransfer(m.From, p);
        // The window moved or the peer was paused (and may have missed commit updates): send at the next Ready.
        if (wasPaused || p.Next <= _log.LastIndex || p.SentCommit < _log.Committed)
        {
            RequestBroadcast();
        }
    }

    /// <summary>Advances the commit index to the quorum's match, only through an entry of the current term (Raft Figure 8).</summary>
    private bool MaybeCommit()
    {
        Span<ulong> matches = stackalloc ulong[_voterIds.Length];
        for (var i = 0; i < _voterIds.Length; i++)
        {
            var id = _voterIds[i];
            matches[i] = id == Id ? _log.PersistedLastIndex : _progress[id].Match;
        }
        matches.Sort();
        // The quorum-th largest match: held durably by a majority of voters.
        var quorumIndex = matches[_voterIds.Length - QuorumSize];
        if (quorumIndex <= _log.Committed)
        {
            return false;
        }
        if (_log.Term(quorumIndex) != Term && !_config.UnsafeCommitEarlierTermEntries)
        {
            return false;
        }
        _log.CommitTo(quorumIndex);
        OnCommitAdvanced();
        return true;
    }

    private void OnCommitAdvanced()
    {
        MaybeStepDownAfterRemoval();
        if (Role != NodeRole.Leader)
        {
            return;
        }
        while (_uncommitted.Count > 0 && _uncommitted.Peek().Index <= _log.Committed)
        {
            _uncommittedBytes -= _uncommitted.Dequeue().Bytes;
        }
        if (_readsAwaitingCommit.Count > 0 && _log.Term(_log.Committed) == Term)
        {
            foreach (var requestId in _readsAwaitingCommit)
            {
                StartRead(requestId);
            }
            _readsAwaitingCommit.Clear();
        }
    }
}
