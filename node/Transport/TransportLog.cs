using System.Net;
using Microsoft.Extensions.Logging;

namespace Aurigraph.Node.Transport;

internal static partial class TransportLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Peer transport of node {NodeId} listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, ulong nodeId, EndPoint endPoint);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Connected to peer {PeerId} ({Lane} lane) at {EndPoint}")]
    public static partial void Connected(ILogger logger, ulong peerId, TransportLane lane, EndPoint endPoint);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Connecting to peer {PeerId} ({Lane} lane) failed: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, ulong peerId, TransportLane lane, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Lost the {Lane} connection to peer {PeerId}: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, ulong peerId, TransportLane lane, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Peer {PeerId} ({Lane} lane) broke the protocol, closing: {Reason}")]
    public static partial void PeerProtocolError(ILogger logger, ulong peerId, TransportLane lane, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Closing inbound connection from {Remote}: {Reason}")]
    public static partial void InboundRejected(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "Inbound {Lane} connection from peer {PeerId} ended: {Reason}")]
    public static partial void InboundEnded(ILogger logger, ulong peerId, TransportLane lane, string reason);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Dropped a {Bytes}-byte frame to peer {PeerId}: over the {MaxFrameBytes}-byte frame limit")]
    public static partial void FrameTooLarge(ILogger logger, long bytes, ulong peerId, int maxFrameBytes);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Dropped a message to {PeerId}, which is not a configured peer")]
    public static partial void UnknownPeer(ILogger logger, ulong peerId);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Accepting a peer connection failed: {Reason}")]
    public static partial void AcceptFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "Discarded {Count} messages queued for peer {PeerId} ({Lane} lane): connecting failed")]
    public static partial void QueueDiscarded(ILogger logger, int count, ulong peerId, TransportLane lane);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Peer transport of node {NodeId} stopped")]
    public static partial void Stopped(ILogger logger, ulong nodeId);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Peer {PeerId} ({Lane} lane) did not authenticate, not connecting: {Reason}")]
    public static partial void PeerNotAuthenticated(ILogger logger, ulong peerId, TransportLane lane, string reason);

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "Peer transport of node {NodeId}: peer {PeerId} added at {EndPoint}")]
    public static partial void PeerAdded(ILogger logger, ulong nodeId, ulong peerId, System.Net.IPEndPoint endPoint);

    [LoggerMessage(EventId = 31, Level = LogLevel.Information, Message = "Peer transport of node {NodeId}: peer {PeerId} removed; its connections are closed and it is refused from now on")]
    public static partial void PeerRemoved(ILogger logger, ulong nodeId, ulong peerId);
}
