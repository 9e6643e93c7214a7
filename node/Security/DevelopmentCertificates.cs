using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Aurigraph.Node.Security;

/// <summary>
/// Creates a cluster CA and the certificates it issues (ECDSA P-256, PEM files) for development clusters and tests.
/// Production clusters may use their own CA: any certificate chaining to the configured CA file with the node's SAN
/// URI (<see cref="PeerIdentity"/>) and the serverAuth and clientAuth key usages works.
/// <para>
/// Files in the folder: <c>ca.pem</c> and <c>ca.key</c> (the CA; the key stays with whoever issues certificates and is
/// never given to a node), <c>node-&lt;id&gt;.pem</c> and <c>node-&lt;id&gt;.key</c> per node, and
/// <c>client.pem</c>/<c>client.key</c>, a client certificate for admin calls when a node requires one.
/// </para>
/// </summary>
public static class DevelopmentCertificates
{
    public const string CaCertificateFile = "ca.pem";
    public const string CaKeyFile = "ca.key";
    public const string ClientCertificateFile = "client.pem";
    public const string ClientKeyFile = "client.key";

    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");
    private static readonly TimeSpan Backdate = TimeSpan.FromHours(1);

    public static string NodeCertificateFile(ulong nodeId) => $"node-{nodeId}.pem";

    public static string NodeKeyFile(ulong nodeId) => $"node-{nodeId}.key";

    /// <summary>
    /// Ensures <paramref name="directory"/> holds a CA for <paramref name="chainId"/>, a certificate per node id and a client
    /// certificate; existing files are kept (a certificate is issued only when missing) unless <paramref name="overwrite"/>.
    /// </summary>
    /// <param name="hosts">IP addresses or DNS names put in every node certificate, so that clients of a TLS API can check the host; loopback and localhost are always included.</param>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> Ensure(string directory, string chainId, IEnumerable<ulong> nodeIds, IEnumerable<string> hosts, TimeSpan validity, bool overwrite = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(chainId);
        ArgumentNullException.ThrowIfNull(nodeIds);
        ArgumentNullException.ThrowIfNull(hosts);
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        var caPath = Path.Combine(directory, CaCertificateFile);
        var caKeyPath = Path.Combine(directory, CaKeyFile);
        X509Certificate2 ca;
        if (!overwrite && File.Exists(caPath) && File.Exists(caKeyPath))
        {
            ca = X509Certificate2.CreateFromPemFile(caPath, caKeyPath);
        }
        else
        {
            ca = CreateAuthority(chainId, validity);
            WritePem(ca, caPath, caKeyPath);
            written.Add(caPath);
            overwrite = true; // certificates of a previous CA would no longer chain
        }
        using (ca)
        {
            var hostList = hosts.ToList();
            foreach (var id in nodeIds.Distinct())
            {
                var certPath = Path.Combine(directory, NodeCertificateFile(id));
                var keyPath = Path.Combine(directory, NodeKeyFile(id));
                if (overwrite || !File.Exists(certPath) || !File.Exists(keyPath))
                {
                    using var node = IssueNode(ca, chainId, id, hostList, validity);
                    WritePem(node, certPath, keyPath);
                    written.Add(certPath);
                }
            }
            var clientPath = Path.Combine(directory, ClientCertificateFile);
            var clientKeyPath = Path.Combine(directory, ClientKeyFile);
            if (overwrite || !File.Exists(clientPath) || !File.Exists(clientKeyPath))
            {
                using var client = IssueClient(ca, "aurigraph-client", validity);
                WritePem(client, clientPath, clientKeyPath);
                written.Add(clientPath);
            }
        }
        return written;
    }

    /// <summary>A self-signed CA that may sign end-entity certificates only (path length 0).</summary>
    public static X509Certificate2 CreateAuthority(string chainId, TimeSpan validity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=Aurigraph cluster CA {chainId}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now - Backdate, now + validity);
    }

    /// <summary>Node <paramref name="nodeId"/>'s certificate: SAN URI naming it, loopback and <paramref name="hosts"/>; serverAuth and clientAuth.</summary>
    public static X509Certificate2 IssueNode(X509Certificate2 ca, string chainId, ulong nodeId, IEnumerable<string> hosts, TimeSpan validity)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(new Uri(PeerIdentity.Uri(chainId, nodeId)));
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        foreach (var host in hosts.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (IPAddress.TryParse(host, out var ip))
            {
                names.AddIpAddress(ip);
            }
            else
            {
                names.AddDnsName(host);
            }
        }
        return Issue(ca, $"CN={PeerIdentity.CommonName(nodeId)}", names.Build(), [ServerAuth, ClientAuth], validity);
    }

    /// <summary>A client certificate (clientAuth only, names no node): for admin calls to a node that requires one.</summary>
    public static X509Certificate2 IssueClient(X509Certificate2 ca, string commonName, TimeSpan validity)
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(commonName);
        return Issue(ca, $"CN={commonName}", names.Build(), [ClientAuth], validity);
    }

    /// <summary>Writes the certificate and its private key (PKCS#8, readable by the owner only where the OS allows it).</summary>
    public static void WritePem(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var key = certificate.GetECDsaPrivateKey() ?? throw new ArgumentException("The certificate has no ECDSA private key.", nameof(certificate));
        var keyPem = key.ExportPkcs8PrivateKeyPem();
        // Key first: a reader that sees the new certificate also finds its key (rotation reloads on the certificate's change too).
        WriteAtomically(keyPath, keyPem, ownerOnly: true);
        WriteAtomically(certificatePath, certificate.ExportCertificatePem(), ownerOnly: false);
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string subject, X509Extension alternativeNames, Oid[] usages, TimeSpan validity)
    {
        using var caKey = ca.GetECDsaPrivateKey() ?? throw new ArgumentException("The CA certificate has no ECDSA private key.", nameof(ca));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usageOids = new OidCollection();
        foreach (var usage in usages)
        {
            usageOids.Add(usage);
        }
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usageOids, false));
        request.CertificateExtensions.Add(alternativeNames);
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + validity < ca.NotAfter ? now + validity : new DateTimeOffset(ca.NotAfter.ToUniversalTime());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f; // positive
        using var issued = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), now - Backdate, notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes through a temporary file and a rename, so a node reloading the file never reads half of it.</summary>
    private static void WriteAtomically(string path, string contents, bool ownerOnly)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, contents);
        if (ownerOnly && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
