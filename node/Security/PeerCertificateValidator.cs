using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Aurigraph.Node.Security;

/// <summary>
/// Judges a certificate the other side of a TLS connection presented: it must chain to the cluster CA alone (the
/// system's trust store plays no part), be valid now, carry the usage its role needs and, for a peer, name a node.
/// </summary>
public static class PeerCertificateValidator
{
    public static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1", "Server Authentication");
    public static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    /// <summary>Why <paramref name="certificate"/> does not chain to <paramref name="authority"/> with <paramref name="usage"/>, or null when it does.</summary>
    public static string? CheckChain(X509Certificate2 authority, X509Certificate2 certificate, Oid? usage)
    {
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (usage is not null)
        {
            chain.ChainPolicy.ApplicationPolicy.Add(usage);
        }
        try
        {
            if (chain.Build(certificate))
            {
                return null;
            }
        }
        catch (CryptographicException ex)
        {
            return ex.Message;
        }
        var statuses = chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct();
        return $"certificate '{certificate.Subject}' is not trusted: {string.Join("; ", statuses)}";
    }

    /// <summary>
    /// Checks a peer's certificate and reads the node id it proves; <paramref name="expectedNodeId"/>, when given, is the
    /// node this side dialled. Returns null when the certificate is good, otherwise why not.
    /// </summary>
    public static string? CheckPeer(NodeCredentials credentials, X509Certificate? presented, Oid usage, string chainId, ulong? expectedNodeId, out ulong nodeId)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        nodeId = 0;
        if (presented is null)
        {
            return "presented no certificate";
        }
        using var certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        if (CheckChain(credentials.Authority, certificate, usage) is { } untrusted)
        {
            return untrusted;
        }
        if (!PeerIdentity.TryGetNodeId(certificate, chainId, out nodeId, out var error))
        {
            return error;
        }
        if (expectedNodeId is { } expected && nodeId != expected)
        {
            return $"certificate names node {nodeId}, not node {expected} which this node dialled";
        }
        return null;
    }
}
