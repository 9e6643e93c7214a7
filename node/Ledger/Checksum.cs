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
