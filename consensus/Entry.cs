namespace Aurigraph.Consensus;

/// <summary>What a log entry carries: a client payload (one block of transactions), the no-op that opens a term, or a membership change.</summary>
public enum EntryType : byte
{
    Normal = 0,
    NoOp = 1,

    /// <summary>A membership change (<see cref="MembershipChange.Decode"/>): it takes effect on each node when appended to its log.</summary>
    ConfChange = 2,
}

/// <summary>One replicated log entry. The payload is carried by reference and never copied by the core.</summary>
public readonly record struct Entry(ulong Index, ulong Term, EntryType Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>Fixed accounting overhead per entry, so that empty entries still count against byte budgets.</summary>
    public const int Overhead = 24;

    /// <summary>Bytes this entry counts for in message, window and Ready budgets.</summary>
    public long Size => Data.Length + Overhead;
}

/// <summary>The state a node must persist before it answers votes or appends: Raft's currentTerm, votedFor and the commit index.</summary>
public readonly record struct HardState(ulong Term, ulong Vote, ulong Commit)
{
    public bool IsEmpty => Term == 0 && Vote == 0 && Commit == 0;
}

/// <summary>A linearizable read confirmed by a quorum: it may be served once the state machine has applied <see cref="Index"/>.</summary>
public readonly record struct ReadState(ulong Index, ulong RequestId);

/// <summary>The role a node currently plays in the protocol.</summary>
public enum NodeRole : byte
{
    Follower = 0,
    PreCandidate = 1,
    Candidate = 2,
    Leader = 3,
}
