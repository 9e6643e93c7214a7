using System.Buffers;
using System.Buffers.Binary;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Ledger;

/// <summary>
/// The bytes of a proposed block as one consensus log entry, built once by the leader; transport, the raft log
/// and the block store carry them untouched, and readers slice them without copying.
/// Layout (little-endian):
/// <c>"AGB2" | u32 count | 32-byte transactions root | u32 carbon length | carbon section | count × (u32 body length | body | 64-byte signature)</c>.
/// The transactions root (<see cref="LedgerState.TransactionsRoot(ReadOnlySpan{TransactionId})"/> over the ids) is computed by the leader from the
/// ids it verified; every node recomputes it from the bodies before applying and refuses a block that disagrees.
/// The carbon section carries committed carbon records (opaque here; empty in most blocks).
/// </summary>
public static class BlockPayload
{
    public const int HeaderSize = 4 + 4 + 32 + 4;

    /// <summary>Bytes a block adds around each transaction's body: its length and its signature.</summary>
    public const int FramingBytesPerTransaction = 4 + TransactionVerifier.SignatureSize;

    /// <summary>The bytes <paramref name="tx"/> takes in a block.</summary>
    public static long FramedBytes(VerifiedTransaction tx) => (long)tx.BodyBytes.Length + FramingBytesPerTransaction;

    private static ReadOnlySpan<byte> Magic => "AGB2"u8;

    /// <summary>Encodes a block of verified transactions, computing the transactions root from their ids.</summary>
    public static byte[] Encode(IReadOnlyList<VerifiedTransaction> transactions, ReadOnlySpan<byte> carbon = default)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        var size = HeaderSize + carbon.Length;
        foreach (var tx in transactions)
        {
            size += (int)FramedBytes(tx);
        }
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)transactions.Count);
        var ids = new TransactionId[transactions.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = transactions[i].Id;
        }
        LedgerState.TransactionsRoot(ids, span.Slice(8, 32));
        BinaryPrimitives.WriteUInt32LittleEndian(span[40..], (uint)carbon.Length);
        carbon.CopyTo(span[HeaderSize..]);
        var at = HeaderSize + carbon.Length;
        foreach (var tx in transactions)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[at..], (uint)tx.BodyBytes.Length);
            at += 4;
            tx.BodyBytes.Span.CopyTo(span[at..]);
            at += tx.BodyBytes.Length;
            tx.Signature.Span.CopyTo(span[at..]);
            at += TransactionVerifier.SignatureSize;
        }
        return bytes;
    }

    /// <summary>
    /// Cuts <paramref name="transactions"/> into runs whose payloads (<see cref="Encode"/>, without a carbon section)
    /// are at most <paramref name="maxBytes"/> each, in order; a transaction too large for any run goes alone.
    /// </summary>
    public static List<(int Start, int Count)> Split(IReadOnlyList<VerifiedTransaction> transactions, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        var runs = new List<(int, int)>();
        var start = 0;
        long bytes = HeaderSize;
        for (var i = 0; i < transactions.Count; i++)
        {
            var framed = FramedBytes(transactions[i]);
            if (i > start && bytes + framed > maxBytes)
            {
                runs.Add((start, i - start));
                start = i;
                bytes = HeaderSize;
            }
            bytes += framed;
        }
        if (transactions.Count > start)
        {
            runs.Add((start, transactions.Count - start));
        }
        return runs;
    }

    /// <summary>Reads a payload's framing; throws <see cref="FormatException"/> if it is not a well-formed block.</summary>
    public static BlockView Read(ReadOnlyMemory<byte> payload)
    {
        var count = ReadBodies(payload.Span, out var carbonLength, out var bodies);
        try
        {
            var transactions = new List<(ReadOnlyMemory<byte>, ReadOnlyMemory<byte>)>(count);
            for (var i = 0; i < count; i++)
            {
                var body = bodies[i];
                transactions.Add((payload.Slice(body.Offset, body.Length), payload.Slice(body.Offset + body.Length, TransactionVerifier.SignatureSize)));
            }
            return new BlockView(payload.Slice(8, 32), payload.Slice(HeaderSize, carbonLength), transactions);
        }
        finally
        {
            ArrayPool<Range32>.Shared.Return(bodies);
        }
    }

    /// <summary>
    /// Checks a payload's framing and finds each transaction's body (its signature follows it): the count, the carbon
    /// section's length (it starts at <see cref="HeaderSize"/>; the transactions root is bytes 8..40) and the bodies in
    /// an array rented from <see cref="ArrayPool{T}.Shared"/>, which the caller returns. Throws
    /// <see cref="FormatException"/> if it is not a well-formed block (nothing is rented then).
    /// </summary>
    internal static int ReadBodies(ReadOnlySpan<byte> span, out int carbonLength, out Range32[] bodies)
    {
        if (span.Length < HeaderSize || !span[..4].SequenceEqual(Magic))
        {
            throw new FormatException("not a block payload");
        }
        var count = BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
        var carbon = BinaryPrimitives.ReadUInt32LittleEndian(span[40..]);
        if (carbon > (uint)(span.Length - HeaderSize))
        {
            throw new FormatException("block payload truncated in its carbon section");
        }
        var at = HeaderSize + (int)carbon;
        // Sized by what the bytes can hold (each transaction takes at least its length and signature), not by the
        // claimed count: a 44-byte header claiming 2^32 transactions is refused without allocating for them.
        var fits = (span.Length - at) / (4 + TransactionVerifier.SignatureSize);
        bodies = ArrayPool<Range32>.Shared.Rent((int)Math.Min(count, (uint)fits));
        for (var i = 0u; i < count; i++)
        {
            if (at + 4 > span.Length)
            {
                ArrayPool<Range32>.Shared.Return(bodies);
                throw new FormatException($"block payload truncated at transaction {i}");
            }
            var len = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[at..]);
            at += 4;
            if (len < 0 || len > span.Length - at - TransactionVerifier.SignatureSize)
            {
                ArrayPool<Range32>.Shared.Return(bodies);
                throw new FormatException($"block payload truncated at transaction {i}");
            }
            // Each transaction takes at least 68 bytes, so one past what fits has already been refused.
            System.Diagnostics.Debug.Assert(i < (uint)fits, "a transaction index within what the bytes can hold");
            bodies[i] = new Range32(at, len);
            at += len + TransactionVerifier.SignatureSize;
        }
        if (at != span.Length)
        {
            ArrayPool<Range32>.Shared.Return(bodies);
            throw new FormatException("trailing bytes after the last transaction");
        }
        carbonLength = (int)carbon;
        return (int)count;
    }

    /// <summary>Slices a payload into (body, signature) pairs; throws <see cref="FormatException"/> if it is not a block.</summary>
    public static List<(ReadOnlyMemory<byte> Body, ReadOnlyMemory<byte> Signature)> Decode(ReadOnlyMemory<byte> payload) =>
        Read(payload).Transactions;
}

/// <summary>A block payload's parts, as slices of the payload bytes.</summary>
/// <param name="TransactionsRoot">The root the leader computed over the transaction ids.</param>
/// <param name="Carbon">The carbon section (empty when the block carries no carbon records).</param>
/// <param name="Transactions">The ordered (body, signature) pairs.</param>
public sealed record BlockView(
    ReadOnlyMemory<byte> TransactionsRoot,
    ReadOnlyMemory<byte> Carbon,
    List<(ReadOnlyMemory<byte> Body, ReadOnlyMemory<byte> Signature)> Transactions);
