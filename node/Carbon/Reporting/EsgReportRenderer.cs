using System.Globalization;
using System.Text;

namespace Aurigraph.Node.Carbon.Reporting;

/// <summary>
/// Writes the monthly ESG report (<see cref="EsgReportModel"/>) as one self-contained HTML document for a person to read:
/// the GRI 305 emissions disclosures, the energy by component, the daily and monthly charts, the TCFD metrics (budget,
/// offsets, net position) and the method. Inline CSS and SVG only: no script, no external resource, no web font. Every
/// text of the model is HTML-encoded; every number is written in the invariant culture.
/// </summary>
public static class EsgReportRenderer
{
    /// <summary>The report of <paramref name="model"/> as an HTML document.</summary>
    public static string Render(EsgReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var html = new StringBuilder(64 * 1024);
        var total = model.Total;
        Html.BeginDocument(html, "ESG carbon report " + model.Month + " — " + model.ChainId);
        Html.Header(html, "ESG carbon report — " + model.Month,
            ("Chain", model.ChainId), ("Node", Html.Count(model.NodeId)), ("Month", model.Month + " (UTC)"), ("Generated", Html.Instant(model.GeneratedAt)));
        ReportSections.LowerBoundBanner(html, total.MissingReadings, total.PresentReadings, model.Month);
        Summary(html, total);
        Gri305(html, model);
        html.Append("<section id=\"energy\">\n<h2>Energy by component</h2>\n");
        ReportSections.EnergyTable(html, total.Energy);
        html.Append("</section>\n");
        Charts(html, model);
        Tcfd(html, model);
        Method(html, model.Method);
        Html.EndDocument(html);
        return html.ToString();
    }

    private static void Summary(StringBuilder html, PeriodFigures total)
    {
        html.Append("<section id=\"summary\" class=\"cards\">");
        Card(html, "Emissions, location-based", Html.Mass(total.LocationGrams));
        Card(html, "Emissions, market-based", Html.Mass(total.MarketGrams));
        Card(html, "Committed transactions", Html.Count(total.Transactions));
        Card(html, "Per transaction, location-based", Html.Mass(total.LocationGramsPerTransaction));
        Card(html, "Facility energy", Html.Kwh(total.Energy.FacilityKwh));
        html.Append("</section>\n");
    }

    private static void Card(StringBuilder html, string name, string value) =>
        html.Append("<div class=\"card\"><div class=\"k\">").Append(Html.Encode(name)).Append("</div><div class=\"v\">").Append(Html.Encode(value)).Append("</div></div>");

    private static void Gri305(StringBuilder html, EsgReportModel model)
    {
        var t = model.Total;
        var marketOperational = Math.Max(t.MarketGrams - t.EmbodiedGrams, 0);
        html.Append("<section id=\"gri-305\">\n<h2>GRI 305: Emissions</h2>\n");
        Html.Paragraph(html, "Location-based figures use the grid average of each node's region; market-based figures use each node's contractual (market) factor. Both are shown side by side; neither replaces the other.", "note");
        Html.BeginTable(html, "gri", "Disclosure", "What it covers", Cell.N("Location-based"), Cell.N("Market-based"));
        Html.Row(html, "305-1 Direct (Scope 1) GHG emissions", "Not applicable: the node burns no fuel and owns no combustion source.", Cell.N(Html.Mass(0)), Cell.N(Html.Mass(0)));
        Html.Row(html, "305-2 Energy indirect (Scope 2) GHG emissions", "Operational emissions of the electricity the nodes' hosts use (IT energy × PUE × grid factor).",
            Cell.N(Html.Mass(t.OperationalGrams)), Cell.N(Html.Mass(marketOperational)));
        Html.Row(html, "305-3 Other indirect (Scope 3) GHG emissions", "Embodied emissions (M) of the host share, the same in both bases.",
            Cell.N(Html.Mass(t.EmbodiedGrams)), Cell.N(Html.Mass(t.EmbodiedGrams)));
        Html.SumRow(html, "Total (Scope 1 + 2 + 3)", "", Cell.N(Html.Mass(t.LocationGrams)), Cell.N(Html.Mass(t.MarketGrams)));
        Html.Row(html, "305-4 GHG emissions intensity", "gCO₂e per committed transaction (" + Html.Count(t.Transactions) + " transactions in " + Html.Count(t.Heights) + " blocks).",
            Cell.N(t.Transactions == 0 ? "no transactions" : Html.Number(t.LocationGramsPerTransaction) + " g CO₂e/tx"),
            Cell.N(t.Transactions == 0 ? "no transactions" : Html.Number(t.MarketGramsPerTransaction) + " g CO₂e/tx"));
        Html.EndTable(html);
        html.Append("<h3 id=\"gri-305-5\">305-5 Reduction of GHG emissions</h3>\n");
        var previous = model.PreviousMonths.Count > 0 ? model.PreviousMonths[^1] : null;
        if (previous is null)
        {
            Html.Paragraph(html, "No previous month: there is nothing to compare " + model.Month + " with.");
        }
        else if (previous.LocationGrams <= 0 && previous.MarketGrams <= 0)
        {
            Html.Paragraph(html, "The previous month, " + previous.Label + ", has no committed emissions: no change can be stated.");
        }
        else
        {
            Html.BeginTable(html, "reduction", "Compared with " + previous.Label, Cell.N(previous.Label), Cell.N(model.Month), Cell.N("Change"));
            Change(html, "Emissions, location-based", previous.LocationGrams, t.LocationGrams, Html.Mass);
            Change(html, "Emissions, market-based", previous.MarketGrams, t.MarketGrams, Html.Mass);
            Change(html, "Per transaction, location-based", previous.LocationGramsPerTransaction, t.LocationGramsPerTransaction, Html.Mass);
            Change(html, "Per transaction, market-based", previous.MarketGramsPerTransaction, t.MarketGramsPerTransaction, Html.Mass);
            Html.EndTable(html);
            Html.Paragraph(html, "A negative change is a reduction. Changes in activity (transactions) move the totals; the per-transaction rows tell efficiency apart from volume.", "note");
        }
        html.Append("</section>\n");
    }

    private static void Change(StringBuilder html, string name, double before, double now, Func<double, string> format)
    {
        var delta = now - before;
        var change = (delta > 0 ? "+" : delta < 0 ? "−" : "") + format(Math.Abs(delta)) + (before > 0 ? " (" + (delta > 0 ? "+" : delta < 0 ? "−" : "") + Html.Percent(Math.Abs(delta) / before) + ")" : "");
        Html.Row(html, name, Cell.N(format(before)), Cell.N(format(now)), Cell.N(change));
    }

    private static void Charts(StringBuilder html, EsgReportModel model)
    {
        html.Append("<section id=\"daily\">\n<h2>Daily emissions, location-based</h2>\n");
        var dayLabels = new List<string>(model.Days.Count);
        var dayGrams = new List<double>(model.Days.Count);
        foreach (var day in model.Days)
        {
            dayLabels.Add(day.Label.Length >= 10 ? day.Label[8..] : day.Label);
            dayGrams.Add(day.LocationGrams);
        }
        SvgCharts.Bars(html, "daily location-based emissions of " + model.Month, dayLabels, [new BarSeries("location-based, per day (UTC)", dayGrams, ReportPalette.LocationBar)],
            lowerBound: [.. model.Days.Select(d => d.LowerBound)]);
        html.Append("</section>\n<section id=\"trend\">\n<h2>Monthly trend</h2>\n");
        var months = new List<PeriodFigures>(model.PreviousMonths) { model.Total };
        var monthLabels = new List<string>(months.Count);
        var location = new List<double>(months.Count);
        var market = new List<double>(months.Count);
        foreach (var month in months)
        {
            monthLabels.Add(month.Label);
            location.Add(month.LocationGrams);
            market.Add(month.MarketGrams);
        }
        SvgCharts.Bars(html, "monthly emissions, location- and market-based", monthLabels,
            [new BarSeries("location-based", location, ReportPalette.LocationBar), new BarSeries("market-based", market, ReportPalette.MarketBar)],
            lowerBound: [.. months.Select(m => m.LowerBound)]);
        html.Append("</section>\n");
    }

    private static void Tcfd(StringBuilder html, EsgReportModel model)
    {
        html.Append("<section id=\"tcfd\">\n<h2>TCFD metrics and targets</h2>\n<h3>Budget</h3>\n");
        ReportSections.Budget(html, model.Budget, "No budget configured for " + model.Month + ".");
        html.Append("<h3>Offsets retired in the month</h3>\n");
        if (model.OffsetsRetired.Count == 0)
        {
            Html.Paragraph(html, "No offsets were retired in " + model.Month + ".", "muted");
        }
        else
        {
            Html.BeginTable(html, "offsets", "Registry", "Serial", Cell.N("Tonnes CO₂e"), Cell.N("Vintage"), "Project", "Retired on", Cell.N("Block"), "Note");
            var tonnes = 0.0;
            foreach (var o in model.OffsetsRetired)
            {
                tonnes += o.Tonnes;
                Html.Row(html, o.Registry, o.Serial, Cell.N(Html.Number(o.Tonnes)), Cell.N(o.Vintage.ToString(CultureInfo.InvariantCulture)), o.Project,
                    o.RetiredOn.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Cell.N(Html.Count(o.Height)), o.Note);
            }
            Html.SumRow(html, "Total", "", Cell.N(Html.Number(tonnes)), "", "", "", "", "");
            Html.EndTable(html);
        }
        html.Append("<h3>Net position at the end of the month</h3>\n");
        ReportSections.NetPositionTable(html, model.Position);
        html.Append("</section>\n");
    }

    private static void Method(StringBuilder html, ReportMethod method)
    {
        var sci = method.Sci;
        html.Append("<section id=\"method\">\n<h2>Method</h2>\n<h3>Software Carbon Intensity disclosure</h3>\n");
        html.Append("<table class=\"sci\"><tbody>\n");
        Html.Row(html, "Specification", SciDisclosure.Specification);
        Html.Row(html, "Software boundary", SciDisclosure.SoftwareBoundary);
        Html.Row(html, "Functional unit (R)", SciDisclosure.FunctionalUnit);
        Html.Row(html, "Quantification method", SciDisclosure.QuantificationMethod);
        Html.Row(html, "Coefficients", SciDisclosure.CoefficientSource);
        Html.Row(html, "Energy-model versions", sci.ModelVersions.Count == 0 ? "none" : string.Join(", ", sci.ModelVersions));
        Html.Row(html, "Intensity types", sci.IntensityTypes.Count == 0 ? "none" : string.Join("; ", sci.IntensityTypes));
        Html.Row(html, "Embodied emissions (M)", sci.EmbodiedIncluded ? "included in every reading" : "not included in every reading");
        Html.Row(html, "Conforms", sci.Conforms ? "yes" : "no");
        html.Append("</tbody></table>\n<h3>Exclusions</h3>\n");
        Html.List(html, SciDisclosure.Exclusions, "None.");
        html.Append("<h3 id=\"sci-issues\">What keeps the figures from conforming</h3>\n");
        Html.List(html, sci.Issues, "Nothing: the figures conform.");
        html.Append("<h3>Market-based factors</h3>\n");
        Html.List(html, method.MarketBases, "No market-based factor stated: the market-based figures use the location-based factors.");
        html.Append("<h3>Static grid table</h3>\n");
        Html.Paragraph(html, method.StaticTableSource);
        html.Append("</section>\n");
    }
}
