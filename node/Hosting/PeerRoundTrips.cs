using System.Diagnostics;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// Round trips to peers as consensus experiences them, measured on the leader from heartbeats: the time from handing a
/// heartbeat to the transport to the peer's response arriving in the loop's inbox (network, TLS, emulated WAN delay and
/// the peer's loop, not this loop's backlog). One heartbeat per peer is timed at a time, so a late response is never
/// matched to a later heartbeat; one that never comes is given up after <see cref="GiveUpAfterMs"/>. Owned by the loop;
/// <see cref="Snapshot"/> is safe from any thread. Bounded: a window of <see cref="Window"/> samples per peer.
/// </summary>
internal sealed class PeerRoundTrips(TimeProvider time, long giveUpAfterMs)
{
    public const int Window = 32;

    private readonly Dictionary<ulong, Peer> _peers = [];
    private readonly Lock _gate = new();
    private IReadOnlyDictionary<ulong, double> _published = new Dictionary<ulong, double>();

    /// <summary>Milliseconds after which an unanswered timed heartbeat stops being waited for.</summary>
    public long GiveUpAfterMs { get; } = giveUpAfterMs;

    /// <summary>A heartbeat to <paramref name="peer"/> went to the transport at <paramref name="at"/> (a timestamp of the clock).</summary>
    public void Sent(ulong peer, long at)
    {
        if (!_peers.TryGetValue(peer, out var p))
        {
            p = new Peer();
            _peers[peer] = p;
        }
        if (p.Outstanding == 0 || time.GetElapsedTime(p.Outstanding, at).TotalMilliseconds > GiveUpAfterMs)
        {
            p.Outstanding = at;
        }
    }

    /// <summary>A heartbeat response from <paramref name="peer"/> arrived at <paramref name="at"/>.</summary>
    public void Answered(ulong peer, long at)
    {
        if (!_peers.TryGetValue(peer, out var p) || p.Outstanding == 0)
        {
            return;
        }
        var ms = time.GetElapsedTime(p.Outstanding, at).TotalMilliseconds;
        p.Outstanding = 0;
        if (ms < 0)
        {
            return;
        }
        p.Samples[p.Next] = ms;
        p.Next = (p.Next + 1) % Window;
        p.Count = Math.Min(p.Count + 1, Window);
        Debug.Assert(p.Count <= Window, "the window is bounded");
    }

    /// <summary>
    /// Publishes each peer's high round trip — the second-largest of its window (one outlier, a GC pause say, does not
    /// count) — and returns the largest over peers with its peer (0, 0 without samples).
    /// </summary>
    public (ulong Peer, double Milliseconds) Publish()
    {
        var published = new Dictionary<ulong, double>(_peers.Count);
        (ulong, double) worst = (0, 0);
        foreach (var (id, p) in _peers)
        {
            if (p.Count == 0)
            {
                continue;
            }
            var sorted = p.Samples.AsSpan(0, p.Count).ToArray();
            Array.Sort(sorted);
            var high = sorted[Math.Max(0, sorted.Length - 2)];
            published[id] = high;
            if (high > worst.Item2)
            {
                worst = (id, high);
            }
        }
        lock (_gate)
        {
            _published = published;
        }
        return worst;
    }

    /// <summary>Each peer's high round trip as last published, in milliseconds.</summary>
    public IReadOnlyDictionary<ulong, double> Snapshot()
    {
        lock (_gate)
        {
            return _published;
        }
    }

    /// <summary>Forgets the samples (leadership lost: the next leader measures its own paths).</summary>
    public void Clear() => _peers.Clear();

    private sealed class Peer
    {
        public readonly double[] Samples = new double[Window];
        public long Outstanding;
        public int Next;
        public int Count;
    }
}

/// <summary>
/// Election and heartbeat timeouts from a round trip, as etcd's tuning guide advises: the heartbeat interval about one
/// round trip (never under the 100 ms default), the election timeout at least ten round trips (never under ten
/// heartbeats). Used to check the configured timeouts against the location table at start and against measured round
/// trips while running, and to say what to set.
/// </summary>
public static class TimeoutAdvice
{
    /// <summary>The settings a round trip of <paramref name="rttMs"/> calls for.</summary>
    public static (int TickMilliseconds, int HeartbeatTicks, int ElectionTicks) Derive(double rttMs)
    {
        var tick = Math.Max(100, (int)Math.Ceiling(rttMs));
        var election = Math.Max(10, (int)Math.Ceiling(10 * rttMs / tick));
        return (tick, 1, election);
    }

    /// <summary>Whether the configured timeouts hold for <paramref name="rttMs"/>: heartbeat ≥ RTT / 2, election ≥ 10 × RTT.</summary>
    public static bool Holds(double rttMs, int tickMilliseconds, int heartbeatTicks, int electionTicks) =>
        (double)heartbeatTicks * tickMilliseconds >= rttMs / 2 && (double)electionTicks * tickMilliseconds >= 10 * rttMs;
}
