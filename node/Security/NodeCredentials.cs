using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Aurigraph.Node.Security;

/// <summary>Where a node's TLS material lives: the cluster CA, and the node's certificate and private key (PEM files).</summary>
public sealed record CertificateFiles(string CaFile, string CertificateFile, string KeyFile)
{
    /// <summary>The files' last write times, compared to notice a rotation.</summary>
    internal (DateTime Ca, DateTime Certificate, DateTime Key) Stamps() =>
        (File.GetLastWriteTimeUtc(CaFile), File.GetLastWriteTimeUtc(CertificateFile), File.GetLastWriteTimeUtc(KeyFile));
}

/// <summary>
/// One loaded set of TLS material: the cluster CA (the only trust anchor), this node's certificate with its key, and
/// the node id the certificate names. Immutable; a rotation replaces the whole set.
/// </summary>
public sealed class NodeCredentials
{
    private NodeCredentials(X509Certificate2 authority, X509Certificate2 certificate, ulong nodeId)
    {
        Authority = authority;
        Certificate = certificate;
        NodeId = nodeId;
        Context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
    }

    public X509Certificate2 Authority { get; }

    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate with its chain, built once and shared by every TLS handshake.</summary>
    public SslStreamCertificateContext Context { get; }

    /// <summary>The node id the certificate names (0 for a client certificate, which names none).</summary>
    public ulong NodeId { get; }

    /// <summary>
    /// Reads and checks the files: the certificate must chain to the CA (unless <paramref name="verifyChain"/> is false,
    /// for an API certificate from another CA) and, when <paramref name="expectedNodeId"/> is given, name that node of
    /// <paramref name="chainId"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">A file is missing or unreadable, or the certificate does not fit; the message says which.</exception>
    public static NodeCredentials Load(CertificateFiles files, string chainId, ulong? expectedNodeId, bool verifyChain = true)
    {
        ArgumentNullException.ThrowIfNull(files);
        X509Certificate2 authority;
        X509Certificate2 certificate;
        try
        {
            authority = X509CertificateLoader.LoadCertificateFromFile(files.CaFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new InvalidDataException($"cannot read the cluster CA certificate '{files.CaFile}': {ex.Message}", ex);
        }
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(files.CertificateFile, files.KeyFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            authority.Dispose();
            throw new InvalidDataException($"cannot read the certificate '{files.CertificateFile}' with key '{files.KeyFile}': {ex.Message}", ex);
        }
        var problem = verifyChain ? PeerCertificateValidator.CheckChain(authority, certificate, usage: null) : null;
        ulong nodeId = 0;
        if (problem is null && expectedNodeId is { } expected)
        {
            if (!PeerIdentity.TryGetNodeId(certificate, chainId, out nodeId, out problem))
            {
                problem = $"'{files.CertificateFile}': {problem}";
            }
            else if (nodeId != expected)
            {
                problem = $"'{files.CertificateFile}' names node {nodeId}, but this is node {expected}";
            }
        }
        else if (problem is not null)
        {
            problem = $"'{files.CertificateFile}' does not chain to the cluster CA '{files.CaFile}': {problem}";
        }
        if (problem is not null)
        {
            authority.Dispose();
            certificate.Dispose();
            throw new InvalidDataException(problem);
        }
        return new NodeCredentials(authority, certificate, nodeId);
    }
}
