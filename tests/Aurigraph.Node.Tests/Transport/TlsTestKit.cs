using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Aurigraph.Node.Security;
using Aurigraph.Node.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurigraph.Node.Tests.Transport;

/// <summary>A cluster CA with node certificates in a temporary folder, and transports that run mutual TLS with them.</summary>
internal sealed class TlsTestKit : IDisposable
{
    public const string ChainId = "test-chain";

    public TlsTestKit(params ulong[] nodeIds)
    {
        Directory = Path.Combine(Path.GetTempPath(), "aurigraph-tls-" + Guid.NewGuid().ToString("N")[..8]);
        DevelopmentCertificates.Ensure(Directory, ChainId, nodeIds, [], TimeSpan.FromDays(1));
    }

    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, DevelopmentCertificates.CaCertificateFile);

    public CertificateFiles Files(ulong nodeId) => new(
        CaFile,
        Path.Combine(Directory, DevelopmentCertificates.NodeCertificateFile(nodeId)),
        Path.Combine(Directory, DevelopmentCertificates.NodeKeyFile(nodeId)));

    /// <summary>Credentials re-read at every new connection whose files changed (no check interval).</summary>
    public ReloadingCredentials Credentials(ulong nodeId) =>
        new(Files(nodeId), ChainId, nodeId, NullLogger.Instance, TimeSpan.Zero);

    public TlsPeerStreamFactory Factory(ulong nodeId) => new(Credentials(nodeId), ChainId);

    /// <summary>A transport for <paramref name="id"/> presenting <paramref name="certificateOf"/>'s certificate (its own by default).</summary>
    public async Task<PeerTransport> StartAsync(ulong id, Dictionary<ulong, IPEndPoint> members, TransportOptions options, TestLogger? logger = null, ulong? certificateOf = null, IPeerStreamFactory? factory = null)
    {
        var transport = new PeerTransport(id, members[id], members, options, logger ?? new TestLogger(), factory ?? Factory(certificateOf ?? id));
        await transport.StartAsync(CancellationToken.None);
        return transport;
    }

    /// <summary>The node certificate with its key, as a client would present it.</summary>
    public X509Certificate2 NodeCertificate(ulong nodeId)
    {
        var files = Files(nodeId);
        return X509Certificate2.CreateFromPemFile(files.CertificateFile, files.KeyFile);
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A hand-driven TLS client on a peer port: presents whatever certificate a test gives it (or none) and accepts any server.</summary>
internal sealed class RawTlsPeer : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly SslStream _ssl;

    private RawTlsPeer(Socket socket)
    {
        _socket = socket;
        _ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
    }

    /// <summary>The server's certificate, after <see cref="ConnectAsync"/>.</summary>
    public X509Certificate? ServerCertificate => _ssl.RemoteCertificate;

    /// <summary>
    /// Connects and runs the TLS handshake. With TLS 1.3 the client may finish before the server has judged its
    /// certificate, so a refused client can still get here; it learns of the refusal when the server closes.
    /// </summary>
    public static async Task<RawTlsPeer> ConnectAsync(IPEndPoint endPoint, X509Certificate2? certificate)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        var peer = new RawTlsPeer(socket);
        using var cts = new CancellationTokenSource(TransportTestKit.Deadline);
        await peer._ssl.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = "aurigraph-node",
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = certificate is null ? null : [certificate],
#pragma warning disable CA5359 // The client plays an attacker (or a probe): it does not care who the server is.
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
            },
            cts.Token);
        return peer;
    }

    /// <summary>Writes bytes; false when the server has already closed the connection.</summary>
    public async Task<bool> TrySendAsync(byte[] bytes)
    {
        try
        {
            await _ssl.WriteAsync(bytes);
            await _ssl.FlushAsync();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Waits until the server closes; returns the application bytes that arrived first.</summary>
    public async Task<int> WaitForCloseAsync()
    {
        using var cts = new CancellationTokenSource(TransportTestKit.Deadline);
        var buffer = new byte[4096];
        var total = 0;
        while (true)
        {
            int read;
            try
            {
                read = await _ssl.ReadAsync(buffer, cts.Token);
            }
            catch (Exception ex) when (ex is IOException or AuthenticationException)
            {
                return total;
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the transport did not close the connection within {TransportTestKit.Deadline}");
            }
            if (read == 0)
            {
                return total;
            }
            total += read;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _ssl.DisposeAsync();
        _socket.Dispose();
    }
}
