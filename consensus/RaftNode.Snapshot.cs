namespace Aurigraph.Consensus;

public sealed partial class RaftNode
{
    /// <summary>
    /// The host's report on a snapshot it was asked to send to <paramref name="peer"/> (a <see cref="MessageType.Snapshot"/>
    /// message in a Ready). On success the leader probes the peer from the snapshot's index + 1 at once; on failure it
    /// probes from the peer's match after the next heartbeat round (which, if those entries are compacted, sends a
    /// snapshot again). Ignored unless this node leads and the peer is waiting on a snapshot.
    /// </summary>
    public void ReportSnapshot(ulong peer, bool succeeded)
    {
        if (Role != NodeRole.Leader || !_progress.TryGetValue(peer, out var p) || p.State != ProgressState.Snapshot)
        {
            return;
        }
        if (!succeeded)
        {
            p.PendingSnapshot = 0;
        }
        p.BecomeProbe();
        if (succeeded)
        {
            MaybeSendAppend(peer, p, sendIfEmpty: true);
        }
        else
        {
            p.ProbeSent = true; // the usual pause: a heartbeat response lets the next probe go
        }
    }

    /// <summary>A snapshot, which the host data of the leader's own snapshot goes with, to a peer that needs compacted entries.</summary>
    private bool MaybeSendSnapshot(ulong to, Progress p)
    {
        if (!p.RecentActive)
        {
            return false; // no point streaming a whole state to a peer that does not answer
        }
        var snapshot = _log.Snapshot;
        p.BecomeSnapshot(snapshot.Index);
        Send(new Message { Type = MessageType.Snapshot, From = Id, To = to, Term = Term, Snapshot = snapshot });
        return true;
    }

    /// <summary>
    /// A follower holds the whole of a leader's snapshot (the host staged its data): install it unless the log
    /// already covers it. Answered like an append: with the snapshot's index, or the commit index when not newer.
    /// </summary>
    private void HandleSnapshot(Message m)
    {
        if (m.Snapshot is not { } snapshot)
        {
            return;
        }
        if (snapshot.Index <= _log.Committed)
        {
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term, Index = _log.Committed });
            return;
        }
        if (_config.UnsafeSnapshotMatchByIndexOnly ? snapshot.Index <= _log.LastIndex : _log.MatchTerm(snapshot.Index, snapshot.Term))
        {
            // The log already holds the snapshot's last entry, so (log matching) everything before it: commit only.
            _log.CommitTo(snapshot.Index);
        }
        else
        {
            _log.Restore(snapshot);
        }
        Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term, Index = snapshot.Index });
    }

    /// <summary>
    /// The snapshot boundary for a host compacting its log at <paramref name="index"/> (at most <see cref="AppliedIndex"/>,
    /// whose state the host's snapshot holds): the entry's term and the membership in effect there.
    /// </summary>
    public SnapshotMeta SnapshotMetaAt(ulong index)
    {
        if (index > _log.Applied || index + 1 < _log.FirstIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"outside [{_log.FirstIndex - 1}, applied {_log.Applied}]");
        }
        return new SnapshotMeta(index, _log.Term(index), _log.Membership.At(index));
    }
}
