using Aurigraph.Node.Carbon.Reporting;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>The carbon pages as Chromium draws them: checked by the colours of their pixels.</summary>
[Trait("Category", "Render")]
public sealed class ReportRenderingTests
{
    /// <summary>The rows the header and the lower-bound banner take at the top of a page.</summary>
    private const int TopRows = 320;

    [Theory]
    [InlineData(3UL)]
    [InlineData(0UL)]
    public void The_esg_report_draws_its_bars_and_the_banner_exactly_when_readings_are_missing(ulong missing)
    {
        using var shot = Screenshot.Of(EsgReportRenderer.Render(ReportTestData.Esg(missing: missing)), $"esg-report-missing-{missing}", height: 3400);

        Assert.True(shot.InkFraction() > 0.02, $"the page is blank ({shot.InkFraction():P2} ink)");
        var banner = shot.Count(ReportPalette.LowerBoundBanner, toRow: TopRows);
        if (missing > 0)
        {
            Assert.True(banner > 20_000, $"the lower-bound banner is not drawn at the top ({banner} pixels of its colour)");
        }
        else
        {
            Assert.True(banner == 0, $"{banner} pixels of the banner colour at the top without missing readings");
        }
        // The whole report fits the window: 31 daily bars and 12 monthly bars in each basis, the largest about 200 px high.
        var location = shot.Count(ReportPalette.LocationBar);
        var market = shot.Count(ReportPalette.MarketBar);
        Assert.True(location > 10_000, $"the location-based bars are not drawn ({location} pixels)");
        Assert.True(market > 3_000, $"the market-based bars are not drawn ({market} pixels)");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_dashboard_draws_its_panels_and_the_heatmap_gaps(bool gaps)
    {
        var model = ReportTestData.Dashboard(gaps ? ReportTestData.Heatmap(2, 3, 4, 5) : ReportTestData.Heatmap(), new BudgetFigures("day", "2026-12-21", 2_000, 1_500));
        using var shot = Screenshot.Of(DashboardRenderer.Render(model), $"dashboard-gaps-{gaps}");

        Assert.True(shot.InkFraction() > 0.02, $"the page is blank ({shot.InkFraction():P2} ink)");
        Assert.True(shot.Count(ReportPalette.LowerBoundBanner, toRow: TopRows) == 0, "a lower-bound banner without missing readings");
        // Four gap cells of about 38 × 23 px; without gaps only the legend's swatch (12 × 12 px) has the colour.
        var gap = shot.Count(ReportPalette.HeatmapGap);
        Assert.True(gaps ? gap > 2_000 : gap < 400, $"{gap} pixels of the gap colour with{(gaps ? "" : "out")} gap cells");
        foreach (var (name, colour) in new[] { ("location-based bars", ReportPalette.LocationBar), ("market-based bars", ReportPalette.MarketBar), ("offset bar", ReportPalette.OffsetBar), ("budget meter", ReportPalette.BudgetUsed), ("CPU energy", ReportPalette.CpuEnergy) })
        {
            var pixels = shot.Count(colour);
            Assert.True(pixels > 1_000, $"the {name} are not drawn ({pixels} pixels of {colour})");
        }
    }
}
