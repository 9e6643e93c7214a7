using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace Aurigraph.Node.Transport;

/// <summary>The sending side: one loop per peer and lane that dials (once the lane has a frame to send), handshakes, and writes the lane's queue.</summary>
public sealed partial class PeerTransport
{
    private async Task RunOutboundAsync(PeerLink peer, OutboundLane lane, CancellationToken stopping)
    {
        var delay = _options.ReconnectInitialDelay;
        // Holds one message's MessagePack header while its length is unknown; reused for every frame of this lane.
        var scratch = new ArrayBufferWriter<byte>(256);
        while (!stopping.IsCancellationRequested)
        {
            // Dial only when there is something to send: a learner never dials another learner and a follower dials
            // the leader and the candidates it answers, so a large cluster opens the connections it uses, not a full
            // mesh (two lanes per ordered pair of 66 nodes would be 8,580 handshakes at start).
            try
            {
                if (!await lane.WaitToReadAsync(stopping).ConfigureAwait(false))
                {
                    break;
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
            var attemptStarted = Stopwatch.GetTimestamp();
            var established = false;
            PeerConnection? connection = null;
            try
            {
                connection = await DialAsync(peer, lane.Lane, stopping).ConfigureAwait(false);
                lane.Connection = connection;
                established = true;
                delay = _options.ReconnectInitialDelay;
                _metrics.Connected(peer.Id, lane.Lane, inbound: false);
                TransportLog.Connected(_logger, peer.Id, lane.Lane, peer.EndPoint);
                var reason = await PumpAsync(lane, connection, scratch, stopping).ConfigureAwait(false);
                if (!stopping.IsCancellationRequested)
                {
                    TransportLog.ConnectionLost(_logger, peer.Id, lane.Lane, reason);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (PeerAuthenticationException ex)
            {
                _metrics.Refused();
                TransportLog.PeerNotAuthenticated(_logger, peer.Id, lane.Lane, ex.Message);
            }
            catch (InvalidDataException ex)
            {
                _metrics.ProtocolError(peer.Id);
                TransportLog.PeerProtocolError(_logger, peer.Id, lane.Lane, ex.Message);
            }
            catch (Exception ex)
            {
                // Whatever failed (socket, stream factory, TLS), the lane must live on and redial.
                if (stopping.IsCancellationRequested)
                {
                    break;
                }
                if (established)
                {
                    TransportLog.ConnectionLost(_logger, peer.Id, lane.Lane, ex.Message);
                }
                else
                {
                    TransportLog.ConnectFailed(_logger, peer.Id, lane.Lane, ex.Message);
                }
            }
            finally
            {
                lane.Connection = null;
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (!established)
            {
                var discarded = lane.DiscardQueuedBefore(attemptStarted);
                if (discarded > 0)
                {
                    _metrics.Dropped(peer.Id, discarded);
                    TransportLog.QueueDiscarded(_logger, discarded, peer.Id, lane.Lane);
                }
            }
            try
            {
                await Task.Delay(WithJitter(delay), stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (!established)
            {
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
            }
        }
    }

    /// <summary>Half to all of <paramref name="delay"/>, so that peers restarted together do not redial in lockstep.</summary>
    private static TimeSpan WithJitter(TimeSpan delay)
    {
        var half = delay.Ticks / 2;
#pragma warning disable CA5394 // Jitter needs no cryptographic randomness.
        return TimeSpan.FromTicks(half + Random.Shared.NextInt64(half + 1));
#pragma warning restore CA5394
    }

    /// <summary>Connects, sends the handshake and waits for the peer's, all within <see cref="TransportOptions.HandshakeTimeout"/>.</summary>
    /// <exception cref="InvalidDataException">The peer answered with something other than a matching handshake.</exception>
    private async Task<PeerConnection> DialAsync(PeerLink peer, TransportLane lane, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(_options.HandshakeTimeout);
        Socket? socket = new(peer.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        PeerConnection? connection = null;
        try
        {
            ConfigureSocket(socket);
            await socket.ConnectAsync(peer.EndPoint, timeout.Token).ConfigureAwait(false);
            var stream = await _streamFactory.ConnectedAsync(socket, peer.Id, timeout.Token).ConfigureAwait(false);
            socket = null;
            connection = new PeerConnection(stream, peer.EndPoint.ToString());

            var sent = FrameCodec.WriteHandshake(connection.Writer, new Handshake(FrameCodec.ProtocolVersion, _options.ClusterId, _selfId, lane, _announced));
            await PeerConnection.FlushAsync(connection.Writer, timeout.Token).ConfigureAwait(false);
            _metrics.Sent(peer.Id, sent, 1);

            var frame = await PeerConnection.ReadSingleFrameAsync(connection.Reader, FrameCodec.MaxHandshakeBytes, timeout.Token).ConfigureAwait(false);
            if (frame.Status == FrameStatus.Incomplete)
            {
                throw new IOException("the peer closed the connection during the handshake (it refused it; its log says why)");
            }
            var reason = CheckHandshake(frame, out var reply);
            if (reason is null && reply.NodeId != peer.Id)
            {
                reason = $"the node at {peer.EndPoint} is node {reply.NodeId}, not {peer.Id}";
            }
            if (reason is null && reply.Lane != lane)
            {
                reason = $"handshake answered for the {reply.Lane} lane, not {lane}";
            }
            if (reason is not null)
            {
                throw new InvalidDataException(reason);
            }
            _metrics.Received(peer.Id, frame.Bytes);

            var established = connection;
            connection = null;
            return established;
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            throw new TimeoutException($"no connection and handshake within {_options.HandshakeTimeout.TotalMilliseconds:F0} ms");
        }
        finally
        {
            socket?.Dispose();
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Writes the lane's queue to the connection until the connection ends or the transport stops; returns why it ended.
    /// Everything queued is drained into the pipe and flushed once, or every <see cref="TransportOptions.FlushThresholdBytes"/>.
    /// </summary>
    private async Task<string> PumpAsync(OutboundLane lane, PeerConnection connection, ArrayBufferWriter<byte> scratch, CancellationToken stopping)
    {
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var watch = WatchForCloseAsync(connection, closed);
        var writer = connection.Writer;
        var peerId = lane.PeerId;
        var flushThreshold = _options.FlushThresholdBytes;
        try
        {
            while (await lane.WaitToReadAsync(closed.Token).ConfigureAwait(false))
            {
                long unflushedBytes = 0;
                long unflushedFrames = 0;
                // Encoding, and the part of each flush that runs before its first wait (TLS and the socket write when
                // the socket takes the bytes at once), are timed; what a flush does after it waited is not.
                var cpu = _stages.Start();
                while (lane.TryDequeue(out var item))
                {
                    // WAN emulation: a partition holds the frame until it heals, a path's latency until it is due (in
                    // order); what was written before goes first.
                    var cut = _options.IsCut is { } isCut && isCut(peerId);
                    var due = lane.Wan?.DueAt(item.EnqueuedAt) ?? 0;
                    if (cut || (due != 0 && Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due) > MinWanWait))
                    {
                        if (unflushedFrames > 0)
                        {
                            await PeerConnection.FlushAsync(writer, closed.Token).ConfigureAwait(false);
                            _metrics.Sent(peerId, unflushedBytes, unflushedFrames);
                            unflushedBytes = 0;
                            unflushedFrames = 0;
                        }
                        _stages.Lap(Diagnostics.PipelineStage.ReplicationSend, cpu);
                        while (_options.IsCut?.Invoke(peerId) == true)
                        {
                            await Task.Delay(PartitionRecheck, closed.Token).ConfigureAwait(false); // the lane fills meanwhile
                        }
                        if (due != 0 && Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due) is var wait && wait > MinWanWait)
                        {
                            // Rounded up a millisecond and one more: timers count whole milliseconds and may fire up to
                            // one early, and an emulated path must never deliver before its latency.
                            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds) + 1), closed.Token).ConfigureAwait(false);
                        }
                        cpu = _stages.Start();
                    }
                    if (!TryWriteFrame(writer, item, scratch, out var frameBytes))
                    {
                        _metrics.Dropped(peerId);
                        TransportLog.FrameTooLarge(_logger, frameBytes, peerId, _options.MaxFrameBytes);
                        continue;
                    }
                    unflushedBytes += frameBytes;
                    unflushedFrames++;
                    if (unflushedBytes >= flushThreshold)
                    {
                        var flushing = PeerConnection.FlushAsync(writer, closed.Token);
                        _stages.Lap(Diagnostics.PipelineStage.ReplicationSend, cpu);
                        await flushing.ConfigureAwait(false);
                        cpu = _stages.Start();
                        _metrics.Sent(peerId, unflushedBytes, unflushedFrames);
                        unflushedBytes = 0;
                        unflushedFrames = 0;
                    }
                }
                if (unflushedFrames > 0)
                {
                    var flushing = PeerConnection.FlushAsync(writer, closed.Token);
                    _stages.Lap(Diagnostics.PipelineStage.ReplicationSend, cpu);
                    await flushing.ConfigureAwait(false);
                    _metrics.Sent(peerId, unflushedBytes, unflushedFrames);
                }
                else
                {
                    _stages.Lap(Diagnostics.PipelineStage.ReplicationSend, cpu);
                }
            }
            return "the transport is stopping";
        }
        catch (OperationCanceledException) when (closed.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            return await watch.ConfigureAwait(false);
        }
        finally
        {
            // Ends the watcher if the writing side failed first; it never throws.
            connection.Abort();
            await watch.ConfigureAwait(false);
        }
    }

    // Shorter emulated waits are not waited for: the timer's resolution is about a millisecond.
    private static readonly TimeSpan MinWanWait = TimeSpan.FromMilliseconds(0.5);

    // How often a lane held by an emulated partition looks whether it healed.
    private static readonly TimeSpan PartitionRecheck = TimeSpan.FromMilliseconds(50);

    private bool TryWriteFrame(PipeWriter writer, in OutboundItem item, ArrayBufferWriter<byte> scratch, out long frameBytes) =>
        item.Raft is { } message
            ? FrameCodec.TryWriteRaft(writer, message, scratch, _options.MaxFrameBytes, out frameBytes)
            : FrameCodec.TryWriteApplication(writer, item.Channel, item.Payload.Span, _options.MaxFrameBytes, out frameBytes);

    /// <summary>
    /// Reads the outbound connection, on which the peer sends nothing after its handshake: an end of stream means the
    /// peer closed it, anything else breaks the protocol. Either way cancels <paramref name="closed"/> and says why.
    /// </summary>
    private static async Task<string> WatchForCloseAsync(PeerConnection connection, CancellationTokenSource closed)
    {
        string reason;
        try
        {
            var result = await connection.Reader.ReadAsync(closed.Token).ConfigureAwait(false);
            reason = result.Buffer.IsEmpty
                ? "closed by the peer"
                : $"the peer sent {result.Buffer.Length} bytes on a connection it should only read";
            connection.Reader.AdvanceTo(result.Buffer.End);
        }
        catch (OperationCanceledException)
        {
            reason = "the connection was closed";
        }
        catch (Exception ex)
        {
            // The pump awaits this task in a finally block: it reports, it never throws.
            reason = ex.Message;
        }
        try
        {
            await closed.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The pump finished and released the token source first.
        }
        return reason;
    }
}
