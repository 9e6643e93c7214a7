namespace Aurigraph.Consensus;

/// <summary>Everything a <see cref="RaftNode"/> is built from. All durations are in ticks.</summary>
public sealed record RaftConfig
{
    /// <summary>This node's id; non-zero (0 means "nobody").</summary>
    public required ulong Id { get; init; }

    /// <summary>
    /// Voting members (validators), including this node when it is one: the bootstrap configuration, in effect
    /// until a snapshot or a membership change in the log says otherwise. A node joining a running cluster lists
    /// the cluster's members with itself as a learner.
    /// </summary>
    public required IReadOnlyCollection<ulong> Voters { get; init; }

    /// <summary>Non-voting members (business and slim nodes): they receive the log but never vote or count toward a quorum.</summary>
    public IReadOnlyCollection<ulong> Learners { get; init; } = [];

    public required ILogStorage Storage { get; init; }

    /// <summary>Randomness for election timeouts. Seed it to replay a run.</summary>
    public required IRandomSource Random { get; init; }

    /// <summary>A follower campaigns after a randomized timeout in [ElectionTicks, 2 × ElectionTicks).</summary>
    public int ElectionTicks { get; init; } = 10;

    public int HeartbeatTicks { get; init; } = 1;

    /// <summary>Payload bytes per append message (at least one entry is always sent).</summary>
    public long MaxSizePerMessage { get; init; } = 1 << 20;

    /// <summary>Pipelined appends in flight per follower.</summary>
    public int MaxInflightMessages { get; init; } = 64;

    /// <summary>Bytes in flight per follower; 0 means unbounded by bytes.</summary>
    public long MaxInflightBytes { get; init; } = 64L << 20;

    /// <summary>Bytes of committed entries handed to the host per <see cref="Ready"/>.</summary>
    public long MaxCommittedBytesPerReady { get; init; } = 64L << 20;

    /// <summary>Proposals are refused once this many bytes are proposed but not committed; 0 means unbounded.</summary>
    public long MaxUncommittedBytes { get; init; } = 1L << 30;

    public bool PreVote { get; init; } = true;

    public bool CheckQuorum { get; init; } = true;

    /// <summary>
    /// How much shorter than the election timeout the leader's lease is, in ticks (lease reads, see
    /// <see cref="RaftNode.ReadIndex(ulong, bool)"/>). The leader trusts its lease for <c>ElectionTicks - margin</c> of its
    /// ticks after sending a round a quorum answered; a follower refuses votes for <c>ElectionTicks</c> of its ticks after
    /// receiving it. One tick covers the phase of the follower's tick; the rest covers clock-rate skew: leases hold
    /// while a leader's tick takes at most <c>(ElectionTicks - 1) / (ElectionTicks - margin)</c> times a follower's.
    /// Null (the default) means <c>max(1, ElectionTicks / 5)</c>; otherwise at least 1 and below ElectionTicks.
    /// </summary>
    public int? LeaseMarginTicks { get; init; }

    /// <summary>The lease margin in effect: <see cref="LeaseMarginTicks"/> or its default.</summary>
    internal int EffectiveLeaseMarginTicks => LeaseMarginTicks ?? DefaultLeaseMarginTicks(ElectionTicks);

    /// <summary>The lease margin when <see cref="LeaseMarginTicks"/> is not set: <c>max(1, electionTicks / 5)</c>.</summary>
    public static int DefaultLeaseMarginTicks(int electionTicks) => Math.Max(1, electionTicks / 5);

    /// <summary>
    /// The last index the host's state machine applied durably (on restart). At least the storage's snapshot index:
    /// the host restores its state machine from its snapshot before it starts the node.
    /// </summary>
    public ulong Applied { get; init; }

    /// <summary>
    /// A learner may be promoted to voter only when its match is within this many entries of the leader's last
    /// index (and it answered within the current check-quorum period): a voter that must first catch up would
    /// stall commits in a cluster that needs its acknowledgement.
    /// </summary>
    public ulong PromotionCatchUpGap { get; init; } = 64;

    /// <summary>
    /// Test-only fault: commit by counting replicas even for an entry of an earlier term (the Raft paper's
    /// Figure 8 bug). Exists so tests can prove the simulator detects an unsafe core.
    /// </summary>
    internal bool UnsafeCommitEarlierTermEntries { get; init; }

    /// <summary>
    /// Test-only fault: a follower treats a snapshot as already held when its log merely reaches the snapshot's
    /// index (without comparing terms), and commits its own, possibly divergent, entries up to it.
    /// </summary>
    internal bool UnsafeSnapshotMatchByIndexOnly { get; init; }

    /// <summary>
    /// Test-only fault: the leader trusts its lease whenever check-quorum keeps it leading, however long ago a quorum
    /// answered (a leader cut off after a check serves lease reads for up to two election timeouts).
    /// </summary>
    internal bool UnsafeLeaseWithoutQuorumRecency { get; init; }

    /// <summary>Test-only fault: a linearizable read is answered at once, without the quorum confirmation round.</summary>
    internal bool UnsafeReadIndexWithoutQuorumRound { get; init; }

    /// <summary>
    /// Test-only fault: a new leader accepts a membership change before it committed an entry of its term, when a
    /// change appended by an earlier leader may still be in flight (two changes at once break quorum overlap).
    /// </summary>
    internal bool UnsafeMembershipChangeBeforeTermCommit { get; init; }

    internal void Validate()
    {
        if (Id == 0)
        {
            throw new ArgumentException("Id must be non-zero", nameof(Id));
        }
        if (Voters.Count == 0)
        {
            throw new ArgumentException("at least one voter is required", nameof(Voters));
        }
        if (Voters.Contains(0UL) || Learners.Contains(0UL))
        {
            throw new ArgumentException("member id 0 is reserved", nameof(Voters));
        }
        foreach (var learner in Learners)
        {
            if (Voters.Contains(learner))
            {
                throw new ArgumentException($"member {learner} is both voter and learner", nameof(Learners));
            }
        }
        if (!Voters.Contains(Id) && !Learners.Contains(Id))
        {
            throw new ArgumentException($"node {Id} is neither a voter nor a learner", nameof(Id));
        }
        if (HeartbeatTicks <= 0 || ElectionTicks <= HeartbeatTicks)
        {
            throw new ArgumentException("ElectionTicks must exceed HeartbeatTicks, both positive", nameof(ElectionTicks));
        }
        if (LeaseMarginTicks is { } margin && (margin < 1 || margin >= ElectionTicks))
        {
            throw new ArgumentException($"LeaseMarginTicks must be at least 1 and below ElectionTicks ({ElectionTicks}), was {margin}", nameof(LeaseMarginTicks));
        }
        if (MaxInflightMessages <= 0 || MaxSizePerMessage <= 0)
        {
            throw new ArgumentException("MaxInflightMessages and MaxSizePerMessage must be positive", nameof(MaxInflightMessages));
        }
    }
}
