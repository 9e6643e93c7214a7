namespace Aurigraph.Consensus;

public sealed partial class RaftNode
{
    private MembershipConfig _membership = MembershipConfig.Empty;

    // The membership changed since the last Ready: the next one reports it.
    private bool _membershipChanged;

    /// <summary>
    /// Proposes one membership change (Raft thesis §4.1, one server at a time). The change takes effect on each node
    /// as soon as its entry is in that node's log — on the leader, now: the new configuration decides the quorum for
    /// this very entry — and reverts if the entry is truncated. Refused when this node does not lead, a transfer is
    /// under way, another change is uncommitted or this leader has not committed an entry of its term, the change
    /// does not fit the configuration, or a learner to promote is not caught up. A leader that removes itself leads
    /// until the removal commits, without counting itself, then steps down.
    /// </summary>
    public ProposeResult ProposeMembershipChange(MembershipChange change) => ProposeMembershipChange(change, default);

    /// <summary>
    /// As <see cref="ProposeMembershipChange(MembershipChange)"/>, with a context the entry carries to every node
    /// (<see cref="MembershipChange.ContextOf"/>; the core does not read it), such as the new member's addresses.
    /// Refused as invalid when it is longer than <see cref="MembershipChange.MaxContextBytes"/>.
    /// </summary>
    public ProposeResult ProposeMembershipChange(MembershipChange change, ReadOnlySpan<byte> context)
    {
        if (Role != NodeRole.Leader)
        {
            return new ProposeResult(false, 0, 0, RefusalReason.NotLeader, Leader);
        }
        if (_leadTransferee != 0)
        {
            return new ProposeResult(false, 0, 0, RefusalReason.TransferringLeadership, _leadTransferee);
        }
        if (_log.Membership.CurrentIndex > _log.Committed || (_log.Term(_log.Committed) != Term && !_config.UnsafeMembershipChangeBeforeTermCommit))
        {
            return new ProposeResult(false, 0, 0, RefusalReason.MembershipChangeInProgress, Id);
        }
        if (_membership.Check(change) is not null || context.Length > MembershipChange.MaxContextBytes)
        {
            return new ProposeResult(false, 0, 0, RefusalReason.InvalidMembershipChange, Id);
        }
        if (change.Type == MembershipChangeType.PromoteLearner &&
            (!_progress.TryGetValue(change.NodeId, out var p) || !p.RecentActive || p.Match + _config.PromotionCatchUpGap < _log.LastIndex))
        {
            return new ProposeResult(false, 0, 0, RefusalReason.LearnerNotCaughtUp, Id);
        }
        var entry = new Entry(_log.LastIndex + 1, Term, EntryType.ConfChange, change.Encode(_membership.Apply(change), context));
        AppendLeaderEntry(entry);
        SyncMembership();
        RequestBroadcast();
        return new ProposeResult(true, entry.Index, entry.Term, RefusalReason.None, Id);
    }

    /// <summary>The membership in effect at <paramref name="index"/> (from the snapshot this log starts after on).</summary>
    public MembershipConfig MembershipAt(ulong index) => _log.Membership.At(index);

    /// <summary>Follows the log's configuration after it changed (an entry appended or truncated, a snapshot restored).</summary>
    private void SyncMembership()
    {
        var current = _log.Membership.Current;
        if (ReferenceEquals(current, _membership))
        {
            return;
        }
        if (current.Equals(_membership))
        {
            _membership = current;
            return;
        }
        ApplyMembership(current);
    }

    private void ApplyMembership(MembershipConfig config)
    {
        _membership = config;
        _membershipChanged = true;
        _voters.Clear();
        _voters.UnionWith(config.Voters);
        _learners.Clear();
        _learners.UnionWith(config.Learners);
        _voterIds = [.. config.Voters];
        List<ulong>? gone = null;
        foreach (var id in _progress.Keys)
        {
            if (!config.Contains(id))
            {
                (gone ??= []).Add(id);
            }
        }
        if (gone is not null)
        {
            foreach (var id in gone)
            {
                _progress.Remove(id);
            }
        }
        foreach (var id in config.Voters.Concat(config.Learners))
        {
            if (id == Id)
            {
                continue;
            }
            if (_progress.TryGetValue(id, out var p))
            {
                p.IsLearner = config.IsLearner(id);
                continue;
            }
            p = new Progress(_config.MaxInflightMessages, _config.MaxInflightBytes, config.IsLearner(id));
            p.Reset(_log.LastIndex + 1);
            // Like every peer when a term starts, a new member gets one check-quorum period to answer.
            p.RecentActive = true;
            _progress[id] = p;
        }
        if (Role != NodeRole.Leader)
        {
            return;
        }
        if (_leadTransferee != 0 && !_voters.Contains(_leadTransferee))
        {
            _leadTransferee = 0;
            _transferElapsed = 0;
        }
        // A removed voter may have been what held the commit index or a read back.
        if (MaybeCommit())
        {
            RequestBroadcast();
        }
        ReleaseConfirmedReads();
        RequestBroadcast();
    }

    /// <summary>
    /// A leader outside its committed configuration's voters (it removed itself) stops leading: it sends the new
    /// commit index, then asks the most caught-up voter to campaign at once rather than leave the cluster to an
    /// election timeout.
    /// </summary>
    private void MaybeStepDownAfterRemoval()
    {
        if (Role != NodeRole.Leader || IsVoter || _log.Committed < _log.Membership.CurrentIndex)
        {
            return;
        }
        BroadcastAppend();
        ulong successor = 0;
        foreach (var voter in _voterIds)
        {
            if (_progress.TryGetValue(voter, out var p) && p.Match == _log.LastIndex)
            {
                successor = voter;
                break;
            }
        }
        BecomeFollower(Term, 0);
        if (successor != 0)
        {
            _messages.Add(new Message { Type = MessageType.TimeoutNow, From = Id, To = successor, Term = Term });
        }
    }
}
