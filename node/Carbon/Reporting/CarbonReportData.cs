using System.Globalization;

namespace Aurigraph.Node.Carbon.Reporting;

/// <summary>A calendar-period query after its checks: whole periods from <see cref="From"/> to <see cref="To"/> (exclusive).</summary>
public sealed record PeriodRange(PeriodGranularity Granularity, DateTimeOffset From, DateTimeOffset To);

/// <summary>
/// Reads the report figures from one node's committed carbon records: calendar periods with their budgets, the offsets and
/// the net position. Everything comes from the log (hours, totals, offset records), so every node answers alike; only
/// "now" (the default range, today's budget) is this node's clock. Thread-safe: it only reads storage.
/// </summary>
public sealed class CarbonReportData(CarbonLedger ledger, CarbonBudgetOptions budget, TimeProvider time)
{
    /// <summary>Grams in a tonne.</summary>
    public const double GramsPerTonne = 1_000_000;

    /// <summary>The statement every net position carries.</summary>
    public const string NetStatement =
        "Retired offsets are reported beside the measured footprint and never subtracted from it; the net figure is footprint minus offsets, stated separately.";

    private readonly CarbonLedger _ledger = ledger ?? throw new ArgumentNullException(nameof(ledger));
    private readonly CarbonBudgetOptions _budget = budget ?? new CarbonBudgetOptions();
    private readonly TimeProvider _time = time ?? throw new ArgumentNullException(nameof(time));

    /// <summary>This node's clock.</summary>
    public DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>
    /// Checks a period query: granularity <c>hour</c>, <c>day</c> (default) or <c>month</c>; <paramref name="from"/> and
    /// <paramref name="to"/> ISO-8601 times or <c>yyyy-MM</c>, rounded out to whole periods. Without <paramref name="to"/>
    /// the range ends with the current period; without <paramref name="from"/> it holds 24 hours, 30 days or 12 months.
    /// </summary>
    /// <exception cref="ArgumentException">A value is malformed, the range is empty or reversed, or holds more than <see cref="PeriodFiguresBuilder.MaxPeriods"/> periods.</exception>
    public PeriodRange Range(string? granularity, string? from, string? to)
    {
        var g = ParseGranularity(granularity);
        var end = string.IsNullOrEmpty(to) ? PeriodFiguresBuilder.Next(PeriodFiguresBuilder.Floor(Now, g), g) : Ceiling(IntensityHistoryQuery.Parse(to, "to"), g);
        var start = string.IsNullOrEmpty(from) ? Back(end, g) : PeriodFiguresBuilder.Floor(IntensityHistoryQuery.Parse(from, "from"), g);
        if (start.ToUnixTimeMilliseconds() < 0)
        {
            throw new ArgumentException($"from must not be before 1970-01-01 (was {IntensityHistoryQuery.Text(start)})");
        }
        if (end <= start)
        {
            throw new ArgumentException($"to ({IntensityHistoryQuery.Text(end)}) must be after from ({IntensityHistoryQuery.Text(start)})");
        }
        return new PeriodRange(g, start, end);
    }

    /// <summary>The figures of every period of <paramref name="range"/>, in order.</summary>
    /// <exception cref="ArgumentException">The range holds more than <see cref="PeriodFiguresBuilder.MaxPeriods"/> periods.</exception>
    /// <exception cref="Ledger.CorruptRecordException">A stored hour fails its check.</exception>
    public List<PeriodFigures> Periods(PeriodRange range)
    {
        ArgumentNullException.ThrowIfNull(range);
        var hours = _ledger.Periods.ReadHours(CarbonPeriods.HourOf(range.From.ToUnixTimeMilliseconds()), CarbonPeriods.HourOf(range.To.ToUnixTimeMilliseconds()));
        return PeriodFiguresBuilder.Build(hours, range.From, range.To, range.Granularity);
    }

    /// <summary>The budget of a day or month period and what it used, or <see langword="null"/> when none is configured (or for hours).</summary>
    public BudgetFigures? Budget(PeriodFigures period, PeriodGranularity granularity)
    {
        ArgumentNullException.ThrowIfNull(period);
        var grams = BudgetGrams(granularity);
        return grams > 0 ? new BudgetFigures(granularity == PeriodGranularity.Day ? "day" : "month", period.Label, grams, period.LocationGrams) : null;
    }

    /// <summary>Today's and this month's budgets (UTC) with what they used so far, where configured.</summary>
    public List<BudgetFigures> CurrentBudgets()
    {
        var budgets = new List<BudgetFigures>(2);
        foreach (var g in (ReadOnlySpan<PeriodGranularity>)[PeriodGranularity.Day, PeriodGranularity.Month])
        {
            if (BudgetGrams(g) > 0)
            {
                var start = PeriodFiguresBuilder.Floor(Now, g);
                budgets.Add(Budget(Periods(new PeriodRange(g, start, PeriodFiguresBuilder.Next(start, g)))[0], g)!);
            }
        }
        return budgets;
    }

    private double BudgetGrams(PeriodGranularity granularity) => granularity switch
    {
        PeriodGranularity.Day => _budget.GramsPerDay,
        PeriodGranularity.Month => _budget.GramsPerMonth,
        _ => 0,
    };

    /// <summary>Every committed offset record, in the order recorded.</summary>
    /// <exception cref="Ledger.CorruptRecordException">A stored record fails its check.</exception>
    public IEnumerable<OffsetRecord> Offsets() => _ledger.Offsets.ReadAll().Select(Record);

    /// <summary>The net position over every committed record: the footprint to date beside every retired offset.</summary>
    public NetPosition Position() => Position(_ledger.Offsets.ReadAll().Sum(o => o.Offset.Tonnes));

    /// <summary>The footprint to date beside <paramref name="offsetTonnes"/> retired (a caller that read the offsets already).</summary>
    public NetPosition Position(double offsetTonnes)
    {
        var totals = _ledger.ReadTotals();
        return new NetPosition(totals.Summary.TotalGrams / GramsPerTonne, totals.Summary.MarketGrams / GramsPerTonne, offsetTonnes);
    }

    /// <summary>
    /// The net position at the end of the day before <paramref name="until"/>: the footprint of the hours before it beside the
    /// offsets retired before it. Records before carbon format 3 state no time and are not in any hour.
    /// </summary>
    public NetPosition PositionUntil(DateOnly until)
    {
        var end = new DateTimeOffset(until.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var location = 0.0;
        var market = 0.0;
        foreach (var hour in _ledger.Periods.ReadHours(0, CarbonPeriods.HourOf(end.ToUnixTimeMilliseconds())))
        {
            location += hour.Summary.TotalGrams;
            market += hour.Summary.MarketGrams;
        }
        var offsets = 0.0;
        foreach (var o in _ledger.Offsets.ReadAll())
        {
            if (o.Offset.RetiredOn < until)
            {
                offsets += o.Offset.Tonnes;
            }
        }
        return new NetPosition(location / GramsPerTonne, market / GramsPerTonne, offsets);
    }

    /// <summary>A committed retirement as the reports show it.</summary>
    public static OffsetRecord Record(OffsetRecordedAt o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var r = o.Offset;
        return new OffsetRecord(r.Registry, r.Serial, r.Tonnes, r.Vintage, r.Project, r.RetiredOn, o.Height, r.Note);
    }

    /// <summary>hour, day or month (without case); empty is day.</summary>
    /// <exception cref="ArgumentException">Anything else.</exception>
    public static PeriodGranularity ParseGranularity(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "day" => PeriodGranularity.Day,
        "hour" => PeriodGranularity.Hour,
        "month" => PeriodGranularity.Month,
        _ => throw new ArgumentException($"granularity must be hour, day or month, got '{text}'"),
    };

    /// <summary>A month written <c>yyyy-MM</c>.</summary>
    /// <exception cref="ArgumentException">Anything else.</exception>
    public static DateTimeOffset ParseMonth(string? text) =>
        DateTimeOffset.TryParseExact(text, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var month)
            ? month
            : throw new ArgumentException($"the month must be written yyyy-MM, such as 2026-12, got '{text}'");

    private static DateTimeOffset Ceiling(DateTimeOffset at, PeriodGranularity g)
    {
        var floor = PeriodFiguresBuilder.Floor(at, g);
        return floor == at ? floor : PeriodFiguresBuilder.Next(floor, g);
    }

    private static DateTimeOffset Back(DateTimeOffset end, PeriodGranularity g) => g switch
    {
        PeriodGranularity.Hour => end.AddHours(-24),
        PeriodGranularity.Day => end.AddDays(-30),
        _ => end.AddMonths(-12),
    };
}
