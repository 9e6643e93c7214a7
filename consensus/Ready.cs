namespace Aurigraph.Consensus;

/// <summary>
/// What the host must do after feeding the core input. The loop contract:
/// <list type="number">
/// <item>send <see cref="Messages"/> at once — in parallel with the write below (a leader replicates while it persists);</item>
/// <item>persist <see cref="HardState"/> and <see cref="Entries"/> in one durable write (entries replace any stored at or after their first index);</item>
/// <item>then send <see cref="MessagesAfterPersist"/> (votes and append acknowledgements promise durable state);</item>
/// <item>apply <see cref="CommittedEntries"/> in order, and serve <see cref="ReadStates"/> once applied reaches their index;</item>
/// <item>call <see cref="RaftNode.Advance"/> with this Ready.</item>
/// </list>
/// </summary>
public sealed class Ready
{
    public HardState? HardState { get; init; }

    public IReadOnlyList<Entry> Entries { get; init; } = [];

    public IReadOnlyList<Message> Messages { get; init; } = [];

    public IReadOnlyList<Message> MessagesAfterPersist { get; init; } = [];

    public IReadOnlyList<Entry> CommittedEntries { get; init; } = [];

    public IReadOnlyList<ReadState> ReadStates { get; init; } = [];

    /// <summary>Leader known when the Ready was produced (0 = none).</summary>
    public ulong Leader { get; init; }

    public NodeRole Role { get; init; }

    /// <summary>True when this Ready carries state that must be durable before <see cref="MessagesAfterPersist"/> go out.</summary>
    public bool MustPersist => HardState is not null || Entries.Count > 0;
}

/// <summary>Why a proposal or read request was not taken.</summary>
public enum RefusalReason : byte
{
    None = 0,
    NotLeader = 1,
    TooMuchUncommitted = 2,

    /// <summary>The leader is handing leadership over; the hint names the node taking over.</summary>
    TransferringLeadership = 3,
}

/// <summary>The outcome of <see cref="RaftNode.Propose"/>: the entry's (index, term) when accepted, else why not and who leads.</summary>
public readonly record struct ProposeResult(bool Accepted, ulong Index, ulong Term, RefusalReason Refusal, ulong LeaderHint);
