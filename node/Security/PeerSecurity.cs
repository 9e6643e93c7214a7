using Aurigraph.Node.Hosting;
using Aurigraph.Node.Transport;
using Microsoft.Extensions.Logging;

namespace Aurigraph.Node.Security;

/// <summary>Chooses the peer transport's stream factory from the node's configuration: mutual TLS unless explicitly insecure.</summary>
internal static class PeerSecurity
{
    public const string LogCategory = "Aurigraph.Node.Security";

    /// <summary>The node's peer certificate files, from Aurigraph:Tls.</summary>
    public static CertificateFiles PeerFiles(NodeOptions options) => new(options.Tls.CaFile, options.Tls.CertificateFile, options.Tls.KeyFile);

    /// <summary>
    /// <see cref="TlsPeerStreamFactory"/> with the node's certificates, or plain TCP when Aurigraph:Transport:Insecure
    /// is set (validation has already refused that for non-loopback addresses), announced as critical in the log.
    /// </summary>
    /// <exception cref="InvalidDataException">The certificate files cannot be loaded or do not name this node.</exception>
    public static IPeerStreamFactory StreamFactory(NodeOptions options, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var logger = loggers.CreateLogger(LogCategory);
        if (options.Transport.Insecure)
        {
            SecurityLog.InsecureTransport(logger);
            return PlainTcpStreamFactory.Instance;
        }
        var credentials = new ReloadingCredentials(PeerFiles(options), options.ChainId, options.NodeId, logger, TimeSpan.FromMilliseconds(options.Tls.ReloadCheckMilliseconds));
        var current = credentials.Current;
        SecurityLog.SecureTransport(logger, current.Certificate.Subject, current.Certificate.Thumbprint, current.Authority.Subject);
        return new TlsPeerStreamFactory(credentials, options.ChainId);
    }
}
