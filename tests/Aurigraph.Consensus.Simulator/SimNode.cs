namespace Aurigraph.Consensus.Simulation;

/// <summary>
/// The simulated host of one node: durable storage that survives crashes, and everything volatile (the core,
/// the key/value state machine, pending client requests, an unfinished disk write) that a crash loses.
/// </summary>
internal sealed class SimNode(ulong id, bool isVoter)
{
    public ulong Id { get; } = id;
    public bool IsVoter { get; } = isVoter;

    /// <summary>What a crash keeps: the hard state and log entries the host wrote.</summary>
    public MemoryLogStorage Storage { get; } = new();

    public RaftNode Raft { get; set; } = null!;
    public bool Up { get; set; }
    public int Incarnation { get; set; }

    /// <summary>A Ready whose disk write is under way (slow disk); lost on crash.</summary>
    public Ready? Writing { get; set; }

    public bool SlowDisk { get; set; }

    public Dictionary<int, long> Kv { get; } = [];
    public ulong LastApplied { get; set; }

    /// <summary>Client writes proposed through this node, by (client, seq), answered when applied here.</summary>
    public Dictionary<(int Client, long Seq), long> PendingWrites { get; } = [];

    /// <summary>Client reads accepted by this node, by request id: (client, token, key).</summary>
    public Dictionary<ulong, (int Client, long Token, int Key)> PendingReads { get; } = [];

    /// <summary>Quorum-confirmed reads waiting for the state machine to reach their index.</summary>
    public List<ReadState> ConfirmedReads { get; } = [];

    public void LoseVolatileState()
    {
        Writing = null;
        Kv.Clear();
        LastApplied = 0;
        PendingWrites.Clear();
        PendingReads.Clear();
        ConfirmedReads.Clear();
    }
}
