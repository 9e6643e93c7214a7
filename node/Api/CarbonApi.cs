using System.Globalization;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary>
/// Carbon figures of committed transactions and blocks, running totals, and the SCI report (gRPC, and REST under
/// /api/v11/carbon through JSON transcoding); the CSV export is a plain endpoint on the REST port.
/// </summary>
internal sealed partial class CarbonApi(NodeRuntime node) : CarbonService.CarbonServiceBase
{
    public override Task<TransactionCarbon> GetTransactionCarbon(GetTransactionCarbonRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!TransactionId.TryParse(request.TxId, out var id))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"tx_id must be 64 hex characters (SHA-256 of the body), got '{request.TxId}'"));
        }
        if (node.Store.FindTransaction(id) is not { } at)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"transaction {id} is not committed on this node"));
        }
        var view = Guarded(() => node.Carbon.Ledger.ReadView(at.Height))
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"transaction {id} committed at height {at.Height}; the carbon record of that block is not committed yet"));
        var block = ToProto(view);
        return Task.FromResult(new TransactionCarbon { TxId = id.ToString(), Height = at.Height, Index = at.Index, Grams = block.GramsPerTransaction, Block = block });
    }

    public override Task<BlockCarbon> GetBlockCarbon(GetBlockCarbonRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Height == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "height must be at least 1"));
        }
        var ledger = node.Carbon.Ledger;
        if (Guarded(() => ledger.ReadView(request.Height)) is { } view)
        {
            return Task.FromResult(ToProto(view));
        }
        var tip = node.Snapshot.Height;
        if (request.Height > tip)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"no block at height {request.Height} (tip is {tip})"));
        }
        if (ledger.IsPendingStored(request.Height))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"the carbon record of block {request.Height} is not committed yet"));
        }
        if (Guarded(() => node.Store.ReadBlock(request.Height)) is { Header.TransactionCount: 0 })
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"block {request.Height} has no transactions (it carries carbon records only); its cost is metered into the next block with transactions"));
        }
        throw new RpcException(new Status(StatusCode.NotFound, $"block {request.Height} has no carbon record"));
    }

    public override Task<CarbonStats> GetCarbonStats(GetCarbonStatsRequest request, ServerCallContext context)
    {
        var carbon = node.Carbon;
        var t = Guarded(carbon.Ledger.ReadTotals);
        var options = carbon.Services.Options;
        var data = ReportData();
        var stats = new CarbonStats
        {
            TotalGrams = t.Summary.TotalGrams,
            GramsPerTransaction = t.GramsPerTransaction,
            Transactions = t.Transactions,
            HeightsCovered = t.Heights,
            FirstHeight = t.FirstHeight,
            LastHeight = t.LastHeight,
            OperationalGrams = t.Summary.OperationalGrams,
            EmbodiedGrams = t.Summary.EmbodiedGrams,
            Energy = Energy(t.Summary),
            PresentReadings = t.PresentReadings,
            MissingReadings = t.MissingReadings,
            LowerBound = t.MissingReadings > 0,
            LateReadings = t.LateReadings,
            PendingHeights = (uint)carbon.Ledger.CountPendingStored(),
            LastBlockGramsPerTransaction = t.LastGramsPerTransaction,
            CurrentGrid = Grid(carbon.CurrentGrid()),
            Cloud = CloudProviders.ToKey(options.Cloud),
            Region = options.Region,
            Window = request.From != 0 || request.To != 0 || request.LastHeights != 0 ? Window(request, t.LastHeight) : null,
            MarketGrams = t.Summary.MarketGrams,
            Position = ToProto(Guarded(data.Position)),
        };
        stats.Budgets.AddRange(Guarded(data.CurrentBudgets).Select(ToProto));
        return Task.FromResult(stats);
    }

    private CarbonWindow Window(GetCarbonStatsRequest request, ulong lastRecorded)
    {
        var from = request.From;
        var to = request.To;
        if (request.LastHeights != 0)
        {
            if (request.From != 0 || request.To != 0)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "give last_heights or from/to, not both"));
            }
            to = lastRecorded;
            from = lastRecorded >= request.LastHeights ? lastRecorded - request.LastHeights + 1 : 1;
        }
        var (first, last) = RangeOrThrow(from, to);
        var roles = node.Book.Members.ToDictionary(m => m.Id, m => m.Role.ToString().ToLowerInvariant());
        var figures = Guarded(() => CarbonReports.Window(node.Carbon.Ledger.ReadViews(first, last), id => roles.GetValueOrDefault(id, "unknown")));
        var window = new CarbonWindow
        {
            From = first,
            To = last,
            Heights = figures.Heights,
            Transactions = figures.Transactions,
            TotalGrams = figures.Summary.TotalGrams,
            MeanGramsPerTransaction = figures.MeanGramsPerTransaction,
            P50GramsPerTransaction = figures.P50GramsPerTransaction,
            P99GramsPerTransaction = figures.P99GramsPerTransaction,
            Energy = Energy(figures.Summary),
        };
        window.ByRegion.AddRange(figures.ByRegion.Select(Share));
        window.ByNode.AddRange(figures.ByNode.Select(Share));
        window.ByRole.AddRange(figures.ByRole.Select(Share));
        return window;

        static CarbonShare Share(KeyValuePair<string, CarbonShareFigures> s) =>
            new() { Key = s.Key, Grams = s.Value.Grams, FacilityKwh = s.Value.FacilityKwh, Readings = s.Value.Readings };
    }

    public override Task<CarbonReport> GetCarbonReport(GetCarbonReportRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var ledger = node.Carbon.Ledger;
        var (from, to) = RangeOrThrow(request.From, request.To);
        var sci = Guarded(() => CarbonReports.Sci(ledger.ReadViews(from, to), from, to));
        var report = new CarbonReport
        {
            From = from,
            To = to,
            Heights = sci.Heights,
            Transactions = sci.Transactions,
            EnergyKwh = sci.EnergyKwh,
            IntensityGramsPerKwh = sci.IntensityGramsPerKwh,
            EmbodiedGrams = sci.Summary.EmbodiedGrams,
            OperationalGrams = sci.Summary.OperationalGrams,
            TotalGrams = sci.Summary.TotalGrams,
            SciGramsPerTransaction = sci.SciGramsPerTransaction,
            Energy = Energy(sci.Summary),
            MissingReadings = sci.MissingReadings,
            LateReadings = sci.LateReadings,
            Formula = SciReport.Formula,
            LowerBound = sci.LowerBound,
            Disclosure = Disclosure(sci.Disclosure),
        };
        report.GridSources.AddRange(sci.GridSources);
        return Task.FromResult(report);
    }

    /// <summary>
    /// <c>GET /api/v11/carbon/manifest.yaml?from=&amp;to=</c>: the range's readings as an Impact Framework manifest that
    /// recomputes their energy and SCI (<see cref="ImpactManifest"/>); at most <see cref="ImpactManifest.MaxHeights"/> heights.
    /// </summary>
    public static IResult Manifest(NodeRuntime node, string? from, string? to)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!TryHeight(from, out var first) || !TryHeight(to, out var last))
        {
            return Results.Json(new { code = (int)StatusCode.InvalidArgument, message = "from and to must be block heights (unsigned integers)" }, statusCode: 400);
        }
        var ledger = node.Carbon.Ledger;
        try
        {
            var (lo, hi) = CarbonReports.Range(first, last, ledger.ReadTotals().LastHeight);
            if (hi >= lo && hi - lo + 1 > ImpactManifest.MaxHeights)
            {
                throw new ArgumentException($"the range {lo}..{hi} spans {hi - lo + 1} heights; at most {ImpactManifest.MaxHeights} per manifest");
            }
            return Results.Text(ImpactManifest.Write(ledger.ReadViews(lo, hi), lo, hi, node.Options.ChainId), "application/yaml; charset=utf-8");
        }
        catch (ArgumentException ex)
        {
            return Results.Json(new { code = (int)StatusCode.InvalidArgument, message = ex.Message }, statusCode: 400);
        }
    }

    /// <summary><c>GET /api/v11/carbon/report.csv?from=&amp;to=</c>: one row per recorded height of the range.</summary>
    public static IResult Csv(NodeRuntime node, string? from, string? to)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!TryHeight(from, out var first) || !TryHeight(to, out var last))
        {
            return Results.Json(new { code = (int)StatusCode.InvalidArgument, message = "from and to must be block heights (unsigned integers)" }, statusCode: 400);
        }
        var ledger = node.Carbon.Ledger;
        (ulong From, ulong To) range;
        try
        {
            range = CarbonReports.Range(first, last, ledger.ReadTotals().LastHeight);
        }
        catch (ArgumentException ex)
        {
            return Results.Json(new { code = (int)StatusCode.InvalidArgument, message = ex.Message }, statusCode: 400);
        }
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        CarbonReports.WriteCsv(text, ledger.ReadViews(range.From, range.To));
        return Results.Text(text.ToString(), "text/csv; charset=utf-8");
    }

    private static bool TryHeight(string? text, out ulong height)
    {
        height = 0;
        return string.IsNullOrEmpty(text) || ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out height);
    }

    private (ulong From, ulong To) RangeOrThrow(ulong from, ulong to)
    {
        try
        {
            return CarbonReports.Range(from, to, Guarded(node.Carbon.Ledger.ReadTotals).LastHeight);
        }
        catch (ArgumentException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
    }

    private static T Guarded<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (CorruptRecordException ex)
        {
            throw new RpcException(new Status(StatusCode.DataLoss, ex.Message));
        }
        catch (FormatException ex)
        {
            throw new RpcException(new Status(StatusCode.DataLoss, ex.Message));
        }
    }

    private static Api.V1.SciDisclosure Disclosure(Carbon.SciDisclosure d)
    {
        var proto = new Api.V1.SciDisclosure
        {
            Specification = Carbon.SciDisclosure.Specification,
            SoftwareBoundary = Carbon.SciDisclosure.SoftwareBoundary,
            FunctionalUnit = Carbon.SciDisclosure.FunctionalUnit,
            QuantificationMethod = Carbon.SciDisclosure.QuantificationMethod,
            CoefficientSource = Carbon.SciDisclosure.CoefficientSource,
            EmbodiedIncluded = d.EmbodiedIncluded,
            Conforms = d.Conforms,
        };
        proto.Exclusions.AddRange(Carbon.SciDisclosure.Exclusions);
        proto.ModelVersions.AddRange(d.ModelVersions.Select(v => (uint)v));
        proto.IntensityTypes.AddRange(d.IntensityTypes);
        proto.Issues.AddRange(d.Issues);
        return proto;
    }

    internal static BlockCarbon ToProto(CarbonBlockView view)
    {
        var s = view.Summary;
        var block = new BlockCarbon
        {
            Height = view.Height,
            TransactionCount = (uint)view.TransactionCount,
            RecordHeight = view.RecordHeight,
            TotalGrams = s.TotalGrams,
            GramsPerTransaction = view.GramsPerTransaction,
            OperationalGrams = s.OperationalGrams,
            EmbodiedGrams = s.EmbodiedGrams,
            Energy = Energy(s),
            Present = (uint)view.PresentCount,
            Missing = (uint)view.MissingCount,
            Late = (uint)view.LateCount,
            LowerBound = view.LowerBound,
        };
        foreach (var entry in view.Entries)
        {
            block.Readings.Add(ToProto(entry));
        }
        return block;
    }

    private static NodeCarbonReading ToProto(CarbonViewEntry entry)
    {
        var proto = new NodeCarbonReading
        {
            NodeId = entry.NodeId,
            Status = entry.Status.ToString().ToLowerInvariant(),
            LateHeight = entry.LateHeight,
            Reason = entry.Reason,
        };
        if (entry.Reading is not { } r)
        {
            return proto;
        }
        var u = r.Usage;
        var input = r.ToNodeReading();
        var c = r.Coefficients;
        var e = r.Estimate;
        proto.Cloud = CloudProviders.ToKey(r.Cloud);
        proto.Region = r.Region;
        proto.Measurement = new CarbonMeasurement
        {
            CpuSeconds = input.CpuSeconds,
            CpuUtilization = u.CpuUtilization,
            WallSeconds = input.IntervalSeconds,
            ResidentBytes = (ulong)u.ResidentBytes,
            MemoryGbSeconds = input.MemoryGbSeconds,
            BytesSent = (ulong)u.BytesSent,
            BytesReceived = (ulong)u.BytesReceived,
            IngressBytes = (ulong)u.IngressBytes,
            BytesStored = (ulong)u.BytesStored,
            ConsensusRounds = (ulong)u.ConsensusRounds,
            Validators = (uint)u.Validators,
            Vcpus = (uint)u.Vcpus,
            StorageReplicas = (uint)u.StorageReplicas,
            ProvisionedVcpus = u.ProvisionedVcpus,
            RetainedBytes = (ulong)u.RetainedBytes,
        };
        proto.Grid = Grid(r.Grid);
        proto.Coefficients = new CarbonCoefficientsInfo
        {
            MinWattsPerVcpu = c.MinWattsPerVcpu,
            MaxWattsPerVcpu = c.MaxWattsPerVcpu,
            Pue = c.Pue,
            MemoryKwhPerGbHour = c.MemoryKwhPerGbHour,
            NetworkKwhPerGb = c.NetworkKwhPerGb,
            CountReceivedBytes = c.CountReceivedBytes,
            StorageWhPerTbHour = c.StorageWhPerTbHour,
            StorageRetentionYears = c.StorageRetentionYears,
            ConsensusRoundKwh = c.ConsensusRoundKwh,
            EmbodiedEnabled = c.EmbodiedEnabled,
            ServerEmbodiedKgCo2E = c.ServerEmbodiedKgCo2e,
            ServerLifespanHours = c.ServerLifespanHours,
            HostVcpus = c.HostVcpus,
            NodeVcpus = c.NodeVcpus,
            ModelVersion = (uint)c.ModelVersion,
        };
        proto.Energy = Energy(CarbonSummary.Zero.Add(e));
        proto.Pue = e.Energy.Pue;
        proto.OperationalGrams = e.OperationalGrams;
        proto.EmbodiedGrams = e.EmbodiedGrams;
        proto.TotalGrams = e.TotalGrams;
        return proto;
    }

    private static EnergyByComponent Energy(CarbonSummary s) => new()
    {
        CpuKwh = s.CpuKwh,
        MemoryKwh = s.MemoryKwh,
        NetworkKwh = s.NetworkKwh,
        StorageKwh = s.StorageKwh,
        ConsensusKwh = s.ConsensusKwh,
        ItKwh = s.ItKwh,
        FacilityKwh = s.FacilityKwh,
        CpuConsumedKwh = s.CpuConsumedKwh,
    };

    private static GridIntensityInfo Grid(GridIntensity g) => new()
    {
        GramsPerKwh = g.GramsPerKwh,
        Source = g.Source,
        ObservedAt = IntensityHistoryQuery.Text(g.ObservedAt),
        Zone = g.Zone,
    };
}
