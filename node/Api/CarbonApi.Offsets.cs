using System.Globalization;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Carbon.Reporting;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary>
/// Calendar periods (<c>GetCarbonPeriods</c>), and the offsets: recorded through the log by the leader
/// (<c>RecordOffset</c>, admin token) and listed beside the net position (<c>ListOffsets</c>).
/// </summary>
internal sealed partial class CarbonApi
{
    /// <summary>The most offset records one list answer holds.</summary>
    public const int MaxOffsetsPerList = 1000;

    /// <summary>Offset records a list holds when the request sets no limit.</summary>
    public const int DefaultOffsetsPerList = 100;

    private CarbonReportData ReportData()
    {
        var services = node.Carbon.Services;
        return new CarbonReportData(node.Carbon.Ledger, services.Options.Budget, services.Time);
    }

    public override Task<CarbonPeriodList> GetCarbonPeriods(GetCarbonPeriodsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var data = ReportData();
        try
        {
            var range = data.Range(request.Granularity, request.From, request.To);
            var periods = Guarded(() => data.Periods(range));
            var answer = new CarbonPeriodList
            {
                Granularity = range.Granularity.ToString().ToLowerInvariant(),
                From = IntensityHistoryQuery.Text(range.From),
                To = IntensityHistoryQuery.Text(range.To),
            };
            foreach (var p in periods)
            {
                answer.Periods.Add(ToProto(p, data.Budget(p, range.Granularity)));
            }
            return Task.FromResult(answer);
        }
        catch (ArgumentException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
    }

    public override async Task<RecordOffsetResponse> RecordOffset(RecordOffsetRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        AdminApi.Authorize(context, node.Options.AdminToken);
        var offset = Retirement(request);
        var wait = TimeSpan.FromMilliseconds(node.Options.TickMilliseconds * node.Options.ElectionTicks * 4);
        OffsetOutcome outcome;
        try
        {
            outcome = await node.Carbon.SubmitOffset(offset).WaitAsync(wait, context.CancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Proposed but not known committed: the truth is "not yet". The same record submitted again is answered
            // RECORDED once it is in, and is never recorded twice.
            return new RecordOffsetResponse { Status = "PENDING", Offset = ToProto(offset, 0) };
        }
        return outcome.Kind switch
        {
            OffsetOutcomeKind.Recorded => new RecordOffsetResponse { Status = "RECORDED", Height = outcome.Height, Offset = ToProto(offset, outcome.Height) },
            OffsetOutcomeKind.Refused => throw new RpcException(new Status(StatusCode.InvalidArgument, $"offset refused: {outcome.Reason}")),
            OffsetOutcomeKind.Busy => throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"{CarbonPipeline.MaxWaitingOffsets} offsets wait to be recorded; submit again shortly")),
            _ => throw LeaderRedirect.NotLeader(node, node.Snapshot.Leader),
        };
    }

    public override Task<OffsetList> ListOffsets(ListOffsetsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Limit > MaxOffsetsPerList)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"limit must be at most {MaxOffsetsPerList} (was {request.Limit})"));
        }
        var limit = request.Limit == 0 ? DefaultOffsetsPerList : (int)request.Limit;
        var data = ReportData();
        var answer = new OffsetList();
        Guarded(() =>
        {
            var count = 0u;
            var tonnes = 0.0;
            foreach (var o in node.Carbon.Ledger.Offsets.ReadAll())
            {
                if (count >= request.Start && answer.Offsets.Count < limit)
                {
                    answer.Offsets.Add(ToProto(o.Offset, o.Height));
                }
                count++;
                tonnes += o.Offset.Tonnes;
            }
            answer.Count = count;
            answer.TotalTonnes = tonnes;
            answer.Position = ToProto(data.Position(tonnes));
            return answer;
        });
        return Task.FromResult(answer);
    }

    internal static NetPositionInfo ToProto(NetPosition p) => new()
    {
        FootprintTonnes = p.FootprintTonnes,
        MarketFootprintTonnes = p.MarketFootprintTonnes,
        OffsetTonnes = p.OffsetTonnes,
        NetTonnes = p.NetTonnes,
        Statement = CarbonReportData.NetStatement,
    };

    internal static BudgetInfo ToProto(BudgetFigures b) => new()
    {
        Period = b.Period,
        Label = b.Label,
        BudgetGrams = b.BudgetGrams,
        UsedGrams = b.UsedGrams,
        UsedFraction = b.UsedFraction,
    };

    private static CarbonPeriod ToProto(PeriodFigures p, BudgetFigures? budget)
    {
        var period = new CarbonPeriod
        {
            Label = p.Label,
            Start = IntensityHistoryQuery.Text(p.Start),
            End = IntensityHistoryQuery.Text(p.End),
            Transactions = p.Transactions,
            Heights = p.Heights,
            LocationGrams = p.LocationGrams,
            MarketGrams = p.MarketGrams,
            OperationalGrams = p.OperationalGrams,
            EmbodiedGrams = p.EmbodiedGrams,
            LocationGramsPerTransaction = p.LocationGramsPerTransaction,
            MarketGramsPerTransaction = p.MarketGramsPerTransaction,
            Energy = Energy(p.Energy),
            PresentReadings = p.PresentReadings,
            MissingReadings = p.MissingReadings,
            LowerBound = p.LowerBound,
        };
        if (budget is not null)
        {
            period.Budget = ToProto(budget);
        }
        return period;
    }

    private static EnergyByComponent Energy(EnergyFigures e) => new()
    {
        CpuKwh = e.CpuKwh,
        MemoryKwh = e.MemoryKwh,
        NetworkKwh = e.NetworkKwh,
        StorageKwh = e.StorageKwh,
        ConsensusKwh = e.ConsensusKwh,
        ItKwh = e.ItKwh,
        FacilityKwh = e.FacilityKwh,
    };

    private static OffsetRetirementInfo ToProto(OffsetRetirement o, ulong height) => new()
    {
        Registry = o.Registry,
        Serial = o.Serial,
        Tonnes = o.Tonnes,
        Vintage = o.Vintage,
        Project = o.Project,
        RetiredOn = o.RetiredOn.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        Note = o.Note,
        Height = height,
    };

    /// <summary>The request as a retirement: the registry's name in its listed spelling; the rules are the ledger's.</summary>
    private static OffsetRetirement Retirement(RecordOffsetRequest r)
    {
        if (!DateOnly.TryParseExact(r.RetiredOn, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var retiredOn))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"retired_on must be a day written yyyy-MM-dd, got '{r.RetiredOn}'"));
        }
        var registry = OffsetRetirement.CanonicalRegistry(r.Registry)
            ?? throw new RpcException(new Status(StatusCode.InvalidArgument, $"registry '{r.Registry}' is not one of {string.Join(", ", OffsetRetirement.Registries)}"));
        return new OffsetRetirement(registry, r.Serial ?? "", r.Tonnes, r.Vintage, r.Project ?? "", retiredOn, r.Note ?? "");
    }
}
