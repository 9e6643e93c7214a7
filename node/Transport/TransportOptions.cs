using System.Net;
namespace Aurigraph.Node.Transport;

/// <summary>Limits and timings of the peer transport. Defaults suit a LAN or cross-cloud cluster of a few dozen members.</summary>
public sealed class TransportOptions
{
    /// <summary>Members of different clusters refuse each other at the handshake, so a mis-addressed node cannot join.</summary>
    public string ClusterId { get; set; } = "aurigraph";

    /// <summary>Largest frame accepted or sent (kind byte and body). A node sets it from its <c>MaxBlockBytes</c> (<c>PipelineLimits</c>).</summary>
    public int MaxFrameBytes { get; set; } = (64 + 1) * 1024 * 1024;

    /// <summary>Messages queued per peer on the control lane (votes, heartbeats, responses, empty appends) before new ones are dropped.</summary>
    public int ControlQueueCapacity { get; set; } = 4096;

    /// <summary>Messages queued per peer on the bulk lane (appends with entries, application payloads) before new ones are dropped.</summary>
    public int BulkQueueCapacity { get; set; } = 1024;

    /// <summary>Payload bytes queued per peer on the bulk lane before new messages are dropped; one message is always admitted to an empty queue.</summary>
    public long BulkQueueMaxBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>Received messages waiting for the host; when full, reading from the sockets pauses (TCP back-pressure).</summary>
    public int IncomingCapacity { get; set; } = 8192;

    /// <summary>Bytes written before a flush even if more frames are queued, so a deep backlog is not buffered whole in memory.</summary>
    public int FlushThresholdBytes { get; set; } = 1024 * 1024;

    public TimeSpan ReconnectInitialDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Bound on TCP connect plus handshake exchange (TLS included), in either direction.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Accepted connections still in their handshake (not yet authenticated), in all; beyond it new connections are
    /// closed at once and counted as refused, so a flood of connections that never authenticate cannot pile up.
    /// </summary>
    public int MaxPendingHandshakes { get; set; } = 256;

    /// <summary>
    /// The same bound per remote IP address, so that one flooding host cannot take every slot from the members
    /// (a member dials two lanes; several members may share an address on one machine).
    /// </summary>
    public int MaxPendingHandshakesPerAddress { get; set; } = 16;

    /// <summary>
    /// Peers this node keeps lanes to, configured and added at runtime (<see cref="PeerTransport.AddPeer"/>) together;
    /// each has two bounded lanes, so this bounds the transport's queues.
    /// </summary>
    public int MaxPeers { get; set; } = DefaultMaxPeers;

    /// <summary>The default of <see cref="MaxPeers"/>, which a node's member list is checked against at start.</summary>
    public const int DefaultMaxPeers = 256;

    /// <summary>WAN emulation: the path to each peer (by id) whose frames are delayed by it; none by default.</summary>
    public IReadOnlyDictionary<ulong, WanLink> WanLinks { get; set; } = new Dictionary<ulong, WanLink>();

    /// <summary>WAN emulation: whether the path to a peer is cut now (frames to it are held); null: never.</summary>
    public Func<ulong, bool>? IsCut { get; set; }

    /// <summary>
    /// Whether to take a connecting node that is not a peer yet, once its certificate proved its id, as a peer at the
    /// listen address its handshake gives (a member added while this node was behind, or away, reaching it before this
    /// node's log says where it is). Called on the accepting thread; null (the default): only known peers connect.
    /// </summary>
    public Func<ulong, IPEndPoint, bool>? AdmitUnlisted { get; set; }

    /// <summary>Seed of the emulated jitter and loss (each lane's generator is derived from it, the peer and the lane).</summary>
    public int WanSeed { get; set; } = 1;

    internal void Validate()
    {
        Require(!string.IsNullOrEmpty(ClusterId), nameof(ClusterId), "must not be empty");
        Require(MaxFrameBytes >= 1024, nameof(MaxFrameBytes), "must be at least 1024");
        Require(ControlQueueCapacity > 0, nameof(ControlQueueCapacity), "must be positive");
        Require(BulkQueueCapacity > 0, nameof(BulkQueueCapacity), "must be positive");
        Require(BulkQueueMaxBytes > 0, nameof(BulkQueueMaxBytes), "must be positive");
        Require(IncomingCapacity > 0, nameof(IncomingCapacity), "must be positive");
        Require(FlushThresholdBytes > 0, nameof(FlushThresholdBytes), "must be positive");
        Require(ReconnectInitialDelay > TimeSpan.Zero, nameof(ReconnectInitialDelay), "must be positive");
        Require(ReconnectMaxDelay >= ReconnectInitialDelay, nameof(ReconnectMaxDelay), "must be at least ReconnectInitialDelay");
        Require(HandshakeTimeout > TimeSpan.Zero, nameof(HandshakeTimeout), "must be positive");
        Require(MaxPendingHandshakes > 0, nameof(MaxPendingHandshakes), "must be positive");
        Require(MaxPeers > 0, nameof(MaxPeers), "must be positive");
        Require(MaxPendingHandshakesPerAddress > 0, nameof(MaxPendingHandshakesPerAddress), "must be positive");
        foreach (var (peer, link) in WanLinks)
        {
            Require(link.Problem() is null, nameof(WanLinks), $"the path to peer {peer}: {link.Problem()}");
        }
    }

    private static void Require(bool condition, string name, string rule)
    {
        if (!condition)
        {
            throw new ArgumentException($"Transport option {name} {rule}.", name);
        }
    }
}
