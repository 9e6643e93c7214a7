using System.Security.Cryptography;

namespace Aurigraph.Client;

/// <summary>A transaction's id: SHA-256 of its body bytes. A 32-byte value type usable as a dictionary key.</summary>
public readonly record struct TransactionId(ulong A, ulong B, ulong C, ulong D)
{
    /// <summary>The id's length in bytes.</summary>
    public const int Size = 32;

    /// <summary>The id of a transaction whose body serializes to <paramref name="bodyBytes"/>.</summary>
    public static TransactionId Of(ReadOnlySpan<byte> bodyBytes)
    {
        Span<byte> hash = stackalloc byte[Size];
        SHA256.HashData(bodyBytes, hash);
        return FromBytes(hash);
    }

    /// <summary>The id from its 32 bytes.</summary>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not 32 bytes long.</exception>
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

    /// <summary>Writes the 32 bytes to <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination, A);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[8..], B);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[16..], C);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[24..], D);
    }

    /// <summary>The 32 bytes.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>The lowercase hex form, as the API writes it (<c>tx_id</c>).</summary>
    public override string ToString() => Convert.ToHexStringLower(ToBytes());
}
