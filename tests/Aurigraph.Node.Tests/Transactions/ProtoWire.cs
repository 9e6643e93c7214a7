using FsCheck;
using FsCheck.Fluent;

namespace Aurigraph.Node.Tests.Transactions;

/// <summary>Protobuf wire bytes written by hand for the differential tests of the in-place readers, and their mutations.</summary>
internal static class ProtoWire
{
    /// <summary>A varint; <paramref name="padding"/> adds continuation bytes that add nothing (a non-minimal encoding).</summary>
    public static byte[] Varint(ulong value, int padding = 0)
    {
        var bytes = new List<byte>();
        while (value >= 0x80 || padding > 0)
        {
            if (value < 0x80)
            {
                padding--;
            }
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
            if (bytes.Count >= 9)
            {
                break;
            }
        }
        bytes.Add((byte)value);
        return [.. bytes];
    }

    public static byte[] Tagged(uint tag, byte[] payload) => Concat(Varint(tag), Varint((ulong)payload.Length), payload);

    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    /// <summary>Byte strings of up to <paramref name="maxLength"/> bytes.</summary>
    public static Gen<byte[]> Bytes(int maxLength) => Gen.Choose(0, maxLength).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), n));

    /// <summary>
    /// One unknown field numbered in [<paramref name="firstNumber"/>, <paramref name="lastNumber"/>] of any wire type:
    /// varint, fixed32, fixed64, length-delimited, or a group of further unknown fields nested up to
    /// <paramref name="maxDepth"/> (past it, a start-group tag that is never closed).
    /// </summary>
    public static Gen<byte[]> Unknown(int firstNumber, int lastNumber, Gen<ulong> varints, Gen<byte[]> bytes, int depth, int maxDepth) =>
        Gen.Choose(firstNumber, lastNumber).SelectMany(number => Gen.Frequency(
            (3, varints.Select(v => Concat(Varint((ulong)number << 3), Varint(v)))),
            (1, Gen.Constant(Concat(Varint(((ulong)number << 3) | 5), [1, 2, 3, 4]))),
            (1, Gen.Constant(Concat(Varint(((ulong)number << 3) | 1), [1, 2, 3, 4, 5, 6, 7, 8]))),
            (2, bytes.Select(b => Tagged((uint)number << 3 | 2, b))),
            (1, depth > maxDepth
                ? Gen.Constant(Concat(Varint((ulong)number << 3), [0]))
                : Gen.ListOf(Unknown(firstNumber, lastNumber, varints, bytes, depth + 1, maxDepth)).Select(l => Concat([Varint(((ulong)number << 3) | 3), .. l, Varint(((ulong)number << 3) | 4)])))));

    /// <summary>Inputs made from <paramref name="structured"/> ones: truncated, a bit flipped, a byte inserted, deleted or replaced.</summary>
    public static Gen<byte[]> Mutations(Gen<byte[]> structured) => structured.SelectMany(bytes => Gen.Choose(0, 4).SelectMany(kind => Gen.Choose(0, Math.Max(0, bytes.Length - 1)).SelectMany(at => Gen.Choose(0, 255).Select(b =>
    {
        if (bytes.Length == 0)
        {
            return new[] { (byte)b };
        }
        return kind switch
        {
            0 => bytes[..at],
            1 => [.. bytes[..at], (byte)(bytes[at] ^ (1 << (b % 8))), .. bytes[(at + 1)..]],
            2 => [.. bytes[..at], (byte)b, .. bytes[at..]],
            3 => [.. bytes[..at], .. bytes[(at + 1)..]],
            _ => [.. bytes[..at], (byte)b, .. bytes[(at + 1)..]],
        };
    }))));
}
