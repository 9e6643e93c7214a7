namespace Aurigraph.Consensus;

public sealed partial class RaftNode
{
    /// <summary>Marks a Vote sent because the leader asked this node to take over (TimeoutNow): voters grant it inside their check-quorum lease.</summary>
    internal const ulong TransferCampaign = 1;

    private ulong _leadTransferee;
    private int _transferElapsed;

    // Set when this leader starts a transfer; lease reads are off until the term changes.
    private bool _transferredThisTerm;

    // TimeoutNow already went to the current transfer's target: later acknowledgements need not send it again.
    private bool _timeoutNowSent;

    /// <summary>The voter this leader is handing leadership to, or 0.</summary>
    public ulong LeadTransferee => _leadTransferee;

    /// <summary>
    /// Starts handing leadership to <paramref name="target"/> (Raft thesis §3.10): the leader stops taking proposals,
    /// brings the target's log up to date, then tells it to campaign at once (TimeoutNow); the target's higher term
    /// ends this leadership. If the target has not taken over within an election timeout, the transfer is abandoned
    /// and this node leads on. Returns why not when the transfer cannot start.
    /// </summary>
    public TransferResult TransferLeadership(ulong target)
    {
        if (Role != NodeRole.Leader)
        {
            return TransferResult.NotLeader;
        }
        if (target == Id)
        {
            return TransferResult.AlreadyLeader;
        }
        if (!_voters.Contains(target) || !_progress.TryGetValue(target, out var p))
        {
            return TransferResult.NotAVoter;
        }
        _leadTransferee = target;
        _transferElapsed = 0;
        _transferredThisTerm = true;
        _timeoutNowSent = false;
        if (p.Match == _log.LastIndex)
        {
            SendTimeoutNow(target);
        }
        else if (p.State != ProgressState.Snapshot)
        {
            // Appends in its window may have been lost; probing from its match resends what it lacks now rather
            // than after the next heartbeat round. (A target receiving a snapshot catches up when it is installed.)
            p.BecomeProbe();
            MaybeSendAppend(target, p, sendIfEmpty: true);
        }
        return TransferResult.Started;
    }

    /// <summary>A transfer's target acknowledged entries: once it holds the whole log, it is told to campaign.</summary>
    private void MaybeFinishTransfer(ulong from, Progress p)
    {
        if (_leadTransferee == from && !_timeoutNowSent && p.Match == _log.LastIndex)
        {
            SendTimeoutNow(from);
        }
    }

    private void SendTimeoutNow(ulong target)
    {
        _timeoutNowSent = true;
        _messages.Add(new Message { Type = MessageType.TimeoutNow, From = Id, To = target, Term = Term });
    }

    /// <summary>On each leader tick: a transfer that has not completed within an election timeout is abandoned.</summary>
    private void TickTransfer()
    {
        if (_leadTransferee != 0 && ++_transferElapsed >= _config.ElectionTicks)
        {
            _leadTransferee = 0;
            _transferElapsed = 0;
        }
    }

    /// <summary>A follower told by its leader to take over campaigns at once, skipping pre-vote.</summary>
    private void HandleTimeoutNow(Message m)
    {
        if (CanCampaign && m.From == Leader)
        {
            _electionElapsed = 0;
            Campaign(preVote: false, transfer: true);
        }
    }
}

/// <summary>Whether a leadership transfer started, or why not.</summary>
public enum TransferResult : byte
{
    Started = 0,
    NotLeader = 1,
    AlreadyLeader = 2,
    NotAVoter = 3,
}
