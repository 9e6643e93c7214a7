namespace Aurigraph.Consensus;

/// <summary>Kinds of messages exchanged between peers.</summary>
public enum MessageType : byte
{
    PreVote = 1,
    PreVoteResponse = 2,
    Vote = 3,
    VoteResponse = 4,
    Append = 5,
    AppendResponse = 6,
    Heartbeat = 7,
    HeartbeatResponse = 8,

    /// <summary>The leader tells a caught-up voter to campaign now (leadership transfer).</summary>
    TimeoutNow = 9,

    /// <summary>
    /// The leader's log no longer holds what the follower needs: install the state up to <see cref="Message.Snapshot"/>.
    /// The host streams the state itself and steps this message on the follower once it holds all of it.
    /// </summary>
    Snapshot = 10,
}

/// <summary>
/// A message between two peers. Immutable once built, so a transport (or a simulator) may deliver the same
/// instance twice. Fields are interpreted per <see cref="Type"/>:
/// <list type="bullet">
/// <item>Append: <see cref="Index"/>/<see cref="LogTerm"/> name the entry preceding <see cref="Entries"/>.</item>
/// <item>AppendResponse: <see cref="Index"/> is the last matching index when accepted, or the rejected
/// index; on rejection <see cref="RejectHint"/> and <see cref="LogTerm"/> carry the conflict hint
/// (first index of the conflicting term, and that term; term 0 means the follower's log is shorter).</item>
/// <item>Vote/PreVote: <see cref="Index"/>/<see cref="LogTerm"/> describe the candidate's last entry.</item>
/// <item>Heartbeat/HeartbeatResponse: <see cref="Context"/> is the leader's read-confirmation sequence.</item>
/// <item>Snapshot: <see cref="Snapshot"/> names the state the follower must install; answered with an AppendResponse
/// whose <see cref="Index"/> is the snapshot's index (or the follower's commit index when the snapshot is not newer).</item>
/// <item>Vote: <see cref="Context"/> 1 marks a campaign the leader asked for (TimeoutNow), granted inside the lease.</item>
/// </list>
/// </summary>
public sealed class Message
{
    public MessageType Type { get; init; }
    public ulong From { get; init; }
    public ulong To { get; init; }
    public ulong Term { get; init; }
    public ulong LogTerm { get; init; }
    public ulong Index { get; init; }
    public Entry[] Entries { get; init; } = [];
    public ulong Commit { get; init; }
    public bool Reject { get; init; }
    public ulong RejectHint { get; init; }
    public ulong Context { get; init; }

    /// <summary>For <see cref="MessageType.Snapshot"/>: the snapshot's index, term and membership.</summary>
    public SnapshotMeta? Snapshot { get; init; }

    /// <summary>Payload bytes carried by the entries (for transport accounting).</summary>
    public long EntryBytes
    {
        get
        {
            long total = 0;
            foreach (var e in Entries)
            {
                total += e.Data.Length;
            }
            return total;
        }
    }

    public override string ToString()
    {
        var text = $"{Type} {From}->{To} t{Term} i{Index} lt{LogTerm} c{Commit}";
        if (Entries.Length > 0)
        {
            text += $" ents[{Entries[0].Index}..{Entries[^1].Index}]";
        }
        if (Snapshot is { } snapshot)
        {
            text += $" {snapshot}";
        }
        if (Reject)
        {
            text += $" REJECT hint{RejectHint}";
        }
        if (Context != 0)
        {
            text += $" ctx{Context}";
        }
        return text;
    }
}
