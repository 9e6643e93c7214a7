using System.Text;
using Aurigraph.Node.Api.V1;
using Google.Protobuf;
using NSec.Cryptography;

namespace Aurigraph.Node.Transactions;

/// <summary>
/// A transaction that passed admission's checks: its id, the two body fields admission sequences it by (read in place,
/// no protobuf object), and its bytes — slices of the buffer they arrived in.
/// </summary>
/// <param name="Sender">The sender's 32-byte public key, a slice of <paramref name="BodyBytes"/>.</param>
public sealed record VerifiedTransaction(TransactionId Id, ulong Nonce, ReadOnlyMemory<byte> Sender, ReadOnlyMemory<byte> BodyBytes, ReadOnlyMemory<byte> Signature)
{
    public int Size => BodyBytes.Length + Signature.Length;
}

/// <summary>Why admission refused a transaction. The text is what the client sees.</summary>
public sealed record TransactionRejection(TransactionId? Id, string Reason);

/// <summary>
/// Checks a signed transaction: size, body format, sender key, chain id, operation, and the Ed25519 signature
/// over exactly the body bytes. Stateless and thread-safe, so shards can verify in parallel.
/// </summary>
public sealed class TransactionVerifier(string chainId, int maxTransactionBytes)
{
    public const int PublicKeySize = 32;
    public const int SignatureSize = 64;

    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;

    public string ChainId { get; } = chainId;

    public int MaxTransactionBytes { get; } = maxTransactionBytes;

    private readonly byte[]? _chainIdBytes = TransactionBodyReader.ChainIdBytes(chainId);

    /// <summary>Returns the verified transaction, or the reason it is rejected (never throws for bad input).</summary>
    public (VerifiedTransaction? Transaction, TransactionRejection? Rejection) Verify(ReadOnlyMemory<byte> bodyBytes, ReadOnlyMemory<byte> signature, bool checkSignature = true)
    {
        if (bodyBytes.Length == 0)
        {
            return (null, new TransactionRejection(null, "empty transaction body"));
        }
        if (bodyBytes.Length + signature.Length > MaxTransactionBytes)
        {
            return (null, new TransactionRejection(null, $"transaction of {bodyBytes.Length + signature.Length} bytes exceeds the limit of {MaxTransactionBytes}"));
        }
        var id = TransactionId.Of(bodyBytes.Span);
        var span = bodyBytes.Span;
        if (!TransactionBodyReader.TryRead(span, out var fields))
        {
            return (null, new TransactionRejection(id, "malformed transaction body: not a valid TransactionBody message"));
        }
        var sender = fields.Sender(span);
        if (sender.Length != PublicKeySize)
        {
            return (null, new TransactionRejection(id, $"sender must be a {PublicKeySize}-byte Ed25519 public key, got {sender.Length} bytes"));
        }
        if (!TransactionBodyReader.ChainIdEquals(fields, span, ChainId, _chainIdBytes))
        {
            return (null, new TransactionRejection(id, $"chain id '{Encoding.UTF8.GetString(fields.ChainIdUtf8(span))}' does not match this cluster's '{ChainId}'"));
        }
        switch (fields.Operation)
        {
            case BodyOperation.Transfer:
                if (fields.To(span).Length != PublicKeySize)
                {
                    return (null, new TransactionRejection(id, $"transfer recipient must be a {PublicKeySize}-byte account id"));
                }
                if (fields.Amount == 0)
                {
                    return (null, new TransactionRejection(id, "transfer amount must be positive"));
                }
                break;
            case BodyOperation.Put:
                if (fields.PutKey(span).Length == 0)
                {
                    return (null, new TransactionRejection(id, "put key must not be empty"));
                }
                break;
            default:
                return (null, new TransactionRejection(id, "transaction has no operation (transfer or put)"));
        }
        if (signature.Length != SignatureSize)
        {
            return (null, new TransactionRejection(id, $"signature must be {SignatureSize} bytes, got {signature.Length}"));
        }
        var verified = new VerifiedTransaction(id, fields.Nonce, bodyBytes.Slice(fields.SenderRange.Offset, PublicKeySize), bodyBytes, signature);
        if (checkSignature && SignatureRejection(verified) is { } bad)
        {
            return (null, new TransactionRejection(id, bad));
        }
        return (verified, null);
    }

    /// <summary>Checks the Ed25519 signature of a transaction that passed the format checks: null if valid, else why not.</summary>
    public static string? SignatureRejection(VerifiedTransaction tx)
    {
        ArgumentNullException.ThrowIfNull(tx);
        if (!PublicKey.TryImport(Ed25519, tx.Sender.Span, KeyBlobFormat.RawPublicKey, out var key) || key is null)
        {
            return "sender is not a valid Ed25519 public key";
        }
        return Ed25519.Verify(key, tx.BodyBytes.Span, tx.Signature.Span) ? null : "bad signature";
    }
}
