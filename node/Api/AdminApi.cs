using System.Security.Cryptography;
using System.Text;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary>Operator commands, behind the admin token (gRPC UNAUTHENTICATED / HTTP 401 without it).</summary>
internal sealed class AdminApi(NodeRuntime node) : AdminService.AdminServiceBase
{
    public override async Task<TransferLeadershipResponse> TransferLeadership(TransferLeadershipRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Authorize(context, node.Options.AdminToken);
        var snapshot = node.Snapshot;
        if (snapshot.RaftRole != Consensus.NodeRole.Leader)
        {
            var leader = node.Book.Find(snapshot.Leader);
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                leader is null ? "this node does not lead and no leader is known; retry shortly" : $"this node does not lead; send the request to node {leader.Id} at {leader.ApiAddress}"));
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var target = await node.TransferLeadershipAsync(request.Target)
                .WaitAsync(TimeSpan.FromMilliseconds(node.Options.TickMilliseconds * node.Options.ElectionTicks * 2), context.CancellationToken)
                .ConfigureAwait(false);
            return new TransferLeadershipResponse
            {
                PreviousLeader = node.Options.NodeId,
                Target = target,
                ElapsedMs = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            };
        }
        catch (AddressBookFullException ex)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, ex.Message));
        }
        catch (NodeUnavailableException ex)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, ex.Message));
        }
        catch (TimeoutException)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "the transfer did not complete within two election timeouts"));
        }
    }

    public override async Task<Membership> ChangeMembership(ChangeMembershipRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Authorize(context, node.Options.AdminToken);
        var type = request.Change switch
        {
            MembershipChangeType.AddLearner => Consensus.MembershipChangeType.AddLearner,
            MembershipChangeType.PromoteLearner => Consensus.MembershipChangeType.PromoteLearner,
            MembershipChangeType.RemoveNode => Consensus.MembershipChangeType.RemoveNode,
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "change must be ADD_LEARNER, PROMOTE_LEARNER or REMOVE_NODE")),
        };
        if (request.NodeId == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "nodeId must name a member (ids start at 1)"));
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            MemberOptions? record = null;
            if (request.Member is not null)
            {
                record = Members.FromRecord(request.Member);
                if (type != Consensus.MembershipChangeType.AddLearner || record.Id != request.NodeId)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "member is given only with ADD_LEARNER, and its id must be nodeId"));
                }
                if (Members.Problems(record, node.Options).FirstOrDefault() is { } problem)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, problem));
                }
            }
            var (index, config) = await node.ChangeMembershipAsync(new Consensus.MembershipChange(type, request.NodeId), record)
                .WaitAsync(TimeSpan.FromMilliseconds(node.Options.TickMilliseconds * node.Options.ElectionTicks * 4), context.CancellationToken)
                .ConfigureAwait(false);
            var answer = View(config, index);
            answer.ElapsedMs = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            return answer;
        }
        catch (Hosting.MembershipChangeRefusedException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
        catch (NodeUnavailableException ex)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, ex.Message));
        }
        catch (TimeoutException)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "the change was not applied within four election timeouts; read the membership to see whether it took effect"));
        }
    }

    public override Task<Membership> GetMembership(GetMembershipRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Authorize(context, node.Options.AdminToken);
        return Task.FromResult(View(node.Membership, 0));
    }

    private static Membership View(Consensus.MembershipConfig config, ulong index)
    {
        var view = new Membership { Index = index };
        view.Voters.AddRange(config.Voters);
        view.Learners.AddRange(config.Learners);
        return view;
    }

    /// <summary>Checks the bearer token in constant time; throws UNAUTHENTICATED (HTTP 401) when it is missing or wrong.</summary>
    internal static void Authorize(ServerCallContext context, string token, string what = "admin", string setting = "Aurigraph:AdminToken")
    {
        if (string.IsNullOrEmpty(token))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"the {what} API is disabled: no {setting} is configured"));
        }
        var header = context.RequestHeaders.GetValue("authorization");
        const string Scheme = "Bearer ";
        if (header is null || !header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"{what} calls need the header 'authorization: Bearer <{what} token>'"));
        }
        var presented = Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim());
        if (!CryptographicOperations.FixedTimeEquals(presented, Encoding.UTF8.GetBytes(token)))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"the {what} token is not valid"));
        }
    }
}
