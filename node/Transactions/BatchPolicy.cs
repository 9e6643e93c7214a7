namespace Aurigraph.Node.Transactions;

/// <summary>
/// How many transactions the leader puts in a block (dynamic batching). The target starts at the floor; after each
/// block the leader proposed commits, it looks at the queue left behind and at that block's propose→commit latency:
/// <list type="bullet">
/// <item>a backlog of at least one full block means blocks are too small for the offered load: the target doubles
/// (up to the ceiling), so one fsync and one replication round carry more transactions;</item>
/// <item>a queue below a quarter of the target means the load went away, and a commit slower than the latency goal with
/// less than a block waiting means blocks are bigger than the load needs: the target halves (down to the floor), so a
/// light load commits in small, fast blocks.</item>
/// </list>
/// Blocks are still cut as soon as the pipeline has room (a lone transaction does not wait for company); the target
/// bounds how much one block takes. Pure: the host passes the measurements in.
/// </summary>
internal sealed class BatchPolicy
{
    public BatchPolicy(int floor, int ceiling, double latencyGoalMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(floor, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ceiling, floor);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latencyGoalMs);
        Floor = floor;
        Ceiling = ceiling;
        LatencyGoalMs = latencyGoalMs;
        Target = floor;
    }

    public int Floor { get; }

    public int Ceiling { get; }

    public double LatencyGoalMs { get; }

    /// <summary>Transactions the next block may take.</summary>
    public int Target { get; private set; }

    /// <summary>One of this leader's blocks committed, <paramref name="commitLatencyMs"/> after it was proposed, leaving <paramref name="queued"/> transactions waiting.</summary>
    public void Observe(int queued, double commitLatencyMs)
    {
        if (queued >= Target)
        {
            Target = (int)Math.Min(Ceiling, 2L * Target);
        }
        else if (queued < Target / 4 || commitLatencyMs > LatencyGoalMs)
        {
            Target = Math.Max(Floor, Target / 2);
        }
    }
}
