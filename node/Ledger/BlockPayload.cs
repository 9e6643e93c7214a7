using System.Buffers.Binary;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Ledger;

/// <summary>
/// The bytes of a proposed block as one consensus log entry: the ordered signed transactions, each carried as
/// the exact body bytes and signature the client sent. Built once by the leader; transport and storage carry
/// it untouched, and readers slice it without copying.
/// Layout: "AGB1" | u32 count | count × (u32 body length | body | 64-byte signature), little-endian.
/// </summary>
public static class BlockPayload
{
    private static ReadOnlySpan<byte> Magic => "AGB1"u8;

    public static byte[] Encode(IReadOnlyList<VerifiedTransaction> transactions)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        var size = Magic.Length + 4;
        foreach (var tx in transactions)
        {
            size += 4 + tx.BodyBytes.Length + TransactionVerifier.SignatureSize;
        }
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)transactions.Count);
        var at = 8;
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

    /// <summary>Slices a payload into (body, signature) pairs; throws <see cref="FormatException"/> if it is not a block.</summary>
    public static List<(ReadOnlyMemory<byte> Body, ReadOnlyMemory<byte> Signature)> Decode(ReadOnlyMemory<byte> payload)
    {
        var span = payload.Span;
        if (span.Length < 8 || !span[..4].SequenceEqual(Magic))
        {
            throw new FormatException("not a block payload");
        }
        var count = BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
        var result = new List<(ReadOnlyMemory<byte>, ReadOnlyMemory<byte>)>((int)Math.Min(count, 1 << 20));
        var at = 8;
        for (var i = 0u; i < count; i++)
        {
            if (at + 4 > span.Length)
            {
                throw new FormatException($"block payload truncated at transaction {i}");
            }
            var len = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[at..]);
            at += 4;
            if (len < 0 || at + len + TransactionVerifier.SignatureSize > span.Length)
            {
                throw new FormatException($"block payload truncated at transaction {i}");
            }
            result.Add((payload.Slice(at, len), payload.Slice(at + len, TransactionVerifier.SignatureSize)));
            at += len + TransactionVerifier.SignatureSize;
        }
        if (at != span.Length)
        {
            throw new FormatException("trailing bytes after the last transaction");
        }
        return result;
    }
}
