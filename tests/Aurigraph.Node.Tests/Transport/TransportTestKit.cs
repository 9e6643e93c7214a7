using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Aurigraph.Consensus;
using Aurigraph.Node.Transport;
using Microsoft.Extensions.Logging;

namespace Aurigraph.Node.Tests.Transport;

/// <summary>Builds transports on 127.0.0.1 and waits on their output with a deadline, so a failure fails instead of hanging.</summary>
internal static class TransportTestKit
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static TransportOptions FastOptions(Action<TransportOptions>? configure = null)
    {
        var options = new TransportOptions
        {
            ClusterId = "test-cluster",
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(20),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(250),
            HandshakeTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Ports free right now: all bound at once so they differ, then released for the transports to take.</summary>
    public static int[] FreePorts(int count)
    {
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }
            return sockets.Select(s => ((IPEndPoint)s.LocalEndPoint!).Port).ToArray();
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    public static Dictionary<ulong, IPEndPoint> Members(params int[] ports) =>
        ports.Select((port, i) => (Id: (ulong)(i + 1), Port: port))
            .ToDictionary(m => m.Id, m => new IPEndPoint(IPAddress.Loopback, m.Port));

    public static async Task<PeerTransport> StartAsync(ulong id, Dictionary<ulong, IPEndPoint> members, TransportOptions options, TestLogger? logger = null)
    {
        var transport = new PeerTransport(id, members[id], members, options, logger ?? new TestLogger());
        await transport.StartAsync(CancellationToken.None);
        return transport;
    }

    public static async Task<PeerInput> NextAsync(this PeerTransport transport, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Deadline);
        try
        {
            return await transport.Incoming.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested && timeout is null)
        {
            throw new TimeoutException($"nothing arrived within {Deadline}");
        }
    }

    public static async Task<Message> NextRaftAsync(this PeerTransport transport)
    {
        var input = await transport.NextAsync();
        Assert.NotNull(input.Raft);
        Assert.Equal(input.From, input.Raft.From);
        return input.Raft;
    }

    public static Message Heartbeat(ulong from, ulong to, ulong context = 0) =>
        new() { Type = MessageType.Heartbeat, From = from, To = to, Term = 1, Commit = 0, Context = context };

    public static Message Append(ulong from, ulong to, ulong index, int payloadBytes, int seed = 1) => new()
    {
        Type = MessageType.Append,
        From = from,
        To = to,
        Term = 1,
        Index = index - 1,
        LogTerm = 1,
        Entries = [new Entry(index, 1, EntryType.Normal, FrameCodecTests.Bytes(payloadBytes, seed))],
    };

    public static byte[] HandshakeFrame(string clusterId, ulong nodeId, TransportLane lane = TransportLane.Control, ushort version = FrameCodec.ProtocolVersion)
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameCodec.WriteHandshake(writer, new Handshake(version, clusterId, nodeId, lane));
        return writer.WrittenSpan.ToArray();
    }

    public static byte[] RawFrame(byte kind, ReadOnlySpan<byte> body)
    {
        var frame = new byte[FrameCodec.PrefixBytes + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)body.Length + 1);
        frame[4] = kind;
        body.CopyTo(frame.AsSpan(FrameCodec.PrefixBytes));
        return frame;
    }

    public static byte[] RaftFrame(Message message)
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.True(FrameCodec.TryWriteRaft(writer, message, new ArrayBufferWriter<byte>(), int.MaxValue, out _));
        return writer.WrittenSpan.ToArray();
    }
}

/// <summary>A bare TCP client speaking (or breaking) the peer protocol by hand.</summary>
internal sealed class RawPeer : IAsyncDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

    public static async Task<RawPeer> ConnectAsync(IPEndPoint endPoint)
    {
        var peer = new RawPeer();
        await peer._socket.ConnectAsync(endPoint);
        return peer;
    }

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes, SocketFlags.None);

    /// <summary>Reads one complete frame (the acceptor's handshake).</summary>
    public async Task<(FrameKind Kind, byte[] Body)> ReadFrameAsync()
    {
        using var cts = new CancellationTokenSource(TransportTestKit.Deadline);
        var prefix = new byte[FrameCodec.PrefixBytes];
        await ReadExactlyAsync(prefix, cts.Token);
        var body = new byte[BinaryPrimitives.ReadUInt32LittleEndian(prefix) - 1];
        await ReadExactlyAsync(body, cts.Token);
        return ((FrameKind)prefix[4], body);
    }

    /// <summary>Waits until the other side closes the connection; returns the bytes that arrived before the close.</summary>
    public async Task<int> WaitForCloseAsync()
    {
        using var cts = new CancellationTokenSource(TransportTestKit.Deadline);
        var buffer = new byte[4096];
        var total = 0;
        while (true)
        {
            int read;
            try
            {
                read = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                return total;
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the transport did not close the connection within {TransportTestKit.Deadline}");
            }
            if (read == 0)
            {
                return total;
            }
            total += read;
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task ReadExactlyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                throw new EndOfStreamException("the transport closed the connection");
            }
            buffer = buffer[read..];
        }
    }
}

/// <summary>Keeps every log line, so tests can check that a refusal was logged with its reason.</summary>
internal sealed class TestLogger : ILogger<PeerTransport>
{
    private readonly ConcurrentQueue<(LogLevel Level, string Text)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Text)> Entries => _entries.ToArray();

    public bool Contains(LogLevel level, string fragment) =>
        _entries.Any(e => e.Level == level && e.Text.Contains(fragment, StringComparison.Ordinal));

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, formatter(state, exception)));
}
