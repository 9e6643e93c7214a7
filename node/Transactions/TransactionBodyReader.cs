using System.Diagnostics;

namespace Aurigraph.Node.Transactions;

/// <summary>Which operation of the <c>operation</c> oneof a transaction body carries.</summary>
public enum BodyOperation : byte
{
    None = 0,
    Transfer = 10,
    Put = 11,
}

/// <summary>
/// The fields of a serialized <c>TransactionBody</c>, as offsets into its bytes (no copies, no objects): what
/// <see cref="TransactionBodyReader.TryRead"/> found. A field the body does not set reads as protobuf's default
/// (empty bytes, 0, empty string, no operation). Slice the same body bytes with the accessors.
/// </summary>
public readonly struct TransactionBodyFields
{
    internal TransactionBodyFields(Range32 sender, ulong nonce, Range32 chainId, BodyOperation operation, Range32 first, Range32 second, ulong amount)
    {
        SenderRange = sender;
        Nonce = nonce;
        ChainIdRange = chainId;
        Operation = operation;
        FirstRange = first;
        SecondRange = second;
        Amount = amount;
    }

    /// <summary>Field 2.</summary>
    public ulong Nonce { get; }

    /// <summary>The oneof's last set field.</summary>
    public BodyOperation Operation { get; }

    /// <summary>Transfer field 2 (0 unless <see cref="Operation"/> is <see cref="BodyOperation.Transfer"/>).</summary>
    public ulong Amount { get; }

    internal Range32 SenderRange { get; }

    internal Range32 ChainIdRange { get; }

    /// <summary>Transfer.to or Put.key.</summary>
    internal Range32 FirstRange { get; }

    /// <summary>Put.value (empty for a transfer).</summary>
    internal Range32 SecondRange { get; }

    /// <summary>Field 1: the sender's public key.</summary>
    public ReadOnlySpan<byte> Sender(ReadOnlySpan<byte> body) => SenderRange.Of(body);

    /// <summary>Field 3, as its UTF-8 bytes (not decoded).</summary>
    public ReadOnlySpan<byte> ChainIdUtf8(ReadOnlySpan<byte> body) => ChainIdRange.Of(body);

    /// <summary>Transfer.to (empty unless the operation is a transfer).</summary>
    public ReadOnlySpan<byte> To(ReadOnlySpan<byte> body) => Operation == BodyOperation.Transfer ? FirstRange.Of(body) : default;

    /// <summary>Put.key (empty unless the operation is a put).</summary>
    public ReadOnlySpan<byte> PutKey(ReadOnlySpan<byte> body) => Operation == BodyOperation.Put ? FirstRange.Of(body) : default;

    /// <summary>Put.value (empty unless the operation is a put).</summary>
    public ReadOnlySpan<byte> PutValue(ReadOnlySpan<byte> body) => Operation == BodyOperation.Put ? SecondRange.Of(body) : default;
}

/// <summary>A slice of a body: offset and length.</summary>
internal readonly record struct Range32(int Offset, int Length)
{
    public ReadOnlySpan<byte> Of(ReadOnlySpan<byte> body) => body.Slice(Offset, Length);
}

/// <summary>
/// Reads a serialized <c>TransactionBody</c> straight from its bytes, accepting exactly what
/// <c>TransactionBody.Parser.ParseFrom</c> (Google.Protobuf) accepts and refusing what it refuses: fields in any order,
/// unknown fields skipped (groups included, nested at most <see cref="RecursionLimit"/> deep), the last value of a
/// scalar field wins, a oneof's last set field wins and a repeated occurrence of the same message field merges into
/// it; a tag of field 0, wire types 6 and 7, an end-group tag outside its group, a varint longer than 10 bytes, a
/// negative or overlong length, a chain id that is not valid UTF-8 and truncation anywhere are refused. The chain id is
/// left as bytes: compare them with
/// <see cref="ChainIdBytes"/>. The differential property tests hold it to the protobuf parser.
/// </summary>
public static class TransactionBodyReader
{
    /// <summary>Google.Protobuf's default recursion limit (nested messages and groups).</summary>
    public const int RecursionLimit = WireCursor.RecursionLimit;

    private const int WireEndGroup = WireCursor.WireEndGroup;

    /// <summary>Reads <paramref name="body"/>; false exactly when the protobuf parser would throw.</summary>
    public static bool TryRead(ReadOnlySpan<byte> body, out TransactionBodyFields fields)
    {
        fields = default;
        var cursor = new WireCursor(body, body.Length);
        Range32 sender = default, chainId = default, first = default, second = default;
        ulong nonce = 0, amount = 0;
        var operation = BodyOperation.None;
        while (cursor.Position < cursor.End)
        {
            if (!cursor.TryReadTag(out var tag))
            {
                return false;
            }
            switch (tag)
            {
                case 10:
                    if (!cursor.TryReadLengthDelimited(out sender))
                    {
                        return false;
                    }
                    break;
                case 16:
                    if (!cursor.TryReadVarint(out nonce))
                    {
                        return false;
                    }
                    break;
                case 26:
                    // A proto3 string: protobuf refuses one that is not valid UTF-8.
                    if (!cursor.TryReadLengthDelimited(out chainId) || !System.Text.Unicode.Utf8.IsValid(chainId.Of(body)))
                    {
                        return false;
                    }
                    break;
                case 82:
                case 90:
                    {
                        var next = tag == 82 ? BodyOperation.Transfer : BodyOperation.Put;
                        if (operation != next)
                        {
                            // Another case of the oneof (or none) was set: this one starts from its defaults.
                            (first, second, amount) = (default, default, 0);
                            operation = next;
                        }
                        if (!cursor.TryReadLengthDelimited(out var message) ||
                            !ReadOperation(body, message, next == BodyOperation.Transfer, ref first, ref second, ref amount))
                        {
                            return false;
                        }
                        break;
                    }
                default:
                    // An end-group tag ends the message early, and a message must end at its limit: refused. Any other
                    // tag is an unknown field.
                    if ((tag & 7) == WireEndGroup || !cursor.TrySkipField(tag, depth: 0))
                    {
                        return false;
                    }
                    break;
            }
        }
        Debug.Assert(cursor.Position == body.Length, "a body is read to its end or refused");
        fields = new TransactionBodyFields(sender, nonce, chainId, operation, first, second, amount);
        return true;
    }

    /// <summary>The UTF-8 bytes a chain id field must hold to equal <paramref name="chainId"/>; null when no field can (a lone surrogate).</summary>
    /// <remarks>
    /// A body's chain id is valid UTF-8 (<see cref="TryRead"/> refuses one that is not, as protobuf does), and decoding
    /// valid UTF-8 is injective, so the field decodes to <paramref name="chainId"/> exactly when its bytes are these bytes.
    /// A chain id that does not survive a UTF-8 round trip is no decoding of any valid field.
    /// </remarks>
    public static byte[]? ChainIdBytes(string chainId)
    {
        ArgumentNullException.ThrowIfNull(chainId);
        var bytes = System.Text.Encoding.UTF8.GetBytes(chainId);
        return System.Text.Encoding.UTF8.GetString(bytes) == chainId ? bytes : null;
    }

    /// <summary>True when the body's chain id field equals <paramref name="chainId"/> as protobuf's string would.</summary>
    public static bool ChainIdEquals(in TransactionBodyFields fields, ReadOnlySpan<byte> body, string chainId, byte[]? chainIdBytes)
    {
        var field = fields.ChainIdUtf8(body);
        Debug.Assert(System.Text.Unicode.Utf8.IsValid(field), "the reader refuses chain ids that are not UTF-8");
        return chainIdBytes is not null ? field.SequenceEqual(chainIdBytes) : System.Text.Encoding.UTF8.GetString(field) == chainId;
    }

    /// <summary>Reads a Transfer (to = 1, amount = 2) or Put (key = 1, value = 2) merged over the values so far.</summary>
    private static bool ReadOperation(ReadOnlySpan<byte> body, Range32 message, bool transfer, ref Range32 first, ref Range32 second, ref ulong amount)
    {
        // A nested message: one level deeper than the body, read up to its limit.
        var cursor = new WireCursor(body, message.Offset + message.Length) { Position = message.Offset };
        while (cursor.Position < cursor.End)
        {
            if (!cursor.TryReadTag(out var tag))
            {
                return false;
            }
            if (tag == 10)
            {
                if (!cursor.TryReadLengthDelimited(out first))
                {
                    return false;
                }
            }
            else if (transfer && tag == 16)
            {
                if (!cursor.TryReadVarint(out amount))
                {
                    return false;
                }
            }
            else if (!transfer && tag == 18)
            {
                if (!cursor.TryReadLengthDelimited(out second))
                {
                    return false;
                }
            }
            else if ((tag & 7) == WireEndGroup || !cursor.TrySkipField(tag, depth: 1))
            {
                return false;
            }
        }
        return true;
    }
}
