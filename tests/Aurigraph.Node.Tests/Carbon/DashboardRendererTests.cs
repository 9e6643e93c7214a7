using System.Text.RegularExpressions;
using Aurigraph.Node.Carbon.Reporting;

namespace Aurigraph.Node.Tests.Carbon;

public sealed class DashboardRendererTests
{
    private static string Panel(string html, string id)
    {
        var start = html.IndexOf($"id=\"{id}\">", StringComparison.Ordinal);
        Assert.True(start >= 0, $"panel '{id}' is missing");
        return html[start..html.IndexOf("</section>", start, StringComparison.Ordinal)];
    }

    private static int Fills(string html, string colour) => Regex.Count(html, $"<rect [^>]*fill=\"{colour}\"");

    [Fact]
    public void The_six_panels_are_there_and_the_budget_only_when_configured()
    {
        var html = DashboardRenderer.Render(ReportTestData.Dashboard());

        foreach (var id in new[] { "emission-rate", "daily-trend", "heatmap", "ranking", "offset-progress", "energy" })
        {
            Panel(html, id);
        }
        Assert.DoesNotContain("id=\"budget\"", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(@"(src|href)\s*=|<link|@import|url\(", html);
        Assert.Equal(24, Fills(Panel(html, "emission-rate"), ReportPalette.LocationBar));
        Assert.Equal(30, Fills(Panel(html, "daily-trend"), ReportPalette.MarketBar));

        var budgeted = DashboardRenderer.Render(ReportTestData.Dashboard(budget: new BudgetFigures("day", "2026-12-21", 2_000, 1_500)));
        Assert.Contains("Used 1.50 kg CO₂e of the day budget of 2.00 kg CO₂e for 2026-12-21: 75.0 %.", Panel(budgeted, "budget"));
    }

    [Fact]
    public void A_cell_without_samples_is_a_gap_in_the_gap_colour_and_the_legend_names_it()
    {
        var full = Panel(DashboardRenderer.Render(ReportTestData.Dashboard(ReportTestData.Heatmap())), "heatmap");
        var gapped = Panel(DashboardRenderer.Render(ReportTestData.Dashboard(ReportTestData.Heatmap(3, 17))), "heatmap");
        // A zone with only some hours given: the others are gaps too.
        var partial = Panel(DashboardRenderer.Render(ReportTestData.Dashboard([new("NO", 5, 30, 12)])), "heatmap");

        Assert.Equal(48, Regex.Count(full, "<rect "));
        Assert.Equal(0, Fills(full, ReportPalette.HeatmapGap));
        Assert.Equal(2, Fills(gapped, ReportPalette.HeatmapGap));
        Assert.Contains("<title>FR 03:00 UTC: no data</title>", gapped);
        Assert.Equal(23, Fills(partial, ReportPalette.HeatmapGap));
        Assert.Contains($"background:{ReportPalette.HeatmapGap}\"></span>no data", full);
    }

    [Theory]
    [InlineData(0, "#1a9850")]
    [InlineData(300, "#fee08b")]
    [InlineData(375, "#fdb672")]
    [InlineData(2_000, "#7f0000")]
    public void Cells_are_coloured_on_the_intensity_scale(double gramsPerKwh, string colour)
    {
        var heatmap = Panel(DashboardRenderer.Render(ReportTestData.Dashboard([new("DE", 0, gramsPerKwh, 5)])), "heatmap");

        Assert.Equal(1, Fills(heatmap, colour));
        Assert.Equal(23, Fills(heatmap, ReportPalette.HeatmapGap));
    }

    [Fact]
    public void The_ranking_keeps_the_order_given_and_encodes_the_ids()
    {
        var html = DashboardRenderer.Render(ReportTestData.Dashboard(top: [new("<img onerror=x>", 9, 12.5), new("tx&2", 8, 0.5)]));
        var ranking = Panel(html, "ranking");

        Assert.Contains("<tr><td class=\"n\">1</td><td class=\"id\">&lt;img onerror=x&gt;</td><td class=\"n\">9</td><td class=\"n\">12.5 g CO₂e</td></tr>", ranking);
        Assert.Contains("<tr><td class=\"n\">2</td><td class=\"id\">tx&amp;2</td>", ranking);
        Assert.DoesNotContain("<img", html);

        Assert.Contains("No committed transactions in the last 24 hours.", Panel(DashboardRenderer.Render(ReportTestData.Dashboard(top: [])), "ranking"));
    }

    [Fact]
    public void Offset_progress_sets_offsets_beside_the_footprint_without_subtracting()
    {
        var offsets = Panel(DashboardRenderer.Render(ReportTestData.Dashboard()), "offset-progress");

        Assert.Contains("Footprint (location-based): 2.00 t CO₂e", offsets);
        Assert.Contains("Offsets retired: 500 kg CO₂e — 25.0 % of the footprint", offsets);
        Assert.Contains("width:100%;background:" + ReportPalette.LocationBar, offsets);
        Assert.Contains("width:25%;background:" + ReportPalette.OffsetBar, offsets);
        Assert.Matches(@"Net position \(location-based footprint − offsets\)</td><td class=""n"">1.50</td>", offsets);
        Assert.Contains("never subtracted", offsets);
    }

    [Fact]
    public void The_energy_breakdown_stacks_every_component_by_its_share()
    {
        var energy = Panel(DashboardRenderer.Render(ReportTestData.Dashboard()), "energy");

        // 4.0 of 7.8 kWh facility energy; the 1.3 kWh overhead is its own segment.
        Assert.Matches($"<rect x=\"0\" y=\"0\" width=\"564.1\" height=\"30\" fill=\"{ReportPalette.CpuEnergy}\"><title>CPU: 4.00 kWh</title>", energy);
        Assert.Equal(1, Fills(energy, ReportPalette.FacilityOverheadEnergy));
        Assert.Contains("Facility overhead (PUE) 1.30 kWh (16.7 %)", energy);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(2UL)]
    public void The_lower_bound_banner_counts_the_missing_readings_of_the_days(ulong missing)
    {
        var html = DashboardRenderer.Render(ReportTestData.Dashboard(missing: missing));

        Assert.Equal(missing > 0, html.Contains("id=\"lower-bound\"", StringComparison.Ordinal));
        Assert.Equal(missing > 0, html.Contains("2 node readings are missing</strong> (900 present) in the last 30 days", StringComparison.Ordinal));
    }
}
