using System.Globalization;
using System.Text;

namespace Aurigraph.Node.Carbon.Reporting;

/// <summary>The parts the ESG report and the dashboard share: the lower-bound banner, the energy table, a budget and the net position.</summary>
internal static class ReportSections
{
    /// <summary>The statement that keeps offsets apart from the footprint.</summary>
    public const string OffsetsNotSubtracted =
        "Offsets are reported separately: they are never subtracted from the measured footprint, which stays as measured in both bases.";

    /// <summary>
    /// The banner that says the figures are lower bounds because <paramref name="missing"/> node readings are missing
    /// (nothing when none is).
    /// </summary>
    public static void LowerBoundBanner(StringBuilder html, ulong missing, ulong present, string scope)
    {
        if (missing == 0)
        {
            return;
        }
        html.Append("<div class=\"banner\" id=\"lower-bound\" role=\"alert\" style=\"background:").Append(ReportPalette.LowerBoundBanner).Append("\"><strong>")
            .Append(Html.Encode("Lower bound: " + Html.Count(missing) + (missing == 1 ? " node reading is" : " node readings are") + " missing"))
            .Append("</strong> ")
            .Append(Html.Encode("(" + Html.Count(present) + " present) in " + scope
                + ". Every emissions and energy figure below is a lower bound: the true figures are at least these, and will rise when the missing readings are committed."))
            .Append("</div>\n");
    }

    /// <summary>The energy by component, kWh: the IT components, their sum, the facility overhead (PUE) and the facility total.</summary>
    public static void EnergyTable(StringBuilder html, EnergyFigures energy)
    {
        var it = energy.ItKwh;
        var overhead = Math.Max(energy.FacilityKwh - it, 0);
        string Share(double kwh) => energy.FacilityKwh > 0 ? Html.Percent(kwh / energy.FacilityKwh) : "–";
        Html.BeginTable(html, "energy", "Component", Cell.N("Energy"), Cell.N("Share of facility energy"));
        foreach (var segment in Components(energy))
        {
            Html.Row(html, segment.Name, Cell.N(Html.Kwh(segment.Value)), Cell.N(Share(segment.Value)));
        }
        Html.SumRow(html, "IT energy (sum of the above)", Cell.N(Html.Kwh(it)), Cell.N(Share(it)));
        Html.Row(html, "Facility overhead (PUE" + (it > 0 ? " " + (energy.FacilityKwh / it).ToString("0.00", CultureInfo.InvariantCulture) : "") + ")",
            Cell.N(Html.Kwh(overhead)), Cell.N(Share(overhead)));
        Html.SumRow(html, "Facility energy (IT × PUE)", Cell.N(Html.Kwh(energy.FacilityKwh)), Cell.N(energy.FacilityKwh > 0 ? "100 %" : "–"));
        Html.EndTable(html);
    }

    /// <summary>The IT components of <paramref name="energy"/> with their colours, then the facility overhead.</summary>
    public static List<BarSegment> Components(EnergyFigures energy, bool withOverhead = false)
    {
        var parts = new List<BarSegment>
        {
            new("CPU", energy.CpuKwh, ReportPalette.CpuEnergy),
            new("Memory", energy.MemoryKwh, ReportPalette.MemoryEnergy),
            new("Network", energy.NetworkKwh, ReportPalette.NetworkEnergy),
            new("Storage", energy.StorageKwh, ReportPalette.StorageEnergy),
            new("Consensus", energy.ConsensusKwh, ReportPalette.ConsensusEnergy),
        };
        if (withOverhead)
        {
            parts.Add(new("Facility overhead (PUE)", Math.Max(energy.FacilityKwh - energy.ItKwh, 0), ReportPalette.FacilityOverheadEnergy));
        }
        return parts;
    }

    /// <summary>A budget: used, budget and fraction with a meter, or <paramref name="none"/> when none is configured.</summary>
    public static void Budget(StringBuilder html, BudgetFigures? budget, string none)
    {
        if (budget is null)
        {
            Html.Paragraph(html, none, "muted");
            return;
        }
        var exceeded = budget.UsedGrams > budget.BudgetGrams;
        var text = "Used " + Html.Mass(budget.UsedGrams) + " of the " + budget.Period + " budget of " + Html.Mass(budget.BudgetGrams)
            + " for " + budget.Label + ": " + (budget.BudgetGrams > 0 ? Html.Percent(budget.UsedFraction) : "no budget to measure against")
            + (exceeded ? " — the budget is exceeded." : ".");
        html.Append("<div class=\"budget\">");
        Html.Paragraph(html, text);
        SvgCharts.Meter(html, budget.UsedFraction, exceeded ? ReportPalette.BudgetExceeded : ReportPalette.BudgetUsed, text);
        html.Append("</div>\n");
    }

    /// <summary>The net position: footprint (both bases) and offsets side by side, the net apart, and the statement that offsets are not subtracted.</summary>
    public static void NetPositionTable(StringBuilder html, NetPosition position)
    {
        Html.BeginTable(html, "net-position", "Figure", Cell.N("tCO₂e"), Cell.N("In a readable unit"));
        Html.Row(html, "Measured footprint, location-based", Cell.N(Html.Number(position.FootprintTonnes)), Cell.N(Html.Tonnes(position.FootprintTonnes)));
        Html.Row(html, "Measured footprint, market-based", Cell.N(Html.Number(position.MarketFootprintTonnes)), Cell.N(Html.Tonnes(position.MarketFootprintTonnes)));
        Html.Row(html, "Offsets retired", Cell.N(Html.Number(position.OffsetTonnes)), Cell.N(Html.Tonnes(position.OffsetTonnes)));
        Html.SumRow(html, "Net position (location-based footprint − offsets)", Cell.N(Html.Number(position.NetTonnes)), Cell.N(Html.Tonnes(position.NetTonnes)));
        Html.EndTable(html);
        Html.Paragraph(html, OffsetsNotSubtracted + (position.NetTonnes < 0 ? " A negative net position means more was retired than emitted." : ""), "note");
    }
}
