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
