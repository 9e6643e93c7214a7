using Aurigraph.Node.Api.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Aurigraph.Bench.Load;

/// <summary>Where a bench devnet's leadership sits: read it, or hand it to a chosen validator through the admin API.</summary>
public static class LeaderControl
{
    /// <summary>The admin token of the bench's own devnets (loopback only, discarded with the devnet).</summary>
    public const string Token = "bench-devnet-admin";

    /// <summary>The leader the first answering target names (0: none answers or none leads).</summary>
    public static async Task<ulong> LeaderAsync(IReadOnlyList<string> targets, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(targets);
        foreach (var target in targets)
        {
            using var channel = GrpcChannel.ForAddress(target);
            try
            {
                var status = await new NodeService.NodeServiceClient(channel).GetStatusAsync(new GetStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct);
                if (status.Leader != 0)
                {
                    return status.Leader;
                }
            }
            catch (RpcException)
            {
            }
        }
        return 0;
    }

    /// <summary>Hands leadership to validator <paramref name="target"/> (targets are in node-id order) and waits until it leads.</summary>
    public static async Task TransferAsync(IReadOnlyList<string> targets, ulong target, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (target == 0 || target > (ulong)targets.Count)
        {
            throw new ArgumentException($"--leader {target}: the devnet has validators 1 to {targets.Count}");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var auth = new Metadata { { "authorization", $"Bearer {Token}" } };
        while (await LeaderAsync(targets, timeout.Token) is var leader && leader != target)
        {
            if (leader != 0)
            {
                using var channel = GrpcChannel.ForAddress(targets[(int)leader - 1]);
                try
                {
                    await new AdminService.AdminServiceClient(channel).TransferLeadershipAsync(new TransferLeadershipRequest { Target = target }, auth, cancellationToken: timeout.Token);
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.FailedPrecondition or StatusCode.DeadlineExceeded)
                {
                    // Leadership moved meanwhile, or a transfer is under way: ask again.
                }
            }
            await Task.Delay(200, timeout.Token); // the next status poll
        }
    }
}
