using Aurigraph.Consensus;

namespace Aurigraph.Node.Transport;

/// <summary>Which connection of a peer pair a message travels on.</summary>
public enum TransportLane : byte
{
    /// <summary>Votes, heartbeats, responses and empty appends: small and latency-sensitive.</summary>
    Control = 1,

    /// <summary>Appends carrying entries and application payloads: large, may queue.</summary>
    Bulk = 2,
}

/// <summary>
/// One message received from a peer: a Raft message for the consensus core (<see cref="Raft"/> set), or a node-level
/// application payload on <see cref="Channel"/> (<see cref="Raft"/> null).
/// </summary>
public readonly record struct PeerInput(ulong From, Message? Raft, byte Channel, ReadOnlyMemory<byte> Payload);

/// <summary>
/// Traffic with one peer since the transport started, framing and handshakes included. <see cref="FramesDropped"/>
/// counts outbound frames discarded (queue full, over the frame limit, peer unreachable); <see cref="ProtocolErrors"/>
/// counts connections from the peer closed for breaking the protocol.
/// </summary>
public readonly record struct PeerTrafficCounters(
    ulong PeerId,
    long BytesSent,
    long BytesReceived,
    long FramesSent,
    long FramesReceived,
    long FramesDropped,
    long ProtocolErrors);
