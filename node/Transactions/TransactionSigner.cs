using Aurigraph.Node.Api.V1;
using Google.Protobuf;
using NSec.Cryptography;

namespace Aurigraph.Node.Transactions;

/// <summary>An Ed25519 key pair that signs transactions: for the CLI, load generators and tests.</summary>
public sealed class TransactionSigner : IDisposable
{
    private readonly Key _key;

    private TransactionSigner(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    public byte[] PublicKey { get; }

    public static TransactionSigner Generate() =>
        new(Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>A signer from a 32-byte private seed (RFC 8032 private key).</summary>
    public static TransactionSigner FromSeed(ReadOnlySpan<byte> seed) =>
        new(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    public byte[] ExportSeed() => _key.Export(KeyBlobFormat.RawPrivateKey);

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

    public SignedTransaction Transfer(string chainId, ulong nonce, ReadOnlySpan<byte> to, ulong amount) => Sign(new TransactionBody
    {
        Sender = ByteString.CopyFrom(PublicKey),
        Nonce = nonce,
        ChainId = chainId,
        Transfer = new Transfer { To = ByteString.CopyFrom(to), Amount = amount },
    });

    public SignedTransaction Put(string chainId, ulong nonce, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Sign(new TransactionBody
    {
        Sender = ByteString.CopyFrom(PublicKey),
        Nonce = nonce,
        ChainId = chainId,
        Put = new Put { Key = ByteString.CopyFrom(key), Value = ByteString.CopyFrom(value) },
    });

    public void Dispose() => _key.Dispose();
}
