using Microsoft.Extensions.Logging;

namespace Aurigraph.Node.Security;

internal static partial class SecurityLog
{
    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Reloaded TLS certificate '{File}': {Subject}, thumbprint {Thumbprint}, valid until {NotAfter:u}; new connections use it")]
    public static partial void CredentialsReloaded(ILogger logger, string file, string subject, string thumbprint, DateTime notAfter);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "TLS certificate files changed but cannot be loaded, keeping the previous certificate: {File}: {Reason}")]
    public static partial void ReloadFailed(ILogger logger, string file, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Critical, Message = "INSECURE: the peer transport runs plaintext TCP without authentication (Aurigraph:Transport:Insecure=true). Any process that can reach a peer port can pose as a member. For loopback development only.")]
    public static partial void InsecureTransport(ILogger logger);

    [LoggerMessage(EventId = 304, Level = LogLevel.Information, Message = "Peer transport: mutual TLS 1.3, node certificate {Subject} (thumbprint {Thumbprint}), trusting only the cluster CA {Authority}")]
    public static partial void SecureTransport(ILogger logger, string subject, string thumbprint, string authority);
}
