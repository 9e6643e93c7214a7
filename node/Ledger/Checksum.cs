using System.Buffers.Binary;
using System.Numerics;

namespace Aurigraph.Node.Ledger;

/// <summary>
/// CRC-32C (Castagnoli), hardware-accelerated where the CPU has it (SSE4.2 / ARMv8 CRC32 through
/// <see cref="BitOperations.Crc32C(uint, ulong)"/>), for every record stored on disk.
/// </summary>
internal static class Checksum
{
    public static uint Crc32C(ReadOnlySpan<byte> data) => ~Update(~0u, data);

    /// <summary><paramref name="body"/> followed by its CRC-32C (little-endian), as a stored value.</summary>
    public static byte[] Sealed(ReadOnlySpan<byte> body)
    {
        var bytes = new byte[body.Length + 4];
        body.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(body.Length), Crc32C(body));
        return bytes;
    }

    /// <summary>Whether <paramref name="raw"/> ends in the CRC-32C of what comes before it (a value written by <see cref="Sealed"/>).</summary>
    public static bool IsSealed(ReadOnlySpan<byte> raw) =>
        raw.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(raw[^4..]) == Crc32C(raw[..^4]);

    /// <summary>Continues a running CRC-32C (start from <c>~0u</c>, finish with <c>~</c>) over <paramref name="data"/>.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }
        return crc;
    }
}
