namespace Aurigraph.Node.Carbon.Reporting;

/// <summary>Where a report reads what the carbon records do not hold: the chain, this node, its intensity history and its blocks.</summary>
/// <param name="ChainId">The chain.</param>
/// <param name="NodeId">This node.</param>
/// <param name="History">This node's intensity history.</param>
/// <param name="Zones">The zones the history records (the heatmap's rows), in order.</param>
/// <param name="TransactionIds">The ids of a committed block's transactions in order (empty when its body is not kept).</param>
/// <param name="StaticTableSource">The static grid table's version and source.</param>
public sealed record ReportSources(
    string ChainId,
    ulong NodeId,
    IntensityHistoryStore History,
    IReadOnlyList<string> Zones,
    Func<ulong, IReadOnlyList<string>> TransactionIds,
    string StaticTableSource);

/// <summary>
/// Builds the monthly ESG report's and the dashboard's models from one node's committed carbon records. Reads are bounded:
/// the report's method is stated from at most <see cref="MaxMethodViews"/> records of the month, the ranking looks at the
/// last <see cref="MaxRankedViews"/> records, the heatmap at 30 days of each zone's hours.
/// </summary>
public sealed class ReportModelBuilder(CarbonReportData data, CarbonLedger ledger, ReportSources sources)
{
    /// <summary>Records of a month the report's method (model versions, intensity types, M, market bases) is read from at most.</summary>
    public const int MaxMethodViews = 20_000;

    /// <summary>The most recent records the transaction ranking considers.</summary>
    public const ulong MaxRankedViews = 20_000;

    /// <summary>Transactions the ranking lists.</summary>
    public const int RankedTransactions = 10;

    /// <summary>Days of intensity history the heatmap averages over.</summary>
    public const int HeatmapDays = 30;

    private readonly CarbonReportData _data = data ?? throw new ArgumentNullException(nameof(data));
    private readonly CarbonLedger _ledger = ledger ?? throw new ArgumentNullException(nameof(ledger));
    private readonly ReportSources _sources = sources ?? throw new ArgumentNullException(nameof(sources));

    /// <summary>The ESG report of the month that holds <paramref name="month"/>.</summary>
    /// <exception cref="Ledger.CorruptRecordException">A stored record fails its check.</exception>
    public EsgReportModel Esg(DateTimeOffset month)
    {
        var start = PeriodFiguresBuilder.Floor(month, PeriodGranularity.Month);
        var end = PeriodFiguresBuilder.Next(start, PeriodGranularity.Month);
        var total = _data.Periods(new PeriodRange(PeriodGranularity.Month, start, end))[0];
        var days = _data.Periods(new PeriodRange(PeriodGranularity.Day, start, end));
        var previous = _data.Periods(new PeriodRange(PeriodGranularity.Month, start.AddMonths(-12), start));
        var first = DateOnly.FromDateTime(start.UtcDateTime);
        var after = DateOnly.FromDateTime(end.UtcDateTime);
        var retired = _data.Offsets().Where(o => o.RetiredOn >= first && o.RetiredOn < after).ToList();
        return new EsgReportModel(
            _sources.ChainId,
            _sources.NodeId,
            total.Label,
            _data.Now,
            total,
            days,
            previous,
            _data.Budget(total, PeriodGranularity.Month),
            retired,
            _data.PositionUntil(after),
            Method(start, end, total.MissingReadings));
    }

    /// <summary>The dashboard as of now.</summary>
    /// <exception cref="Ledger.CorruptRecordException">A stored record fails its check.</exception>
    public DashboardModel Dashboard()
    {
        var now = _data.Now;
        var hourEnd = PeriodFiguresBuilder.Next(PeriodFiguresBuilder.Floor(now, PeriodGranularity.Hour), PeriodGranularity.Hour);
        var dayEnd = PeriodFiguresBuilder.Next(PeriodFiguresBuilder.Floor(now, PeriodGranularity.Day), PeriodGranularity.Day);
        var hours = _data.Periods(new PeriodRange(PeriodGranularity.Hour, hourEnd.AddHours(-24), hourEnd));
        var days = _data.Periods(new PeriodRange(PeriodGranularity.Day, dayEnd.AddDays(-30), dayEnd));
        var totals = _ledger.ReadTotals();
        var s = totals.Summary;
        var today = days[^1];
        return new DashboardModel(
            _sources.ChainId,
            _sources.NodeId,
            now,
            hours,
            days,
            Heatmap(hourEnd),
            Ranking(now.AddHours(-24).ToUnixTimeMilliseconds(), totals.LastHeight),
            _data.Position(),
            EnergyFigures.Of(s),
            _data.Budget(today, PeriodGranularity.Day));
    }

    /// <summary>
    /// The method as the month's records state it. Views are in height order and their record times never go back, so the
    /// month's first record is found by bisection over heights, and at most <see cref="MaxMethodViews"/> are read from there.
    /// </summary>
    private ReportMethod Method(DateTimeOffset start, DateTimeOffset end, ulong missing)
    {
        var last = _ledger.ReadTotals().LastHeight;
        var from = FirstHeightAt(start.ToUnixTimeMilliseconds(), last);
        var endMs = end.ToUnixTimeMilliseconds();
        var readings = new List<CarbonReading>();
        var bases = new SortedDictionary<ulong, string>();
        var views = 0;
        var capped = false;
        foreach (var view in _ledger.ReadViews(from, last))
        {
            if (view.RecordedAtMs >= endMs)
            {
                break;
            }
            if (++views > MaxMethodViews)
            {
                capped = true;
                break;
            }
            foreach (var entry in view.Entries)
            {
                if (entry.Reading is { } r)
                {
                    readings.Add(r);
                    bases[r.NodeId] = $"node {r.NodeId} ({CloudProviders.ToKey(r.Cloud)}/{r.Region}): {r.MarketOrFallback.Describe()}";
                }
            }
        }
        var sci = SciDisclosure.Of(readings, missing);
        if (capped)
        {
            sci = sci with { Issues = [.. sci.Issues, $"the versions, intensity types and market bases stated here are those of the month's first {MaxMethodViews} records, not all of them"] };
        }
        return new ReportMethod(sci, [.. bases.Values], _sources.StaticTableSource);
    }

    /// <summary>The lowest height whose record counts at or after <paramref name="ms"/> (or past <paramref name="last"/> when none).</summary>
    private ulong FirstHeightAt(long ms, ulong last)
    {
        ulong lo = 1, hi = last + 1;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            var next = _ledger.ReadViews(mid, last).FirstOrDefault();
            if (next is null || next.RecordedAtMs >= ms)
            {
                hi = mid;
            }
            else
            {
                lo = next.Height + 1;
            }
        }
        return lo;
    }

    private List<RankedTransaction> Ranking(long sinceMs, ulong last)
    {
        var from = last > MaxRankedViews ? last - MaxRankedViews + 1 : 1;
        // The costliest blocks of the window by gCO2e per transaction; each of their transactions carries that figure.
        var top = new List<CarbonBlockView>(RankedTransactions + 1);
        foreach (var view in _ledger.ReadViews(from, last))
        {
            if (view.RecordedAtMs < sinceMs)
            {
                continue;
            }
            var at = top.FindIndex(v => v.GramsPerTransaction < view.GramsPerTransaction);
            top.Insert(at < 0 ? top.Count : at, view);
            if (top.Count > RankedTransactions)
            {
                top.RemoveAt(top.Count - 1);
            }
        }
        var ranked = new List<RankedTransaction>(RankedTransactions);
        foreach (var view in top)
        {
            foreach (var id in _sources.TransactionIds(view.Height))
            {
                if (ranked.Count == RankedTransactions)
                {
                    return ranked;
                }
                ranked.Add(new RankedTransaction(id, view.Height, view.GramsPerTransaction));
            }
        }
        return ranked;
    }

    private List<IntensityCell> Heatmap(DateTimeOffset end)
    {
        var cells = new List<IntensityCell>(_sources.Zones.Count * 24);
        Span<double> sums = stackalloc double[24];
        Span<int> counts = stackalloc int[24];
        foreach (var zone in _sources.Zones)
        {
            sums.Clear();
            counts.Clear();
            foreach (var hour in _sources.History.Range(zone, end.AddDays(-HeatmapDays), end))
            {
                var h = hour.Hour.UtcDateTime.Hour;
                sums[h] += hour.GramsPerKwh;
                counts[h]++;
            }
            for (var h = 0; h < 24; h++)
            {
                cells.Add(new IntensityCell(zone, h, counts[h] == 0 ? 0 : sums[h] / counts[h], counts[h]));
            }
        }
        return cells;
    }
}
