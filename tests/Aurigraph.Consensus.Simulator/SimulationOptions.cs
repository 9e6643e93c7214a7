namespace Aurigraph.Consensus.Simulation;

/// <summary>The core's test-only faults.</summary>
public enum UnsafeCore
{
    None,

    /// <summary>Commit entries of earlier terms by counting replicas (the Raft paper's Figure 8).</summary>
    Figure8,

    /// <summary>A follower takes a snapshot as already held when its log reaches the snapshot's index, whatever the term there.</summary>
    SnapshotIndexOnly,

    /// <summary>The leader trusts its lease whenever it still leads, however long ago a quorum answered (the old lease rule).</summary>
    LeaseWithoutQuorumRecency,

    /// <summary>A linearizable read is answered without the quorum confirmation round.</summary>
    ReadIndexWithoutQuorumRound,

    /// <summary>A new leader takes a membership change before it committed an entry of its term.</summary>
    MembershipChangeBeforeTermCommit,
}

/// <summary>
/// The shape of one simulated run. <see cref="ForSeed"/> draws a varied shape from the seed itself, so that
/// a sweep over seeds covers cluster sizes, network and disk conditions without a hand-written matrix.
/// Times are simulated milliseconds.
/// </summary>
public sealed record SimulationOptions
{
    public int Voters { get; init; } = 3;
    public int Learners { get; init; } = 1;

    /// <summary>Nodes outside the first configuration, started when a membership change adds them.</summary>
    public int Spares { get; init; }

    /// <summary>Whether the fault phase also changes the membership (add learners, promote, remove voters and learners, re-add).</summary>
    public bool MembershipChanges { get; init; }

    /// <summary>The core's <see cref="RaftConfig.PromotionCatchUpGap"/>.</summary>
    public ulong PromotionCatchUpGap { get; init; } = 64;
    public int TickMs { get; init; } = 10;
    public int ElectionTicks { get; init; } = 10;
    public int HeartbeatTicks { get; init; } = 2;

    /// <summary>Length of the fault phase; then faults heal and liveness is checked.</summary>
    public int FaultPhaseMs { get; init; } = 3_000;

    /// <summary>After healing, a leader must emerge and a fresh write must reach every node within this many election timeouts.</summary>
    public int LivenessElectionTimeouts { get; init; } = 30;

    public int MinDelayMs { get; init; } = 1;
    public int MaxDelayMs { get; init; } = 10;
    public double DropRate { get; init; }
    public double DuplicateRate { get; init; }

    /// <summary>Mean time between fault actions (partition, heal, crash, restart, slow disk) in the fault phase; 0 = none.</summary>
    public int MeanFaultIntervalMs { get; init; } = 300;

    /// <summary>Disk write latency of a slow node, drawn per write from [1, value].</summary>
    public int SlowDiskMaxMs { get; init; } = 40;

    /// <summary>Chance that a newly elected leader is crashed or isolated moments after winning (fault phase only).</summary>
    public double LeaderNemesisRate { get; init; }

    /// <summary>
    /// On the healed cluster every client operation must complete within this bound, or ten maximum message
    /// delays if that is longer (one-entry appends over a reordering network can take several round trips).
    /// </summary>
    public int ClientLatencyBoundMs { get; init; } = 400;

    public int EffectiveClientLatencyBoundMs => Math.Max(ClientLatencyBoundMs, 10 * MaxDelayMs);

    /// <summary>After liveness is reached, the run goes on this long with clients active: twice the latency bound.</summary>
    public int HealthyWindowMs => 2 * EffectiveClientLatencyBoundMs;

    public int Clients { get; init; } = 3;

    /// <summary>Clients that only read, each read from a node claiming to lead (see ClusterSimulation's clients).</summary>
    public int Readers { get; init; }

    /// <summary>How long a reader waits for a read while the faults last: two round trips and some.</summary>
    public int ReaderTimeoutMs => 50 + (4 * MaxDelayMs);
    public int Keys { get; init; } = 4;
    public int ClientTimeoutMs { get; init; } = 1_000;

    public long MaxSizePerMessage { get; init; } = 1 << 20;
    public int MaxInflightMessages { get; init; } = 64;

    /// <summary>A node snapshots its state machine and compacts its log each time it applied this many entries more; 0 = never.</summary>
    public int SnapshotEvery { get; init; }

    /// <summary>Bytes per snapshot chunk on the network.</summary>
    public int SnapshotChunkBytes { get; init; } = 16;

    /// <summary>Chunks a sender has in flight beyond what the receiver acknowledged.</summary>
    public int SnapshotWindowChunks { get; init; } = 2;

    /// <summary>Timer rounds without progress after which a sender gives up and reports the transfer failed.</summary>
    public int SnapshotMaxRetries { get; init; } = 3;

    /// <summary>A snapshot sender's timer: resend from the receiver's offset when nothing moved for this long (three maximum delays).</summary>
    public int SnapshotRetryMs => (3 * MaxDelayMs) + 10;

    /// <summary>
    /// How far each node's tick period may be from <see cref="TickMs"/>, in thousandths, drawn per node at boot. Leases
    /// hold while a leader's tick is at most (ElectionTicks - 1) / (ElectionTicks - margin) times a follower's (see
    /// RaftConfig.LeaseMarginTicks), so the skew stays within <see cref="MaxTickSkewPermille"/>: clocks drifting apart
    /// faster than the margin covers are outside what lease reads assume.
    /// </summary>
    public int TickSkewPermille { get; init; }

    /// <summary>The largest skew, in thousandths, that the core's default lease margin covers for these election ticks.</summary>
    public int MaxTickSkewPermille
    {
        get
        {
            var margin = Math.Max(1, ElectionTicks / 5); // RaftConfig's default
            var ratio = (ElectionTicks - 1) / (double)(ElectionTicks - margin);
            // (1 + s) / (1 - s) <= ratio, less one thousandth for rounding.
            return Math.Max(0, (int)Math.Floor((ratio - 1) / (ratio + 1) * 1000) - 1);
        }
    }

    /// <summary>Share of reads a client sends to a random node that claims to lead (a deposed leader included) rather than to its guess.</summary>
    public double ClaimedLeaderReadRate { get; init; }

    /// <summary>Whether partitions cut clients off from the nodes on the other side, too.</summary>
    public bool ClientPartitions { get; init; }

    /// <summary>Whether the fault phase pauses processes (see ClusterSimulation's pauses).</summary>
    public bool Pauses { get; init; }

    /// <summary>
    /// A host fault, never drawn by <see cref="ForSeed"/>: a paused node's ticks are lost rather than queued (a timer
    /// that coalesces missed ticks), so its lease clock stops while the others' run. Shows why leases need ticks that
    /// track elapsed time.
    /// </summary>
    public bool PauseLosesTicks { get; init; }

    /// <summary>
    /// An asynchronous host: it hands a Ready's messages to the transport up to <see cref="AsyncHostMaxLagMs"/> late, and
    /// applies and advances up to that long after the write is durable. (The core takes one Ready at a time and requires
    /// its write before Advance, so the host cannot persist a Ready after taking later ones; what it can delay is this.)
    /// </summary>
    public bool AsyncHost { get; init; }

    public int AsyncHostMaxLagMs { get; init; } = 10;

    /// <summary>Chance that a new leader the nemesis spared is cut off (with some clients) once it has led a while.</summary>
    public double LeaderIsolationRate { get; init; }

    /// <summary>Chance that a membership change is proposed through a leader right after it wins (retried while refused).</summary>
    public double ChangeAfterElectionRate { get; init; }

    /// <summary>Chance that the nemesis strikes a leader (crash or isolate) moments after it took a membership change.</summary>
    public double ChangeNemesisRate { get; init; }

    /// <summary>Runs the core with one of its test-only faults, to prove the checks catch it.</summary>
    public UnsafeCore Unsafe { get; init; }

    /// <summary>Keep a readable trace of every event (slower); used to replay a failing seed.</summary>
    public bool Trace { get; init; }

    /// <summary>
    /// A varied configuration derived from the seed alone. Two seeds in five run the "leader churn" profile:
    /// three voters, one entry per append, and a nemesis that strikes most new leaders moments after they
    /// win — the conditions under which Raft's subtle election and commit rules matter (Figure 8).
    /// </summary>
    public static SimulationOptions ForSeed(ulong seed, UnsafeCore unsafeCore = UnsafeCore.None)
    {
        var r = new SeededRandom(seed ^ 0x5DEECE66DUL);
        var shape = ShapeForSeed(r, unsafeCore);
        // Drawn after the shape, so a seed keeps the shape it had before snapshots existed.
        var withSnapshots = shape with
        {
            SnapshotEvery = r.Chance(0.8) ? r.NextInt(2, 25) : 0,
            SnapshotChunkBytes = r.NextInt(8, 40),
            SnapshotWindowChunks = r.NextInt(1, 4),
            SnapshotMaxRetries = r.NextInt(1, 5),
            MembershipChanges = r.Chance(0.6),
            Spares = r.NextInt(1, 3),
            PromotionCatchUpGap = (ulong)r.NextInt(1, 10),
        };
        return WithClientsAndClocks(withSnapshots, r);
    }

    /// <summary>Drawn last, so a seed keeps the shape it had before these faults existed.</summary>
    private static SimulationOptions WithClientsAndClocks(SimulationOptions o, SeededRandom r) => o with
    {
        ClaimedLeaderReadRate = r.Chance(0.7) ? 0.2 + (r.NextDouble() * 0.6) : 0,
        Readers = r.NextInt(1, 4),
        LeaderIsolationRate = r.Chance(0.6) ? 0.2 + (r.NextDouble() * 0.6) : 0,
        ClientPartitions = r.Chance(0.5),
        TickSkewPermille = r.Chance(0.6) ? r.NextInt(0, o.MaxTickSkewPermille + 1) : 0,
        Pauses = r.Chance(0.5),
        AsyncHost = r.Chance(0.4),
        AsyncHostMaxLagMs = r.NextInt(1, 2 * o.MaxDelayMs + 2),
        ChangeAfterElectionRate = r.Chance(0.5) ? 0.3 + (r.NextDouble() * 0.7) : 0,
        ChangeNemesisRate = r.Chance(0.5) ? r.NextDouble() * 0.6 : 0,
    };

    private static SimulationOptions ShapeForSeed(SeededRandom r, UnsafeCore unsafeCore)
    {
        int[] delays = [2, 10, 30, 80];
        double[] drops = [0, 0.01, 0.05, 0.2];
        if (r.Chance(0.4))
        {
            return new SimulationOptions
            {
                Voters = 3,
                Learners = r.NextInt(0, 2),
                MaxDelayMs = delays[r.NextInt(0, 3)],
                DropRate = drops[r.NextInt(0, 3)],
                DuplicateRate = r.Chance(0.5) ? 0.02 : 0,
                MeanFaultIntervalMs = r.NextInt(50, 300),
                SlowDiskMaxMs = r.NextInt(5, 40),
                MaxSizePerMessage = 1,
                MaxInflightMessages = r.Chance(0.5) ? 1 : r.NextInt(2, 64),
                LeaderNemesisRate = 0.4 + (r.NextDouble() * 0.5),
                Clients = r.NextInt(2, 5),
                Unsafe = unsafeCore,
            };
        }
        var smallMessages = r.Chance(0.4);
        return new SimulationOptions
        {
            Voters = r.Chance(0.5) ? 3 : 5,
            Learners = r.NextInt(0, 3),
            MaxDelayMs = delays[r.NextInt(0, delays.Length)],
            DropRate = drops[r.NextInt(0, drops.Length)],
            DuplicateRate = r.Chance(0.5) ? 0.02 : 0,
            MeanFaultIntervalMs = r.Chance(0.3) ? r.NextInt(20, 100) : r.NextInt(100, 600),
            SlowDiskMaxMs = r.NextInt(5, 80),
            MaxSizePerMessage = smallMessages ? 1 : 1 << 20,
            MaxInflightMessages = r.Chance(0.3) ? 1 : r.NextInt(2, 64),
            Clients = r.NextInt(1, 5),
            LeaderNemesisRate = r.Chance(0.5) ? 0 : r.NextDouble() * 0.6,
            Unsafe = unsafeCore,
        };
    }
}
