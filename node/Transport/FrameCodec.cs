using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Aurigraph.Consensus;
using MessagePack;

namespace Aurigraph.Node.Transport;

/// <summary>What a frame carries; the byte after the length prefix.</summary>
internal enum FrameKind : byte
{
    Handshake = 1,
    Raft = 2,
    Application = 3,
}

/// <summary>Outcome of looking for one frame at the start of a receive buffer.</summary>
internal enum FrameStatus
{
    Incomplete,
    Complete,
    TooLarge,
    Malformed,
}

/// <summary>The first frame on every connection, in both directions.</summary>
/// <param name="Listen">Where the sender accepts peer connections (empty when it does not say): lets a node reach a
/// member it has not learned of yet, once that member's certificate proved its id (see <see cref="TransportOptions.AdmitUnlisted"/>).</param>
internal readonly record struct Handshake(ushort Version, string ClusterId, ulong NodeId, TransportLane Lane, string Listen = "");

/// <summary>
/// The peer wire format: <c>[u32 length LE][u8 kind][body]</c>, where length counts the kind byte and the body.
/// Raft bodies are a MessagePack header followed by the entries' payloads as raw bytes, so block payloads are
/// never re-encoded; on receive every entry's data is a slice of one array allocated per frame.
/// </summary>
internal static class FrameCodec
{
    /// <summary>Length prefix plus kind byte.</summary>
    public const int PrefixBytes = 5;

    public const ushort ProtocolVersion = 1;

    /// <summary>Frame limit until the handshake is accepted, so a stranger cannot make us buffer megabytes.</summary>
    public const int MaxHandshakeBytes = 512;

    private const int MaxClusterIdBytes = 255;
    private const int MaxListenBytes = 64;
    private const int HandshakeFixedBytes = 4 + 2 + 8 + 1 + 1;
    private const int RaftHeaderFields = 11;
    private const int EntryHeaderFields = 4;

    // The smallest encoding of one entry header (fixarray + four positive fixints): bounds a claimed entry count.
    private const int MinEntryHeaderBytes = 5;

    public static ReadOnlySpan<byte> Magic => "AGRT"u8;

    /// <summary>Finds the frame at the start of <paramref name="buffer"/>; on success slices it off.</summary>
    public static FrameStatus TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameBytes, out FrameKind kind, out ReadOnlySequence<byte> body)
    {
        kind = default;
        body = default;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadLittleEndian(out int signedLength))
        {
            return FrameStatus.Incomplete;
        }
        var length = (uint)signedLength;
        // Checked before waiting for the body, so an absurd prefix is refused at once instead of being buffered.
        if (length > (uint)maxFrameBytes)
        {
            return FrameStatus.TooLarge;
        }
        if (length == 0)
        {
            return FrameStatus.Malformed;
        }
        if (!reader.TryRead(out var kindByte))
        {
            return FrameStatus.Incomplete;
        }
        var bodyLength = (long)length - 1;
        if (reader.Remaining < bodyLength)
        {
            return FrameStatus.Incomplete;
        }
        kind = (FrameKind)kindByte;
        body = buffer.Slice(reader.Position, bodyLength);
        buffer = buffer.Slice(body.End);
        return FrameStatus.Complete;
    }

    /// <summary>The length (kind byte and body) that the frame at the start of <paramref name="buffer"/> declares, or -1 if the prefix is incomplete.</summary>
    public static long DeclaredLength(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadLittleEndian(out int length) ? (uint)length : -1;
    }

    /// <summary>Bytes a frame occupies on the wire, length prefix included, given its body.</summary>
    public static long WireBytes(ReadOnlySequence<byte> body) => PrefixBytes + body.Length;

    public static int WriteHandshake(IBufferWriter<byte> output, in Handshake handshake)
    {
        var clusterBytes = Encoding.UTF8.GetByteCount(handshake.ClusterId);
        if (clusterBytes > MaxClusterIdBytes)
        {
            throw new ArgumentException($"The cluster id is {clusterBytes} UTF-8 bytes; at most {MaxClusterIdBytes} fit a handshake.", nameof(handshake));
        }
        var listenBytes = Encoding.UTF8.GetByteCount(handshake.Listen);
        if (listenBytes > MaxListenBytes)
        {
            throw new ArgumentException($"The listen address is {listenBytes} UTF-8 bytes; at most {MaxListenBytes} fit a handshake.", nameof(handshake));
        }
        // The listen address is an optional tail: a handshake without one is the first version's, byte for byte.
        var bodyLength = HandshakeFixedBytes + clusterBytes + (listenBytes == 0 ? 0 : 1 + listenBytes);
        var total = PrefixBytes + bodyLength;
        var span = output.GetSpan(total);
        WritePrefix(span, bodyLength, FrameKind.Handshake);
        var body = span.Slice(PrefixBytes, bodyLength);
        Magic.CopyTo(body);
        BinaryPrimitives.WriteUInt16LittleEndian(body[4..], handshake.Version);
        BinaryPrimitives.WriteUInt64LittleEndian(body[6..], handshake.NodeId);
        body[14] = (byte)handshake.Lane;
        body[15] = (byte)clusterBytes;
        Encoding.UTF8.GetBytes(handshake.ClusterId, body[HandshakeFixedBytes..]);
        if (listenBytes > 0)
        {
            var tail = body[(HandshakeFixedBytes + clusterBytes)..];
            tail[0] = (byte)listenBytes;
            Encoding.UTF8.GetBytes(handshake.Listen, tail[1..]);
        }
        output.Advance(total);
        return total;
    }

    /// <summary>Reads a handshake body; version, cluster and node id are left for the caller to judge.</summary>
    public static bool TryReadHandshake(ReadOnlySequence<byte> body, out Handshake handshake, out string? error)
    {
        handshake = default;
        Span<byte> fixedPart = stackalloc byte[HandshakeFixedBytes];
        if (!new SequenceReader<byte>(body).TryCopyTo(fixedPart))
        {
            error = $"handshake of {body.Length} bytes is truncated";
            return false;
        }
        if (!fixedPart[..4].SequenceEqual(Magic))
        {
            error = $"bad magic {Convert.ToHexString(fixedPart[..4])}";
            return false;
        }
        var clusterBytes = fixedPart[15];
        var listen = "";
        if (body.Length > HandshakeFixedBytes + clusterBytes)
        {
            var tail = body.Slice(HandshakeFixedBytes + clusterBytes);
            var listenBytes = tail.FirstSpan[0];
            if (listenBytes == 0 || listenBytes > MaxListenBytes || tail.Length != 1 + listenBytes)
            {
                error = $"handshake of {body.Length} bytes does not match its cluster id length {clusterBytes} and listen address length {listenBytes}";
                return false;
            }
            listen = Encoding.UTF8.GetString(tail.Slice(1));
        }
        else if (body.Length != HandshakeFixedBytes + clusterBytes)
        {
            error = $"handshake of {body.Length} bytes does not match its cluster id length {clusterBytes}";
            return false;
        }
        // Invalid UTF-8 decodes to replacement characters, which then fail the cluster id comparison.
        var clusterId = Encoding.UTF8.GetString(body.Slice(HandshakeFixedBytes, clusterBytes));
        handshake = new Handshake(
            BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[4..]),
            clusterId,
            BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[6..]),
            (TransportLane)fixedPart[14],
            listen);
        error = null;
        return true;
    }

    /// <summary>
    /// Writes one Raft frame. <paramref name="scratch"/> holds the MessagePack header while its length is unknown;
    /// it is small (tens of bytes per entry), unlike the payloads, which go straight into <paramref name="output"/>.
    /// Returns false, writing nothing, when the frame would exceed <paramref name="maxFrameBytes"/>.
    /// </summary>
    public static bool TryWriteRaft(IBufferWriter<byte> output, Message message, ArrayBufferWriter<byte> scratch, int maxFrameBytes, out long frameBytes)
    {
        scratch.ResetWrittenCount();
        var writer = new MessagePackWriter(scratch);
        writer.WriteArrayHeader(RaftHeaderFields);
        writer.Write((byte)message.Type);
        writer.Write(message.From);
        writer.Write(message.To);
        writer.Write(message.Term);
        writer.Write(message.LogTerm);
        writer.Write(message.Index);
        writer.Write(message.Commit);
        writer.Write(message.Reject);
        writer.Write(message.RejectHint);
        writer.Write(message.Context);
        var entries = message.Entries;
        writer.WriteArrayHeader(entries.Length);
        long payloadBytes = 0;
        foreach (var entry in entries)
        {
            writer.WriteArrayHeader(EntryHeaderFields);
            writer.Write(entry.Index);
            writer.Write(entry.Term);
            writer.Write((byte)entry.Type);
            writer.Write(entry.Data.Length);
            payloadBytes += entry.Data.Length;
        }
        writer.Flush();

        var length = 1L + scratch.WrittenCount + payloadBytes;
        frameBytes = 4 + length;
        if (length > maxFrameBytes)
        {
            return false;
        }
        var prefix = output.GetSpan(PrefixBytes);
        WritePrefix(prefix, (int)length - 1, FrameKind.Raft);
        output.Advance(PrefixBytes);
        output.Write(scratch.WrittenSpan);
        foreach (var entry in entries)
        {
            output.Write(entry.Data.Span);
        }
        return true;
    }

    /// <summary>Decodes a Raft body, copying it out of the receive buffer exactly once.</summary>
    /// <exception cref="InvalidDataException">The body is not a well-formed Raft message.</exception>
    public static Message ReadRaft(ReadOnlySequence<byte> body)
    {
        try
        {
            return ReadRaftCore(body);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or OverflowException)
        {
            throw new InvalidDataException($"malformed raft frame: {ex.Message}", ex);
        }
    }

    private static Message ReadRaftCore(ReadOnlySequence<byte> body)
    {
        var reader = new MessagePackReader(body);
        var fields = reader.ReadArrayHeader();
        if (fields != RaftHeaderFields)
        {
            throw new InvalidDataException($"malformed raft frame: {fields} header fields, expected {RaftHeaderFields}");
        }
        var type = (MessageType)reader.ReadByte();
        if (!Enum.IsDefined(type))
        {
            throw new InvalidDataException($"malformed raft frame: unknown message type {(byte)type}");
        }
        var from = reader.ReadUInt64();
        var to = reader.ReadUInt64();
        var term = reader.ReadUInt64();
        var logTerm = reader.ReadUInt64();
        var index = reader.ReadUInt64();
        var commit = reader.ReadUInt64();
        var reject = reader.ReadBoolean();
        var rejectHint = reader.ReadUInt64();
        var context = reader.ReadUInt64();
        var count = reader.ReadArrayHeader();
        if (count > body.Length / MinEntryHeaderBytes)
        {
            throw new InvalidDataException($"malformed raft frame: {count} entries cannot fit {body.Length} bytes");
        }

        Entry[] entries = count == 0 ? [] : new Entry[count];
        var lengths = count == 0 ? [] : ArrayPool<int>.Shared.Rent(count);
        try
        {
            long payloadBytes = 0;
            for (var i = 0; i < count; i++)
            {
                if (reader.ReadArrayHeader() != EntryHeaderFields)
                {
                    throw new InvalidDataException($"malformed raft frame: entry {i} header is not {EntryHeaderFields} fields");
                }
                var entryIndex = reader.ReadUInt64();
                var entryTerm = reader.ReadUInt64();
                var entryType = (EntryType)reader.ReadByte();
                if (!Enum.IsDefined(entryType))
                {
                    throw new InvalidDataException($"malformed raft frame: entry {i} has unknown type {(byte)entryType}");
                }
                var length = reader.ReadInt32();
                if (length < 0)
                {
                    throw new InvalidDataException($"malformed raft frame: entry {i} has length {length}");
                }
                lengths[i] = length;
                payloadBytes += length;
                entries[i] = new Entry(entryIndex, entryTerm, entryType, default);
            }

            var payload = body.Slice(reader.Consumed);
            if (payload.Length != payloadBytes)
            {
                throw new InvalidDataException($"malformed raft frame: entries declare {payloadBytes} payload bytes, frame carries {payload.Length}");
            }
            if (payloadBytes > 0)
            {
                var buffer = GC.AllocateUninitializedArray<byte>((int)payloadBytes);
                payload.CopyTo(buffer);
                var offset = 0;
                for (var i = 0; i < count; i++)
                {
                    entries[i] = entries[i] with { Data = new ReadOnlyMemory<byte>(buffer, offset, lengths[i]) };
                    offset += lengths[i];
                }
            }
        }
        finally
        {
            if (count > 0)
            {
                ArrayPool<int>.Shared.Return(lengths);
            }
        }

        return new Message
        {
            Type = type,
            From = from,
            To = to,
            Term = term,
            LogTerm = logTerm,
            Index = index,
            Entries = entries,
            Commit = commit,
            Reject = reject,
            RejectHint = rejectHint,
            Context = context,
        };
    }

    /// <summary>Writes one application frame: a channel byte and the payload. Returns false, writing nothing, when over the limit.</summary>
    public static bool TryWriteApplication(IBufferWriter<byte> output, byte channel, ReadOnlySpan<byte> payload, int maxFrameBytes, out long frameBytes)
    {
        var length = 2L + payload.Length;
        frameBytes = 4 + length;
        if (length > maxFrameBytes)
        {
            return false;
        }
        var prefix = output.GetSpan(PrefixBytes + 1);
        WritePrefix(prefix, payload.Length + 1, FrameKind.Application);
        prefix[PrefixBytes] = channel;
        output.Advance(PrefixBytes + 1);
        output.Write(payload);
        return true;
    }

    /// <exception cref="InvalidDataException">The body has no channel byte.</exception>
    public static (byte Channel, ReadOnlyMemory<byte> Payload) ReadApplication(ReadOnlySequence<byte> body)
    {
        if (body.IsEmpty)
        {
            throw new InvalidDataException("malformed application frame: no channel byte");
        }
        var channel = body.FirstSpan[0];
        var payload = body.Slice(1);
        return (channel, payload.IsEmpty ? ReadOnlyMemory<byte>.Empty : payload.ToArray());
    }

    private static void WritePrefix(Span<byte> span, int bodyLength, FrameKind kind)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)bodyLength + 1);
        span[4] = (byte)kind;
    }
}
