using Aurigraph.Node.Carbon;
using Aurigraph.Node.Carbon.Reporting;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Aurigraph.Node.Api;

/// <summary>
/// The documents a person reads, as plain endpoints of the REST port: the monthly ESG report
/// (<c>GET /api/v11/carbon/esg/{yyyy-MM}.html</c>) and the carbon dashboard (<c>GET /api/v11/carbon/dashboard.html</c>).
/// </summary>
internal sealed partial class CarbonApi
{
    private const string Html = "text/html; charset=utf-8";

    /// <summary>The ESG report of a month, from this node's committed records.</summary>
    public static IResult EsgReport(NodeRuntime node, string month)
    {
        ArgumentNullException.ThrowIfNull(node);
        try
        {
            var start = CarbonReportData.ParseMonth(month);
            return Results.Content(EsgReportRenderer.Render(Builder(node).Esg(start)), Html);
        }
        catch (ArgumentException ex)
        {
            return Results.Json(new { code = (int)StatusCode.InvalidArgument, message = ex.Message }, statusCode: 400);
        }
        catch (CorruptRecordException ex)
        {
            return Results.Json(new { code = (int)StatusCode.DataLoss, message = ex.Message }, statusCode: 500);
        }
    }

    /// <summary>The dashboard as of now, from this node's committed records and intensity history.</summary>
    public static IResult Dashboard(NodeRuntime node)
    {
        ArgumentNullException.ThrowIfNull(node);
        try
        {
            return Results.Content(DashboardRenderer.Render(Builder(node).Dashboard()), Html);
        }
        catch (CorruptRecordException ex)
        {
            return Results.Json(new { code = (int)StatusCode.DataLoss, message = ex.Message }, statusCode: 500);
        }
    }

    private static ReportModelBuilder Builder(NodeRuntime node)
    {
        var services = node.Carbon.Services;
        var zones = IntensityHistoryIngester.ZonesOf(IntensityHistoryIngester.RegionsOf(services.Options), services.Grid.Table).Select(z => z.Zone).ToList();
        var sources = new ReportSources(node.Options.ChainId, node.Options.NodeId, node.IntensityHistory, zones, height => TransactionIds(node, height), services.Grid.Table.Description);
        return new ReportModelBuilder(new CarbonReportData(node.Carbon.Ledger, services.Options.Budget, services.Time), node.Carbon.Ledger, sources);
    }

    private static List<string> TransactionIds(NodeRuntime node, ulong height) =>
        node.Store.ReadBlock(height) is { } block
            ? [.. block.Transactions.Select(t => TransactionId.Of(t.Body.Span).ToString())]
            : [];
}
