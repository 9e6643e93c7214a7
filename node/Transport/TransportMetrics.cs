using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace Aurigraph.Node.Transport;

/// <summary>Per-peer byte, frame and drop counts, kept both as a snapshot for the node (carbon metering) and as OpenTelemetry counters.</summary>
internal sealed class TransportMetrics : IDisposable
{
    public const string MeterName = "Aurigraph.Node.Transport";

    private static readonly KeyValuePair<string, object?> ControlLaneTag = new("lane", "control");
    private static readonly KeyValuePair<string, object?> BulkLaneTag = new("lane", "bulk");
    private static readonly KeyValuePair<string, object?> OutboundTag = new("direction", "outbound");
    private static readonly KeyValuePair<string, object?> InboundTag = new("direction", "inbound");

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _bytesSent;
    private readonly Counter<long> _bytesReceived;
    private readonly Counter<long> _framesSent;
    private readonly Counter<long> _framesReceived;
    private readonly Counter<long> _framesDropped;
    private readonly Counter<long> _connects;
    private readonly Counter<long> _protocolErrors;
    private readonly Counter<long> _refused;
    // Copy-on-write: replaced under _gate when a peer is added, read without a lock.
    private volatile FrozenDictionary<ulong, PeerStats> _peers;
    private readonly Lock _gate = new();
    private long _refusedCount;

    public TransportMetrics(IEnumerable<ulong> peerIds, IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _bytesSent = _meter.CreateCounter<long>("aurigraph.transport.bytes_sent", "By", "Bytes written to peer connections, framing included.");
        _bytesReceived = _meter.CreateCounter<long>("aurigraph.transport.bytes_received", "By", "Bytes of complete frames read from peer connections.");
        _framesSent = _meter.CreateCounter<long>("aurigraph.transport.frames_sent", "{frame}", "Frames written to peer connections, handshakes included.");
        _framesReceived = _meter.CreateCounter<long>("aurigraph.transport.frames_received", "{frame}", "Complete frames read from peer connections, handshakes included.");
        _framesDropped = _meter.CreateCounter<long>("aurigraph.transport.frames_dropped", "{frame}", "Outbound frames dropped: lane queue full, frame over the size limit, or peer unreachable.");
        _connects = _meter.CreateCounter<long>("aurigraph.transport.connects", "{connection}", "Peer connections established (handshake completed), by lane and direction.");
        _protocolErrors = _meter.CreateCounter<long>("aurigraph.transport.protocol_errors", "{connection}", "Connections closed because the other side broke the protocol (bad handshake, malformed or oversized frame).");
        _refused = _meter.CreateCounter<long>("aurigraph.transport.connections_refused", "{connection}", "Connections refused: the other side did not authenticate (no or untrusted certificate, a node id its certificate does not prove), or too many were already in their handshake.");
        _peers = peerIds.Distinct().ToFrozenDictionary(id => id, id => new PeerStats(id));
    }

    /// <summary>Starts counting for a peer added at runtime (its counters, once created, stay: they are totals since start).</summary>
    public void AddPeer(ulong peerId)
    {
        lock (_gate)
        {
            if (!_peers.ContainsKey(peerId))
            {
                _peers = _peers.Append(new KeyValuePair<ulong, PeerStats>(peerId, new PeerStats(peerId))).ToFrozenDictionary();
            }
        }
    }

    public void Sent(ulong peerId, long bytes, long frames)
    {
        if (frames > 0 && _peers.TryGetValue(peerId, out var stats))
        {
            Interlocked.Add(ref stats.BytesSent, bytes);
            Interlocked.Add(ref stats.FramesSent, frames);
            _bytesSent.Add(bytes, stats.Tag);
            _framesSent.Add(frames, stats.Tag);
        }
    }

    public void Received(ulong peerId, long bytes)
    {
        if (_peers.TryGetValue(peerId, out var stats))
        {
            Interlocked.Add(ref stats.BytesReceived, bytes);
            Interlocked.Increment(ref stats.FramesReceived);
            _bytesReceived.Add(bytes, stats.Tag);
            _framesReceived.Add(1, stats.Tag);
        }
    }

    public void Dropped(ulong peerId, long frames = 1)
    {
        if (frames > 0 && _peers.TryGetValue(peerId, out var stats))
        {
            Interlocked.Add(ref stats.FramesDropped, frames);
            _framesDropped.Add(frames, stats.Tag);
        }
    }

    public void Connected(ulong peerId, TransportLane lane, bool inbound)
    {
        if (_peers.TryGetValue(peerId, out var stats))
        {
            _connects.Add(1, stats.Tag, LaneTag(lane), inbound ? InboundTag : OutboundTag);
        }
    }

    /// <summary>A connection closed for a protocol violation; <paramref name="peerId"/> is null when the other side never identified itself.</summary>
    public void ProtocolError(ulong? peerId)
    {
        if (peerId is { } id && _peers.TryGetValue(id, out var stats))
        {
            Interlocked.Increment(ref stats.ProtocolErrors);
            _protocolErrors.Add(1, stats.Tag);
        }
        else
        {
            _protocolErrors.Add(1);
        }
    }

    /// <summary>Connections refused (failed authentication in either direction, or no free handshake slot) since the transport was created.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refusedCount);

    /// <summary>A connection was refused because the other side did not prove a member's identity.</summary>
    public void Refused()
    {
        Interlocked.Increment(ref _refusedCount);
        _refused.Add(1);
    }

    public PeerTrafficCounters Snapshot(ulong peerId) =>
        _peers.TryGetValue(peerId, out var stats) ? stats.Snapshot() : new PeerTrafficCounters(peerId, 0, 0, 0, 0, 0, 0);

    public IReadOnlyList<PeerTrafficCounters> Snapshot() => _peers.Values.Select(s => s.Snapshot()).OrderBy(c => c.PeerId).ToList();

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static KeyValuePair<string, object?> LaneTag(TransportLane lane) => lane == TransportLane.Control ? ControlLaneTag : BulkLaneTag;

    private sealed class PeerStats(ulong peerId)
    {
        public long BytesSent;
        public long BytesReceived;
        public long FramesSent;
        public long FramesReceived;
        public long FramesDropped;
        public long ProtocolErrors;

        // Built once so the hot path does not box the peer id per measurement.
        public KeyValuePair<string, object?> Tag { get; } = new("peer", peerId.ToString(CultureInfo.InvariantCulture));

        public PeerTrafficCounters Snapshot() => new(
            peerId,
            Interlocked.Read(ref BytesSent),
            Interlocked.Read(ref BytesReceived),
            Interlocked.Read(ref FramesSent),
            Interlocked.Read(ref FramesReceived),
            Interlocked.Read(ref FramesDropped),
            Interlocked.Read(ref ProtocolErrors));
    }
}
