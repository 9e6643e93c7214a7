using System.Globalization;
using System.Text;

namespace Aurigraph.Node.Carbon.Reporting;

/// <summary>
/// Writes the carbon dashboard (<see cref="DashboardModel"/>) as one self-contained HTML document: emission rate (last
/// 24 hours), daily trend (30 days), intensity heatmap (zone × hour of day), transaction carbon ranking, offset progress,
/// energy breakdown and, when one is configured, today's budget. Inline CSS and SVG only: no script, no external
/// resource, no web font. Every text of the model is HTML-encoded; every number is written in the invariant culture.
/// </summary>
public static class DashboardRenderer
{
    /// <summary>The dashboard of <paramref name="model"/> as an HTML document.</summary>
    public static string Render(DashboardModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var html = new StringBuilder(64 * 1024);
        Html.BeginDocument(html, "Carbon dashboard — " + model.ChainId);
        Html.Header(html, "Carbon dashboard", ("Chain", model.ChainId), ("Node", Html.Count(model.NodeId)), ("Data read", Html.Instant(model.GeneratedAt)));
        ulong missing = 0, present = 0;
        foreach (var day in model.Days)
        {
            missing += day.MissingReadings;
            present += day.PresentReadings;
        }
        ReportSections.LowerBoundBanner(html, missing, present, "the last " + model.Days.Count.ToString(CultureInfo.InvariantCulture) + " days");
        html.Append("<div class=\"grid\">\n");

        Open(html, "emission-rate", "Emission rate, last 24 hours");
        PeriodBars(html, model.Hours, label => label.Length >= 13 ? label[11..13] : label, "per hour (UTC)");
        Close(html);

        Open(html, "daily-trend", "Daily trend, last 30 days");
        PeriodBars(html, model.Days, label => label.Length >= 10 ? label[5..10] : label, "per day (UTC)");
        Close(html);

        Open(html, "heatmap", "Grid intensity, zone × hour of day (UTC), last 30 days", wide: true);
        SvgCharts.Heatmap(html, model.Heatmap);
        Close(html);

        Open(html, "ranking", "Transaction carbon ranking, last 24 hours");
        Ranking(html, model.TopTransactions);
        Close(html);

        Open(html, "offset-progress", "Offset progress");
        OffsetProgress(html, model.Position);
        Close(html);

        Open(html, "energy", "Energy breakdown to date", wide: model.Budget is null);
        SvgCharts.Stacked(html, "energy by component", ReportSections.Components(model.Energy, withOverhead: true), Html.Kwh, width: model.Budget is null ? 1100 : 520);
        ReportSections.EnergyTable(html, model.Energy);
        Close(html);

        if (model.Budget is not null)
        {
            Open(html, "budget", "Today's budget");
            ReportSections.Budget(html, model.Budget, "");
            Close(html);
        }
        html.Append("</div>\n");
        Html.EndDocument(html);
        return html.ToString();
    }

    private static void Open(StringBuilder html, string id, string title, bool wide = false) =>
        html.Append("<section class=\"panel").Append(wide ? " wide" : "").Append("\" id=\"").Append(id).Append("\">\n<h2>").Append(Html.Encode(title)).Append("</h2>\n");

    private static void Close(StringBuilder html) => html.Append("</section>\n");

    /// <summary>Location- and market-based bars of periods, with the total of each basis under the chart.</summary>
    private static void PeriodBars(StringBuilder html, IReadOnlyList<PeriodFigures> periods, Func<string, string> shortLabel, string per)
    {
        var labels = new List<string>(periods.Count);
        var location = new List<double>(periods.Count);
        var market = new List<double>(periods.Count);
        double locationSum = 0, marketSum = 0;
        foreach (var p in periods)
        {
            labels.Add(shortLabel(p.Label));
            location.Add(p.LocationGrams);
            market.Add(p.MarketGrams);
            locationSum += p.LocationGrams;
            marketSum += p.MarketGrams;
        }
        SvgCharts.Bars(html, "emissions " + per, labels,
            [new BarSeries("location-based " + per, location, ReportPalette.LocationBar), new BarSeries("market-based " + per, market, ReportPalette.MarketBar)],
            width: 560, height: 230, lowerBound: [.. periods.Select(p => p.LowerBound)]);
        Html.Paragraph(html, "Total: " + Html.Mass(locationSum) + " location-based, " + Html.Mass(marketSum) + " market-based.", "note");
    }

    private static void Ranking(StringBuilder html, IReadOnlyList<RankedTransaction> top)
    {
        if (top.Count == 0)
        {
            Html.Paragraph(html, "No committed transactions in the last 24 hours.", "muted");
            return;
        }
        Html.BeginTable(html, "ranking", Cell.N("#"), "Transaction", Cell.N("Block"), Cell.N("Carbon"));
        for (var i = 0; i < top.Count; i++)
        {
            var tx = top[i];
            html.Append("<tr><td class=\"n\">").Append(i + 1).Append("</td><td class=\"id\">").Append(Html.Encode(tx.TxId)).Append("</td><td class=\"n\">")
                .Append(Html.Encode(Html.Count(tx.Height))).Append("</td><td class=\"n\">").Append(Html.Encode(Html.Mass(tx.Grams))).Append("</td></tr>\n");
        }
        Html.EndTable(html);
    }

    private static void OffsetProgress(StringBuilder html, NetPosition position)
    {
        var scale = Math.Max(position.FootprintTonnes, position.OffsetTonnes);
        Html.Paragraph(html, "Footprint (location-based): " + Html.Tonnes(position.FootprintTonnes));
        SvgCharts.Meter(html, scale > 0 ? position.FootprintTonnes / scale : 0, ReportPalette.LocationBar, "footprint");
        Html.Paragraph(html, "Offsets retired: " + Html.Tonnes(position.OffsetTonnes)
            + (position.FootprintTonnes > 0 ? " — " + Html.Percent(position.OffsetTonnes / position.FootprintTonnes) + " of the footprint" : ""));
        SvgCharts.Meter(html, scale > 0 ? position.OffsetTonnes / scale : 0, ReportPalette.OffsetBar, "offsets retired");
        ReportSections.NetPositionTable(html, position);
    }
}
