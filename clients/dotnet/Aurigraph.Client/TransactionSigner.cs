using Aurigraph.Node.Api.V1;
using Google.Protobuf;
using NSec.Cryptography;

namespace Aurigraph.Client;

/// <summary>An Ed25519 key pair that signs transactions: for the CLI, load generators and tests.</summary>
public sealed class TransactionSigner : IDisposable
{
    private readonly Key _key;

    private TransactionSigner(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>The 32-byte Ed25519 public key: the account id.</summary>
    public byte[] PublicKey { get; }

    /// <summary>A new random key pair.</summary>
    public static TransactionSigner Generate() =>
        new(Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>A signer from a 32-byte private seed (RFC 8032 private key).</summary>
    public static TransactionSigner FromSeed(ReadOnlySpan<byte> seed) =>
        new(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>The 32-byte private seed (keep it secret).</summary>
    public byte[] ExportSeed() => _key.Export(KeyBlobFormat.RawPrivateKey);

    /// <summary>Serializes <paramref name="body"/> once and signs exactly those bytes.</summary>
    public SignedTransaction Sign(TransactionBody body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var bytes = body.ToByteArray();
        return new SignedTransaction
        {
            Body = ByteString.CopyFrom(bytes),
            Signature = ByteString.CopyFrom(SignatureAlgorithm.Ed25519.Sign(_key, bytes)),
        };
    }

    /// <summary>Signs a transfer of <paramref name="amount"/> to <paramref name="to"/> (a 32-byte public key).</summary>
    public SignedTransaction Transfer(string chainId, ulong nonce, ReadOnlySpan<byte> to, ulong amount) => Sign(new TransactionBody
    {
        Sender = ByteString.CopyFrom(PublicKey),
        Nonce = nonce,
        ChainId = chainId,
        Transfer = new Transfer { To = ByteString.CopyFrom(to), Amount = amount },
    });

    /// <summary>Signs a put of <paramref name="value"/> under <paramref name="key"/> in the sender's own namespace.</summary>
    public SignedTransaction Put(string chainId, ulong nonce, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Sign(new TransactionBody
    {
        Sender = ByteString.CopyFrom(PublicKey),
        Nonce = nonce,
        ChainId = chainId,
        Put = new Put { Key = ByteString.CopyFrom(key), Value = ByteString.CopyFrom(value) },
    });

    /// <summary>Releases the private key.</summary>
    public void Dispose() => _key.Dispose();
}
