using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace Aurigraph.Client;

/// <summary>
/// How a client reaches a node's API over TLS: <see cref="CaFile"/> is the CA to trust for the node's certificate
/// (instead of the system store; the cluster CA when the API uses the node certificate), and an optional client
/// certificate for admin calls to a node that requires one. All null: the system trust store, no client certificate.
/// </summary>
/// <param name="CaFile">The CA certificate (PEM) to trust for the node's certificate; null: the system trust store.</param>
/// <param name="CertificateFile">A client certificate (PEM) to present; null: none.</param>
/// <param name="KeyFile">The client certificate's private key (PEM), when not in <paramref name="CertificateFile"/>.</param>
public sealed record ClientTls(string? CaFile = null, string? CertificateFile = null, string? KeyFile = null)
{
    /// <summary>The system trust store, no client certificate.</summary>
    public static ClientTls None { get; } = new();
}

/// <summary>Creates gRPC channels to a node's API, http or https, with <see cref="ClientTls"/> applied.</summary>
public static class ClientChannels
{
    /// <summary>A channel to <paramref name="address"/> (http:// or https://) with <paramref name="tls"/> applied.</summary>
    /// <exception cref="InvalidDataException">A certificate file cannot be read.</exception>
    public static GrpcChannel Create(string address, ClientTls tls, GrpcChannelOptions? options = null)
    {
        options ??= new GrpcChannelOptions();
        options.HttpHandler = CreateHandler(tls);
        options.DisposeHttpClient = true;
        return GrpcChannel.ForAddress(address, options);
    }

    /// <summary>An HTTP handler (for gRPC or REST) that trusts <see cref="ClientTls.CaFile"/> and presents the client certificate, if given.</summary>
    /// <exception cref="InvalidDataException">A certificate file cannot be read.</exception>
    public static SocketsHttpHandler CreateHandler(ClientTls tls)
    {
        ArgumentNullException.ThrowIfNull(tls);
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        try
        {
            if (!string.IsNullOrEmpty(tls.CaFile))
            {
                var chain = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    RevocationMode = X509RevocationMode.NoCheck,
                    DisableCertificateDownloads = true,
                };
                chain.CustomTrustStore.Add(X509CertificateLoader.LoadCertificateFromFile(tls.CaFile));
                handler.SslOptions.CertificateChainPolicy = chain;
            }
            if (!string.IsNullOrEmpty(tls.CertificateFile))
            {
                var key = string.IsNullOrEmpty(tls.KeyFile) ? null : tls.KeyFile;
                handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(tls.CertificateFile, key)];
            }
            return handler;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            handler.Dispose();
            throw new InvalidDataException($"cannot read the client TLS files: {ex.Message}", ex);
        }
    }
}
