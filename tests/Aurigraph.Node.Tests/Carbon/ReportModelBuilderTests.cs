using Aurigraph.Node.Carbon;
using Aurigraph.Node.Carbon.Reporting;
using Aurigraph.Node.Storage;
using Microsoft.Extensions.Time.Testing;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>The ESG report's and the dashboard's models, built from a ledger that applied real carbon sections.</summary>
public sealed class ReportModelBuilderTests : IDisposable
{
    private static readonly DateTimeOffset November = new(2026, 11, 10, 15, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset DecemberMorning = new(2026, 12, 20, 8, 30, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-report-model-" + Guid.NewGuid().ToString("N"));
    private readonly NodeDatabase _db;
    private readonly CarbonLedger _ledger;

    public ReportModelBuilderTests()
    {
        _db = NodeDatabase.Open(_dir, "report-models", 1);
        _ledger = new CarbonLedger(_db.Db, _db.Carbon);
        _ledger.Load();
        // Block 1 (3 tx) is recorded in November by readings with M off; blocks 2 (5 tx) and 3 (2 tx) in December with M on.
        var withoutM = CarbonTestData.MainRecord(1, 3, (1, 7), (2, 8), (3, 9)) is var r
            ? r with { Entries = [.. r.Entries.Select(e => e with { Reading = e.Reading! with { Coefficients = e.Reading.Coefficients with { EmbodiedEnabled = false } } })] }
            : null!;
        Apply(1, 3, null);
        Apply(2, 5, new CarbonSection(November.ToUnixTimeMilliseconds(), [withoutM], [Offset("GS-NOV", 1.5, new DateOnly(2026, 11, 2))]));
        Apply(3, 2, new CarbonSection(DecemberMorning.ToUnixTimeMilliseconds(), [CarbonTestData.MainRecord(2, 5, (1, 40), (2, 41), (3, 42))], [Offset("GS-DEC", 4, new DateOnly(2026, 12, 1))]));
        // Recorded in December, retired in November: it belongs to November's offsets.
        Apply(4, 0, new CarbonSection(DecemberMorning.AddHours(1).ToUnixTimeMilliseconds(), [CarbonTestData.MainRecord(3, 2, (1, 900), (2, 901), (3, 902))], [Offset("GS-LATE", 0.5, new DateOnly(2026, 11, 20))]));
    }

    public void Dispose()
    {
        _db.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static OffsetRetirement Offset(string serial, double tonnes, DateOnly retiredOn) =>
        new("Gold Standard", serial, tonnes, 2025, "Cookstoves", retiredOn, "");

    private void Apply(ulong height, int transactions, CarbonSection? section)
    {
        using var batch = new WriteBatch();
        _ledger.Apply(batch, height, transactions, section is null ? [] : CarbonCodec.EncodeSection(section));
        _db.Db.Write(batch);
    }

    private ReportModelBuilder Builder(DateTimeOffset now, double monthBudget = 0, double dayBudget = 0, IntensityHistoryStore? history = null)
    {
        var data = new CarbonReportData(_ledger, new CarbonBudgetOptions { GramsPerMonth = monthBudget, GramsPerDay = dayBudget }, new FakeTimeProvider(now));
        var sources = new ReportSources("report-models", 1, history ?? new IntensityHistoryStore(_db.Db, _db.Intensity, _db.NoSyncWrite), ["DE"],
            height => [.. Enumerable.Range(0, _ledger.ReadView(height)?.TransactionCount ?? 0).Select(i => $"tx-{height}-{i}")], "static table, test");
        return new ReportModelBuilder(data, _ledger, sources);
    }

    private double Grams(params ulong[] heights) => heights.Sum(h => _ledger.ReadView(h)!.Summary.TotalGrams);

    [Fact]
    public void December_report_holds_its_own_records_days_offsets_and_method_and_the_position_at_its_end()
    {
        var report = Builder(DecemberMorning.AddDays(5), monthBudget: 1_000).Esg(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal("2026-12", report.Month);
        Assert.Equal((7UL, 2UL), (report.Total.Transactions, report.Total.Heights));
        Assert.Equal(Grams(2, 3), report.Total.LocationGrams, 1e-12);
        Assert.Equal(31, report.Days.Count);
        Assert.Equal(report.Total.LocationGrams, report.Days.Sum(d => d.LocationGrams), 1e-12);
        Assert.Equal(7UL, report.Days.Single(d => d.Label == "2026-12-20").Transactions);
        Assert.Equal(12, report.PreviousMonths.Count);
        Assert.Equal(("2026-11", 3UL), (report.PreviousMonths[^1].Label, report.PreviousMonths[^1].Transactions));
        Assert.Equal(("2025-12", 0UL), (report.PreviousMonths[0].Label, report.PreviousMonths[0].Transactions));
        Assert.Equal(new BudgetFigures("month", "2026-12", 1_000, report.Total.LocationGrams), report.Budget);
        Assert.Equal(["GS-DEC"], report.OffsetsRetired.Select(o => o.Serial));
        Assert.Equal(Grams(1, 2, 3) / 1e6, report.Position.FootprintTonnes, 1e-15);
        Assert.Equal(6, report.Position.OffsetTonnes, 12);
        // The method is December's: its readings all counted M (November's did not).
        Assert.True(report.Method.Sci.EmbodiedIncluded, string.Join("; ", report.Method.Sci.Issues));
        Assert.Equal(3, report.Method.MarketBases.Count);
        Assert.Equal("static table, test", report.Method.StaticTableSource);
    }

    [Fact]
    public void November_report_states_its_readings_without_M_and_counts_offsets_by_retirement_day()
    {
        var report = Builder(DecemberMorning.AddDays(5)).Esg(new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero));

        Assert.Equal(("2026-11", 3UL), (report.Month, report.Total.Transactions));
        Assert.Equal(30, report.Days.Count);
        Assert.Null(report.Budget);
        Assert.Equal(["GS-NOV", "GS-LATE"], report.OffsetsRetired.Select(o => o.Serial));
        Assert.False(report.Method.Sci.EmbodiedIncluded);
        Assert.Contains(report.Method.Sci.Issues, i => i.Contains("embodied emissions off", StringComparison.Ordinal));
        Assert.Equal(Grams(1) / 1e6, report.Position.FootprintTonnes, 1e-15);
        Assert.Equal(2, report.Position.OffsetTonnes, 12);
        Assert.Equal(report.Position.FootprintTonnes - 2, report.Position.NetTonnes, 12);
    }

    [Fact]
    public void Dashboard_ranks_the_last_days_transactions_and_draws_hours_without_intensity_as_gaps()
    {
        var history = new IntensityHistoryStore(_db.Db, _db.Intensity, _db.NoSyncWrite);
        foreach (var (day, grams) in new[] { (18, 100.0), (19, 200.0) })
        {
            var hour = new DateTimeOffset(2026, 12, day, 10, 0, 0, TimeSpan.Zero);
            history.Put("DE", new IntensityHour(hour, grams, "electricitymaps", IntensityType.LifecycleAverage, hour, "DE", false, null, IntensityOrigin.Live, hour, null));
        }
        var now = DecemberMorning.AddHours(3);
        var dashboard = Builder(now, dayBudget: 10, history: history).Dashboard();

        Assert.Equal(24, dashboard.Hours.Count);
        Assert.Equal(30, dashboard.Days.Count);
        Assert.Equal("2026-12-20", dashboard.Days[^1].Label);
        // November's block is outside the last 24 hours; blocks 2 and 3 rank by gCO2e per transaction, all their transactions listed.
        var expected = Enumerable.Range(2, 2).Select(h => _ledger.ReadView((ulong)h)!).OrderByDescending(v => v.GramsPerTransaction)
            .SelectMany(v => Enumerable.Range(0, v.TransactionCount).Select(i => new RankedTransaction($"tx-{v.Height}-{i}", v.Height, v.GramsPerTransaction)));
        Assert.Equal(expected, dashboard.TopTransactions);
        Assert.Equal(24, dashboard.Heatmap.Count);
        Assert.Equal(new IntensityCell("DE", 10, 150, 2), dashboard.Heatmap[10]);
        Assert.Equal(0, dashboard.Heatmap[11].Samples);
        var budget = Assert.IsType<BudgetFigures>(dashboard.Budget);
        Assert.Equal(("day", "2026-12-20", 10.0), (budget.Period, budget.Label, budget.BudgetGrams));
        Assert.Equal(Grams(2, 3), budget.UsedGrams, 1e-12);
        Assert.Equal(6, dashboard.Position.OffsetTonnes, 12);
        Assert.Equal(_ledger.ReadTotals().Summary.FacilityKwh, dashboard.Energy.FacilityKwh);
    }
}
