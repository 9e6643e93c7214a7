using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Aurigraph.Consensus;
using Aurigraph.Node.Transport;

namespace Aurigraph.Node.Tests.Transport;

public class FrameCodecTests
{
    private const int MaxFrame = 64 * 1024 * 1024;

    public static TheoryData<MessageType> AllTypes()
    {
        var data = new TheoryData<MessageType>();
        foreach (var type in Enum.GetValues<MessageType>())
        {
            data.Add(type);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Raft_round_trip_preserves_every_field(MessageType type)
    {
        var message = new Message
        {
            Type = type,
            From = 1,
            To = ulong.MaxValue,
            Term = 42,
            LogTerm = 41,
            Index = 1UL << 40,
            Commit = 7,
            Reject = type is MessageType.AppendResponse or MessageType.VoteResponse,
            RejectHint = 3,
            Context = 99,
            Entries = type == MessageType.Append ? [new Entry(8, 42, EntryType.NoOp, ReadOnlyMemory<byte>.Empty), new Entry(9, 42, EntryType.Normal, Bytes(100, 1))] : [],
        };

        var decoded = RoundTrip(message);

        AssertSameMessage(message, decoded);
    }

    [Fact]
    public void Entries_of_0_bytes_1_kilobyte_and_16_megabytes_round_trip_as_slices_of_one_array()
    {
        var message = new Message
        {
            Type = MessageType.Append,
            From = 2,
            To = 3,
            Term = 5,
            Index = 10,
            LogTerm = 4,
            Commit = 9,
            Entries =
            [
                new Entry(11, 5, EntryType.Normal, ReadOnlyMemory<byte>.Empty),
                new Entry(12, 5, EntryType.Normal, Bytes(1024, 2)),
                new Entry(13, 5, EntryType.Normal, Bytes(16 * 1024 * 1024, 3)),
                new Entry(14, 5, EntryType.NoOp, ReadOnlyMemory<byte>.Empty),
            ],
        };

        var decoded = RoundTrip(message);

        AssertSameMessage(message, decoded);
        byte[]? shared = null;
        foreach (var entry in decoded.Entries.Where(e => e.Data.Length > 0))
        {
            Assert.True(MemoryMarshal.TryGetArray(entry.Data, out var segment));
            shared ??= segment.Array;
            Assert.Same(shared, segment.Array);
        }
    }

    [Fact]
    public void Frame_split_across_many_buffer_segments_decodes()
    {
        var message = new Message
        {
            Type = MessageType.Append,
            From = 1,
            To = 2,
            Term = 3,
            Entries = [new Entry(1, 3, EntryType.Normal, Bytes(5000, 4)), new Entry(2, 3, EntryType.Normal, Bytes(3, 5))],
        };
        var bytes = EncodeRaft(message);

        var buffer = Segmented(bytes, 7);
        Assert.Equal(FrameStatus.Complete, FrameCodec.TryReadFrame(ref buffer, MaxFrame, out var kind, out var body));
        Assert.Equal(FrameKind.Raft, kind);
        Assert.True(buffer.IsEmpty);
        AssertSameMessage(message, FrameCodec.ReadRaft(body));
    }

    [Fact]
    public void Two_frames_in_one_buffer_are_read_one_after_the_other()
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.True(FrameCodec.TryWriteApplication(writer, 1, Bytes(10, 1).Span, MaxFrame, out _));
        Assert.True(FrameCodec.TryWriteApplication(writer, 2, Bytes(20, 2).Span, MaxFrame, out _));
        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);

        Assert.Equal(FrameStatus.Complete, FrameCodec.TryReadFrame(ref buffer, MaxFrame, out _, out var first));
        Assert.Equal(FrameStatus.Complete, FrameCodec.TryReadFrame(ref buffer, MaxFrame, out _, out var second));
        Assert.Equal(FrameStatus.Incomplete, FrameCodec.TryReadFrame(ref buffer, MaxFrame, out _, out _));
        Assert.Equal(1, FrameCodec.ReadApplication(first).Channel);
        Assert.Equal(20, FrameCodec.ReadApplication(second).Payload.Length);
    }

    [Fact]
    public void Every_truncation_of_a_frame_is_incomplete()
    {
        var bytes = EncodeRaft(new Message
        {
            Type = MessageType.Append,
            From = 1,
            To = 2,
            Entries = [new Entry(1, 1, EntryType.Normal, Bytes(64, 9))],
        });

        for (var length = 0; length < bytes.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(bytes, 0, length);
            Assert.Equal(FrameStatus.Incomplete, FrameCodec.TryReadFrame(ref buffer, MaxFrame, out _, out _));
            Assert.Equal(length, buffer.Length);
        }
    }

    [Fact]
    public void Oversized_length_is_refused_from_the_prefix_alone()
    {
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(prefix, 1025);
        var buffer = new ReadOnlySequence<byte>(prefix);

        Assert.Equal(FrameStatus.TooLarge, FrameCodec.TryReadFrame(ref buffer, 1024, out _, out _));
        Assert.Equal(1025, FrameCodec.DeclaredLength(buffer));

        BinaryPrimitives.WriteUInt32LittleEndian(prefix, uint.MaxValue);
        buffer = new ReadOnlySequence<byte>(prefix);
        Assert.Equal(FrameStatus.TooLarge, FrameCodec.TryReadFrame(ref buffer, MaxFrame, out _, out _));
    }

    [Fact]
    public void Zero_length_frame_is_malformed()
    {
        var buffer = new ReadOnlySequence<byte>(new byte[] { 0, 0, 0, 0, 2 });
        Assert.Equal(FrameStatus.Malformed, FrameCodec.TryReadFrame(ref buffer, MaxFrame, out _, out _));
    }

    [Fact]
    public void Writers_refuse_frames_over_the_limit_and_write_nothing()
    {
        var writer = new ArrayBufferWriter<byte>();
        var scratch = new ArrayBufferWriter<byte>();
        var big = new Message { Type = MessageType.Append, From = 1, To = 2, Entries = [new Entry(1, 1, EntryType.Normal, Bytes(2000, 1))] };

        Assert.False(FrameCodec.TryWriteRaft(writer, big, scratch, 1024, out var raftBytes));
        Assert.False(FrameCodec.TryWriteApplication(writer, 1, new byte[2000], 1024, out var appBytes));

        Assert.Equal(0, writer.WrittenCount);
        Assert.True(raftBytes > 2000);
        Assert.Equal(2006, appBytes);
    }

    [Fact]
    public void Truncated_raft_body_is_malformed()
    {
        var body = RaftBody(new Message { Type = MessageType.Append, From = 1, To = 2, Entries = [new Entry(1, 1, EntryType.Normal, Bytes(32, 1))] });

        for (var length = 0; length < body.Length; length++)
        {
            Assert.Throws<InvalidDataException>(() => FrameCodec.ReadRaft(new ReadOnlySequence<byte>(body, 0, length)));
        }
    }

    [Fact]
    public void Raft_body_with_trailing_bytes_is_malformed()
    {
        var body = RaftBody(new Message { Type = MessageType.Heartbeat, From = 1, To = 2 });
        var longer = body.Concat(new byte[] { 0 }).ToArray();

        var ex = Assert.Throws<InvalidDataException>(() => FrameCodec.ReadRaft(new ReadOnlySequence<byte>(longer)));
        Assert.Contains("payload", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0x91, 0x01 })]                          // array of one field
    [InlineData(new byte[] { 0x9b, 0x63 })]                          // unknown message type 99
    [InlineData(new byte[] { 0x9b, 0xa3, 0x61, 0x62, 0x63 })]        // a string where the type belongs
    [InlineData(new byte[] { 0xc1 })]                                // reserved MessagePack code
    [InlineData(new byte[] { 0xdd, 0xff, 0xff, 0xff, 0xff })]        // array claiming 4 billion fields
    public void Garbage_raft_bodies_are_malformed(byte[] body)
    {
        Assert.Throws<InvalidDataException>(() => FrameCodec.ReadRaft(new ReadOnlySequence<byte>(body)));
    }

    [Fact]
    public void Entry_count_beyond_the_body_is_refused_before_allocating()
    {
        var writer = new ArrayBufferWriter<byte>();
        var mp = new MessagePack.MessagePackWriter(writer);
        mp.WriteArrayHeader(11);
        mp.Write((byte)MessageType.Append);
        for (var i = 0; i < 6; i++)
        {
            mp.Write(1UL);
        }
        mp.Write(false);
        mp.Write(0UL);
        mp.Write(0UL);
        // 100 entries claimed, 100 bytes follow: enough for MessagePack's own bound, far too few for 100 entry headers.
        mp.WriteArrayHeader(100);
        for (var i = 0; i < 100; i++)
        {
            mp.WriteNil();
        }
        mp.Flush();

        var ex = Assert.Throws<InvalidDataException>(() => FrameCodec.ReadRaft(new ReadOnlySequence<byte>(writer.WrittenMemory)));
        Assert.Contains("entries", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mutated_raft_bodies_decode_or_fail_as_malformed_never_otherwise()
    {
        var body = RaftBody(new Message
        {
            Type = MessageType.Append,
            From = 1,
            To = 2,
            Term = 300,
            Commit = 70000,
            Entries = [new Entry(1, 300, EntryType.Normal, Bytes(40, 1)), new Entry(2, 300, EntryType.NoOp, ReadOnlyMemory<byte>.Empty)],
        });
        var random = new Random(1234);
        for (var round = 0; round < 5000; round++)
        {
            var mutated = (byte[])body.Clone();
            var flips = random.Next(1, 4);
            for (var i = 0; i < flips; i++)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }
            var length = random.Next(4) == 0 ? random.Next(mutated.Length) : mutated.Length;
            try
            {
                FrameCodec.ReadRaft(new ReadOnlySequence<byte>(mutated, 0, length));
            }
            catch (InvalidDataException)
            {
                // Expected for most mutations; any other exception type fails the test.
            }
        }
    }

    [Fact]
    public void Handshake_round_trips()
    {
        var writer = new ArrayBufferWriter<byte>();
        var sent = new Handshake(FrameCodec.ProtocolVersion, "aurigraph-devnet-é", 12345678901, TransportLane.Bulk);
        var written = FrameCodec.WriteHandshake(writer, sent);

        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);
        Assert.Equal(written, writer.WrittenCount);
        Assert.Equal(FrameStatus.Complete, FrameCodec.TryReadFrame(ref buffer, FrameCodec.MaxHandshakeBytes, out var kind, out var body));
        Assert.Equal(FrameKind.Handshake, kind);
        Assert.True(FrameCodec.TryReadHandshake(body, out var received, out var error), error);
        Assert.Equal(sent, received);
    }

    [Fact]
    public void A_handshake_with_a_listen_address_round_trips_and_one_without_keeps_the_first_layout()
    {
        var plain = new ArrayBufferWriter<byte>();
        var withListen = new ArrayBufferWriter<byte>();
        FrameCodec.WriteHandshake(plain, new Handshake(FrameCodec.ProtocolVersion, "cluster", 7, TransportLane.Bulk));
        var sent = new Handshake(FrameCodec.ProtocolVersion, "cluster", 7, TransportLane.Bulk, "127.0.0.1:24007");
        FrameCodec.WriteHandshake(withListen, sent);
        // The address is a tail of its own: the rest is the first version's bytes (length prefix aside).
        Assert.Equal(plain.WrittenCount + 1 + sent.Listen.Length, withListen.WrittenCount);
        Assert.True(withListen.WrittenSpan[(FrameCodec.PrefixBytes)..plain.WrittenCount].SequenceEqual(plain.WrittenSpan[FrameCodec.PrefixBytes..]));

        var body = new ReadOnlySequence<byte>(withListen.WrittenMemory[FrameCodec.PrefixBytes..]);
        Assert.True(FrameCodec.TryReadHandshake(body, out var received, out var error), error);
        Assert.Equal(sent, received);
        Assert.True(FrameCodec.TryReadHandshake(new ReadOnlySequence<byte>(plain.WrittenMemory[FrameCodec.PrefixBytes..]), out var old, out error), error);
        Assert.Equal("", old.Listen);

        var damaged = withListen.WrittenSpan[FrameCodec.PrefixBytes..].ToArray();
        damaged[16 + "cluster".Length] = 200; // the tail's length byte, over the limit
        Assert.False(FrameCodec.TryReadHandshake(new ReadOnlySequence<byte>(damaged), out _, out var tooLong));
        Assert.Contains("listen address length", tooLong, StringComparison.Ordinal);
        Assert.False(FrameCodec.TryReadHandshake(new ReadOnlySequence<byte>(withListen.WrittenMemory[FrameCodec.PrefixBytes..^1]), out _, out var truncated));
        Assert.Contains("listen address length", truncated, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => FrameCodec.WriteHandshake(plain, new Handshake(1, "cluster", 1, TransportLane.Control, new string('1', 65))));
    }

    [Fact]
    public void Damaged_handshakes_are_refused()
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameCodec.WriteHandshake(writer, new Handshake(FrameCodec.ProtocolVersion, "cluster", 1, TransportLane.Control));
        var body = writer.WrittenSpan[FrameCodec.PrefixBytes..].ToArray();

        Assert.False(FrameCodec.TryReadHandshake(new ReadOnlySequence<byte>(body, 0, 10), out _, out var truncated));
        Assert.Contains("truncated", truncated, StringComparison.Ordinal);

        var badMagic = (byte[])body.Clone();
        badMagic[0] = (byte)'X';
        Assert.False(FrameCodec.TryReadHandshake(new ReadOnlySequence<byte>(badMagic), out _, out var magic));
        Assert.Contains("magic", magic, StringComparison.Ordinal);

        Assert.False(FrameCodec.TryReadHandshake(new ReadOnlySequence<byte>(body, 0, body.Length - 1), out _, out var shortCluster));
        Assert.Contains("cluster id length", shortCluster, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => FrameCodec.WriteHandshake(writer, new Handshake(1, new string('c', 256), 1, TransportLane.Control)));
    }

    [Fact]
    public void Application_frames_round_trip_including_empty_payloads()
    {
        foreach (var size in new[] { 0, 1, 70_000 })
        {
            var writer = new ArrayBufferWriter<byte>();
            var payload = Bytes(size, 6);
            Assert.True(FrameCodec.TryWriteApplication(writer, 200, payload.Span, MaxFrame, out var frameBytes));
            Assert.Equal(writer.WrittenCount, frameBytes);

            var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);
            Assert.Equal(FrameStatus.Complete, FrameCodec.TryReadFrame(ref buffer, MaxFrame, out var kind, out var body));
            Assert.Equal(FrameKind.Application, kind);
            var (channel, received) = FrameCodec.ReadApplication(body);
            Assert.Equal(200, channel);
            Assert.True(payload.Span.SequenceEqual(received.Span));
        }

        Assert.Throws<InvalidDataException>(() => FrameCodec.ReadApplication(ReadOnlySequence<byte>.Empty));
    }

    internal static ReadOnlyMemory<byte> Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    internal static void AssertSameMessage(Message expected, Message actual)
    {
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.From, actual.From);
        Assert.Equal(expected.To, actual.To);
        Assert.Equal(expected.Term, actual.Term);
        Assert.Equal(expected.LogTerm, actual.LogTerm);
        Assert.Equal(expected.Index, actual.Index);
        Assert.Equal(expected.Commit, actual.Commit);
        Assert.Equal(expected.Reject, actual.Reject);
        Assert.Equal(expected.RejectHint, actual.RejectHint);
        Assert.Equal(expected.Context, actual.Context);
        Assert.Equal(expected.Entries.Length, actual.Entries.Length);
        for (var i = 0; i < expected.Entries.Length; i++)
        {
            Assert.Equal(expected.Entries[i].Index, actual.Entries[i].Index);
            Assert.Equal(expected.Entries[i].Term, actual.Entries[i].Term);
            Assert.Equal(expected.Entries[i].Type, actual.Entries[i].Type);
            Assert.True(expected.Entries[i].Data.Span.SequenceEqual(actual.Entries[i].Data.Span), $"entry {i} data differs");
        }
    }

    private static Message RoundTrip(Message message)
    {
        var buffer = new ReadOnlySequence<byte>(EncodeRaft(message));
        Assert.Equal(FrameStatus.Complete, FrameCodec.TryReadFrame(ref buffer, MaxFrame, out var kind, out var body));
        Assert.Equal(FrameKind.Raft, kind);
        Assert.True(buffer.IsEmpty);
        return FrameCodec.ReadRaft(body);
    }

    private static byte[] EncodeRaft(Message message)
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.True(FrameCodec.TryWriteRaft(writer, message, new ArrayBufferWriter<byte>(), MaxFrame, out var frameBytes));
        Assert.Equal(writer.WrittenCount, frameBytes);
        return writer.WrittenSpan.ToArray();
    }

    private static byte[] RaftBody(Message message) => EncodeRaft(message)[FrameCodec.PrefixBytes..];

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int segmentLength)
    {
        Segment? first = null;
        Segment? last = null;
        for (var offset = 0; offset < bytes.Length; offset += segmentLength)
        {
            var memory = bytes.AsMemory(offset, Math.Min(segmentLength, bytes.Length - offset));
            if (last is null)
            {
                first = last = new Segment(memory, 0);
            }
            else
            {
                last = last.Append(memory);
            }
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
