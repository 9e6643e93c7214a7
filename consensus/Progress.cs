namespace Aurigraph.Consensus;

/// <summary>How the leader is currently replicating to a peer.</summary>
public enum ProgressState : byte
{
    /// <summary>Searching for the last matching index: one append in flight at a time.</summary>
    Probe = 0,

    /// <summary>Known match: appends are pipelined optimistically within the in-flight window.</summary>
    Replicate = 1,

    /// <summary>
    /// The peer needs entries the leader compacted: a snapshot was sent and no appends go until the host reports
    /// the transfer's outcome (<see cref="RaftNode.ReportSnapshot"/>) or the peer acknowledges the snapshot's index.
    /// </summary>
    Snapshot = 2,
}

/// <summary>The leader's view of one peer's log: match and next index, replication state and in-flight window.</summary>
public sealed class Progress
{
    internal Progress(int maxInflightMessages, long maxInflightBytes, bool isLearner)
    {
        Inflights = new Inflights(maxInflightMessages, maxInflightBytes);
        IsLearner = isLearner;
    }

    public ulong Match { get; internal set; }

    public ulong Next { get; internal set; }

    public ProgressState State { get; internal set; }

    public bool IsLearner { get; internal set; }

    /// <summary>In snapshot state: the index of the snapshot sent.</summary>
    public ulong PendingSnapshot { get; internal set; }

    /// <summary>In probe state: an append is outstanding, so no more are sent until an answer or a heartbeat response.</summary>
    public bool ProbeSent { get; internal set; }

    /// <summary>Heard from within the current check-quorum period.</summary>
    public bool RecentActive { get; internal set; }

    /// <summary>The commit index carried by the last append sent to this peer.</summary>
    internal ulong SentCommit { get; set; }

    /// <summary>
    /// The leader's tick at which it sent the latest round this peer answered in the current term (long.MinValue:
    /// none): the peer has ignored votes since no earlier than then (the lease; see RaftNode's lease remarks).
    /// </summary>
    internal long AnsweredRoundSentAt { get; set; } = long.MinValue;

    /// <summary>Highest read-confirmation sequence this peer acknowledged in the current term.</summary>
    internal ulong ReadAck { get; set; }

    /// <summary>Match when the previous heartbeat response arrived, to tell a stalled pipeline from a busy one.</summary>
    internal ulong MatchAtHeartbeat { get; set; }

    /// <summary>Consecutive heartbeat responses with the follower behind and Match unchanged.</summary>
    internal int StalledHeartbeats { get; set; }

    internal Inflights Inflights { get; }

    public bool IsPaused => State switch
    {
        ProgressState.Probe => ProbeSent,
        ProgressState.Replicate => Inflights.Full,
        _ => true,
    };

    internal void Reset(ulong next)
    {
        Match = 0;
        Next = next;
        State = ProgressState.Probe;
        ProbeSent = false;
        RecentActive = false;
        ReadAck = 0;
        AnsweredRoundSentAt = long.MinValue;
        SentCommit = 0;
        PendingSnapshot = 0;
        Inflights.Reset();
    }

    internal void BecomeProbe()
    {
        // Leaving snapshot state after a transfer that succeeded, resume after the snapshot (a failed transfer
        // clears PendingSnapshot first and resumes after the match).
        Next = State == ProgressState.Snapshot ? Math.Max(Match + 1, PendingSnapshot + 1) : Match + 1;
        State = ProgressState.Probe;
        ProbeSent = false;
        PendingSnapshot = 0;
        Inflights.Reset();
    }

    internal void BecomeSnapshot(ulong snapshotIndex)
    {
        State = ProgressState.Snapshot;
        ProbeSent = false;
        PendingSnapshot = snapshotIndex;
        Inflights.Reset();
    }

    internal void BecomeReplicate()
    {
        State = ProgressState.Replicate;
        ProbeSent = false;
        PendingSnapshot = 0;
        Inflights.Reset();
        Next = Match + 1;
    }

    /// <summary>An accepted append up to <paramref name="index"/>; returns whether Match advanced.</summary>
    internal bool MaybeUpdate(ulong index)
    {
        var updated = false;
        if (Match < index)
        {
            Match = index;
            updated = true;
            ProbeSent = false;
        }
        Next = Math.Max(Next, index + 1);
        return updated;
    }

    /// <summary>
    /// A rejection of the append after <paramref name="rejected"/>; <paramref name="nextProbe"/> is where the
    /// conflict hint says to try next. Returns false for a stale rejection.
    /// </summary>
    internal bool MaybeDecrTo(ulong rejected, ulong nextProbe)
    {
        if (State == ProgressState.Snapshot)
        {
            return false; // answers an append sent before the snapshot
        }
        if (State == ProgressState.Replicate)
        {
            if (rejected <= Match)
            {
                return false;
            }
            Next = Math.Max(Match + 1, Math.Min(rejected, nextProbe));
            return true;
        }
        if (Next - 1 != rejected)
        {
            return false; // answers an older probe
        }
        Next = Math.Max(Match + 1, Math.Min(rejected, Math.Max(nextProbe, 1)));
        ProbeSent = false;
        return true;
    }

    /// <summary>Records an optimistic send of entries ending at <paramref name="lastIndex"/>.</summary>
    internal void SentEntries(ulong lastIndex, long bytes)
    {
        if (State == ProgressState.Replicate)
        {
            Inflights.Add(lastIndex, bytes);
            Next = lastIndex + 1;
        }
        else
        {
            ProbeSent = true;
        }
    }

    public override string ToString() =>
        State == ProgressState.Snapshot ? $"{State} match={Match} next={Next} snapshot={PendingSnapshot}" : $"{State} match={Match} next={Next} inflight={Inflights.Count}";
}

/// <summary>The in-flight window of pipelined appends to one peer, bounded by message count and bytes.</summary>
internal sealed class Inflights(int maxCount, long maxBytes)
{
    private readonly ulong[] _index = new ulong[maxCount];
    private readonly long[] _bytes = new long[maxCount];
    private int _start;

    public int Count { get; private set; }

    public long Bytes { get; private set; }

    public bool Full => Count >= maxCount || (maxBytes > 0 && Bytes >= maxBytes);

    public void Add(ulong lastIndex, long bytes)
    {
        if (Count >= maxCount)
        {
            throw new InvalidOperationException("in-flight window overflow");
        }
        var slot = (_start + Count) % maxCount;
        _index[slot] = lastIndex;
        _bytes[slot] = bytes;
        Count++;
        Bytes += bytes;
    }

    /// <summary>Frees every in-flight append ending at or before <paramref name="index"/>.</summary>
    public void FreeLE(ulong index)
    {
        while (Count > 0 && _index[_start] <= index)
        {
            Bytes -= _bytes[_start];
            _start = (_start + 1) % maxCount;
            Count--;
        }
        if (Count == 0)
        {
            _start = 0;
            Bytes = 0;
        }
    }

    public void FreeFirstOne()
    {
        if (Count > 0)
        {
            FreeLE(_index[_start]);
        }
    }

    public void Reset()
    {
        _start = 0;
        Count = 0;
        Bytes = 0;
    }
}
