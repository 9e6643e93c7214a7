using Aurigraph.Node.Carbon;
using Aurigraph.Node.Carbon.Reporting;

namespace Aurigraph.Node.Tests.Carbon;

public sealed class PeriodFiguresBuilderTests
{
    private static CarbonHour Hour(DateTimeOffset at, double grams, double market, ulong transactions, ulong missing = 0) =>
        new(at.ToUnixTimeMilliseconds() / CarbonHour.MillisecondsPerHour, 1, transactions, CarbonSummary.Zero with { TotalGrams = grams, MarketGrams = market }, 3, missing);

    private static readonly DateTimeOffset Dec = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Hours_sum_into_every_day_of_the_range_in_order_with_zeros_and_lower_bounds()
    {
        var hours = new[]
        {
            Hour(Dec.AddDays(-1).AddHours(23), 100, 10, 1),  // 30 November: before the range
            Hour(Dec.AddHours(1), 2, 1, 4),
            Hour(Dec.AddHours(23), 3, 1.5, 6, missing: 1),
            Hour(Dec.AddDays(2).AddHours(5), 7, 3, 10),
            Hour(Dec.AddDays(3), 50, 5, 1),                   // 4 December: after the range
        };

        var days = PeriodFiguresBuilder.Build(hours, Dec.AddHours(6), Dec.AddDays(3), PeriodGranularity.Day);

        Assert.Equal(["2026-12-01", "2026-12-02", "2026-12-03"], days.Select(d => d.Label));
        Assert.Equal([5.0, 0.0, 7.0], days.Select(d => d.LocationGrams));
        Assert.Equal([2.5, 0.0, 3.0], days.Select(d => d.MarketGrams));
        Assert.Equal([10UL, 0UL, 10UL], days.Select(d => d.Transactions));
        Assert.Equal([true, false, false], days.Select(d => d.LowerBound));
        Assert.Equal(0.5, days[0].LocationGramsPerTransaction);
        Assert.Equal(Dec.AddDays(1), days[0].End);
    }

    [Fact]
    public void Months_follow_the_calendar_and_oversized_or_empty_ranges_are_refused()
    {
        var hours = new[] { Hour(Dec.AddMonths(-1).AddDays(29), 1, 1, 1), Hour(Dec.AddDays(30).AddHours(23), 2, 2, 2), Hour(Dec.AddMonths(1), 4, 4, 4) };
        var months = PeriodFiguresBuilder.Build(hours, Dec.AddMonths(-1), Dec.AddMonths(2), PeriodGranularity.Month);
        Assert.Equal(["2026-11", "2026-12", "2027-01"], months.Select(m => m.Label));
        Assert.Equal([1.0, 2.0, 4.0], months.Select(m => m.LocationGrams));

        Assert.Throws<ArgumentException>(() => PeriodFiguresBuilder.Build([], Dec, Dec, PeriodGranularity.Day));
        Assert.Throws<ArgumentException>(() => PeriodFiguresBuilder.Build([], Dec, Dec.AddHours(PeriodFiguresBuilder.MaxPeriods + 1), PeriodGranularity.Hour));
    }

    [Fact]
    public void The_disclosure_tells_direct_from_lifecycle_averages_and_flags_the_mix()
    {
        var lifecycle = CarbonTestData.Reading(1, 1) with { Grid = CarbonTestData.Grid with { Source = GridIntensitySources.ElectricityMaps, Type = IntensityType.LifecycleAverage } };
        var direct = CarbonTestData.Reading(1, 2) with { Grid = CarbonTestData.Grid with { Source = GridIntensitySources.ElectricityMaps, Type = IntensityType.DirectAverage } };

        var d = SciDisclosure.Of([lifecycle, direct], 0);

        Assert.Equal(2, d.IntensityTypes.Count);
        Assert.Contains(d.IntensityTypes, t => t.Contains("direct factors", StringComparison.Ordinal));
        Assert.Contains(d.Issues, i => i.Contains("mix intensity types", StringComparison.Ordinal));
        Assert.Empty(SciDisclosure.Of([lifecycle], 0).Issues);
    }
}
