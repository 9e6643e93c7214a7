using Aurigraph.Consensus;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// The leader's measured round trips to its peers (<see cref="PeerRoundTrips"/>), checked every
/// <see cref="RoundTripCheckMs"/> against the configured timeouts with etcd's rule (<see cref="TimeoutAdvice"/>): when a
/// measured path breaks it, the node says so, at most once a minute, with the settings the path calls for.
/// </summary>
internal sealed partial class ConsensusHost
{
    private const long RoundTripCheckMs = 10_000;
    private const long RoundTripWarnEveryMs = 60_000;

    private PeerRoundTrips? _roundTrips;
    private long _roundTripCheckDueMs;
    private long _roundTripWarnedAtMs = long.MinValue;

    /// <summary>Each peer's high round trip as the leader last measured it (empty on a follower).</summary>
    public IReadOnlyDictionary<ulong, double> PeerRoundTrips => RoundTrips.Snapshot();

    private PeerRoundTrips RoundTrips => _roundTrips ??= new PeerRoundTrips(_time, (long)_options.TickMilliseconds * _options.ElectionTicks);

    private void OnHeartbeatSent(Message m)
    {
        if (m.Type == MessageType.Heartbeat)
        {
            RoundTrips.Sent(m.To, _time.GetTimestamp());
        }
    }

    private void OnHeartbeatAnswered(in HostInput input)
    {
        if (input.Peer.Raft is { Type: MessageType.HeartbeatResponse } response)
        {
            RoundTrips.Answered(response.From, input.Arrived);
        }
    }

    /// <summary>About once a second on the loop: on a leader, publishes the round trips, and checks them every <see cref="RoundTripCheckMs"/>.</summary>
    private void CheckRoundTrips()
    {
        if (_raft.Role != Consensus.NodeRole.Leader)
        {
            return;
        }
        var (peer, rtt) = RoundTrips.Publish();
        var now = NowMs;
        if (now < _roundTripCheckDueMs)
        {
            return;
        }
        _roundTripCheckDueMs = now + RoundTripCheckMs;
        if (rtt <= 0 || TimeoutAdvice.Holds(rtt, _options.TickMilliseconds, _options.HeartbeatTicks, _options.ElectionTicks))
        {
            return;
        }
        if (now - _roundTripWarnedAtMs < RoundTripWarnEveryMs)
        {
            return;
        }
        _roundTripWarnedAtMs = now;
        var (tick, heartbeat, election) = TimeoutAdvice.Derive(rtt);
        HostLog.TimeoutsUnderRoundTrip(_logger, _options.NodeId, peer, rtt, _options.TickMilliseconds * _options.HeartbeatTicks, _options.TickMilliseconds * _options.ElectionTicks, tick, heartbeat, election);
    }
}
