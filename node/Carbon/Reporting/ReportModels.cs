namespace Aurigraph.Node.Carbon.Reporting;

/// <summary>Energy by component over a period, kWh (IT components; <see cref="FacilityKwh"/> is the IT energy × PUE).</summary>
public sealed record EnergyFigures(double CpuKwh, double MemoryKwh, double NetworkKwh, double StorageKwh, double ConsensusKwh, double FacilityKwh)
{
    /// <summary>No energy.</summary>
    public static readonly EnergyFigures Zero = new(0, 0, 0, 0, 0, 0);

    /// <summary>The energy by component of summed carbon records.</summary>
    public static EnergyFigures Of(CarbonSummary s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new(s.CpuKwh, s.MemoryKwh, s.NetworkKwh, s.StorageKwh, s.ConsensusKwh, s.FacilityKwh);
    }

    /// <summary>The IT energy: processors, memory, network, storage and consensus.</summary>
    public double ItKwh => CpuKwh + MemoryKwh + NetworkKwh + StorageKwh + ConsensusKwh;
}

/// <summary>
/// The committed carbon figures of one calendar period (an hour, a day or a month, UTC), as the carbon records whose
/// blocks the leader proposed in that period give them.
/// </summary>
/// <param name="Label">The period as written: <c>2026-12-03T14</c> (hour), <c>2026-12-03</c> (day), <c>2026-12</c> (month).</param>
/// <param name="Start">First instant of the period, UTC.</param>
/// <param name="End">First instant after the period, UTC.</param>
/// <param name="Transactions">Committed transactions whose main record falls in the period.</param>
/// <param name="Heights">Blocks with transactions whose main record falls in the period.</param>
/// <param name="LocationGrams">Location-based emissions, gCO2e: operational (grid average of each node's region) + embodied.</param>
/// <param name="MarketGrams">Market-based emissions, gCO2e: operational at each node's contractual (market) factor + embodied.</param>
/// <param name="OperationalGrams">Location-based operational part of <paramref name="LocationGrams"/>.</param>
/// <param name="EmbodiedGrams">Embodied part (M), the same in both bases.</param>
/// <param name="Energy">Energy by component.</param>
/// <param name="PresentReadings">Node readings counted (present or late).</param>
/// <param name="MissingReadings">Node readings still missing: when above 0 the figures are lower bounds.</param>
public sealed record PeriodFigures(
    string Label,
    DateTimeOffset Start,
    DateTimeOffset End,
    ulong Transactions,
    ulong Heights,
    double LocationGrams,
    double MarketGrams,
    double OperationalGrams,
    double EmbodiedGrams,
    EnergyFigures Energy,
    ulong PresentReadings,
    ulong MissingReadings)
{
    /// <summary>Location-based gCO2e per committed transaction (0 without transactions).</summary>
    public double LocationGramsPerTransaction => Transactions == 0 ? 0 : LocationGrams / Transactions;

    /// <summary>Market-based gCO2e per committed transaction (0 without transactions).</summary>
    public double MarketGramsPerTransaction => Transactions == 0 ? 0 : MarketGrams / Transactions;

    /// <summary>Whether readings are missing, so that the figures are lower bounds.</summary>
    public bool LowerBound => MissingReadings > 0;
}

/// <summary>
/// A retired carbon credit as committed in the log: kept beside the measured footprint and never subtracted from it.
/// </summary>
/// <param name="Registry">The registry that retired it, e.g. <c>Gold Standard</c>, <c>Verra</c>, <c>Climate Action Reserve</c>.</param>
/// <param name="Serial">The registry's serial number (or serial range) of the retired credits; unique within the registry.</param>
/// <param name="Tonnes">Tonnes of CO2e the retired credits stand for.</param>
/// <param name="Vintage">The year the reductions or removals took place.</param>
/// <param name="Project">The project the credits come from, as the registry names it.</param>
/// <param name="RetiredOn">The day the registry records the retirement.</param>
/// <param name="Height">The block whose carbon section committed the record.</param>
/// <param name="Note">Free text: beneficiary, retirement reason, certificate reference (may be empty).</param>
public sealed record OffsetRecord(string Registry, string Serial, double Tonnes, int Vintage, string Project, DateOnly RetiredOn, ulong Height, string Note);

/// <summary>A configured budget of one period and what the period used of it (location-based).</summary>
/// <param name="Period"><c>day</c> or <c>month</c>.</param>
/// <param name="Label">The period it applies to (<see cref="PeriodFigures.Label"/>).</param>
/// <param name="BudgetGrams">The budget, gCO2e.</param>
/// <param name="UsedGrams">Committed location-based emissions of the period so far, gCO2e.</param>
public sealed record BudgetFigures(string Period, string Label, double BudgetGrams, double UsedGrams)
{
    /// <summary>Used ÷ budget (0 when the budget is 0).</summary>
    public double UsedFraction => BudgetGrams <= 0 ? 0 : UsedGrams / BudgetGrams;
}

/// <summary>One cell of the intensity heatmap: a zone's mean intensity at one hour of the day (UTC) over the range.</summary>
/// <param name="Zone">The zone (or, for the static table, the cloud region key).</param>
/// <param name="HourOfDay">0–23, UTC.</param>
/// <param name="GramsPerKwh">Mean intensity of the hours recorded at that hour of the day.</param>
/// <param name="Samples">How many recorded hours the mean is over (0: no data; the cell is drawn as a gap).</param>
public sealed record IntensityCell(string Zone, int HourOfDay, double GramsPerKwh, int Samples);

/// <summary>A committed transaction and the carbon attributed to it.</summary>
public sealed record RankedTransaction(string TxId, ulong Height, double Grams);

/// <summary>Net position: the measured footprint and the retired offsets, side by side (the footprint is never reduced by them).</summary>
/// <param name="FootprintTonnes">Measured location-based footprint, tCO2e.</param>
/// <param name="MarketFootprintTonnes">Measured market-based footprint, tCO2e.</param>
/// <param name="OffsetTonnes">Retired offset credits, tCO2e.</param>
public sealed record NetPosition(double FootprintTonnes, double MarketFootprintTonnes, double OffsetTonnes)
{
    /// <summary>Footprint − offsets, tCO2e (negative: more retired than emitted), reported separately from the footprint.</summary>
    public double NetTonnes => FootprintTonnes - OffsetTonnes;
}

/// <summary>What the report states about how the figures were made (the SCI disclosure and the bases).</summary>
/// <param name="Sci">The SCI disclosure of the readings of the range.</param>
/// <param name="MarketBases">How each node's market-based factor was obtained (instrument and source), one line each.</param>
/// <param name="StaticTableSource">The static grid table's version and source line.</param>
public sealed record ReportMethod(SciDisclosure Sci, IReadOnlyList<string> MarketBases, string StaticTableSource);

/// <summary>
/// The monthly ESG report of one chain as one node's committed records give it: GRI 305 emissions disclosures and TCFD
/// metrics, for a person to read.
/// </summary>
/// <param name="ChainId">The chain.</param>
/// <param name="NodeId">The node that produced the report.</param>
/// <param name="Month">The month, <c>yyyy-MM</c>.</param>
/// <param name="GeneratedAt">When the report was produced.</param>
/// <param name="Total">The month's figures.</param>
/// <param name="Days">Every day of the month, in order (days without records have zeros).</param>
/// <param name="PreviousMonths">Up to 12 months before, oldest first, for the trend (months without records have zeros).</param>
/// <param name="Budget">The month's budget, when one is configured.</param>
/// <param name="OffsetsRetired">Offset records whose retirement day falls in the month.</param>
/// <param name="Position">Net position at the end of the month (all records up to then).</param>
/// <param name="Method">How the figures were made.</param>
public sealed record EsgReportModel(
    string ChainId,
    ulong NodeId,
    string Month,
    DateTimeOffset GeneratedAt,
    PeriodFigures Total,
    IReadOnlyList<PeriodFigures> Days,
    IReadOnlyList<PeriodFigures> PreviousMonths,
    BudgetFigures? Budget,
    IReadOnlyList<OffsetRecord> OffsetsRetired,
    NetPosition Position,
    ReportMethod Method);

/// <summary>The carbon dashboard's panels, as one node's committed records and intensity history give them.</summary>
/// <param name="ChainId">The chain.</param>
/// <param name="NodeId">The node serving the dashboard.</param>
/// <param name="GeneratedAt">When the data was read.</param>
/// <param name="Hours">Emission rate: the last 24 hours, oldest first (gCO2e committed per hour).</param>
/// <param name="Days">Daily trend: the last 30 days, oldest first.</param>
/// <param name="Heatmap">Intensity heatmap, zone × hour of day over the last 30 days.</param>
/// <param name="TopTransactions">Transaction carbon ranking: the most carbon-costly committed transactions of the last 24 hours, costliest first (at most 10).</param>
/// <param name="Position">Offset progress: offsets retired against the footprint to date.</param>
/// <param name="Energy">Energy breakdown to date.</param>
/// <param name="Budget">Today's budget, when one is configured.</param>
public sealed record DashboardModel(
    string ChainId,
    ulong NodeId,
    DateTimeOffset GeneratedAt,
    IReadOnlyList<PeriodFigures> Hours,
    IReadOnlyList<PeriodFigures> Days,
    IReadOnlyList<IntensityCell> Heatmap,
    IReadOnlyList<RankedTransaction> TopTransactions,
    NetPosition Position,
    EnergyFigures Energy,
    BudgetFigures? Budget);
