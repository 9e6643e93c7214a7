using System.Collections.Frozen;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Aurigraph.Consensus;
using Microsoft.Extensions.Logging;

namespace Aurigraph.Node.Transport;

/// <summary>
/// Carries Raft messages and node-level application payloads between the members of a cluster over TCP.
/// <para>
/// Every ordered pair of nodes has two lanes, each its own TCP connection: <see cref="TransportLane.Control"/> for
/// votes, heartbeats, responses and empty appends, and <see cref="TransportLane.Bulk"/> for appends with entries and
/// application payloads, so that a vote or heartbeat never waits behind megabytes of blocks. Connections are
/// one-directional: a node sends only on the connections it dialed (one per peer and lane) and only reads the
/// connections it accepted, so two nodes never race to decide whose connection to keep.
/// </para>
/// <para>
/// Sending never blocks. Each lane to each peer has a bounded queue (<see cref="TransportOptions.ControlQueueCapacity"/>,
/// <see cref="TransportOptions.BulkQueueCapacity"/>, <see cref="TransportOptions.BulkQueueMaxBytes"/>); a message that
/// does not fit is dropped and counted, which Raft tolerates. While a lane is disconnected its queue is kept, still
/// bounded, for the next connection attempt; when that attempt fails, the messages queued before it began are
/// discarded, so a dead peer does not accumulate stale traffic. A lane redials with exponential backoff and jitter
/// between <see cref="TransportOptions.ReconnectInitialDelay"/> and <see cref="TransportOptions.ReconnectMaxDelay"/>,
/// and dials at all only once it has a frame to send (a lane nothing is sent on never opens a connection).
/// </para>
/// <para>
/// Received messages go to <see cref="Incoming"/>, bounded by <see cref="TransportOptions.IncomingCapacity"/>; when it
/// is full, reading pauses and TCP pushes back on the sender. A malformed or oversized frame, or a handshake from an
/// unknown node or another cluster, closes that connection only; the sending peer reconnects.
/// </para>
/// <para>
/// With an authenticating <see cref="IPeerStreamFactory"/> (mutual TLS, the node's default) a connection is refused
/// before its first frame is read unless the other side proves a node id with its certificate, and the handshake's
/// claimed id must be that proven id: an unauthenticated client can neither deliver a frame nor displace a member.
/// </para>
/// </summary>
public sealed partial class PeerTransport : IPeerNetwork, IAsyncDisposable
{
    private const int ListenBacklog = 512;
    private const int KeepAliveIdleSeconds = 10;
    private const int KeepAliveIntervalSeconds = 3;
    private const int KeepAliveProbes = 3;
    private const int LinuxSolSocket = 1;
    private const int LinuxSoReuseAddr = 2;
    private const int BsdSolSocket = 0xffff;
    private const int BsdSoReuseAddr = 4;

    private readonly ulong _selfId;
    private readonly IPEndPoint _listen;

    // What the handshake says this node listens on (see Handshake.Listen).
    private readonly string _announced;
    private readonly TransportOptions _options;
    private readonly ILogger<PeerTransport> _logger;
    private readonly IPeerStreamFactory _streamFactory;
    // Copy-on-write: replaced under _gate when a peer is added or removed, read without a lock on every send.
    private volatile FrozenDictionary<ulong, PeerLink> _peers;
    private readonly TransportMetrics _metrics;
    private readonly Channel<PeerInput> _incoming;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly List<Task> _outboundLoops = [];
    private readonly List<Task> _inboundHandlers = [];
    private readonly HashSet<PeerConnection> _inboundConnections = [];
    private readonly Dictionary<(ulong PeerId, TransportLane Lane), PeerConnection> _inboundByLane = [];
    private Socket? _listener;
    private Task? _acceptLoop;
    private Task? _disposal;
    private volatile bool _stopped;
    private readonly Dictionary<IPAddress, int> _pendingByAddress = [];
    private int _pendingHandshakes;
    private readonly Diagnostics.StageMeter _stages;

    /// <param name="selfId">This node's id; an entry for it in <paramref name="peers"/> is ignored.</param>
    /// <param name="listen">Where peers connect to this node.</param>
    /// <param name="peers">Every other member's id and peer address.</param>
    /// <param name="options">Limits and timings; validated here.</param>
    /// <param name="logger">Connection events and protocol errors.</param>
    /// <param name="streamFactory">Wraps sockets: <see cref="Security.TlsPeerStreamFactory"/> for mutual TLS; plain TCP (unauthenticated, tests and loopback only) when null.</param>
    /// <param name="stages">Where frame encoding, writing and decoding are accounted (ReplicationSend, ReplicationReceive).</param>
    public PeerTransport(
        ulong selfId,
        IPEndPoint listen,
        IReadOnlyDictionary<ulong, IPEndPoint> peers,
        TransportOptions options,
        ILogger<PeerTransport> logger,
        IPeerStreamFactory? streamFactory = null,
        Diagnostics.StageMeter? stages = null)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(peers);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _selfId = selfId;
        _listen = listen;
        _announced = listen.ToString();
        _options = options;
        _logger = logger;
        _streamFactory = streamFactory ?? PlainTcpStreamFactory.Instance;
        _stages = stages ?? Diagnostics.StageMeter.Off;
        _peers = peers
            .Where(p => p.Key != selfId)
            .ToFrozenDictionary(p => p.Key, p => new PeerLink(selfId, p.Key, p.Value ?? throw new ArgumentException($"Peer {p.Key} has no address.", nameof(peers)), options, options.WanLinks.GetValueOrDefault(p.Key)));
        if (_peers.Count > options.MaxPeers)
        {
            throw new ArgumentException($"{_peers.Count} peers exceed MaxPeers ({options.MaxPeers})", nameof(peers));
        }
        _metrics = new TransportMetrics(_peers.Keys, meterFactory: null);
        _incoming = Channel.CreateBounded<PeerInput>(new BoundedChannelOptions(options.IncomingCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>Messages received from peers, in arrival order per connection. Completed when the transport is disposed.</summary>
    public ChannelReader<PeerInput> Incoming => _incoming.Reader;

    /// <summary>Bytes and frames exchanged with each peer since the transport was created, ordered by peer id.</summary>
    public IReadOnlyList<PeerTrafficCounters> Traffic => _metrics.Snapshot();

    /// <summary>Connections refused because the other side did not authenticate (see <see cref="IPeerStreamFactory"/>), in either direction, or because too many were in their handshake.</summary>
    public long RefusedConnections => _metrics.RefusedConnections;

    /// <summary>Accepted connections still in their handshake (each holds a slot of <see cref="TransportOptions.MaxPendingHandshakes"/>).</summary>
    public int PendingHandshakes
    {
        get
        {
            lock (_gate)
            {
                return _pendingHandshakes;
            }
        }
    }

    /// <summary>The address the listener is bound to (the actual port when configured with port 0); null before <see cref="StartAsync"/>.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>Binds the listener and starts accepting peers and dialing them.</summary>
    /// <exception cref="InvalidOperationException">The listen address is in use or cannot be bound, or the transport already started.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposal is not null, this);
            if (_listener is not null)
            {
                throw new InvalidOperationException("The peer transport is already started.");
            }
            var listener = Bind(_listen);
            _listener = listener;
            LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
            TransportLog.Listening(_logger, _selfId, LocalEndPoint);

            var stopping = _stopping.Token;
            _acceptLoop = Task.Run(() => AcceptLoopAsync(listener, stopping), CancellationToken.None);
            foreach (var peer in _peers.Values)
            {
                StartLanes(peer, stopping);
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>The peers this transport has lanes to now.</summary>
    public IReadOnlyCollection<ulong> Peers => _peers.Keys;

    /// <summary>
    /// Adds a peer at runtime (a member that joined): frames to it are sent from now on (its lanes dial when they have
    /// one), and its connections are accepted once its certificate proves its id. Returns false when it is already a
    /// peer or is this node. Thread-safe.
    /// </summary>
    /// <exception cref="InvalidOperationException">It would exceed <see cref="TransportOptions.MaxPeers"/>.</exception>
    public bool AddPeer(ulong id, IPEndPoint endPoint, WanLink? wan = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposal is not null, this);
            if (id == _selfId || _peers.ContainsKey(id))
            {
                return false;
            }
            if (_peers.Count >= _options.MaxPeers)
            {
                throw new InvalidOperationException($"node {id} would be peer {_peers.Count + 1}, over MaxPeers ({_options.MaxPeers})");
            }
            var peer = new PeerLink(_selfId, id, endPoint, _options, wan ?? _options.WanLinks.GetValueOrDefault(id));
            _metrics.AddPeer(id);
            _peers = _peers.Append(new KeyValuePair<ulong, PeerLink>(id, peer)).ToFrozenDictionary();
            if (_listener is not null)
            {
                StartLanes(peer, _stopping.Token);
            }
            TransportLog.PeerAdded(_logger, _selfId, id, endPoint);
            return true;
        }
    }

    /// <summary>
    /// Removes a peer at runtime (a member that left): what is queued for it is dropped, its connections in both
    /// directions are closed, and it is refused from now on. Returns false when it was not a peer. Thread-safe.
    /// </summary>
    public bool RemovePeer(ulong id)
    {
        PeerLink? peer;
        List<PeerConnection> inbound;
        lock (_gate)
        {
            if (_disposal is not null || !_peers.TryGetValue(id, out peer))
            {
                return false;
            }
            _peers = _peers.Where(p => p.Key != id).ToFrozenDictionary();
            inbound = [.. _inboundByLane.Where(c => c.Key.PeerId == id).Select(c => c.Value)];
        }
        peer.Control.Complete();
        peer.Bulk.Complete();
        peer.Control.Connection?.Abort();
        peer.Bulk.Connection?.Abort();
        foreach (var connection in inbound)
        {
            connection.Abort();
        }
        TransportLog.PeerRemoved(_logger, _selfId, id);
        return true;
    }

    private void StartLanes(PeerLink peer, CancellationToken stopping)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "lanes start under the gate, so shutdown sees every loop");
        _outboundLoops.Add(Task.Run(() => RunOutboundAsync(peer, peer.Control, stopping), CancellationToken.None));
        _outboundLoops.Add(Task.Run(() => RunOutboundAsync(peer, peer.Bulk, stopping), CancellationToken.None));
    }

    /// <summary>
    /// Queues <paramref name="message"/> for <see cref="Message.To"/> and returns at once. Appends with entries go on
    /// the bulk lane, everything else on the control lane. Dropped (and counted) when the lane's queue is full; dropped
    /// with a warning when the destination is not a configured peer. Thread-safe.
    /// </summary>
    public void Send(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_stopped)
        {
            return;
        }
        if (!_peers.TryGetValue(message.To, out var peer))
        {
            TransportLog.UnknownPeer(_logger, message.To);
            return;
        }
        if (message.Type == MessageType.Append && message.Entries.Length > 0)
        {
            var bytes = message.EntryBytes + ((long)message.Entries.Length * Entry.Overhead);
            Enqueue(peer.Bulk, new OutboundItem(message, 0, default, bytes, Stopwatch.GetTimestamp()));
        }
        else
        {
            Enqueue(peer.Control, new OutboundItem(message, 0, default, 0, Stopwatch.GetTimestamp()));
        }
    }

    /// <summary>
    /// Queues an application payload for peer <paramref name="to"/> on <paramref name="channel"/> (bulk lane) and returns
    /// at once. The payload is sent by reference: it must not change afterwards. Same drop rules as <see cref="Send"/>.
    /// </summary>
    public void SendApplication(ulong to, byte channel, ReadOnlyMemory<byte> payload)
    {
        if (_stopped)
        {
            return;
        }
        if (!_peers.TryGetValue(to, out var peer))
        {
            TransportLog.UnknownPeer(_logger, to);
            return;
        }
        Enqueue(peer.Bulk, new OutboundItem(null, channel, payload, payload.Length, Stopwatch.GetTimestamp()));
    }

    /// <summary>Stops the loops, closes every connection, completes <see cref="Incoming"/>. Idempotent.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            // Started outside the caller's stack so that no part of the shutdown runs while this lock is held.
            _disposal ??= Task.Run(DisposeCoreAsync);
            return new ValueTask(_disposal);
        }
    }

    private async Task DisposeCoreAsync()
    {
        _stopped = true;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        foreach (var peer in _peers.Values)
        {
            peer.Control.Complete();
            peer.Bulk.Complete();
            peer.Control.Connection?.Abort();
            peer.Bulk.Connection?.Abort();
        }
        Task[] pending;
        lock (_gate)
        {
            foreach (var connection in _inboundConnections)
            {
                connection.Abort();
            }
            pending = [.. _outboundLoops, .. _inboundHandlers];
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
        _incoming.Writer.TryComplete();
        _metrics.Dispose();
        _stopping.Dispose();
        if (_listener is not null)
        {
            TransportLog.Stopped(_logger, _selfId);
        }
    }

    private void Enqueue(OutboundLane lane, in OutboundItem item)
    {
        if (!lane.TryEnqueue(item))
        {
            _metrics.Dropped(lane.PeerId);
        }
    }

    private static Socket Bind(IPEndPoint endPoint)
    {
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }
            AllowRebindDuringTimeWait(listener);
            listener.Bind(endPoint);
            listener.Listen(ListenBacklog);
            return listener;
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            var reason = ex.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? "the address is already in use (is another node or process listening on this port?)"
                : ex.Message;
            throw new InvalidOperationException($"The peer transport cannot listen on {endPoint}: {reason}", ex);
        }
    }

    /// <summary>
    /// No Nagle delay for small control frames; TCP keep-alive probes an idle connection after a few seconds, so a peer
    /// that vanished without closing (power loss, partition) is noticed and redialed instead of written to for minutes.
    /// </summary>
    private static void ConfigureSocket(Socket socket)
    {
        socket.NoDelay = true;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, KeepAliveIdleSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, KeepAliveIntervalSeconds);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, KeepAliveProbes);
    }

    /// <summary>
    /// Sets SO_REUSEADDR alone, so that a restarted node can rebind while connections of its previous run linger in
    /// TIME_WAIT, yet a port another socket listens on is still refused. <see cref="SocketOptionName.ReuseAddress"/>
    /// cannot be used: on Unix it also sets SO_REUSEPORT, which would let two nodes share the port. Windows needs
    /// nothing (there the option would allow port stealing).
    /// </summary>
    private static void AllowRebindDuringTimeWait(Socket listener)
    {
        if (OperatingSystem.IsLinux())
        {
            listener.SetRawSocketOption(LinuxSolSocket, LinuxSoReuseAddr, BitConverter.GetBytes(1));
        }
        else if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            listener.SetRawSocketOption(BsdSolSocket, BsdSoReuseAddr, BitConverter.GetBytes(1));
        }
    }

    /// <summary>A configured peer and its two outbound lanes.</summary>
    private sealed class PeerLink(ulong self, ulong id, IPEndPoint endPoint, TransportOptions options, WanLink? wan)
    {
        public ulong Id { get; } = id;

        public IPEndPoint EndPoint { get; } = endPoint;

        public OutboundLane Control { get; } = new(id, TransportLane.Control, options.ControlQueueCapacity, long.MaxValue) { Wan = Delay(self, id, TransportLane.Control, options, wan) };

        public OutboundLane Bulk { get; } = new(id, TransportLane.Bulk, options.BulkQueueCapacity, options.BulkQueueMaxBytes) { Wan = Delay(self, id, TransportLane.Bulk, options, wan) };

        private static WanDelay? Delay(ulong self, ulong peer, TransportLane lane, TransportOptions options, WanLink? wan) =>
            wan is { } link ? new WanDelay(link, HashCode.Combine(options.WanSeed, self, peer, lane)) : null;
    }
}
