using System.Globalization;
using System.Text;

namespace Aurigraph.Node.Carbon.Reporting;

/// <summary>One series of a bar chart: a name for the legend, a value per period and the bars' colour.</summary>
internal sealed record BarSeries(string Name, IReadOnlyList<double> Values, string Colour);

/// <summary>One part of a stacked bar: its name, its value and its colour.</summary>
internal sealed record BarSegment(string Name, double Value, string Colour);

/// <summary>
/// The inline SVG charts of the carbon pages: bar charts of periods, the intensity heatmap and a stacked bar. Each is
/// drawn with a viewBox so that it scales to its box; every bar and cell carries a title with its figure.
/// </summary>
internal static class SvgCharts
{
    private const double Left = 108, Right = 12, Top = 12, Bottom = 34;

    /// <summary>
    /// A bar chart of periods: one bar per period and series (side by side), a y axis in masses of CO2e with four grid
    /// lines, and every n-th period labelled so that labels never overlap. A period flagged in <paramref name="lowerBound"/>
    /// (readings missing) gets a marker above its bars in <see cref="ReportPalette.LowerBoundBanner"/>, explained in the legend.
    /// </summary>
    public static void Bars(StringBuilder html, string caption, IReadOnlyList<string> labels, IReadOnlyList<BarSeries> series, int width = 960, int height = 240, IReadOnlyList<bool>? lowerBound = null)
    {
        var max = 0.0;
        foreach (var s in series)
        {
            foreach (var v in s.Values)
            {
                max = Math.Max(max, v);
            }
        }
        var top = NiceCeiling(max);
        double plotWidth = width - Left - Right, plotHeight = height - Top - Bottom;
        var n = Math.Max(labels.Count, 1);
        var group = plotWidth / n;
        var barWidth = group * 0.76 / Math.Max(series.Count, 1);
        Open(html, caption, width, height);
        for (var k = 0; k <= 4; k++)
        {
            var y = Top + plotHeight - (plotHeight * k / 4);
            html.Append("<line x1=\"").Append(Html.Svg(Left)).Append("\" x2=\"").Append(Html.Svg(width - Right)).Append("\" y1=\"").Append(Html.Svg(y))
                .Append("\" y2=\"").Append(Html.Svg(y)).Append("\" stroke=\"").Append(k == 0 ? "#7a8a93" : "#e1e6ea").Append("\"/>");
            Text(html, Left - 6, y + 4, "end", 11, "#4d5d66", top == 0 && k > 0 ? "" : Html.Mass(top * k / 4));
        }
        var every = (int)Math.Ceiling(n / Math.Max(plotWidth / 52, 1));
        for (var i = 0; i < labels.Count; i++)
        {
            for (var j = 0; j < series.Count; j++)
            {
                var v = i < series[j].Values.Count ? Math.Max(series[j].Values[i], 0) : 0;
                var h = top == 0 ? 0 : plotHeight * v / top;
                var x = Left + (i * group) + (group * 0.12) + (j * barWidth);
                html.Append("<rect x=\"").Append(Html.Svg(x)).Append("\" y=\"").Append(Html.Svg(Top + plotHeight - h)).Append("\" width=\"")
                    .Append(Html.Svg(barWidth)).Append("\" height=\"").Append(Html.Svg(h)).Append("\" fill=\"").Append(series[j].Colour).Append("\"><title>")
                    .Append(Html.Encode(labels[i] + " " + series[j].Name + ": " + Html.Mass(v))).Append("</title></rect>");
            }
            if (lowerBound is not null && i < lowerBound.Count && lowerBound[i])
            {
                LowerBoundMarker(html, Left + (i * group) + (group / 2), Top + plotHeight - (top == 0 ? 0 : plotHeight * Tallest(series, i) / top), labels[i]);
            }
            if (i % every == 0)
            {
                Text(html, Left + (i * group) + (group / 2), height - Bottom + 16, "middle", 11, "#4d5d66", labels[i]);
            }
        }
        if (max <= 0)
        {
            Text(html, Left + (plotWidth / 2), Top + (plotHeight / 2), "middle", 13, "#7a8a93", "no emissions recorded in these periods");
        }
        html.Append("</svg>\n");
        html.Append("<div class=\"legend\">");
        foreach (var s in series)
        {
            Swatch(html, s.Colour, s.Name);
        }
        if (lowerBound?.Contains(true) == true)
        {
            Swatch(html, ReportPalette.LowerBoundBanner, "readings missing: the figure is a lower bound");
        }
        html.Append("</div>\n");
    }

    private static double Tallest(IReadOnlyList<BarSeries> series, int i)
    {
        var tallest = 0.0;
        foreach (var s in series)
        {
            tallest = i < s.Values.Count ? Math.Max(tallest, s.Values[i]) : tallest;
        }
        return tallest;
    }

    // A small downward triangle just above the period's bars.
    private static void LowerBoundMarker(StringBuilder html, double x, double barTop, string label)
    {
        var y = Math.Max(barTop - 4, Top);
        html.Append("<path d=\"M").Append(Html.Svg(x - 6)).Append(' ').Append(Html.Svg(y - 9)).Append(" L").Append(Html.Svg(x + 6)).Append(' ')
            .Append(Html.Svg(y - 9)).Append(" L").Append(Html.Svg(x)).Append(' ').Append(Html.Svg(y)).Append(" Z\" stroke=\"#8a6d00\" fill=\"").Append(ReportPalette.LowerBoundBanner)
            .Append("\"><title>").Append(Html.Encode(label + ": readings missing, a lower bound")).Append("</title></path>");
    }

    /// <summary>
    /// The intensity heatmap: one row per zone (ordinal order), one column per hour of the day (UTC), each cell coloured by
    /// its mean gCO2e/kWh on <see cref="ReportPalette.IntensityScale"/>; a cell without recorded hours (or not given) is
    /// a gap in <see cref="ReportPalette.HeatmapGap"/>. The legend shows the scale and the gap.
    /// </summary>
    public static void Heatmap(StringBuilder html, IReadOnlyList<IntensityCell> cells, int width = 1100)
    {
        var byZone = new SortedDictionary<string, IntensityCell?[]>(StringComparer.Ordinal);
        foreach (var cell in cells)
        {
            if (cell.HourOfDay is < 0 or > 23)
            {
                continue;
            }
            if (!byZone.TryGetValue(cell.Zone, out var row))
            {
                byZone[cell.Zone] = row = new IntensityCell?[24];
            }
            row[cell.HourOfDay] = cell;
        }
        const double labelWidth = 150, cellHeight = 24, head = 20;
        var cellWidth = (width - labelWidth - 4) / 24;
        var height = (int)(head + (Math.Max(byZone.Count, 1) * cellHeight) + 4);
        Open(html, "grid intensity by zone and hour of day", width, height);
        for (var h = 0; h < 24; h++)
        {
            Text(html, labelWidth + (h * cellWidth) + (cellWidth / 2), head - 6, "middle", 11, "#4d5d66", h.ToString("00", CultureInfo.InvariantCulture));
        }
        var r = 0;
        foreach (var (zone, row) in byZone)
        {
            var y = head + (r * cellHeight);
            Text(html, labelWidth - 8, y + 16, "end", 12, "#1f2a30", zone.Length > 22 ? zone[..21] + "…" : zone);
            for (var h = 0; h < 24; h++)
            {
                var cell = row[h];
                var gap = cell is null || cell.Samples <= 0;
                var fill = gap ? ReportPalette.HeatmapGap : ReportPalette.Intensity(cell!.GramsPerKwh);
                var x = labelWidth + (h * cellWidth);
                html.Append("<rect x=\"").Append(Html.Svg(x)).Append("\" y=\"").Append(Html.Svg(y)).Append("\" width=\"").Append(Html.Svg(cellWidth - 1))
                    .Append("\" height=\"").Append(Html.Svg(cellHeight - 1)).Append("\" fill=\"").Append(fill).Append("\"><title>")
                    .Append(Html.Encode(zone + " " + h.ToString("00", CultureInfo.InvariantCulture) + ":00 UTC: "
                        + (gap ? "no data" : Html.Number(cell!.GramsPerKwh) + " gCO₂e/kWh over " + cell.Samples.ToString(CultureInfo.InvariantCulture) + " hours")))
                    .Append("</title></rect>");
                if (!gap)
                {
                    Text(html, x + (cellWidth / 2), y + 16, "middle", 10, ReportPalette.IsDark(fill) ? "#ffffff" : "#1f2a30", Math.Round(cell!.GramsPerKwh).ToString("0", CultureInfo.InvariantCulture));
                }
            }
            r++;
        }
        if (byZone.Count == 0)
        {
            Text(html, width / 2.0, head + 16, "middle", 13, "#7a8a93", "no intensity history recorded");
        }
        html.Append("</svg>\n<div class=\"legend\">");
        foreach (var (grams, colour) in ReportPalette.IntensityScale)
        {
            Swatch(html, colour, Html.Number(grams) + " gCO₂e/kWh");
        }
        Swatch(html, ReportPalette.HeatmapGap, "no data: no hour recorded (a gap, not a low intensity)");
        html.Append("</div>\n");
    }

    /// <summary>A horizontal stacked bar of parts, each as wide as its share of the sum, with a legend naming each part's figure.</summary>
    public static void Stacked(StringBuilder html, string caption, IReadOnlyList<BarSegment> segments, Func<double, string> format, int width = 960)
    {
        var total = 0.0;
        foreach (var s in segments)
        {
            total += Math.Max(s.Value, 0);
        }
        Open(html, caption, width, 30);
        var x = 0.0;
        foreach (var s in segments)
        {
            var w = total <= 0 ? 0 : width * Math.Max(s.Value, 0) / total;
            html.Append("<rect x=\"").Append(Html.Svg(x)).Append("\" y=\"0\" width=\"").Append(Html.Svg(w)).Append("\" height=\"30\" fill=\"").Append(s.Colour)
                .Append("\"><title>").Append(Html.Encode(s.Name + ": " + format(s.Value))).Append("</title></rect>");
            x += w;
        }
        if (total <= 0)
        {
            html.Append("<rect width=\"").Append(width).Append("\" height=\"30\" fill=\"#e8edf0\"/>");
            Text(html, width / 2.0, 20, "middle", 13, "#7a8a93", "nothing recorded");
        }
        html.Append("</svg>\n<div class=\"legend\">");
        foreach (var s in segments)
        {
            Swatch(html, s.Colour, s.Name + " " + format(s.Value) + (total > 0 ? " (" + Html.Percent(Math.Max(s.Value, 0) / total) + ")" : ""));
        }
        html.Append("</div>\n");
    }

    /// <summary>A horizontal meter (HTML): <paramref name="fraction"/> of the track filled in <paramref name="colour"/> (capped at the track).</summary>
    public static void Meter(StringBuilder html, double fraction, string colour, string title)
    {
        var width = Math.Clamp(double.IsFinite(fraction) ? fraction : 0, 0, 1) * 100;
        html.Append("<div class=\"meter\" title=\"").Append(Html.Encode(title)).Append("\"><div style=\"width:").Append(Html.Svg(width))
            .Append("%;background:").Append(colour).Append("\"></div></div>\n");
    }

    /// <summary>A legend entry: a swatch of <paramref name="colour"/> and an encoded name.</summary>
    public static void Swatch(StringBuilder html, string colour, string name) =>
        html.Append("<span><span class=\"sw\" style=\"background:").Append(colour).Append("\"></span>").Append(Html.Encode(name)).Append("</span>");

    /// <summary>The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above <paramref name="value"/> (0 for 0), so axes read in round steps.</summary>
    internal static double NiceCeiling(double value)
    {
        if (!(value > 0) || !double.IsFinite(value))
        {
            return 0;
        }
        var power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in new[] { 1, 2, 2.5, 4, 5, 10 })
        {
            if (step * power >= value * (1 - 1e-12))
            {
                return step * power;
            }
        }
        return 10 * power;
    }

    private static void Open(StringBuilder html, string caption, int width, int height) =>
        html.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").Append(width).Append(' ').Append(height).Append("\" width=\"").Append(width)
            .Append("\" height=\"").Append(height).Append("\" role=\"img\" aria-label=\"").Append(Html.Encode(caption)).Append("\">");

    private static void Text(StringBuilder html, double x, double y, string anchor, int size, string colour, string text)
    {
        if (text.Length == 0)
        {
            return;
        }
        html.Append("<text x=\"").Append(Html.Svg(x)).Append("\" y=\"").Append(Html.Svg(y)).Append("\" text-anchor=\"").Append(anchor).Append("\" font-size=\"")
            .Append(size).Append("\" fill=\"").Append(colour).Append("\">").Append(Html.Encode(text)).Append("</text>");
    }
}
