namespace Aurigraph.Node.Carbon;

/// <summary>What kind of figure an hour of the intensity history holds. The kinds are not comparable with one another and are never mixed under one label.</summary>
public enum IntensityType : byte
{
    /// <summary>Electricity Maps, lifecycle emission factors (gCO2eq/kWh, construction and fuel supply included), average of the zone's consumption mix.</summary>
    LifecycleAverage = 1,

    /// <summary>Electricity Maps, direct emission factors (gCO2eq/kWh, combustion only), average of the zone's consumption mix.</summary>
    DirectAverage = 2,

    /// <summary>WattTime marginal operating emissions rate (MOER): CO2 only, not CO2e, of the generator that answers a change in demand.</summary>
    MarginalCo2 = 3,

    /// <summary>The embedded static table's yearly average for the cloud region (location-based, gCO2e/kWh).</summary>
    StaticYearlyAverage = 4,
}

/// <summary>How an hour came into the history.</summary>
public enum IntensityOrigin : byte
{
    /// <summary>Recorded during the hour it stands for, from the provider chain's figure.</summary>
    Live = 1,

    /// <summary>Filled in later from Electricity Maps' recent history (<c>/v3/carbon-intensity/history</c>) for an hour that had no record.</summary>
    Backfill = 2,
}

/// <summary>Labels of <see cref="IntensityType"/> and <see cref="IntensityOrigin"/> as the API gives them.</summary>
public static class IntensityLabels
{
    /// <summary>The API label of a type: <c>lifecycle_average</c>, <c>direct_average</c>, <c>marginal_co2</c>, <c>static_yearly_average</c>.</summary>
    public static string Of(IntensityType type) => type switch
    {
        IntensityType.LifecycleAverage => "lifecycle_average",
        IntensityType.DirectAverage => "direct_average",
        IntensityType.MarginalCo2 => "marginal_co2",
        IntensityType.StaticYearlyAverage => "static_yearly_average",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not an intensity type"),
    };

    /// <summary>The API label of an origin: <c>live</c> or <c>backfill</c>.</summary>
    public static string Of(IntensityOrigin origin) => origin == IntensityOrigin.Backfill ? "backfill" : "live";

    /// <summary>The type of a figure: its source, and for Electricity Maps the emission factors it used (<c>direct</c>, else lifecycle).</summary>
    public static IntensityType TypeOf(string source, string? emissionFactorType) => source switch
    {
        GridIntensitySources.ElectricityMaps => string.Equals(emissionFactorType, "direct", StringComparison.OrdinalIgnoreCase)
            ? IntensityType.DirectAverage
            : IntensityType.LifecycleAverage,
        GridIntensitySources.WattTime => IntensityType.MarginalCo2,
        _ => IntensityType.StaticYearlyAverage,
    };
}

/// <summary>One fuel of a power breakdown, MW; <see langword="null"/> where Electricity Maps gave none.</summary>
public sealed record FuelPower(string Fuel, double? ConsumptionMw, double? ProductionMw);

/// <summary>
/// A zone's electricity mix for one hour as Electricity Maps' <c>/v3/power-breakdown</c> gives it: MW by fuel (consumed,
/// import-adjusted; and produced in the zone), the totals, and the fossil-free and renewable shares (%) of consumption.
/// </summary>
public sealed record PowerBreakdown(
    DateTimeOffset Datetime,
    IReadOnlyList<FuelPower> Fuels,
    double? ConsumptionTotalMw,
    double? ProductionTotalMw,
    double? ImportTotalMw,
    double? ExportTotalMw,
    double? FossilFreePercentage,
    double? RenewablePercentage,
    bool? IsEstimated,
    string? EstimationMethod);

/// <summary>One stored hour of a zone's intensity history.</summary>
/// <param name="Hour">The start of the hour (UTC) the figure stands for.</param>
/// <param name="GramsPerKwh">The figure: gCO2e/kWh (gCO2/kWh for <see cref="IntensityType.MarginalCo2"/>).</param>
/// <param name="Source">Who gave it: <see cref="GridIntensitySources"/>.</param>
/// <param name="Type">What kind of figure it is.</param>
/// <param name="ObservedAt">The time the figure applies to, as its source stamped it.</param>
/// <param name="FigureZone">The zone as the source named it (Electricity Maps zone, WattTime region, or the static table's region key).</param>
/// <param name="IsEstimated">Electricity Maps' <c>isEstimated</c>; <see langword="null"/> when the source says nothing.</param>
/// <param name="EstimationMethod">Electricity Maps' <c>estimationMethod</c>, when it gave one.</param>
/// <param name="Origin">Recorded live, or back-filled.</param>
/// <param name="RecordedAt">When this node stored it.</param>
/// <param name="Breakdown">The zone's power breakdown for the hour, when Electricity Maps gave one.</param>
public sealed record IntensityHour(
    DateTimeOffset Hour,
    double GramsPerKwh,
    string Source,
    IntensityType Type,
    DateTimeOffset ObservedAt,
    string FigureZone,
    bool? IsEstimated,
    string? EstimationMethod,
    IntensityOrigin Origin,
    DateTimeOffset RecordedAt,
    PowerBreakdown? Breakdown);

/// <summary>Whole UTC hours.</summary>
public static class Hours
{
    /// <summary>One hour.</summary>
    public static readonly TimeSpan One = TimeSpan.FromHours(1);

    /// <summary>The start of the hour that holds <paramref name="time"/> (UTC).</summary>
    public static DateTimeOffset Floor(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerHour), TimeSpan.Zero);
    }

    /// <summary>The start of the first hour at or after <paramref name="time"/> (UTC).</summary>
    public static DateTimeOffset Ceiling(DateTimeOffset time)
    {
        var floor = Floor(time);
        return floor == time ? floor : floor + One;
    }
}
