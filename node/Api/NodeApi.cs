using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Google.Protobuf;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary>The node's status: role, term, leader, heights, state root and peers' replication progress.</summary>
internal sealed class NodeApi(NodeRuntime node) : NodeService.NodeServiceBase
{
    public override Task<NodeStatus> GetStatus(GetStatusRequest request, ServerCallContext context)
    {
        var s = node.Snapshot;
        var options = node.Options;
        var status = new NodeStatus
        {
            Id = options.NodeId,
            Role = options.Role.ToString().ToLowerInvariant(),
            RaftState = s.RaftRole.ToString(),
            Term = s.Term,
            Leader = s.Leader,
            CommitIndex = s.CommitIndex,
            AppliedIndex = s.AppliedIndex,
            Height = s.Height,
            StateRoot = ByteString.CopyFrom(s.StateRoot),
            ChainId = options.ChainId,
        };
        foreach (var (id, match, active) in s.Peers)
        {
            var member = options.Members.First(m => m.Id == id);
            status.Peers.Add(new PeerStatus { Id = id, Role = member.Role.ToString().ToLowerInvariant(), MatchIndex = match, RecentActive = active });
        }
        return Task.FromResult(status);
    }
}
