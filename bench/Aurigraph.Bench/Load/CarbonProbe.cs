using Aurigraph.Node.Api.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Aurigraph.Bench.Load;

/// <summary>The run's carbon figure: what the cluster's committed carbon records added during the run.</summary>
/// <param name="Grams">gCO2e added to the records' total.</param>
/// <param name="Transactions">Transactions added to the heights the records cover.</param>
/// <param name="GramsPerTransaction"><paramref name="Grams"/> ÷ <paramref name="Transactions"/>.</param>
/// <param name="Node">The node whose /api/v11/carbon/stats was read (the leader when it is among the targets).</param>
/// <param name="PendingHeights">Heights still waiting for their record when the figures were read (0 unless the wait timed out).</param>
/// <param name="Models">The run's readings under both energy models (null when they could not be read).</param>
public sealed record CarbonFigure(double Grams, ulong Transactions, double GramsPerTransaction, ulong Node, uint PendingHeights, CarbonModelComparison? Models = null);

/// <summary>
/// Reads the carbon stats (CarbonService.GetCarbonStats, the gRPC side of GET /api/v11/carbon/stats) of the leader before
/// and after a run. The records are the same on every node; the leader is asked because it has them first.
/// </summary>
public static class CarbonProbe
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The leader's (or else the first answering target's) node id, address and carbon stats; null when no target answers.</summary>
    public static async Task<(ulong Node, string Target, CarbonStats Stats)?> ReadAsync(IReadOnlyList<string> targets, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(targets);
        (ulong, string, CarbonStats)? fallback = null;
        foreach (var target in targets)
        {
            using var channel = GrpcChannel.ForAddress(target);
            try
            {
                var status = await new NodeService.NodeServiceClient(channel).GetStatusAsync(new GetStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct);
                var stats = await new CarbonService.CarbonServiceClient(channel).GetCarbonStatsAsync(new GetCarbonStatsRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct);
                if (status.Leader == status.Id)
                {
                    return (status.Id, target, stats);
                }
                fallback ??= (status.Id, target, stats);
            }
            catch (RpcException)
            {
            }
        }
        return fallback;
    }

    /// <summary>
    /// After the run: waits until the node read before has no height waiting for its carbon record (at most 30 s), then
    /// returns the difference of its totals; null when no figures could be read.
    /// </summary>
    public static async Task<CarbonFigure?> AfterAsync((ulong Node, string Target, CarbonStats Stats)? before, CancellationToken ct)
    {
        if (before is not { } b)
        {
            return null;
        }
        using var channel = GrpcChannel.ForAddress(b.Target);
        var client = new CarbonService.CarbonServiceClient(channel);
        var until = DateTime.UtcNow + SettleTimeout;
        CarbonStats after;
        try
        {
            do
            {
                after = await client.GetCarbonStatsAsync(new GetCarbonStatsRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct);
                if (after.PendingHeights == 0)
                {
                    break;
                }
                await Task.Delay(100, ct); // polling against the settle deadline above
            }
            while (DateTime.UtcNow < until);
        }
        catch (RpcException)
        {
            return null;
        }
        var grams = after.TotalGrams - b.Stats.TotalGrams;
        var transactions = after.Transactions - b.Stats.Transactions;
        CarbonModelComparison? models = null;
        try
        {
            models = await CarbonModelComparison.ReadAsync(client, b.Stats.LastHeight + 1, after.LastHeight, ct);
        }
        catch (RpcException)
        {
        }
        return new CarbonFigure(grams, transactions, transactions > 0 ? grams / transactions : double.NaN, b.Node, after.PendingHeights, models);
    }
}
