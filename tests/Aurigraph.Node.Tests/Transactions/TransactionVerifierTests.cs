using System.Security.Cryptography;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Google.Protobuf;

namespace Aurigraph.Node.Tests.Transactions;

public sealed class TransactionVerifierTests : IDisposable
{
    private readonly TransactionSigner _signer = TransactionSigner.Generate();
    private readonly TransactionVerifier _verifier = new("c1", 1024);

    public void Dispose() => _signer.Dispose();

    [Fact]
    public void A_signed_transaction_verifies_and_its_id_is_the_SHA256_of_the_body_bytes()
    {
        var tx = _signer.Transfer("c1", 0, new byte[32], 5);
        var (verified, rejection) = _verifier.Verify(tx.Body.Memory, tx.Signature.Memory);

        Assert.Null(rejection);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(tx.Body.Span)), verified!.Id.ToString());
        Assert.True(TransactionId.TryParse(verified.Id.ToString(), out var parsed));
        Assert.Equal(verified.Id, parsed);
    }

    [Fact]
    public void A_key_restored_from_its_seed_signs_the_same()
    {
        using var restored = TransactionSigner.FromSeed(_signer.ExportSeed());
        Assert.Equal(_signer.PublicKey, restored.PublicKey);
        var tx = restored.Put("c1", 0, "k"u8, "v"u8);
        Assert.Null(_verifier.Verify(tx.Body.Memory, tx.Signature.Memory).Rejection);
    }

    [Theory]
    [InlineData("signature", "bad signature")]
    [InlineData("chain", "does not match")]
    [InlineData("malformed", "malformed transaction body")]
    [InlineData("oversized", "exceeds the limit")]
    [InlineData("no-op", "no operation")]
    [InlineData("short-signature", "signature must be 64 bytes")]
    public void Bad_transactions_are_rejected_with_a_reason(string fault, string reason)
    {
        var tx = _signer.Transfer("c1", 0, new byte[32], 5);
        var body = tx.Body.ToByteArray();
        var signature = tx.Signature.ToByteArray();
        switch (fault)
        {
            case "signature":
                signature[3] ^= 1;
                break;
            case "chain":
                (body, signature) = Resign(new TransactionBody { Sender = ByteString.CopyFrom(_signer.PublicKey), ChainId = "other", Transfer = new Transfer { To = ByteString.CopyFrom(new byte[32]), Amount = 1 } });
                break;
            case "malformed":
                body = [0xFF, 0xFF, 0xFF];
                break;
            case "oversized":
                (body, signature) = Resign(new TransactionBody { Sender = ByteString.CopyFrom(_signer.PublicKey), ChainId = "c1", Put = new Put { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFrom(new byte[2000]) } });
                break;
            case "no-op":
                (body, signature) = Resign(new TransactionBody { Sender = ByteString.CopyFrom(_signer.PublicKey), ChainId = "c1" });
                break;
            case "short-signature":
                signature = signature[..10];
                break;
        }

        var (verified, rejection) = _verifier.Verify(body, signature);

        Assert.Null(verified);
        Assert.Contains(reason, rejection!.Reason, StringComparison.Ordinal);
    }

    private (byte[] Body, byte[] Signature) Resign(TransactionBody body)
    {
        var signed = _signer.Sign(body);
        return (signed.Body.ToByteArray(), signed.Signature.ToByteArray());
    }
}
