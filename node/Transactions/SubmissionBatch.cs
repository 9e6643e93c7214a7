using Aurigraph.Node.Api.V1;

namespace Aurigraph.Node.Transactions;

/// <summary>
/// The transactions of one submission (a <c>SubmitTransactionsRequest</c>) as slices of the bytes they arrived in: no
/// object per transaction. From gRPC, <see cref="TryParse"/> reads the request's own buffer (copied once, whole, off the
/// HTTP/2 stream); from JSON transcoding, <see cref="From"/> slices the parsed message's byte strings.
/// <para>
/// Parsing validates the whole message and counts its transactions without indexing them; the two arrays of slices
/// are made on first access, so a call the ingress limits refuse (by <see cref="Count"/> and <see cref="Bytes"/>) costs
/// one pass over its bytes and nothing more.
/// </para>
/// </summary>
public sealed class SubmissionBatch
{
    private const uint TransactionsTag = 10; // field 1, length-delimited (SignedTransaction)
    private const uint BodyTag = 10;         // SignedTransaction.body
    private const uint SignatureTag = 18;    // SignedTransaction.signature

    private readonly ReadOnlyMemory<byte> _payload;
    private ReadOnlyMemory<byte>[]? _bodies;
    private ReadOnlyMemory<byte>[]? _signatures;

    private SubmissionBatch(ReadOnlyMemory<byte> payload, int count, long bytes)
    {
        _payload = payload;
        Count = count;
        Bytes = bytes;
    }

    private SubmissionBatch(ReadOnlyMemory<byte>[] bodies, ReadOnlyMemory<byte>[] signatures, long bytes)
    {
        _bodies = bodies;
        _signatures = signatures;
        Count = bodies.Length;
        Bytes = bytes;
    }

    /// <summary>Transactions in the submission.</summary>
    public int Count { get; }

    /// <summary>Their bodies' and signatures' bytes together.</summary>
    public long Bytes { get; }

    /// <summary>The serialized request this batch was read from (a batch made by <see cref="From"/> is encoded again).</summary>
    public ReadOnlyMemory<byte> Payload => _payload;

    /// <summary>Transaction <paramref name="i"/>'s body bytes.</summary>
    public ReadOnlyMemory<byte> Body(int i)
    {
        Index();
        return _bodies![i];
    }

    /// <summary>Transaction <paramref name="i"/>'s signature bytes.</summary>
    public ReadOnlyMemory<byte> Signature(int i)
    {
        Index();
        return _signatures![i];
    }

    /// <summary>
    /// Reads a serialized <c>SubmitTransactionsRequest</c>; null exactly when Google.Protobuf's parser would refuse it
    /// (fields in any order, unknown fields skipped, the last body or signature of an element wins, see
    /// <see cref="WireCursor"/>). The batch keeps <paramref name="payload"/>: its transactions are slices of it.
    /// </summary>
    public static SubmissionBatch? TryParse(ReadOnlyMemory<byte> payload)
    {
        var count = 0;
        long bytes = 0;
        return Walk(payload, null, null, ref count, ref bytes) ? new SubmissionBatch(payload, count, bytes) : null;
    }

    /// <summary>The transactions of a parsed message (JSON transcoding), sliced from its byte strings.</summary>
    public static SubmissionBatch From(IReadOnlyList<SignedTransaction> transactions)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        var bodies = new ReadOnlyMemory<byte>[transactions.Count];
        var signatures = new ReadOnlyMemory<byte>[transactions.Count];
        long bytes = 0;
        for (var i = 0; i < transactions.Count; i++)
        {
            bodies[i] = transactions[i].Body.Memory;
            signatures[i] = transactions[i].Signature.Memory;
            bytes += bodies[i].Length + signatures[i].Length;
        }
        return new SubmissionBatch(bodies, signatures, bytes);
    }

    /// <summary>The batch as a serialized <c>SubmitTransactionsRequest</c>.</summary>
    public byte[] ToByteArray()
    {
        if (!_payload.IsEmpty || Count == 0)
        {
            return _payload.ToArray();
        }
        var request = new SubmitTransactionsRequest();
        for (var i = 0; i < Count; i++)
        {
            request.Transactions.Add(new SignedTransaction
            {
                Body = Google.Protobuf.ByteString.CopyFrom(_bodies![i].Span),
                Signature = Google.Protobuf.ByteString.CopyFrom(_signatures![i].Span),
            });
        }
        return Google.Protobuf.MessageExtensions.ToByteArray(request);
    }

    private void Index()
    {
        if (_bodies is not null)
        {
            return;
        }
        var bodies = new ReadOnlyMemory<byte>[Count];
        var signatures = new ReadOnlyMemory<byte>[Count];
        var count = 0;
        long bytes = 0;
        var ok = Walk(_payload, bodies, signatures, ref count, ref bytes);
        System.Diagnostics.Debug.Assert(ok && count == Count, "the payload was validated when parsed");
        _signatures = signatures;
        _bodies = bodies; // last: another thread that sees it set sees both
    }

    /// <summary>One pass over the request: validates it, counts its elements and their bytes, and (given arrays) records each element's slices.</summary>
    private static bool Walk(ReadOnlyMemory<byte> memory, ReadOnlyMemory<byte>[]? bodies, ReadOnlyMemory<byte>[]? signatures, ref int count, ref long bytes)
    {
        var payload = memory.Span;
        var cursor = new WireCursor(payload, payload.Length);
        while (cursor.Position < cursor.End)
        {
            if (!cursor.TryReadTag(out var tag))
            {
                return false;
            }
            if (tag == TransactionsTag)
            {
                if (!cursor.TryReadLengthDelimited(out var element) || !ReadElement(payload, element, out var body, out var signature))
                {
                    return false;
                }
                if (bodies is not null)
                {
                    bodies[count] = memory.Slice(body.Offset, body.Length);
                    signatures![count] = memory.Slice(signature.Offset, signature.Length);
                }
                count++;
                bytes += body.Length + signature.Length;
            }
            else if ((tag & 7) == WireCursor.WireEndGroup || !cursor.TrySkipField(tag, depth: 0))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A SignedTransaction (body = 1, signature = 2), one level deeper, read to its limit.</summary>
    private static bool ReadElement(ReadOnlySpan<byte> payload, Range32 element, out Range32 body, out Range32 signature)
    {
        body = new Range32(element.Offset, 0);
        signature = new Range32(element.Offset, 0);
        var cursor = new WireCursor(payload, element.Offset + element.Length) { Position = element.Offset };
        while (cursor.Position < cursor.End)
        {
            if (!cursor.TryReadTag(out var tag))
            {
                return false;
            }
            if (tag == BodyTag)
            {
                if (!cursor.TryReadLengthDelimited(out body))
                {
                    return false;
                }
            }
            else if (tag == SignatureTag)
            {
                if (!cursor.TryReadLengthDelimited(out signature))
                {
                    return false;
                }
            }
            else if ((tag & 7) == WireCursor.WireEndGroup || !cursor.TrySkipField(tag, depth: 1))
            {
                return false;
            }
        }
        return true;
    }
}
