using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Aurigraph.Consensus;
using Aurigraph.Node.Transport;
using Microsoft.Extensions.Logging;
using static Aurigraph.Node.Tests.Transport.TransportTestKit;

namespace Aurigraph.Node.Tests.Transport;

public class PeerTransportTests
{
    [Fact]
    public async Task Two_transports_exchange_raft_and_application_messages()
    {
        var members = Members(FreePorts(2));
        await using var a = await StartAsync(1, members, FastOptions());
        await using var b = await StartAsync(2, members, FastOptions());

        var vote = new Message { Type = MessageType.Vote, From = 1, To = 2, Term = 3, Index = 10, LogTerm = 2 };
        a.Send(vote);
        FrameCodecTests.AssertSameMessage(vote, await b.NextRaftAsync());

        var response = new Message { Type = MessageType.VoteResponse, From = 2, To = 1, Term = 3, Reject = true };
        b.Send(response);
        FrameCodecTests.AssertSameMessage(response, await a.NextRaftAsync());

        var append = new Message
        {
            Type = MessageType.Append,
            From = 1,
            To = 2,
            Term = 3,
            Index = 10,
            LogTerm = 2,
            Commit = 9,
            Entries = [new Entry(11, 3, EntryType.NoOp, ReadOnlyMemory<byte>.Empty), new Entry(12, 3, EntryType.Normal, FrameCodecTests.Bytes(1024, 7))],
        };
        a.Send(append);
        FrameCodecTests.AssertSameMessage(append, await b.NextRaftAsync());

        var payload = Encoding.UTF8.GetBytes("block 12 announced");
        b.SendApplication(1, 7, payload);
        var application = await a.NextAsync();
        Assert.Null(application.Raft);
        Assert.Equal(2UL, application.From);
        Assert.Equal(7, application.Channel);
        Assert.Equal(payload, application.Payload.ToArray());

        a.SendApplication(2, 0, ReadOnlyMemory<byte>.Empty);
        var empty = await b.NextAsync();
        Assert.Equal(0, empty.Payload.Length);

        var traffic = Assert.Single(a.Traffic);
        Assert.Equal(2UL, traffic.PeerId);
        Assert.True(traffic.BytesSent > 1024, $"sent {traffic.BytesSent}");
        Assert.True(traffic.BytesReceived > payload.Length, $"received {traffic.BytesReceived}");
        Assert.Equal(0, traffic.FramesDropped);
    }

    [Fact]
    public async Task Three_transports_all_talk_to_each_other()
    {
        var members = Members(FreePorts(3));
        var transports = new List<PeerTransport>();
        try
        {
            foreach (var id in members.Keys)
            {
                transports.Add(await StartAsync(id, members, FastOptions()));
            }

            foreach (var sender in members.Keys)
            {
                foreach (var receiver in members.Keys.Where(r => r != sender))
                {
                    transports[(int)sender - 1].Send(Heartbeat(sender, receiver, context: (sender * 10) + receiver));
                    transports[(int)sender - 1].Send(Append(sender, receiver, index: sender, payloadBytes: 2048, seed: (int)sender));
                    transports[(int)sender - 1].SendApplication(receiver, 3, new byte[] { (byte)sender });
                }
            }

            foreach (var receiver in members.Keys)
            {
                var inputs = new List<PeerInput>();
                for (var i = 0; i < 6; i++)
                {
                    inputs.Add(await transports[(int)receiver - 1].NextAsync());
                }
                foreach (var sender in members.Keys.Where(s => s != receiver))
                {
                    var fromSender = inputs.Where(x => x.From == sender).ToList();
                    Assert.Equal(3, fromSender.Count);
                    var heartbeat = Assert.Single(fromSender, x => x.Raft?.Type == MessageType.Heartbeat);
                    Assert.Equal((sender * 10) + receiver, heartbeat.Raft!.Context);
                    var append = Assert.Single(fromSender, x => x.Raft?.Type == MessageType.Append);
                    Assert.Equal(2048, append.Raft!.Entries[0].Data.Length);
                    var application = Assert.Single(fromSender, x => x.Raft is null);
                    Assert.Equal([(byte)sender], application.Payload.ToArray());
                }
            }
        }
        finally
        {
            foreach (var transport in transports)
            {
                await transport.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Messages_on_one_lane_arrive_in_order()
    {
        var members = Members(FreePorts(2));
        await using var a = await StartAsync(1, members, FastOptions());
        await using var b = await StartAsync(2, members, FastOptions());

        for (ulong i = 1; i <= 500; i++)
        {
            a.Send(Heartbeat(1, 2, context: i));
        }
        for (ulong i = 1; i <= 500; i++)
        {
            Assert.Equal(i, (await b.NextRaftAsync()).Context);
        }

        for (ulong i = 1; i <= 100; i++)
        {
            a.Send(Append(1, 2, index: i, payloadBytes: 10_000));
        }
        for (ulong i = 1; i <= 100; i++)
        {
            Assert.Equal(i, (await b.NextRaftAsync()).Entries[0].Index);
        }
    }

    [Fact]
    public async Task Sixteen_megabyte_entry_crosses_the_wire_intact()
    {
        var members = Members(FreePorts(2));
        await using var a = await StartAsync(1, members, FastOptions());
        await using var b = await StartAsync(2, members, FastOptions());

        var block = Append(1, 2, index: 5, payloadBytes: 16 * 1024 * 1024, seed: 16);
        a.Send(block);

        FrameCodecTests.AssertSameMessage(block, await b.NextRaftAsync());
    }

    [Fact]
    public async Task Heartbeat_on_the_control_lane_overtakes_a_bulk_backlog()
    {
        const int Appends = 48;
        var members = Members(FreePorts(2));
        await using var a = await StartAsync(1, members, FastOptions());
        // A tiny incoming queue that the test does not read yet: the bulk lane backs up into TCP and A's bulk queue.
        await using var b = await StartAsync(2, members, FastOptions(o => o.IncomingCapacity = 2));

        // Both lanes connected before the experiment starts.
        a.Send(Heartbeat(1, 2));
        a.Send(Append(1, 2, index: 1, payloadBytes: 10));
        await b.NextRaftAsync();
        await b.NextRaftAsync();

        for (var i = 0; i < Appends; i++)
        {
            a.Send(Append(1, 2, index: (ulong)i + 2, payloadBytes: 1024 * 1024, seed: i));
        }
        a.Send(Heartbeat(1, 2, context: 77));

        var order = new List<MessageType>();
        for (var i = 0; i < Appends + 1; i++)
        {
            order.Add((await b.NextRaftAsync()).Type);
        }

        // Behind one connection the heartbeat would come last, after 48 MB of appends.
        var heartbeatPosition = order.IndexOf(MessageType.Heartbeat);
        Assert.InRange(heartbeatPosition, 0, Appends - 1);
        Assert.Equal(Appends, order.Count(t => t == MessageType.Append));
        Assert.Equal(MessageType.Append, order[^1]);
        Assert.Equal(0, a.Traffic[0].FramesDropped);
    }

    [Fact]
    public async Task Full_lane_drops_new_messages_without_blocking_and_counts_them()
    {
        // Peer 2's port accepts TCP connections but never answers the handshake: A's lanes sit in their first
        // handshake (bounded by a long timeout), so nothing drains or discards A's queues during the test.
        var members = Members(FreePorts(2));
        using var silent = new System.Net.Sockets.TcpListener(members[2]);
        silent.Start();
        await using var a = await StartAsync(1, members, FastOptions(o =>
        {
            o.ControlQueueCapacity = 4;
            o.BulkQueueCapacity = 100;
            o.BulkQueueMaxBytes = 1000;
            o.HandshakeTimeout = TimeSpan.FromMinutes(5);
        }));

        for (var i = 0; i < 10; i++)
        {
            a.Send(Heartbeat(1, 2));
        }
        // 600 bytes fits the empty queue, the second 600 would exceed 1000 bytes.
        a.SendApplication(2, 1, new byte[600]);
        a.SendApplication(2, 1, new byte[600]);
        a.Send(new Message { Type = MessageType.Heartbeat, From = 1, To = 99 });

        Assert.True(a.Traffic[0].FramesDropped >= 7, $"dropped {a.Traffic[0].FramesDropped}");
    }

    [Fact]
    public async Task Garbage_from_a_raw_socket_closes_that_connection_only()
    {
        var members = Members(FreePorts(3));
        var logB = new TestLogger();
        await using var a = await StartAsync(1, members, FastOptions());
        await using var b = await StartAsync(2, members, FastOptions(), logB);

        await using (var raw = await RawPeer.ConnectAsync(members[2]))
        {
            await raw.SendAsync("GET / HTTP/1.1\r\nHost: aurigraph\r\n\r\n"u8.ToArray());
            Assert.Equal(0, await raw.WaitForCloseAsync());
        }
        Assert.True(logB.Contains(LogLevel.Warning, "handshake limit"), string.Join("\n", logB.Entries));

        await using (var raw = await RawPeer.ConnectAsync(members[2]))
        {
            await raw.SendAsync(RawFrame(9, "hello"u8));
            Assert.Equal(0, await raw.WaitForCloseAsync());
        }
        Assert.True(logB.Contains(LogLevel.Warning, "not a handshake"), string.Join("\n", logB.Entries));

        a.Send(Heartbeat(1, 2, context: 5));
        Assert.Equal(5UL, (await b.NextRaftAsync()).Context);
    }

    [Theory]
    [InlineData("other-cluster", 3UL, "cluster")]
    [InlineData("test-cluster", 42UL, "not a configured peer")]
    [InlineData("test-cluster", 2UL, "own id")]
    public async Task Handshake_from_a_stranger_is_refused_without_an_answer(string clusterId, ulong nodeId, string reason)
    {
        var members = Members(FreePorts(3));
        var logB = new TestLogger();
        await using var a = await StartAsync(1, members, FastOptions());
        await using var b = await StartAsync(2, members, FastOptions(), logB);

        await using (var raw = await RawPeer.ConnectAsync(members[2]))
        {
            await raw.SendAsync(HandshakeFrame(clusterId, nodeId));
            Assert.Equal(0, await raw.WaitForCloseAsync());
        }
        Assert.True(logB.Contains(LogLevel.Warning, reason), string.Join("\n", logB.Entries));

        a.Send(Heartbeat(1, 2, context: 6));
        Assert.Equal(6UL, (await b.NextRaftAsync()).Context);
    }

    [Fact]
    public async Task Oversized_length_after_a_valid_handshake_closes_the_connection_with_a_logged_reason()
    {
        var members = Members(FreePorts(3));
        var logB = new TestLogger();
        await using var a = await StartAsync(1, members, FastOptions());
        await using var b = await StartAsync(2, members, FastOptions(), logB);

        // Impersonates configured peer 3, which is not running.
        await using (var raw = await RawPeer.ConnectAsync(members[2]))
        {
            await raw.SendAsync(HandshakeFrame("test-cluster", 3, TransportLane.Bulk));
            var (kind, body) = await raw.ReadFrameAsync();
            Assert.Equal(FrameKind.Handshake, kind);
            Assert.True(FrameCodec.TryReadHandshake(new(body), out var reply, out _));
            Assert.Equal(2UL, reply.NodeId);
            Assert.Equal(TransportLane.Bulk, reply.Lane);

            var oversized = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(oversized, 0xFFFF_FFF0);
            await raw.SendAsync(oversized);
            Assert.Equal(0, await raw.WaitForCloseAsync());
        }
        Assert.True(logB.Contains(LogLevel.Warning, "Peer 3 (Bulk lane) broke the protocol"), string.Join("\n", logB.Entries));
        Assert.True(logB.Contains(LogLevel.Warning, "exceeds"), string.Join("\n", logB.Entries));
        Assert.Equal(1, b.Traffic.Single(t => t.PeerId == 3).ProtocolErrors);

        a.Send(Heartbeat(1, 2, context: 7));
        Assert.Equal(7UL, (await b.NextRaftAsync()).Context);
    }

    [Fact]
    public async Task Malformed_or_forged_raft_frames_close_the_connection()
    {
        var members = Members(FreePorts(3));
        var logB = new TestLogger();
        await using var a = await StartAsync(1, members, FastOptions());
        await using var b = await StartAsync(2, members, FastOptions(), logB);

        byte[][] badFrames =
        [
            RawFrame((byte)FrameKind.Raft, [0x9b, 0x63, 0x01]),
            RaftFrame(Heartbeat(from: 1, to: 2)),                  // forged sender on peer 3's connection
            RaftFrame(Heartbeat(from: 3, to: 1)),                  // addressed to another node
            RawFrame((byte)FrameKind.Application, []),
            HandshakeFrame("test-cluster", 3),                     // a second handshake
        ];
        foreach (var frame in badFrames)
        {
            await using var raw = await RawPeer.ConnectAsync(members[2]);
            await raw.SendAsync(HandshakeFrame("test-cluster", 3));
            await raw.ReadFrameAsync();
            await raw.SendAsync(frame);
            Assert.Equal(0, await raw.WaitForCloseAsync());
        }
        Assert.Equal(badFrames.Length, b.Traffic.Single(t => t.PeerId == 3).ProtocolErrors);
        Assert.True(logB.Contains(LogLevel.Warning, "from node 1 on node 3's connection"), string.Join("\n", logB.Entries));

        // A well-behaved peer 3 is still accepted after all that.
        await using (var raw = await RawPeer.ConnectAsync(members[2]))
        {
            await raw.SendAsync(HandshakeFrame("test-cluster", 3));
            await raw.ReadFrameAsync();
            await raw.SendAsync(RaftFrame(Heartbeat(from: 3, to: 2, context: 33)));
            var input = await b.NextAsync();
            Assert.Equal(3UL, input.From);
            Assert.Equal(33UL, input.Raft!.Context);
        }

        a.Send(Heartbeat(1, 2, context: 8));
        Assert.Equal(8UL, (await b.NextRaftAsync()).Context);
    }

    [Fact]
    public async Task Reconnects_after_the_peer_restarts_on_the_same_port()
    {
        var members = Members(FreePorts(2));
        await using var a = await StartAsync(1, members, FastOptions());
        var b = await StartAsync(2, members, FastOptions());

        a.Send(Heartbeat(1, 2, context: 1));
        Assert.Equal(1UL, (await b.NextRaftAsync()).Context);
        b.Send(Heartbeat(2, 1, context: 2));
        Assert.Equal(2UL, (await a.NextRaftAsync()).Context);

        await b.DisposeAsync();
        await using var restarted = await StartAsync(2, members, FastOptions());

        // Messages sent before A notices the restart may be lost (Raft resends); keep sending until one arrives.
        await DeliverEventuallyAsync(a, restarted, context => Heartbeat(1, 2, context));
        await DeliverEventuallyAsync(a, restarted, context => Append(1, 2, context, 100));
        await DeliverEventuallyAsync(restarted, a, context => Heartbeat(2, 1, context));
        Assert.True(restarted.Traffic[0].BytesReceived > 0);
    }

    [Fact]
    public async Task Busy_listen_port_fails_start_with_a_clear_error()
    {
        var members = Members(FreePorts(2));
        await using var a = await StartAsync(1, members, FastOptions());
        await using var twin = new PeerTransport(1, members[1], members, FastOptions(), new TestLogger());

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => twin.StartAsync(CancellationToken.None));

        Assert.Contains(members[1].ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Contains("already in use", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispose_completes_incoming_and_is_idempotent()
    {
        var members = Members(FreePorts(2));
        var a = await StartAsync(1, members, FastOptions());
        var b = await StartAsync(2, members, FastOptions());
        a.Send(Heartbeat(1, 2));
        await b.NextRaftAsync();

        await Task.WhenAll(b.DisposeAsync().AsTask(), b.DisposeAsync().AsTask());
        await b.DisposeAsync();
        await b.Incoming.Completion.WaitAsync(Deadline);
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await b.Incoming.ReadAsync());
        b.Send(Heartbeat(2, 1));
        b.SendApplication(1, 0, new byte[1]);

        await a.DisposeAsync();
        await a.Incoming.Completion.WaitAsync(Deadline);

        var neverStarted = new PeerTransport(1, members[1], members, FastOptions(), new TestLogger());
        await neverStarted.DisposeAsync();
        await neverStarted.Incoming.Completion.WaitAsync(Deadline);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => neverStarted.StartAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Traffic_is_published_on_the_transport_meter()
    {
        var measurements = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Aurigraph.Node.Transport")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => measurements.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
        listener.Start();

        var members = Members(FreePorts(2));
        await using (var a = await StartAsync(1, members, FastOptions()))
        await using (var b = await StartAsync(2, members, FastOptions()))
        {
            a.Send(Heartbeat(1, 2));
            await b.NextRaftAsync();
        }

        Assert.True(measurements.GetValueOrDefault("aurigraph.transport.bytes_sent") > 0);
        Assert.True(measurements.GetValueOrDefault("aurigraph.transport.bytes_received") > 0);
        Assert.True(measurements.GetValueOrDefault("aurigraph.transport.frames_sent") > 0);
        Assert.True(measurements.GetValueOrDefault("aurigraph.transport.connects") > 0);
    }

    [Fact]
    public void Invalid_options_are_refused_at_construction()
    {
        var members = Members(FreePorts(2));
        var ex = Assert.Throws<ArgumentException>(() =>
            new PeerTransport(1, members[1], members, FastOptions(o => o.ReconnectMaxDelay = TimeSpan.FromMilliseconds(1)), new TestLogger()));
        Assert.Contains("ReconnectMaxDelay", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Sends a fresh message every half second until one of that type arrives; earlier copies may arrive later and are skipped.</summary>
    private static async Task DeliverEventuallyAsync(PeerTransport from, PeerTransport to, Func<ulong, Message> build)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        for (ulong attempt = 1; ; attempt++)
        {
            var message = build(attempt);
            from.Send(message);
            try
            {
                while (true)
                {
                    var input = await to.NextAsync(TimeSpan.FromMilliseconds(500));
                    Assert.Equal(message.From, input.From);
                    if (input.Raft?.Type == message.Type)
                    {
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
            {
                // Not there yet: send again.
            }
        }
    }
}
