using Aurigraph.Consensus;

namespace Aurigraph.Node.Hosting;

/// <summary>A membership change the operator asked for that does not fit (unknown node, not a learner, ...): INVALID_ARGUMENT.</summary>
internal sealed class MembershipChangeRefusedException(string message) : Exception(message);

/// <summary>
/// Online membership changes, one server at a time, through the core (<see cref="RaftNode.ProposeMembershipChange"/>). The
/// address book is <see cref="NodeOptions.Members"/>: a node can join only when every member's configuration lists its
/// addresses; which of them vote, learn or are out is decided by the log. A change answers once it is applied on the leader.
/// </summary>
internal sealed partial class ConsensusHost
{
    private readonly List<(ulong Index, TaskCompletionSource<(ulong, MembershipConfig)> Done)> _membershipWaits = [];
    private MembershipConfig? _membershipView;

    /// <summary>The membership in effect on this node (safe from any thread).</summary>
    public MembershipConfig Membership => Volatile.Read(ref _membershipView) ?? new MembershipConfig(_raft.Voters, _raft.Learners);

    /// <summary>Proposes <paramref name="change"/> on this node (it must lead); completes with the change's index and the new membership once applied.</summary>
    public Task<(ulong Index, MembershipConfig Config)> ChangeMembershipAsync(MembershipChange change)
    {
        var completion = new TaskCompletionSource<(ulong, MembershipConfig)>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            if (_options.Members.All(m => m.Id != change.NodeId))
            {
                completion.TrySetException(new MembershipChangeRefusedException($"node {change.NodeId} is not in Aurigraph:Members, so no member knows its addresses; add it to every node's configuration first"));
                return;
            }
            var result = _raft.ProposeMembershipChange(change);
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
                done.TrySetResult((index, Membership));
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
