using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Aurigraph.Consensus;

namespace Aurigraph.Node.Transport;

/// <summary>The receiving side: the accept loop, the acceptor's handshake, and one frame loop per accepted connection.</summary>
public sealed partial class PeerTransport
{
    private async Task AcceptLoopAsync(Socket listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (stopping.IsCancellationRequested && ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                break;
            }
            catch (SocketException ex)
            {
                // Typically out of file descriptors: report, give the system a moment, keep serving.
                TransportLog.AcceptFailed(_logger, ex.Message);
                try
                {
                    await Task.Delay(_options.ReconnectInitialDelay, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                continue;
            }
            var address = (socket.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
            if (!TryStartHandshake(address))
            {
                // Counted before the close, so whoever sees the close also sees the refusal.
                _metrics.Refused();
                socket.Dispose();
                continue;
            }
            var handler = Task.Run(() => HandleInboundAsync(socket, address, stopping), CancellationToken.None);
            lock (_gate)
            {
                _inboundHandlers.RemoveAll(static t => t.IsCompleted);
                _inboundHandlers.Add(handler);
            }
        }
    }

    /// <summary>Takes a handshake slot for a connection from <paramref name="address"/>; false when none is free.</summary>
    private bool TryStartHandshake(IPAddress address)
    {
        lock (_gate)
        {
            var fromAddress = _pendingByAddress.GetValueOrDefault(address);
            if (_pendingHandshakes >= _options.MaxPendingHandshakes || fromAddress >= _options.MaxPendingHandshakesPerAddress)
            {
                return false;
            }
            _pendingHandshakes++;
            _pendingByAddress[address] = fromAddress + 1;
            return true;
        }
    }

    private void EndHandshake(IPAddress address)
    {
        lock (_gate)
        {
            _pendingHandshakes--;
            var left = _pendingByAddress[address] - 1;
            if (left == 0)
            {
                _pendingByAddress.Remove(address);
            }
            else
            {
                _pendingByAddress[address] = left;
            }
            Debug.Assert(_pendingHandshakes >= 0 && left >= 0, "every handshake slot is released once");
        }
    }

    private async Task HandleInboundAsync(Socket socket, IPAddress address, CancellationToken stopping)
    {
        var remote = socket.RemoteEndPoint?.ToString() ?? "an unknown address";
        PeerConnection? connection = null;
        Handshake hello = default;
        var identified = false;
        var pending = true;
        try
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                timeout.CancelAfter(_options.HandshakeTimeout);
                AcceptedConnection accepted;
                try
                {
                    ConfigureSocket(socket);
                    accepted = await _streamFactory.AcceptedAsync(socket, timeout.Token).ConfigureAwait(false);
                }
                catch
                {
                    // The slot is free before the socket closes: a peer that sees its connection end may dial again at once.
                    EndHandshake(address);
                    pending = false;
                    socket.Dispose();
                    throw;
                }
                connection = new PeerConnection(accepted.Stream, remote);
                lock (_gate)
                {
                    _inboundConnections.Add(connection);
                }
                // Shutdown may have closed the registered connections just before this one joined them.
                stopping.ThrowIfCancellationRequested();

                var frame = await PeerConnection.ReadSingleFrameAsync(connection.Reader, FrameCodec.MaxHandshakeBytes, timeout.Token).ConfigureAwait(false);
                var reason = frame.Status == FrameStatus.Incomplete
                    ? $"closed before completing a handshake ({frame.Bytes} bytes received)"
                    : CheckHandshake(frame, out hello);
                if (reason is null && !_peers.ContainsKey(hello.NodeId) && hello.NodeId != _selfId && accepted.ProvenPeerId is { } prover && prover == hello.NodeId)
                {
                    TryAdmitUnlisted(hello);
                }
                if (reason is null && !_peers.ContainsKey(hello.NodeId))
                {
                    reason = hello.NodeId == _selfId
                        ? $"the connecting node claims this node's own id {hello.NodeId}"
                        : $"node {hello.NodeId} is not a configured peer";
                }
                if (reason is null && accepted.ProvenPeerId is { } proven && proven != hello.NodeId)
                {
                    // Only a connection proven to be node N may speak (and replace a connection) as node N.
                    _metrics.Refused();
                    TransportLog.InboundRejected(_logger, remote, $"the handshake claims node {hello.NodeId}, but the certificate proves node {proven}");
                    return;
                }
                if (reason is not null)
                {
                    if (frame.Status != FrameStatus.Incomplete)
                    {
                        _metrics.ProtocolError(null);
                    }
                    TransportLog.InboundRejected(_logger, remote, reason);
                    return;
                }
                identified = true;
                _metrics.Received(hello.NodeId, frame.Bytes);

                var sent = FrameCodec.WriteHandshake(connection.Writer, new Handshake(FrameCodec.ProtocolVersion, _options.ClusterId, _selfId, hello.Lane, _announced));
                await PeerConnection.FlushAsync(connection.Writer, timeout.Token).ConfigureAwait(false);
                _metrics.Sent(hello.NodeId, sent, 1);
            }

            EndHandshake(address);
            pending = false;
            ReplaceInbound(hello, connection);
            _metrics.Connected(hello.NodeId, hello.Lane, inbound: true);
            var ended = await ReadFramesAsync(connection, hello.NodeId, hello.Lane, stopping).ConfigureAwait(false);
            TransportLog.InboundEnded(_logger, hello.NodeId, hello.Lane, ended);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down.
        }
        catch (OperationCanceledException)
        {
            _metrics.ProtocolError(null);
            TransportLog.InboundRejected(_logger, remote, $"no handshake within {_options.HandshakeTimeout.TotalMilliseconds:F0} ms");
        }
        catch (PeerAuthenticationException ex)
        {
            _metrics.Refused();
            TransportLog.InboundRejected(_logger, remote, ex.Message);
        }
        catch (InvalidDataException ex)
        {
            _metrics.ProtocolError(hello.NodeId);
            TransportLog.PeerProtocolError(_logger, hello.NodeId, hello.Lane, ex.Message);
        }
        catch (Exception ex)
        {
            // Socket, stream factory (TLS) or anything else: this connection ends, the transport carries on.
            if (stopping.IsCancellationRequested)
            {
                return;
            }
            if (identified)
            {
                TransportLog.InboundEnded(_logger, hello.NodeId, hello.Lane, ex.Message);
            }
            else
            {
                TransportLog.InboundRejected(_logger, remote, ex.Message);
            }
        }
        finally
        {
            if (pending)
            {
                EndHandshake(address);
            }
            if (connection is not null)
            {
                lock (_gate)
                {
                    _inboundConnections.Remove(connection);
                    if (identified && _inboundByLane.TryGetValue((hello.NodeId, hello.Lane), out var current) && current == connection)
                    {
                        _inboundByLane.Remove((hello.NodeId, hello.Lane));
                    }
                }
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A peer dials each lane once, so a new connection on a lane means the previous one is dead (for example half-open
    /// after the peer restarted): close it rather than wait for TCP to notice. Called only for a connection whose
    /// handshake passed and, with TLS, whose certificate proves the node id it claims: nothing else displaces a member.
    /// </summary>
    private void ReplaceInbound(Handshake hello, PeerConnection connection)
    {
        PeerConnection? previous;
        lock (_gate)
        {
            _inboundByLane.TryGetValue((hello.NodeId, hello.Lane), out previous);
            _inboundByLane[(hello.NodeId, hello.Lane)] = connection;
        }
        previous?.Abort();
    }

    /// <summary>Reads frames until the connection ends; returns why. Throws <see cref="InvalidDataException"/> on a protocol violation.</summary>
    private async Task<string> ReadFramesAsync(PeerConnection connection, ulong peerId, TransportLane lane, CancellationToken stopping)
    {
        var reader = connection.Reader;
        var incoming = _incoming.Writer;
        var maxFrameBytes = _options.MaxFrameBytes;
        while (true)
        {
            var result = await reader.ReadAsync(stopping).ConfigureAwait(false);
            var buffer = result.Buffer;
            // Frame parsing and decoding are timed; reading and decrypting the stream happen inside ReadAsync, not here.
            var cpu = _stages.Start();
            while (true)
            {
                var status = FrameCodec.TryReadFrame(ref buffer, maxFrameBytes, out var kind, out var body);
                if (status == FrameStatus.Incomplete)
                {
                    break;
                }
                if (status == FrameStatus.TooLarge)
                {
                    throw new InvalidDataException($"frame of {FrameCodec.DeclaredLength(buffer)} bytes exceeds the {maxFrameBytes}-byte limit");
                }
                if (status == FrameStatus.Malformed)
                {
                    throw new InvalidDataException("zero-length frame");
                }
                var input = Decode(peerId, lane, kind, body);
                _metrics.Received(peerId, FrameCodec.WireBytes(body));
                if (!incoming.TryWrite(input))
                {
                    // Full: stop reading until the host catches up, so TCP pushes back on the sender.
                    _stages.Lap(Diagnostics.PipelineStage.ReplicationReceive, cpu);
                    await incoming.WriteAsync(input, stopping).ConfigureAwait(false);
                    cpu = _stages.Start();
                }
            }
            _stages.Lap(Diagnostics.PipelineStage.ReplicationReceive, cpu);
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return buffer.IsEmpty ? "closed by the peer" : $"closed by the peer in the middle of a frame ({buffer.Length} bytes unread)";
            }
        }
    }

    private PeerInput Decode(ulong peerId, TransportLane lane, FrameKind kind, ReadOnlySequence<byte> body)
    {
        switch (kind)
        {
            case FrameKind.Raft:
                var message = FrameCodec.ReadRaft(body);
                if (message.From != peerId)
                {
                    throw new InvalidDataException($"{message.Type} from node {message.From} on node {peerId}'s connection");
                }
                if (message.To != _selfId)
                {
                    throw new InvalidDataException($"{message.Type} addressed to node {message.To}, not this node ({_selfId})");
                }
                return new PeerInput(peerId, message, 0, ReadOnlyMemory<byte>.Empty);
            case FrameKind.Application:
                var (channel, payload) = FrameCodec.ReadApplication(body);
                return new PeerInput(peerId, null, channel, payload);
            default:
                throw new InvalidDataException($"unexpected frame kind {(byte)kind} on the {lane} lane");
        }
    }

    /// <summary>
    /// A node whose certificate proved its id but that is not a peer: if the host admits it (<see cref="TransportOptions.AdmitUnlisted"/>),
    /// it becomes a peer at the listen address its handshake gives. Only proven ids get here, never on a plaintext transport.
    /// </summary>
    private void TryAdmitUnlisted(in Handshake hello)
    {
        if (_options.AdmitUnlisted is not { } admit || !IPEndPoint.TryParse(hello.Listen, out var listen) || listen.Port == 0 || !admit(hello.NodeId, listen))
        {
            return;
        }
        try
        {
            // Asked again once it is a peer: a host that refused the id meanwhile (its removal committed while this
            // ran) may have looked at the peers before it was added.
            if (AddPeer(hello.NodeId, listen) && !admit(hello.NodeId, listen))
            {
                RemovePeer(hello.NodeId);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            TransportLog.InboundRejected(_logger, listen.ToString(), ex.Message);
        }
    }

    /// <summary>Judges a handshake frame in either direction; returns why it is refused, or null.</summary>
    private string? CheckHandshake(in SingleFrame frame, out Handshake handshake)
    {
        handshake = default;
        switch (frame.Status)
        {
            case FrameStatus.TooLarge:
                return $"first frame declares {frame.Bytes} bytes, over the {FrameCodec.MaxHandshakeBytes}-byte handshake limit (not an Aurigraph peer?)";
            case FrameStatus.Malformed:
                return "first frame is empty";
            case FrameStatus.Complete when frame.Kind != FrameKind.Handshake:
                return $"first frame is of kind {(byte)frame.Kind}, not a handshake";
            case FrameStatus.Incomplete:
                return "the connection ended before the handshake";
        }
        if (!FrameCodec.TryReadHandshake(new ReadOnlySequence<byte>(frame.Body), out var received, out var error))
        {
            return error;
        }
        if (received.Version != FrameCodec.ProtocolVersion)
        {
            return $"protocol version {received.Version}, this node speaks {FrameCodec.ProtocolVersion}";
        }
        if (!string.Equals(received.ClusterId, _options.ClusterId, StringComparison.Ordinal))
        {
            return $"node {received.NodeId} belongs to cluster '{received.ClusterId}', this node to '{_options.ClusterId}'";
        }
        if (!Enum.IsDefined(received.Lane))
        {
            return $"unknown lane {(byte)received.Lane}";
        }
        handshake = received;
        return null;
    }
}
