using Aurigraph.Consensus;

namespace Aurigraph.Node.Hosting;

/// <summary>A membership change the operator asked for that does not fit (unknown node, not a learner, ...): INVALID_ARGUMENT.</summary>
internal sealed class MembershipChangeRefusedException(string message) : Exception(message);

/// <summary>A join of a node whose removal committed: only an operator adds it back (PERMISSION_DENIED).</summary>
internal sealed class MembershipRemovedException(string message) : Exception(message);

/// <summary>
/// Online membership changes, one server at a time, through the core (<see cref="RaftNode.ProposeMembershipChange(MembershipChange, ReadOnlySpan{byte})"/>).
/// An AddLearner change carries the new member's record (<see cref="MemberRecordCodec"/>) so every node learns where it is
/// from the log (<see cref="AddressBook"/>); which members vote, learn or are out is decided by the log too. A change
/// answers once it is applied on the leader.
/// </summary>
internal sealed partial class ConsensusHost
{
    private readonly List<(ulong Index, TaskCompletionSource<(ulong, MembershipConfig)> Done)> _membershipWaits = [];
    private MembershipConfig? _membershipView;

    /// <summary>The membership in effect on this node (safe from any thread).</summary>
    public MembershipConfig Membership => Volatile.Read(ref _membershipView) ?? new MembershipConfig(_raft.Voters, _raft.Learners);

    /// <summary>
    /// Proposes <paramref name="change"/> on this node (it must lead); completes with the change's index and the new
    /// membership once applied. An AddLearner carries <paramref name="record"/>, or the address book's record of the
    /// node; when the node already is a learner at that very record (a join asked again), it completes at once with index 0.
    /// </summary>
    public Task<(ulong Index, MembershipConfig Config)> ChangeMembershipAsync(MembershipChange change, MemberOptions? record = null, bool fromAdmin = true)
    {
        var completion = new TaskCompletionSource<(ulong, MembershipConfig)>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            byte[]? context = null;
            if (change.Type == MembershipChangeType.AddLearner)
            {
                var known = _book.Find(change.NodeId);
                record ??= known;
                if (record is null)
                {
                    completion.TrySetException(new MembershipChangeRefusedException($"node {change.NodeId} is not in the address book, so no member knows its addresses; give its record with the change (or let it join with the join token)"));
                    return;
                }
                if (_raft.Role != Consensus.NodeRole.Leader)
                {
                    completion.TrySetException(new NodeUnavailableException($"node {_options.NodeId} does not lead (leader: {_raft.Leader}); send the change to the leader"));
                    return;
                }
                if (_raft.Membership.Contains(change.NodeId))
                {
                    var same = _raft.Membership.IsLearner(change.NodeId) && known is not null && MemberRecordCodec.SameAs(known, record);
                    // Answered as done only once the learner is in the committed membership: what is only appended may be truncated.
                    if (same && _raft.MembershipAt(_raft.CommitIndex).IsLearner(change.NodeId))
                    {
                        completion.TrySetResult((0, _raft.MembershipAt(_raft.CommitIndex)));
                    }
                    else if (same)
                    {
                        completion.TrySetException(new NodeUnavailableException($"the change adding node {change.NodeId} is not committed yet; retry shortly"));
                    }
                    else
                    {
                        completion.TrySetException(new MembershipChangeRefusedException($"node {change.NodeId} is already a member{(known is null ? "" : $" at {known.PeerAddress}")}; remove it first to add it at other addresses"));
                    }
                    return;
                }
                if (known is null && _book.Count >= AddressBook.MaxRecords)
                {
                    completion.TrySetException(new AddressBookFullException($"the address book holds {_book.Count} records, its bound; remove members before adding node {change.NodeId}"));
                    return;
                }
                if (_book.IsRemoved(change.NodeId) && !fromAdmin)
                {
                    completion.TrySetException(new MembershipRemovedException($"node {change.NodeId} was removed from the cluster; only an operator adds it back (admin membership change)"));
                    return;
                }
                context = MemberRecordCodec.Encode(record);
            }
            var result = _raft.ProposeMembershipChange(change, context);
            if (!result.Accepted)
            {
                Exception refusal = result.Refusal switch
                {
                    RefusalReason.NotLeader => new NodeUnavailableException($"node {_options.NodeId} does not lead (leader: {result.LeaderHint}); send the change to the leader"),
                    RefusalReason.TransferringLeadership => new NodeUnavailableException("a leadership transfer is under way; retry when it is done"),
                    RefusalReason.MembershipChangeInProgress => new NodeUnavailableException("another membership change is not committed yet (or this leader has not committed in its term); retry shortly"),
                    RefusalReason.LearnerNotCaughtUp => new NodeUnavailableException($"node {change.NodeId} is not caught up with the leader's log yet; retry when it is"),
                    _ => new MembershipChangeRefusedException($"{change} does not fit the membership {Membership}"),
                };
                completion.TrySetException(refusal);
                return;
            }
            HostLog.MembershipProposed(_logger, _options.NodeId, change.Type, change.NodeId, result.Index);
            if (record is not null)
            {
                // The leader takes the record now: the appends to the new learner go out with the next broadcast,
                // whichever path sends it.
                Learn(record, fromLog: true, "proposal at index", result.Index);
                SyncPeers();
            }
            _membershipWaits.Add((result.Index, completion));
        });
        return completion.Task;
    }

    /// <summary>After each Ready: answers the changes now applied; on losing leadership, the rest cannot be known here.</summary>
    private void CompleteMembershipWaits(Ready ready)
    {
        if (ready.Membership is { } membership)
        {
            Volatile.Write(ref _membershipView, membership);
            HostLog.MembershipChanged(_logger, _options.NodeId, membership);
            _carbon.OnMembership(membership.Voters, [.. membership.Voters, .. membership.Learners]);
        }
        if (_membershipWaits.Count == 0)
        {
            return;
        }
        var leading = _raft.Role == Consensus.NodeRole.Leader;
        for (var i = _membershipWaits.Count - 1; i >= 0; i--)
        {
            var (index, done) = _membershipWaits[i];
            if (_raft.AppliedIndex >= index)
            {
                // The membership the change made (committed, since applied), not whatever was appended since.
                done.TrySetResult((index, _raft.MembershipAt(index)));
            }
            else if (!leading)
            {
                done.TrySetException(new NodeUnavailableException($"leadership changed before the change at index {index} was applied; it may or may not take effect — read the membership to see"));
            }
            else
            {
                continue;
            }
            _membershipWaits.RemoveAt(i);
        }
    }
}
