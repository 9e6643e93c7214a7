namespace Aurigraph.Consensus;

/// <summary>
/// What the host must do after feeding the core input. The loop contract:
/// <list type="number">
/// <item>send <see cref="Messages"/> at once — in parallel with the write below (a leader replicates while it persists);
/// for a <see cref="MessageType.Snapshot"/> message, stream the state of the host's snapshot (at that index or newer)
/// to the peer and report the outcome with <see cref="RaftNode.ReportSnapshot"/>;</item>
/// <item>when <see cref="Snapshot"/> is set, install it first: replace the state machine's state with the staged
/// snapshot data and reset the log storage to the snapshot's boundary (no entries, first index = its index + 1);</item>
/// <item>persist <see cref="Snapshot"/>, <see cref="HardState"/> and <see cref="Entries"/> in one durable, atomic write
/// (entries replace any stored at or after their first index);</item>
/// <item>then send <see cref="MessagesAfterPersist"/> (votes and append acknowledgements promise durable state);</item>
/// <item>apply <see cref="CommittedEntries"/> in order, and serve <see cref="ReadStates"/> once applied reaches their index;</item>
/// <item>call <see cref="RaftNode.Advance"/> with this Ready.</item>
/// </list>
/// </summary>
public sealed class Ready
{
    /// <summary>
    /// A snapshot received from the leader that the host must install before it applies any of
    /// <see cref="CommittedEntries"/> (which then all follow the snapshot's index): the state machine takes the
    /// staged data, the log storage restarts at the snapshot's boundary, durably with <see cref="HardState"/>.
    /// The membership in effect becomes the snapshot's. <see cref="RaftNode.Advance"/> records the state machine
    /// as applied up to the snapshot's index.
    /// </summary>
    public SnapshotMeta? Snapshot { get; init; }

    /// <summary>The membership in effect, when it changed since the previous Ready (a change entered or left the log, or a snapshot set it).</summary>
    public MembershipConfig? Membership { get; init; }

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
    public bool MustPersist => HardState is not null || Entries.Count > 0 || Snapshot is not null;
}

/// <summary>Why a proposal or read request was not taken.</summary>
public enum RefusalReason : byte
{
    None = 0,
    NotLeader = 1,
    TooMuchUncommitted = 2,

    /// <summary>The leader is handing leadership over; the hint names the node taking over.</summary>
    TransferringLeadership = 3,

    /// <summary>
    /// A membership change is still uncommitted (only one at a time), or this leader has not yet committed an
    /// entry of its term (a change appended by an earlier leader may still be in flight).
    /// </summary>
    MembershipChangeInProgress = 4,

    /// <summary>The learner to promote is not caught up: its match is more than <see cref="RaftConfig.PromotionCatchUpGap"/> behind, or it has not answered lately.</summary>
    LearnerNotCaughtUp = 5,

    /// <summary>The change does not fit the configuration (adding a member, promoting a non-learner, removing a non-member or the last voter).</summary>
    InvalidMembershipChange = 6,
}

/// <summary>The outcome of <see cref="RaftNode.Propose"/> (and of reads and membership changes): the entry's (index, term) when accepted, else why not and who leads.</summary>
public readonly record struct ProposeResult(bool Accepted, ulong Index, ulong Term, RefusalReason Refusal, ulong LeaderHint);
