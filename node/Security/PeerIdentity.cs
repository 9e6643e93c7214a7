using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;

namespace Aurigraph.Node.Security;

/// <summary>
/// How a certificate names a node: a subject alternative name URI <c>urn:aurigraph:&lt;chainId&gt;:node:&lt;id&gt;</c>
/// (authoritative; it also binds the certificate to one chain) and, for people reading it, the common name
/// <c>aurigraph-node-&lt;id&gt;</c>. A certificate naming no node, two nodes, or another chain's node proves nothing.
/// </summary>
public static class PeerIdentity
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);

    /// <summary>The SAN URI that names node <paramref name="nodeId"/> of chain <paramref name="chainId"/>.</summary>
    public static string Uri(string chainId, ulong nodeId) => $"{UriPrefix(chainId)}{nodeId.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The common name given to node <paramref name="nodeId"/>'s certificate (informational).</summary>
    public static string CommonName(ulong nodeId) => $"aurigraph-node-{nodeId.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Reads the node id <paramref name="certificate"/> names for <paramref name="chainId"/>; the error says why there is none.</summary>
    public static bool TryGetNodeId(X509Certificate2 certificate, string chainId, out ulong nodeId, out string? error)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        nodeId = 0;
        var prefix = UriPrefix(chainId);
        var found = new List<ulong>();
        try
        {
            foreach (var uri in SubjectAlternativeUris(certificate))
            {
                if (!uri.StartsWith(prefix, StringComparison.Ordinal))
                {
                    continue;
                }
                if (!ulong.TryParse(uri.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id == 0)
                {
                    error = $"certificate '{certificate.Subject}' has a malformed node URI '{uri}'";
                    return false;
                }
                found.Add(id);
            }
        }
        catch (AsnContentException ex)
        {
            error = $"certificate '{certificate.Subject}' has a malformed subject alternative name: {ex.Message}";
            return false;
        }
        switch (found.Count)
        {
            case 0:
                error = $"certificate '{certificate.Subject}' names no node of chain '{chainId}' (no SAN URI {prefix}<id>)";
                return false;
            case > 1:
                error = $"certificate '{certificate.Subject}' names {found.Count} nodes; a node certificate names exactly one";
                return false;
            default:
                nodeId = found[0];
                error = null;
                return true;
        }
    }

    private static string UriPrefix(string chainId) => $"urn:aurigraph:{chainId}:node:";

    /// <summary>The uniformResourceIdentifier entries of the certificate's subject alternative names.</summary>
    private static List<string> SubjectAlternativeUris(X509Certificate2 certificate)
    {
        var uris = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid)
            {
                continue;
            }
            var names = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
            while (names.HasData)
            {
                if (names.PeekTag().HasSameClassAndValue(UriTag))
                {
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, UriTag));
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }
        return uris;
    }
}
