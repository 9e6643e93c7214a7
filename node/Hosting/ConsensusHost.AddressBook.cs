using System.Net;
using Aurigraph.Consensus;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// The address book on the consensus loop. Records arrive with AddLearner changes — taken on the leader when it
/// proposes, on every other node when the entry is appended (before the Ready's messages go out), so the leader reaches
/// a new learner at once and a follower knows a member as soon as its log does — and with snapshots. The transport's
/// peers follow: every member of the membership with an address gets lanes, and a member whose removal committed loses
/// them and is refused from then on. Lanes are not closed when a removal is only appended: the removed member's
/// acknowledgements may be what commits it (a leader removing itself).
/// </summary>
internal sealed partial class ConsensusHost
{
    private AddressBook _book = null!;

    /// <summary>Where each member is (thread-safe).</summary>
    public AddressBook Book => _book;

    /// <summary>The membership to start the core from when its log and snapshot say nothing: a join's answer, else the configuration.</summary>
    private static (ulong[] Voters, ulong[] Learners) Bootstrap(NodeOptions options, AddressBook book)
    {
        if (book.Joined is { } joined)
        {
            return ([.. joined.Voters], [.. joined.Learners]);
        }
        return (
            [.. options.Members.Where(m => m.Role == NodeRole.Validator && !m.Joining).Select(m => m.Id)],
            [.. options.Members.Where(m => (m.Role != NodeRole.Validator && !m.Joining) || (m.Joining && m.Id == options.NodeId)).Select(m => m.Id)]);
    }

    /// <summary>
    /// Before a Ready's messages go out: takes the member records of its new entries (AddLearner changes that carry
    /// one) and, if they or the membership changed, has the transport follow.
    /// </summary>
    private void LearnAddresses(Ready ready)
    {
        var learned = false;
        var entries = ready.Entries;
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Type == EntryType.ConfChange)
            {
                learned |= LearnFrom(entries[i]);
            }
        }
        if (learned || ready.Membership is not null)
        {
            SyncPeers();
        }
    }

    private bool LearnFrom(in Entry entry)
    {
        var context = MembershipChange.ContextOf(entry.Data);
        if (context.IsEmpty)
        {
            return false;
        }
        var (change, _) = MembershipChange.Decode(entry.Data.Span);
        MemberOptions record;
        try
        {
            record = MemberRecordCodec.Decode(context.Span);
        }
        catch (FormatException ex)
        {
            BookProblem($"the change at index {entry.Index} carries an unreadable member record ({ex.Message})");
            return false;
        }
        if (change.Type != MembershipChangeType.AddLearner || record.Id != change.NodeId || MemberRecordCodec.Problems(record, "record").Any())
        {
            BookProblem($"the change at index {entry.Index} ({change}) carries a record of node {record.Id} that is not taken");
            return false;
        }
        return Learn(record, fromLog: true, "log index", entry.Index);
    }

    private bool Learn(MemberOptions record, bool fromLog, string source, ulong at)
    {
        try
        {
            if (!_book.Learn(record, fromLog))
            {
                return false;
            }
        }
        catch (AddressBookFullException ex)
        {
            BookProblem(ex.Message);
            return false;
        }
        HostLog.MemberLearned(_logger, _options.NodeId, record.Id, record.Role, record.PeerAddress, record.ApiAddress, source, at);
        return true;
    }

    /// <summary>After a snapshot install: the sender's book and the removals it knows of.</summary>
    private void LearnAddresses(Snapshots.StateSnapshotHeader header)
    {
        _book.RememberRemoved(header.RemovedIds);
        foreach (var raw in header.MemberRecords)
        {
            MemberOptions record;
            try
            {
                record = MemberRecordCodec.Decode(raw);
            }
            catch (FormatException ex)
            {
                BookProblem($"snapshot {header.Index} carries an unreadable member record ({ex.Message})");
                continue;
            }
            if (!MemberRecordCodec.Problems(record, "record").Any())
            {
                Learn(record, fromLog: false, "snapshot", header.Index);
            }
        }
        SyncPeers();
    }

    /// <summary>Committed removals are remembered (their nodes' redials are refused from then on); after each Ready with committed entries.</summary>
    private void RememberRemovals(IReadOnlyList<Entry> committed)
    {
        for (var i = 0; i < committed.Count; i++)
        {
            if (committed[i].Type != EntryType.ConfChange)
            {
                continue;
            }
            var (change, _) = MembershipChange.Decode(committed[i].Data.Span);
            if (change.Type == MembershipChangeType.RemoveNode && !_raft.Membership.Contains(change.NodeId) && _book.Remove(change.NodeId))
            {
                SyncPeers();
            }
        }
    }

    /// <summary>
    /// Makes the transport's peers follow the membership: lanes to every member with an address, none to a member
    /// whose removal committed. Peers outside the membership for other reasons (members of the configuration not added
    /// yet, a member that announced itself before this node's log named it) keep their lanes. On the loop.
    /// </summary>
    private void SyncPeers()
    {
        var current = _raft.Membership;
        var peers = _transport.Peers;
        foreach (var id in current.Voters.Concat(current.Learners))
        {
            if (id == _options.NodeId || peers.Contains(id))
            {
                continue;
            }
            if (_book.Find(id) is not { } member || !IPEndPoint.TryParse(member.PeerAddress, out var endPoint))
            {
                BookProblem($"member {id} has no peer address in the address book; nothing can be sent to it until its record arrives");
                continue;
            }
            try
            {
                var wan = _options.Transport.Wan.Enabled ? WanTopology.Link(_options.Self, member, _options.Transport.Wan) : null;
                if (_transport.AddPeer(id, endPoint, wan))
                {
                    HostLog.PeerLanes(_logger, _options.NodeId, "to", id, member.PeerAddress, "a member");
                }
            }
            catch (InvalidOperationException ex)
            {
                BookProblem(ex.Message);
            }
        }
        foreach (var id in peers)
        {
            if (_book.IsRemoved(id) && !current.Contains(id) && _transport.RemovePeer(id))
            {
                HostLog.PeerLanes(_logger, _options.NodeId, "closed to", id, _book.Find(id)?.PeerAddress ?? "-", "its removal committed");
            }
        }
    }

    // Rare (a damaged or refused record, a full book): the message is built only then.
    private void BookProblem(string reason) => HostLog.AddressBookProblem(_logger, _options.NodeId, reason);

    /// <summary>
    /// Whether the transport may take a node that is not a peer, whose certificate of this cluster proved its id, at
    /// the address it gave (transport thread): any such node but a removed one. Its votes count only once this node's
    /// log makes it a voter (see HandlePeerInput).
    /// </summary>
    internal static bool AdmitsUnlisted(AddressBook book, ulong id) => !book.IsRemoved(id);
}
