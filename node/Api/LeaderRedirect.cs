using Aurigraph.Node.Hosting;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary>The answer of a member that does not lead to a call only the leader takes.</summary>
internal static class LeaderRedirect
{
    /// <summary>The trailer that carries the leader's gRPC API address.</summary>
    public const string Trailer = "leader-api";

    /// <summary>
    /// FAILED_PRECONDITION naming the leader and, in the trailer <see cref="Trailer"/>, its gRPC API address; UNAVAILABLE
    /// when no leader is known (or its address is not).
    /// </summary>
    public static RpcException NotLeader(NodeRuntime node, ulong leader)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (leader == 0 || node.Book.Find(leader) is not { } member)
        {
            return new RpcException(new Status(StatusCode.Unavailable, "this node does not lead and no leader is known; ask again shortly"));
        }
        return new RpcException(
            new Status(StatusCode.FailedPrecondition, $"this node does not lead; ask node {leader} at {member.ApiAddress}"),
            new Metadata { { Trailer, member.ApiAddress } });
    }
}
