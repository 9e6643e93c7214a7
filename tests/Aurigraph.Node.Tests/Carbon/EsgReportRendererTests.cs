using System.Text.RegularExpressions;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Carbon.Reporting;

namespace Aurigraph.Node.Tests.Carbon;

public sealed class EsgReportRendererTests
{
    private static string Section(string html, string id)
    {
        var start = html.IndexOf($"<section id=\"{id}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"section '{id}' is missing");
        return html[start..(html.IndexOf("</section>", start, StringComparison.Ordinal) + "</section>".Length)];
    }

    [Fact]
    public void Every_section_and_disclosure_is_there_and_the_page_is_self_contained()
    {
        var html = EsgReportRenderer.Render(ReportTestData.Esg());

        Assert.StartsWith("<!DOCTYPE html>", html);
        foreach (var id in new[] { "summary", "gri-305", "energy", "daily", "trend", "tcfd", "method" })
        {
            Section(html, id);
        }
        foreach (var disclosure in new[] { "305-1", "305-2", "305-3", "305-4", "305-5" })
        {
            Assert.Contains(disclosure, html);
        }
        Assert.Contains("<dd>aurigraph-devnet</dd>", html);
        Assert.Contains("<dd>2026-12 (UTC)</dd>", html);
        Assert.Contains("<dd>2027-01-01 02:00 UTC</dd>", html);
        Assert.Equal(2, Regex.Count(html, "<svg "));
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(@"(src|href)\s*=|<link|@import|url\(|@font-face", html);
        Assert.DoesNotMatch("https?://", html.Replace("xmlns=\"http://www.w3.org/2000/svg\"", "", StringComparison.Ordinal));
    }

    [Fact]
    public void The_scope_lines_show_both_bases_with_readable_units()
    {
        var gri = Section(EsgReportRenderer.Render(ReportTestData.Esg()), "gri-305");

        // 305-1 is zero: nothing is burnt.
        Assert.Matches("305-1 Direct.*?Not applicable: the node burns no fuel.*?<td class=\"n\">0 g CO₂e</td><td class=\"n\">0 g CO₂e</td>", gri);
        // 305-2: 90 % of 496 kg location-based; market 248 kg less the 49.6 kg embodied.
        Assert.Matches(@"305-2.*?<td class=""n"">446 kg CO₂e</td><td class=""n"">198 kg CO₂e</td>", gri);
        // 305-3: embodied, the same in both bases.
        Assert.Matches(@"305-3.*?<td class=""n"">49.6 kg CO₂e</td><td class=""n"">49.6 kg CO₂e</td>", gri);
        // 305-4: 496 000 g / 3 100 tx and 248 000 g / 3 100 tx.
        Assert.Matches(@"305-4.*?160 g CO₂e/tx.*?80.0 g CO₂e/tx", gri);
    }

    [Fact]
    public void The_reduction_compares_with_the_previous_month_or_says_there_is_none()
    {
        var gri = Section(EsgReportRenderer.Render(ReportTestData.Esg(previousGrams: 400_000)), "gri-305");
        Assert.Contains("Compared with 2026-11", gri);
        Assert.Contains("<td class=\"n\">400 kg CO₂e</td><td class=\"n\">496 kg CO₂e</td><td class=\"n\">+96.0 kg CO₂e (+24.0 %)</td>", gri);

        var reduced = Section(EsgReportRenderer.Render(ReportTestData.Esg(previousGrams: 992_000)), "gri-305");
        Assert.Contains("−496 kg CO₂e (−50.0 %)", reduced);

        var first = Section(EsgReportRenderer.Render(ReportTestData.Esg(previousGrams: null)), "gri-305");
        Assert.Contains("No previous month", first);
        Assert.DoesNotContain("Compared with", first);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(3UL)]
    public void The_lower_bound_banner_is_there_exactly_when_readings_are_missing(ulong missing)
    {
        var html = EsgReportRenderer.Render(ReportTestData.Esg(missing: missing));

        Assert.Equal(missing > 0, html.Contains("id=\"lower-bound\"", StringComparison.Ordinal));
        Assert.Equal(missing > 0, html.Contains(ReportPalette.LowerBoundBanner, StringComparison.Ordinal));
        Assert.Equal(missing > 0, html.Contains("3 node readings are missing", StringComparison.Ordinal));
        if (missing > 0)
        {
            Assert.True(html.IndexOf("id=\"lower-bound\"", StringComparison.Ordinal) < html.IndexOf("id=\"gri-305\"", StringComparison.Ordinal), "the banner comes before the figures");
        }
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(2UL)]
    public void A_day_with_missing_readings_is_marked_in_the_chart_as_a_lower_bound(ulong missing)
    {
        var html = EsgReportRenderer.Render(ReportTestData.Esg(missing: missing)); // the month's last day misses them

        const string marker = "31: readings missing, a lower bound";
        Assert.Equal(missing > 0, html.Contains(marker, StringComparison.Ordinal));
        Assert.Equal(missing > 0, html.Contains("readings missing: the figure is a lower bound", StringComparison.Ordinal));
        // One day's marker and the month's (the month holds the day) in the trend, nothing on the 30 complete days.
        Assert.Equal(missing > 0 ? 2 : 0, System.Text.RegularExpressions.Regex.Count(html, "readings missing, a lower bound</title>"));
    }

    [Fact]
    public void Text_from_the_model_is_encoded()
    {
        var hostile = ReportTestData.Offset with { Project = "<script>alert(1)</script>", Note = "a & b \"quoted\"" };
        var sci = ReportTestData.Sci with { Issues = ["<b>bold</b> issue"] };
        var model = ReportTestData.Esg(offsets: [hostile], method: ReportTestData.Method(sci)) with { ChainId = "chain<i>" };

        var html = EsgReportRenderer.Render(model);

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("a &amp; b &quot;quoted&quot;", html);
        Assert.Contains("&lt;b&gt;bold&lt;/b&gt; issue", html);
        Assert.Contains("<dd>chain&lt;i&gt;</dd>", html);
        Assert.DoesNotContain("chain<i>", html);
    }

    [Fact]
    public void Offsets_and_the_net_position_stand_apart_from_the_footprint()
    {
        var html = EsgReportRenderer.Render(ReportTestData.Esg());
        var tcfd = Section(html, "tcfd");

        Assert.Contains("<td>Gold Standard</td><td>GS1-1-KE-GS1234-1-2026-100-199</td><td class=\"n\">0.200</td><td class=\"n\">2025</td><td>Kenya cookstoves</td><td>2026-12-15</td><td class=\"n\">4,242</td><td>retired for chain operations</td>", tcfd);
        Assert.Matches(@"Measured footprint, location-based</td><td class=""n"">1.25</td>", tcfd);
        Assert.Matches(@"Measured footprint, market-based</td><td class=""n"">0.750</td>", tcfd);
        Assert.Matches(@"Offsets retired</td><td class=""n"">0.500</td>", tcfd);
        Assert.Matches(@"Net position \(location-based footprint − offsets\)</td><td class=""n"">0.750</td>", tcfd);
        Assert.Contains("never subtracted from the measured footprint", tcfd);
        // The month's footprint in the summary and GRI 305 is the measured one, not reduced by the 0.2 t retired.
        Assert.Contains("<div class=\"v\">496 kg CO₂e</div>", Section(html, "summary"));
        Assert.DoesNotContain("296 kg", html);
    }

    [Fact]
    public void The_budget_is_shown_when_configured()
    {
        var none = Section(EsgReportRenderer.Render(ReportTestData.Esg()), "tcfd");
        Assert.Contains("No budget configured for 2026-12.", none);

        var within = Section(EsgReportRenderer.Render(ReportTestData.Esg(budget: new BudgetFigures("month", "2026-12", 1_000_000, 496_000))), "tcfd");
        Assert.Contains("Used 496 kg CO₂e of the month budget of 1.00 t CO₂e for 2026-12: 49.6 %.", within);
        Assert.Contains("width:49.6%;background:" + ReportPalette.BudgetUsed, within);

        var over = Section(EsgReportRenderer.Render(ReportTestData.Esg(budget: new BudgetFigures("month", "2026-12", 400_000, 496_000))), "tcfd");
        Assert.Contains("the budget is exceeded", over);
        Assert.Contains("width:100%;background:" + ReportPalette.BudgetExceeded, over);
    }

    [Fact]
    public void The_charts_draw_a_bar_per_day_and_per_month_in_both_bases()
    {
        var html = EsgReportRenderer.Render(ReportTestData.Esg());

        Assert.Equal(31, Regex.Count(Section(html, "daily"), $"<rect [^>]*fill=\"{ReportPalette.LocationBar}\""));
        var trend = Section(html, "trend");
        Assert.Equal(12, Regex.Count(trend, $"<rect [^>]*fill=\"{ReportPalette.LocationBar}\""));
        Assert.Equal(12, Regex.Count(trend, $"<rect [^>]*fill=\"{ReportPalette.MarketBar}\""));
        Assert.Contains("<title>31 location-based, per day (UTC): 31.0 kg CO₂e</title>", Section(html, "daily"));
    }

    [Fact]
    public void The_energy_table_and_the_method_say_what_was_counted()
    {
        var sci = new SciDisclosure([1, 2], ["a", "b"], false, ["the readings mix intensity types (a, b): one SCI figure should use one"]);
        var html = EsgReportRenderer.Render(ReportTestData.Esg(method: ReportTestData.Method(sci)));

        var energy = Section(html, "energy");
        Assert.Contains("<td>CPU</td><td class=\"n\">4.00 kWh</td>", energy);
        Assert.Contains("IT energy (sum of the above)</td><td class=\"n\">6.50 kWh</td>", energy);
        Assert.Contains("Facility overhead (PUE 1.20)</td><td class=\"n\">1.30 kWh</td>", energy);
        var method = Section(html, "method");
        Assert.Contains(SciDisclosure.Specification, method);
        Assert.Contains("<td>Energy-model versions</td><td>1, 2</td>", method);
        Assert.Contains("<td>Conforms</td><td>no</td>", method);
        Assert.Contains("<li>the readings mix intensity types (a, b): one SCI figure should use one</li>", method);
        Assert.Contains("node 1: energy attribute certificates (GO), supplier statement 2026", method);
        Assert.Contains("static grid table v7: national yearly averages", method);
        Assert.Contains("<td>Conforms</td><td>yes</td>", EsgReportRenderer.Render(ReportTestData.Esg()));
    }

    [Theory]
    [InlineData(0, "0 g CO₂e")]
    [InlineData(999.4, "999 g CO₂e")]
    [InlineData(1_234, "1.23 kg CO₂e")]
    [InlineData(1_500_000, "1.50 t CO₂e")]
    [InlineData(12_345_678, "12.3 t CO₂e")]
    [InlineData(0.000_42, "0.000420 g CO₂e")]
    [InlineData(-2_500, "-2.50 kg CO₂e")]
    public void Masses_read_in_the_unit_that_suits_them(double grams, string written) => Assert.Equal(written, Html.Mass(grams));
}
