using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Aurigraph.Node.Transport;

namespace Aurigraph.Node.Security;

/// <summary>
/// Mutual TLS 1.3 for the peer transport. Both sides present their node certificate and accept only a certificate
/// that chains to the cluster CA (never the system trust store) and names a node of this chain
/// (<see cref="PeerIdentity"/>). The connecting side also requires the node it dialled; the accepting side reports the
/// node the certificate proves, which the transport compares with the handshake's claim before reading any other frame.
/// Each new connection takes the current certificates from <see cref="ReloadingCredentials"/>, so a rotation applies
/// to the next connection. The handshake runs under the transport's handshake timeout (the token passed in).
/// </summary>
public sealed class TlsPeerStreamFactory : IPeerStreamFactory
{
    private readonly ReloadingCredentials _credentials;
    private readonly string _chainId;

    public TlsPeerStreamFactory(ReloadingCredentials credentials, string chainId)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentException.ThrowIfNullOrEmpty(chainId);
        _credentials = credentials;
        _chainId = chainId;
    }

    public async ValueTask<Stream> ConnectedAsync(Socket socket, ulong peerId, CancellationToken cancellationToken)
    {
        var credentials = _credentials.Current;
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        string? refusal = null;
        var options = new SslClientAuthenticationOptions
        {
            // Sent as SNI only; the node id in the certificate is what is checked, not a host name.
            TargetHost = PeerIdentity.CommonName(peerId),
            ClientCertificateContext = credentials.Context,
            EnabledSslProtocols = SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                refusal = PeerCertificateValidator.CheckPeer(credentials, certificate, PeerCertificateValidator.ServerAuth, _chainId, peerId, out _);
                return refusal is null;
            },
        };
        await AuthenticateAsync(ssl, () => ssl.AuthenticateAsClientAsync(options, cancellationToken), () => refusal, $"TLS with node {peerId}").ConfigureAwait(false);
        return ssl;
    }

    public async ValueTask<AcceptedConnection> AcceptedAsync(Socket socket, CancellationToken cancellationToken)
    {
        var credentials = _credentials.Current;
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        string? refusal = null;
        ulong proven = 0;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = credentials.Context,
            ClientCertificateRequired = true,
            EnabledSslProtocols = SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                refusal = PeerCertificateValidator.CheckPeer(credentials, certificate, PeerCertificateValidator.ClientAuth, _chainId, null, out proven);
                return refusal is null;
            },
        };
        await AuthenticateAsync(ssl, () => ssl.AuthenticateAsServerAsync(options, cancellationToken), () => refusal, "TLS").ConfigureAwait(false);
        // The callback ran and accepted, or the handshake would have failed.
        System.Diagnostics.Debug.Assert(proven != 0, "an authenticated peer proves a node id");
        return new AcceptedConnection(ssl, proven);
    }

    /// <summary>Awaits one side's handshake; on failure the stream is disposed and the validator's reason, if it gave one, names the failure.</summary>
    private static async Task AuthenticateAsync(SslStream ssl, Func<Task> handshake, Func<string?> refusal, string what)
    {
        try
        {
            await handshake().ConfigureAwait(false);
        }
        catch (AuthenticationException ex)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new PeerAuthenticationException($"{what} failed: {refusal() ?? ex.InnerException?.Message ?? ex.Message}", ex);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
