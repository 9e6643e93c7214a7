using System.Diagnostics;

namespace Aurigraph.Node.Transport;

/// <summary>An emulated network path between two locations: its round-trip time, jitter (±, each way) and loss.</summary>
public readonly record struct WanLink(double RttMilliseconds, double JitterMilliseconds, double LossPercent)
{
    /// <summary>What a lost segment costs a TCP stream: a retransmission after at least Linux's minimum RTO (200 ms).</summary>
    public double RetransmitMilliseconds => Math.Max(200, 2 * RttMilliseconds);

    /// <summary>Why these figures cannot describe a path, or null.</summary>
    public string? Problem() =>
        !(RttMilliseconds >= 0 && RttMilliseconds <= 10_000) ? $"round-trip time {RttMilliseconds} ms is outside [0, 10000]"
        : !(JitterMilliseconds >= 0 && JitterMilliseconds <= RttMilliseconds / 2 + 1) ? $"jitter {JitterMilliseconds} ms is outside [0, RTT/2 + 1]"
        : !(LossPercent >= 0 && LossPercent < 100) ? $"loss {LossPercent} % is outside [0, 100)"
        : null;
}

/// <summary>
/// The emulated delay of one outbound lane to one peer (WAN emulation on loopback). A frame is due one way's latency
/// (half the round trip, plus a uniform jitter of ±<see cref="WanLink.JitterMilliseconds"/>) after it was queued; a
/// frame "lost" (with <see cref="WanLink.LossPercent"/>) is due a retransmission later. As on TCP, nothing overtakes:
/// a frame is never due before the one queued ahead of it, so a loss also holds back what follows (head-of-line
/// blocking). The jitter and loss draws come from a generator seeded per lane, so a seed gives the same draws.
/// Owned by the lane's single sender loop: not thread-safe.
/// </summary>
internal sealed class WanDelay(WanLink link, int seed)
{
    private readonly Random _random = new(seed);
    private long _lastDue;

    public WanLink Link { get; } = link;

    /// <summary>When a frame queued at <paramref name="enqueuedAt"/> (a <see cref="Stopwatch"/> timestamp) may leave.</summary>
    public long DueAt(long enqueuedAt)
    {
        var oneWay = Link.RttMilliseconds / 2;
        if (Link.JitterMilliseconds > 0)
        {
            oneWay = Math.Max(0, oneWay + ((_random.NextDouble() * 2) - 1) * Link.JitterMilliseconds);
        }
        if (Link.LossPercent > 0 && _random.NextDouble() * 100 < Link.LossPercent)
        {
            oneWay += Link.RetransmitMilliseconds;
        }
        var due = enqueuedAt + (long)(oneWay * Stopwatch.Frequency / 1000);
        _lastDue = Math.Max(_lastDue, due);
        Debug.Assert(_lastDue >= due, "frames leave in the order they were queued");
        return _lastDue;
    }
}
