using System.Net.Sockets;

namespace Aurigraph.Node.Transport;

/// <summary>
/// Turns a connected socket into the stream frames travel on. The TLS implementation
/// (<see cref="Security.TlsPeerStreamFactory"/>) authenticates both sides with certificates of the cluster CA: the
/// connecting side checks that the acceptor is the node it dialled, the accepting side learns which node the
/// connecting side proved to be, and the transport refuses a handshake that claims any other id.
/// </summary>
public interface IPeerStreamFactory
{
    /// <summary>Stream for a connection this node opened to <paramref name="peerId"/>. Owns the socket.</summary>
    /// <exception cref="PeerAuthenticationException">The acceptor did not prove to be node <paramref name="peerId"/>.</exception>
    ValueTask<Stream> ConnectedAsync(Socket socket, ulong peerId, CancellationToken cancellationToken);

    /// <summary>Stream for a connection a peer opened to this node, with the node id the peer proved, if the stream authenticates. Owns the socket.</summary>
    /// <exception cref="PeerAuthenticationException">The connecting side did not authenticate.</exception>
    ValueTask<AcceptedConnection> AcceptedAsync(Socket socket, CancellationToken cancellationToken);
}

/// <summary>
/// An accepted connection's stream. <see cref="ProvenPeerId"/> is the node id the other side proved (its certificate);
/// null only for a stream that does not authenticate (plaintext), where the handshake's claim is all there is.
/// </summary>
public readonly record struct AcceptedConnection(Stream Stream, ulong? ProvenPeerId);

/// <summary>The other side of a peer connection failed to authenticate (no certificate, an untrusted one, or the wrong node's).</summary>
public sealed class PeerAuthenticationException : IOException
{
    public PeerAuthenticationException()
        : base("The peer did not authenticate.")
    {
    }

    public PeerAuthenticationException(string message)
        : base(message)
    {
    }

    public PeerAuthenticationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Plain TCP: no encryption and no authentication; any process that reaches the port can claim any member id. Only
/// for loopback development and tests (the node allows it only with Aurigraph:Transport:Insecure=true and loopback addresses).
/// </summary>
public sealed class PlainTcpStreamFactory : IPeerStreamFactory
{
    public static PlainTcpStreamFactory Instance { get; } = new();

    public ValueTask<Stream> ConnectedAsync(Socket socket, ulong peerId, CancellationToken cancellationToken) =>
        ValueTask.FromResult<Stream>(new NetworkStream(socket, ownsSocket: true));

    public ValueTask<AcceptedConnection> AcceptedAsync(Socket socket, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new AcceptedConnection(new NetworkStream(socket, ownsSocket: true), null));
}
