using System.Buffers.Binary;
using System.Diagnostics;

namespace Aurigraph.Node.Ledger;

/// <summary>A 32-byte account id held by value (four words), compared and hashed without touching the heap.</summary>
internal readonly struct AccountKey : IEquatable<AccountKey>
{
    public const int Size = 32;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    public AccountKey(ReadOnlySpan<byte> id)
    {
        Debug.Assert(id.Length == Size, "an account key holds exactly 32 bytes");
        _a = BinaryPrimitives.ReadUInt64LittleEndian(id);
        _b = BinaryPrimitives.ReadUInt64LittleEndian(id[8..]);
        _c = BinaryPrimitives.ReadUInt64LittleEndian(id[16..]);
        _d = BinaryPrimitives.ReadUInt64LittleEndian(id[24..]);
    }

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, _a);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], _d);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    public bool Equals(AccountKey other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is AccountKey other && Equals(other);

    // The ids are public keys (uniformly distributed): mixing the words is enough, no per-byte hashing.
    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);
}

/// <summary>A byte-array dictionary key compared by content.</summary>
internal readonly struct ByteKey(byte[] bytes) : IEquatable<ByteKey>
{
    public byte[] Bytes { get; } = bytes;

    public bool Equals(ByteKey other) => Bytes.AsSpan().SequenceEqual(other.Bytes);

    public override bool Equals(object? obj) => obj is ByteKey other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Bytes);
        return hash.ToHashCode();
    }
}
