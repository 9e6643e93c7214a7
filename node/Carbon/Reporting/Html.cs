using System.Globalization;
using System.Net;
using System.Text;

namespace Aurigraph.Node.Carbon.Reporting;

/// <summary>
/// What the carbon pages are written with: encoding of every text taken from a model, numbers in the invariant culture
/// with units a person reads (g, kg, t; Wh, kWh, MWh), and the document around them (inline CSS, no script, no external
/// resource).
/// </summary>
internal static class Html
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The page's style sheet: system fonts only, print-friendly, no external resource.</summary>
    private const string StyleSheet =
        "*{box-sizing:border-box}"
        + "body{margin:0;padding:24px 32px;font:14px/1.45 'DejaVu Sans','Liberation Sans',Arial,Helvetica,sans-serif;color:#1f2a30;background:#ffffff}"
        + "h1{font-size:24px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid #d5dde2}"
        + "h3{font-size:15px;margin:16px 0 6px}p{margin:6px 0}"
        + "header dl{display:flex;flex-wrap:wrap;gap:4px 28px;margin:6px 0 0}header dt{color:#5b6b75}header dd{margin:0;font-weight:bold}"
        + "header dl div{display:flex;gap:6px}"
        + ".banner{margin:16px 0;padding:12px 16px;border-radius:6px;color:#3d2600;font-size:15px;border:2px solid #a86d00}"
        + "table{border-collapse:collapse;margin:6px 0 10px;width:100%}th,td{padding:5px 8px;border-bottom:1px solid #e1e6ea;text-align:left;vertical-align:top}"
        + "th{background:#f1f4f6;font-weight:bold}td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
        + "tr.sum td{font-weight:bold;border-top:2px solid #c4ced4}"
        + ".note{color:#4d5d66;font-size:13px}.muted{color:#7a8a93}code,.id{font-family:'DejaVu Sans Mono',monospace;font-size:12px;word-break:break-all}"
        + ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.card{flex:1 1 160px;border:1px solid #d5dde2;border-radius:6px;padding:10px 12px}"
        + ".card .v{font-size:20px;font-weight:bold}.card .k{color:#5b6b75;font-size:12px}"
        + ".meter{height:18px;background:#e8edf0;border-radius:3px;overflow:hidden;margin:6px 0}.meter div{height:100%}"
        + ".grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}.panel{border:1px solid #d5dde2;border-radius:6px;padding:12px 14px;min-width:0}"
        + ".panel h2{margin-top:0}.wide{grid-column:1 / -1}"
        + ".legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:12px;margin:6px 0}.legend span.sw{display:inline-block;width:14px;height:14px;vertical-align:-2px;margin-right:5px;border:1px solid #9aa7ae}"
        + "svg{display:block;width:100%;height:auto}svg text{font-family:'DejaVu Sans','Liberation Sans',Arial,sans-serif}"
        + "table.sci td:first-child{width:190px;font-weight:bold}ul{margin:4px 0 8px 20px;padding:0}";

    /// <summary>A text from a model, encoded for an element's content or an attribute value.</summary>
    public static string Encode(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>A number with about three significant digits (more for large values), invariant culture.</summary>
    public static string Number(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return "n/a";
        }
        var magnitude = Math.Abs(value);
        if (magnitude == 0)
        {
            return "0";
        }
        if (magnitude < 0.000_001)
        {
            return value.ToString("0.00E+0", Invariant);
        }
        var decimals = Math.Clamp(2 - (int)Math.Floor(Math.Log10(magnitude)), 0, 6);
        return value.ToString("#,##0." + new string('0', decimals), Invariant).TrimEnd('.');
    }

    /// <summary>A whole count, invariant culture with thousands separators.</summary>
    public static string Count(ulong value) => value.ToString("#,##0", Invariant);

    /// <summary>A fraction as a percentage: <c>12.3 %</c>.</summary>
    public static string Percent(double fraction) => Number(fraction * 100) + " %";

    /// <summary>A mass of CO2e given in grams, in the unit that reads best: g, kg or t.</summary>
    public static string Mass(double grams)
    {
        var magnitude = Math.Abs(grams);
        return magnitude >= 1_000_000 ? Number(grams / 1_000_000) + " t CO₂e"
            : magnitude >= 1_000 ? Number(grams / 1_000) + " kg CO₂e"
            : Number(grams) + " g CO₂e";
    }

    /// <summary>A mass of CO2e given in tonnes, in the unit that reads best.</summary>
    public static string Tonnes(double tonnes) => Mass(tonnes * 1_000_000);

    /// <summary>Energy given in kWh, always in kWh (the unit the energy tables compare in).</summary>
    public static string Kwh(double kwh) => Number(kwh) + " kWh";

    /// <summary>An instant as written in the pages: <c>2026-12-03 14:05 UTC</c>.</summary>
    public static string Instant(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", Invariant);

    /// <summary>Opens the document: doctype, character set, title and the style sheet, then the body.</summary>
    public static void BeginDocument(StringBuilder html, string title)
    {
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
            .Append(Encode(title))
            .Append("</title>\n<style>")
            .Append(StyleSheet)
            .Append("</style>\n</head>\n<body>\n");
    }

    /// <summary>Closes the body and the document.</summary>
    public static void EndDocument(StringBuilder html) => html.Append("</body>\n</html>\n");

    /// <summary>The page header: a title and the facts under it (each name and value encoded).</summary>
    public static void Header(StringBuilder html, string title, params (string Name, string Value)[] facts)
    {
        html.Append("<header>\n<h1>").Append(Encode(title)).Append("</h1>\n<dl>");
        foreach (var (name, value) in facts)
        {
            html.Append("<div><dt>").Append(Encode(name)).Append("</dt><dd>").Append(Encode(value)).Append("</dd></div>");
        }
        html.Append("</dl>\n</header>\n");
    }

    /// <summary>Opens a table with the given header cells.</summary>
    public static void BeginTable(StringBuilder html, string cssClass, params Cell[] headers)
    {
        html.Append("<table class=\"").Append(cssClass).Append("\"><thead><tr>");
        foreach (var header in headers)
        {
            html.Append(header.Numeric ? "<th class=\"n\">" : "<th>").Append(Encode(header.Text)).Append("</th>");
        }
        html.Append("</tr></thead><tbody>\n");
    }

    /// <summary>Closes a table opened with <see cref="BeginTable"/>.</summary>
    public static void EndTable(StringBuilder html) => html.Append("</tbody></table>\n");

    /// <summary>One row of encoded cells.</summary>
    public static void Row(StringBuilder html, params Cell[] cells) => RowOf(html, "", cells);

    /// <summary>A row of totals (bold, ruled above).</summary>
    public static void SumRow(StringBuilder html, params Cell[] cells) => RowOf(html, " class=\"sum\"", cells);

    private static void RowOf(StringBuilder html, string attributes, Cell[] cells)
    {
        html.Append("<tr").Append(attributes).Append('>');
        foreach (var cell in cells)
        {
            html.Append(cell.Numeric ? "<td class=\"n\">" : "<td>").Append(Encode(cell.Text)).Append("</td>");
        }
        html.Append("</tr>\n");
    }

    /// <summary>A paragraph of encoded text, with an optional CSS class.</summary>
    public static void Paragraph(StringBuilder html, string text, string? cssClass = null)
    {
        html.Append(cssClass is null ? "<p>" : "<p class=\"" + cssClass + "\">").Append(Encode(text)).Append("</p>\n");
    }

    /// <summary>A bulleted list of encoded texts (<paramref name="empty"/> as a paragraph when there are none).</summary>
    public static void List(StringBuilder html, IEnumerable<string> items, string empty)
    {
        var any = false;
        foreach (var item in items)
        {
            html.Append(any ? "" : "<ul>").Append("<li>").Append(Encode(item)).Append("</li>");
            any = true;
        }
        if (any)
        {
            html.Append("</ul>\n");
        }
        else
        {
            Paragraph(html, empty, "muted");
        }
    }

    /// <summary>A number for an SVG attribute: invariant, at most two decimals.</summary>
    public static string Svg(double value) => value.ToString("0.##", Invariant);
}

/// <summary>A table cell's text (encoded when written) and whether it is a figure (right-aligned).</summary>
internal readonly record struct Cell(string Text, bool Numeric = false)
{
    /// <summary>A text cell.</summary>
    public static implicit operator Cell(string text) => new(text);

    /// <summary>A figure cell.</summary>
    public static Cell N(string text) => new(text, true);
}
