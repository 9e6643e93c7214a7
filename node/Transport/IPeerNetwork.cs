using System.Threading.Channels;
using Aurigraph.Consensus;

namespace Aurigraph.Node.Transport;

/// <summary>
/// What the consensus loop and the carbon pipeline need of the network: send a raft message or an application payload
/// to a peer (queued, never blocking), the inputs peers sent, and the byte counters per peer. <see cref="PeerTransport"/>
/// is the real one (TCP, mutual TLS); a test harness passes its own to drive hosts with no sockets.
/// </summary>
public interface IPeerNetwork
{
    /// <summary>Queues a raft message for <see cref="Message.To"/>; returns at once. Thread-safe.</summary>
    void Send(Message message);

    /// <summary>Queues an application payload for <paramref name="to"/> on <paramref name="channel"/>; the payload must not change afterwards.</summary>
    void SendApplication(ulong to, byte channel, ReadOnlyMemory<byte> payload);

    /// <summary>Inputs from peers, in arrival order per connection.</summary>
    ChannelReader<PeerInput> Incoming { get; }

    /// <summary>The peers there are lanes to now.</summary>
    IReadOnlyCollection<ulong> Peers { get; }

    /// <summary>Adds a peer at runtime (false when it already is one); throws <see cref="InvalidOperationException"/> over the peer bound. Thread-safe.</summary>
    bool AddPeer(ulong id, System.Net.IPEndPoint endPoint, WanLink? wan = null);

    /// <summary>Removes a peer at runtime: its queues are dropped and its connections closed (false when it was not one). Thread-safe.</summary>
    bool RemovePeer(ulong id);

    /// <summary>Bytes and frames exchanged with each peer so far.</summary>
    IReadOnlyList<PeerTrafficCounters> Traffic { get; }
}
