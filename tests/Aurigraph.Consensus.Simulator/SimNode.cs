namespace Aurigraph.Consensus.Simulation;

/// <summary>
/// The simulated host of one node: durable storage that survives crashes (log, hard state, the state-machine
/// snapshot the log starts after), and everything volatile (the core, the key/value state machine, pending client
/// requests, an unfinished disk write, snapshot transfers in either direction) that a crash loses.
/// </summary>
internal sealed class SimNode(ulong id)
{
    public ulong Id { get; } = id;

    /// <summary>The members the host's configuration names (the node's bootstrap configuration); null until the node is first started.</summary>
    public (ulong[] Voters, ulong[] Learners)? Bootstrap { get; set; }

    /// <summary>Started at least once: a spare node stays off until a membership change adds it.</summary>
    public bool Started => Bootstrap is not null;

    /// <summary>What a crash keeps: the hard state and log entries the host wrote.</summary>
    public MemoryLogStorage Storage { get; } = new();

    /// <summary>The durable state-machine snapshot matching <see cref="MemoryLogStorage.Snapshot"/> (null before the first).</summary>
    public SimSnapshot? Snapshot { get; set; }

    /// <summary>Order-independent hash of <see cref="Kv"/>, kept as it changes.</summary>
    public ulong StateHash { get; private set; }

    /// <summary>A snapshot being received, chunk by chunk.</summary>
    public IncomingTransfer? Receiving { get; set; }

    /// <summary>Snapshots received whole and stepped into the core, by index, until installed.</summary>
    public Dictionary<ulong, SimSnapshot> Staged { get; } = [];

    /// <summary>Snapshot messages stepped into the core: (index, sender, term).</summary>
    public HashSet<(ulong Index, ulong From, ulong Term)> SnapshotsStepped { get; } = [];

    /// <summary>Snapshots this node is sending, by peer.</summary>
    public Dictionary<ulong, OutgoingTransfer> Transfers { get; } = [];

    public RaftNode Raft { get; set; } = null!;
    public bool Up { get; set; }
    public int Incarnation { get; set; }

    /// <summary>A Ready whose disk write is under way (slow disk); lost on crash.</summary>
    public Ready? Writing { get; set; }

    public bool SlowDisk { get; set; }

    /// <summary>The Ready in <see cref="Writing"/> is durable; the host applies it and advances later (asynchronous host).</summary>
    public bool Applying { get; set; }

    /// <summary>The process is paused: its input queues in <see cref="PauseBuffer"/>.</summary>
    public bool Paused { get; set; }

    /// <summary>Input that arrived while the process was paused, in arrival order.</summary>
    public List<object> PauseBuffer { get; } = [];

    /// <summary>This node's tick period in hundredths of a millisecond (its clock's rate).</summary>
    public int TickPeriodX100 { get; set; }

    /// <summary>Hundredths of a millisecond carried from one tick to the next.</summary>
    public int TickRemainderX100 { get; set; }

    public Dictionary<int, long> Kv { get; } = [];
    public ulong LastApplied { get; set; }

    /// <summary>Client writes proposed through this node, by (client, seq), answered when applied here.</summary>
    public Dictionary<(int Client, long Seq), long> PendingWrites { get; } = [];

    /// <summary>Client reads accepted by this node, by request id: (client, token, key).</summary>
    public Dictionary<ulong, (int Client, long Token, int Key)> PendingReads { get; } = [];

    /// <summary>Quorum-confirmed reads waiting for the state machine to reach their index.</summary>
    public List<ReadState> ConfirmedReads { get; } = [];

    public static ulong PairHash(int key, long value)
    {
        var z = ((ulong)(uint)key << 32) ^ (ulong)value ^ 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31) ^ (ulong)key;
    }

    public void Put(int key, long value)
    {
        if (Kv.TryGetValue(key, out var old))
        {
            StateHash -= PairHash(key, old);
        }
        Kv[key] = value;
        StateHash += PairHash(key, value);
    }

    /// <summary>The state machine becomes the snapshot's state, at its index.</summary>
    public void Restore(SimSnapshot snapshot)
    {
        Kv.Clear();
        foreach (var (key, value) in snapshot.Kv)
        {
            Kv[key] = value;
        }
        StateHash = snapshot.Hash;
        LastApplied = snapshot.Meta.Index;
    }

    public void LoseVolatileState()
    {
        Writing = null;
        Applying = false;
        Kv.Clear();
        StateHash = 0;
        Receiving = null;
        Staged.Clear();
        SnapshotsStepped.Clear();
        Transfers.Clear();
        LastApplied = 0;
        PendingWrites.Clear();
        PendingReads.Clear();
        ConfirmedReads.Clear();
    }
}
