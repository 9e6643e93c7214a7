using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary><c>GetIntensityHistory</c>: this node's hourly grid-intensity history of a zone (REST <c>/api/v11/carbon/intensity/history</c>).</summary>
internal sealed partial class CarbonApi
{
    public override Task<IntensityHistory> GetIntensityHistory(GetIntensityHistoryRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var services = node.Carbon.Services;
        var query = new IntensityHistoryQuery(node.IntensityHistory, services.Options.GridIntensity.MaxAge, services.Time);
        IntensityHistoryAnswer answer;
        try
        {
            answer = Guarded(() => query.Run(request.Zone, request.From, request.To));
        }
        catch (ArgumentException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
        return Task.FromResult(ToProto(answer));
    }

    internal static IntensityHistory ToProto(IntensityHistoryAnswer answer)
    {
        var proto = new IntensityHistory
        {
            Zone = answer.Zone,
            From = IntensityHistoryQuery.Text(answer.From),
            To = IntensityHistoryQuery.Text(answer.To),
            MaxAgeSeconds = answer.MaxAge.TotalSeconds,
            Recorded = (uint)(answer.Hours.Count - answer.Gaps),
            Gaps = (uint)answer.Gaps,
            Stale = (uint)answer.StaleHours,
        };
        proto.Hours.AddRange(answer.Hours.Select(ToProto));
        return proto;
    }

    private static IntensityHistoryHour ToProto(IntensityHistoryEntry entry)
    {
        var hour = new IntensityHistoryHour { Hour = IntensityHistoryQuery.Text(entry.Hour), Gap = entry.Gap, Stale = entry.Stale };
        if (entry.Record is not { } r)
        {
            return hour;
        }
        hour.GramsPerKwh = r.GramsPerKwh;
        hour.Source = r.Source;
        hour.Type = IntensityLabels.Of(r.Type);
        hour.ObservedAt = IntensityHistoryQuery.Text(r.ObservedAt);
        hour.AgeSeconds = entry.Age.TotalSeconds;
        hour.FigureZone = r.FigureZone;
        Set(r.IsEstimated, v => hour.IsEstimated = v);
        hour.EstimationMethod = r.EstimationMethod ?? "";
        hour.Origin = IntensityLabels.Of(r.Origin);
        hour.RecordedAt = IntensityHistoryQuery.Text(r.RecordedAt);
        if (r.Breakdown is { } b)
        {
            hour.PowerBreakdown = ToProto(b);
        }
        return hour;
    }

    private static PowerBreakdownInfo ToProto(PowerBreakdown b)
    {
        var info = new PowerBreakdownInfo { Datetime = IntensityHistoryQuery.Text(b.Datetime), EstimationMethod = b.EstimationMethod ?? "" };
        foreach (var fuel in b.Fuels)
        {
            var f = new PowerBreakdownFuel { Fuel = fuel.Fuel };
            Set(fuel.ConsumptionMw, v => f.ConsumptionMw = v);
            Set(fuel.ProductionMw, v => f.ProductionMw = v);
            info.Fuels.Add(f);
        }
        Set(b.ConsumptionTotalMw, v => info.ConsumptionTotalMw = v);
        Set(b.ProductionTotalMw, v => info.ProductionTotalMw = v);
        Set(b.ImportTotalMw, v => info.ImportTotalMw = v);
        Set(b.ExportTotalMw, v => info.ExportTotalMw = v);
        Set(b.FossilFreePercentage, v => info.FossilFreePercentage = v);
        Set(b.RenewablePercentage, v => info.RenewablePercentage = v);
        Set(b.IsEstimated, v => info.IsEstimated = v);
        return info;
    }

    /// <summary>Sets an optional (explicit-presence) field only when there is a value: absent stays absent in the answer.</summary>
    private static void Set<T>(T? value, Action<T> set)
        where T : struct
    {
        if (value is { } v)
        {
            set(v);
        }
    }
}
