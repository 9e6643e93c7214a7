using System.Buffers.Binary;

namespace Aurigraph.Consensus.Simulation;

/// <summary>The simulated state machine's command: a client's put of a value under a key, or a liveness marker.</summary>
public readonly record struct KvCommand(byte Kind, int ClientId, long Seq, int Key, long Value)
{
    public const byte Put = 1;
    public const byte Marker = 2;
    public const int Size = 1 + 4 + 8 + 4 + 8;

    public byte[] Encode()
    {
        var bytes = new byte[Size];
        bytes[0] = Kind;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(1), ClientId);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(5), Seq);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(13), Key);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(17), Value);
        return bytes;
    }

    public static KvCommand Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new FormatException($"command of {bytes.Length} bytes, expected {Size}");
        }
        return new KvCommand(
            bytes[0],
            BinaryPrimitives.ReadInt32LittleEndian(bytes[1..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[5..]),
            BinaryPrimitives.ReadInt32LittleEndian(bytes[13..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[17..]));
    }
}
