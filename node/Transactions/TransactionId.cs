using System.Security.Cryptography;

namespace Aurigraph.Node.Transactions;

/// <summary>A transaction's id: SHA-256 of its body bytes. A 32-byte value type usable as a dictionary key.</summary>
public readonly record struct TransactionId(ulong A, ulong B, ulong C, ulong D)
{
    public const int Size = 32;

    public static TransactionId Of(ReadOnlySpan<byte> bodyBytes)
    {
        Span<byte> hash = stackalloc byte[Size];
        SHA256.HashData(bodyBytes, hash);
        return FromBytes(hash);
    }

    public static TransactionId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"a transaction id is {Size} bytes, got {bytes.Length}", nameof(bytes));
        }
        return new TransactionId(
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]));
    }

    /// <summary>Parses the lowercase or uppercase hex form; false for anything else.</summary>
    public static bool TryParse(string? hex, out TransactionId id)
    {
        id = default;
        if (hex is null || hex.Length != Size * 2)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[Size];
        var status = Convert.FromHexString(hex, bytes, out _, out var written);
        if (status != System.Buffers.OperationStatus.Done || written != Size)
        {
            return false;
        }
        id = FromBytes(bytes);
        return true;
    }

    public void WriteTo(Span<byte> destination)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination, A);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[8..], B);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[16..], C);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[24..], D);
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    public override string ToString() => Convert.ToHexStringLower(ToBytes());
}
