using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Aurigraph.Node.Carbon;

/// <summary>Appends little-endian fields to a growing buffer.</summary>
internal sealed class CarbonWriter(int initialCapacity)
{
    private readonly ArrayBufferWriter<byte> _buffer = new(Math.Max(64, initialCapacity));

    public int Length => _buffer.WrittenCount;

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public void Bytes(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

    public void U8(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
    }

    public void U16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.GetSpan(2), value);
        _buffer.Advance(2);
    }

    public void U32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    public void I32(int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    public void U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    public void I64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    public void F64(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    public void Str(string? value)
    {
        var text = value ?? "";
        var length = Encoding.UTF8.GetByteCount(text);
        if (length > CarbonCodec.MaxStringBytes)
        {
            throw new ArgumentException($"a carbon string field is {length} bytes; at most {CarbonCodec.MaxStringBytes}");
        }
        U16((ushort)length);
        Encoding.UTF8.GetBytes(text, _buffer.GetSpan(length));
        _buffer.Advance(length);
    }
}

/// <summary>Reads little-endian fields, checking each one; errors name the structure, the field and the offset.</summary>
internal ref struct CarbonReader(ReadOnlySpan<byte> bytes, string what)
{
    private readonly ReadOnlySpan<byte> _bytes = bytes;
    private int _at;

    public readonly int Offset => _at;

    public readonly FormatException Error(string message) => new($"{what}: {message} (at byte {_at} of {_bytes.Length})");

    /// <summary>Reads the magic and the version byte after it; returns the version (one this node reads).</summary>
    public byte Magic(ReadOnlySpan<byte> magic)
    {
        if (_bytes.Length < magic.Length + 1 || !_bytes[..magic.Length].SequenceEqual(magic))
        {
            throw Error($"does not start with \"{Encoding.ASCII.GetString(magic)}\"");
        }
        _at = magic.Length;
        return Versions(CarbonCodec.FirstVersion, CarbonCodec.Version);
    }

    /// <summary>Reads a version byte and refuses any outside [<paramref name="first"/>, <paramref name="last"/>].</summary>
    public byte Versions(byte first, byte last)
    {
        var version = U8("version");
        if (version < first || version > last)
        {
            throw Error($"version {version}; this node reads versions {first} to {last}");
        }
        return version;
    }

    /// <summary>An energy-model version (1 or 2).</summary>
    public int ModelVersion()
    {
        var version = U8("model version");
        if (version is not (1 or 2))
        {
            throw Error($"unknown energy-model version {version}");
        }
        return version;
    }

    /// <summary>Reads a version byte and refuses any other than <paramref name="expected"/>.</summary>
    public void Version(byte expected)
    {
        var version = U8("version");
        if (version != expected)
        {
            throw Error($"version {version}; this node reads version {expected}");
        }
    }

    public readonly void End()
    {
        if (_at != _bytes.Length)
        {
            throw Error($"{_bytes.Length - _at} trailing bytes");
        }
    }

    private ReadOnlySpan<byte> Take(int length, string field)
    {
        if (length < 0 || length > _bytes.Length - _at)
        {
            throw Error($"truncated in {field}");
        }
        var slice = _bytes.Slice(_at, length);
        _at += length;
        return slice;
    }

    public byte U8(string field) => Take(1, field)[0];

    public ushort U16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, field));

    public uint U32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));

    public ulong U64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));

    public long I64(string field) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, field));

    public double F64(string field) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, field));

    /// <summary>A non-negative 64-bit count.</summary>
    public long Count(string field)
    {
        var value = I64(field);
        return value >= 0 ? value : throw Error($"{field} is negative ({value})");
    }

    /// <summary>A non-negative 32-bit count.</summary>
    public int Count32(string field)
    {
        var value = BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));
        return value >= 0 ? value : throw Error($"{field} is negative ({value})");
    }

    /// <summary>A finite, non-negative double.</summary>
    public double Quantity(string field)
    {
        var value = F64(field);
        return double.IsFinite(value) && value >= 0 ? value : throw Error($"{field} is not a finite non-negative number ({value})");
    }

    /// <summary>A double in [0, 1].</summary>
    public double Fraction(string field)
    {
        var value = F64(field);
        return value is >= 0 and <= 1 ? value : throw Error($"{field} is outside [0, 1] ({value})");
    }

    public bool Flag(string field) => U8(field) switch
    {
        0 => false,
        1 => true,
        var other => throw Error($"{field} is {other}, not 0 or 1"),
    };

    public string Str(string field)
    {
        var length = U16(field + " length");
        if (length > CarbonCodec.MaxStringBytes)
        {
            throw Error($"{field} is {length} bytes; at most {CarbonCodec.MaxStringBytes}");
        }
        var raw = Take(length, field);
        try
        {
            return CarbonCodec.StrictUtf8.GetString(raw);
        }
        catch (DecoderFallbackException)
        {
            throw Error($"{field} is not valid UTF-8");
        }
    }
}
