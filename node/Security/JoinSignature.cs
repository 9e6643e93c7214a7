using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Aurigraph.Node.Hosting;

namespace Aurigraph.Node.Security;

/// <summary>
/// A join request's proof that it comes from the node its certificate names: a signature with the certificate's key
/// over the chain and the record the node asks to be added with. Certificates are public; the key is not. A copy of
/// a signed request can only ask for that very record again.
/// </summary>
internal static class JoinSignature
{
    private static readonly byte[] Domain = "aurigraph-join-v1\n"u8.ToArray();

    /// <summary>What is signed: the domain, the chain id and a newline, then the record as the log carries it.</summary>
    public static byte[] Payload(string chainId, MemberOptions record) =>
        [.. Domain, .. Encoding.UTF8.GetBytes(chainId), (byte)'\n', .. MemberRecordCodec.Encode(record)];

    /// <summary>Signs with the key of <paramref name="certificate"/> (ECDSA or RSA).</summary>
    public static byte[] Sign(X509Certificate2 certificate, byte[] payload)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var ecdsa = certificate.GetECDsaPrivateKey();
        if (ecdsa is not null)
        {
            return ecdsa.SignData(payload, HashAlgorithmName.SHA256);
        }
        using var rsa = certificate.GetRSAPrivateKey() ?? throw new CryptographicException("the node certificate's key is neither ECDSA nor RSA");
        return rsa.SignData(payload, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    /// <summary>Whether <paramref name="signature"/> over <paramref name="payload"/> was made with the key of <paramref name="certificate"/>.</summary>
    public static bool Verify(X509Certificate2 certificate, byte[] payload, ReadOnlySpan<byte> signature)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var ecdsa = certificate.GetECDsaPublicKey();
        if (ecdsa is not null)
        {
            return ecdsa.VerifyData(payload, signature, HashAlgorithmName.SHA256);
        }
        using var rsa = certificate.GetRSAPublicKey();
        return rsa is not null && rsa.VerifyData(payload, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }
}
