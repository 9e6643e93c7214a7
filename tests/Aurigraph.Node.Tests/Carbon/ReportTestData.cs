using Aurigraph.Node.Carbon;
using Aurigraph.Node.Carbon.Reporting;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>Report and dashboard models with figures of their own (not taken from the grid table), for the renderer tests.</summary>
internal static class ReportTestData
{
    public static readonly DateTimeOffset December = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    public static readonly EnergyFigures Energy = new(CpuKwh: 4.0, MemoryKwh: 1.5, NetworkKwh: 0.25, StorageKwh: 0.75, ConsensusKwh: 0, FacilityKwh: 7.8);

    /// <summary>Figures of one period: operational is the location figure less 10 % embodied.</summary>
    public static PeriodFigures Period(string label, DateTimeOffset start, DateTimeOffset end, double grams, double market, ulong transactions, ulong missing = 0, EnergyFigures? energy = null) =>
        new(label, start, end, transactions, transactions / 10, grams, market, grams * 0.9, grams * 0.1, energy ?? Energy, 30, missing);

    /// <summary>The days of December 2026: day d emits 1000 × d g location-based and half of it market-based.</summary>
    public static List<PeriodFigures> Days(ulong missingOnLastDay = 0)
    {
        var days = new List<PeriodFigures>();
        for (var d = 0; d < 31; d++)
        {
            var start = December.AddDays(d);
            days.Add(Period(start.ToString("yyyy-MM-dd"), start, start.AddDays(1), 1000.0 * (d + 1), 500.0 * (d + 1), 100, d == 30 ? missingOnLastDay : 0));
        }
        return days;
    }

    public static readonly OffsetRecord Offset = new("Gold Standard", "GS1-1-KE-GS1234-1-2026-100-199", 0.2, 2025, "Kenya cookstoves", new DateOnly(2026, 12, 15), 4_242, "retired for chain operations");

    public static readonly SciDisclosure Sci = new([2], ["location-based average, hourly (Electricity Maps)"], true, []);

    public static ReportMethod Method(SciDisclosure? sci = null) =>
        new(sci ?? Sci, ["node 1: energy attribute certificates (GO), supplier statement 2026"], "static grid table v7: national yearly averages");

    /// <summary>
    /// The December 2026 report: 496 kg location-based (1000 g × 1 + … + 31), 248 kg market-based, 3100 transactions;
    /// <paramref name="previousGrams"/> for November when given.
    /// </summary>
    public static EsgReportModel Esg(ulong missing = 0, double? previousGrams = 400_000, IReadOnlyList<OffsetRecord>? offsets = null, BudgetFigures? budget = null, ReportMethod? method = null)
    {
        var days = Days(missing);
        var total = Period("2026-12", December, December.AddMonths(1), 496_000, 248_000, 3_100, missing);
        var previous = new List<PeriodFigures>();
        if (previousGrams is { } p)
        {
            for (var m = 11; m >= 1; m--)
            {
                var start = December.AddMonths(-m);
                var grams = m == 1 ? p : 20_000.0 * (12 - m);
                previous.Add(Period(start.ToString("yyyy-MM"), start, start.AddMonths(1), grams, grams * 0.6, 2_000));
            }
        }
        return new EsgReportModel(
            "aurigraph-devnet", 1, "2026-12", December.AddMonths(1).AddHours(2), total, days, previous, budget,
            offsets ?? [Offset], new NetPosition(FootprintTonnes: 1.25, MarketFootprintTonnes: 0.75, OffsetTonnes: 0.5), method ?? Method());
    }

    /// <summary>Heatmap cells of two zones over 24 hours (intensity 100 + 20 × hour); <paramref name="gaps"/> hours of the second zone without samples.</summary>
    public static List<IntensityCell> Heatmap(params int[] gaps)
    {
        var cells = new List<IntensityCell>();
        foreach (var zone in new[] { "DE", "FR" })
        {
            for (var h = 0; h < 24; h++)
            {
                var gap = zone == "FR" && gaps.Contains(h);
                cells.Add(new IntensityCell(zone, h, gap ? 0 : 100 + (20 * h), gap ? 0 : 30));
            }
        }
        return cells;
    }

    public static DashboardModel Dashboard(IReadOnlyList<IntensityCell>? heatmap = null, BudgetFigures? budget = null, IReadOnlyList<RankedTransaction>? top = null, ulong missing = 0)
    {
        var now = December.AddDays(20).AddHours(12);
        var hours = new List<PeriodFigures>();
        for (var h = 24; h >= 1; h--)
        {
            var start = now.AddHours(-h);
            hours.Add(Period(start.ToString("yyyy-MM-dd'T'HH"), start, start.AddHours(1), 50.0 + h, 25.0 + h, 10));
        }
        var days = new List<PeriodFigures>();
        for (var d = 30; d >= 1; d--)
        {
            var start = December.AddDays(21 - d);
            days.Add(Period(start.ToString("yyyy-MM-dd"), start, start.AddDays(1), 1_000.0 + (10 * d), 600.0 + d, 240, d == 1 ? missing : 0));
        }
        return new DashboardModel(
            "aurigraph-devnet", 2, now, hours, days, heatmap ?? Heatmap(), top ?? [new RankedTransaction("tx-aa01", 77, 3.5), new RankedTransaction("tx-bb02", 78, 1.25)],
            new NetPosition(FootprintTonnes: 2.0, MarketFootprintTonnes: 1.2, OffsetTonnes: 0.5), Energy, budget);
    }
}
