using System.Diagnostics;

namespace Aurigraph.Node.Transactions;

/// <summary>
/// A read position in protobuf wire bytes with the end of the message being read (a nested message's limit), refusing
/// exactly what Google.Protobuf's parser refuses (see <see cref="TransactionBodyReader"/>).
/// </summary>
internal ref struct WireCursor(ReadOnlySpan<byte> bytes, int end)
{
    /// <summary>Google.Protobuf's default recursion limit (nested messages and groups).</summary>
    public const int RecursionLimit = 100;

    public const int WireVarint = 0;
    public const int WireFixed64 = 1;
    public const int WireLengthDelimited = 2;
    public const int WireStartGroup = 3;
    public const int WireEndGroup = 4;
    public const int WireFixed32 = 5;

    private readonly ReadOnlySpan<byte> _bytes = bytes;

    public int Position { get; set; }

    public int End { get; } = end;

    /// <summary>A varint of at most 10 bytes; bits past 64 are dropped, as protobuf does.</summary>
    public bool TryReadVarint(out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (Position >= End)
            {
                return false;
            }
            var b = _bytes[Position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A tag: a varint truncated to 32 bits (protobuf's varint32), whose field number must not be 0.</summary>
    public bool TryReadTag(out uint tag)
    {
        var ok = TryReadVarint(out var raw);
        tag = (uint)raw;
        return ok && (tag >> 3) != 0;
    }

    /// <summary>A length (varint32 as a signed int: negative is refused) and that many bytes, within the limit.</summary>
    public bool TryReadLengthDelimited(out Range32 range)
    {
        range = default;
        if (!TryReadVarint(out var raw))
        {
            return false;
        }
        var length = (int)(uint)raw;
        if (length < 0 || length > End - Position)
        {
            return false;
        }
        range = new Range32(Position, length);
        Position += length;
        return true;
    }

    /// <summary>Skips the value of an unknown field whose tag was just read (not an end-group tag).</summary>
    public bool TrySkipField(uint tag, int depth)
    {
        Debug.Assert((tag & 7) != WireEndGroup, "end-group tags are handled by the caller");
        switch ((int)(tag & 7))
        {
            case WireVarint:
                return TryReadVarint(out _);
            case WireFixed64:
                return TrySkip(8);
            case WireFixed32:
                return TrySkip(4);
            case WireLengthDelimited:
                return TryReadLengthDelimited(out _);
            case WireStartGroup:
                return TrySkipGroup(tag, depth);
            default:
                return false; // wire types 6 and 7
        }
    }

    private bool TrySkip(int count)
    {
        if (count > End - Position)
        {
            return false;
        }
        Position += count;
        return true;
    }

    /// <summary>An unknown group: fields up to the end-group tag of the same field number, one level deeper.</summary>
    private bool TrySkipGroup(uint startTag, int depth)
    {
        if (depth >= RecursionLimit)
        {
            return false;
        }
        var endTag = (startTag & ~7u) | WireEndGroup;
        while (true)
        {
            // Running out of bytes before the end-group tag is a truncated group.
            if (Position >= End || !TryReadTag(out var tag))
            {
                return false;
            }
            if ((tag & 7) == WireEndGroup)
            {
                return tag == endTag;
            }
            if (!TrySkipField(tag, depth + 1))
            {
                return false;
            }
        }
    }
}
