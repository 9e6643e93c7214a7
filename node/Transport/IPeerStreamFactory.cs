using System.Net.Sockets;

namespace Aurigraph.Node.Transport;

/// <summary>
/// Turns a connected socket into the stream frames travel on. The seam for TLS with mutual authentication:
/// an implementation wraps the socket in an authenticated <c>SslStream</c> and checks the remote certificate.
/// </summary>
public interface IPeerStreamFactory
{
    /// <summary>Stream for a connection this node opened to <paramref name="peerId"/>. Owns the socket.</summary>
    ValueTask<Stream> ConnectedAsync(Socket socket, ulong peerId, CancellationToken cancellationToken);

    /// <summary>Stream for a connection a peer opened to this node; the peer is not known until its handshake. Owns the socket.</summary>
    ValueTask<Stream> AcceptedAsync(Socket socket, CancellationToken cancellationToken);
}

/// <summary>Plain TCP, no encryption.</summary>
public sealed class PlainTcpStreamFactory : IPeerStreamFactory
{
    public static PlainTcpStreamFactory Instance { get; } = new();

    public ValueTask<Stream> ConnectedAsync(Socket socket, ulong peerId, CancellationToken cancellationToken) =>
        ValueTask.FromResult<Stream>(new NetworkStream(socket, ownsSocket: true));

    public ValueTask<Stream> AcceptedAsync(Socket socket, CancellationToken cancellationToken) =>
        ValueTask.FromResult<Stream>(new NetworkStream(socket, ownsSocket: true));
}
