namespace Aurigraph.Node.Carbon;

/// <summary>A validator's entry in a height's stored carbon view.</summary>
/// <param name="NodeId">The validator.</param>
/// <param name="Status">Present, missing, or late (filled by a later record).</param>
/// <param name="LateHeight">For a late entry, the height of the block whose carbon section carried it; else 0.</param>
/// <param name="Reading">The reading (present and late entries).</param>
/// <param name="Reason">For a missing entry whose reading the leader refused, why (empty otherwise).</param>
public sealed record CarbonViewEntry(ulong NodeId, CarbonReadingStatus Status, ulong LateHeight, CarbonReading? Reading, string Reason = "");

/// <summary>
/// Sums over a set of readings, added in a fixed order (ascending node id, then height), so every node gets the same bits.
/// <see cref="TotalGrams"/> is location-based; <see cref="MarketGrams"/> is the market-based total (readings without a
/// market factor count at their location-based figure).
/// </summary>
public sealed record CarbonSummary(
    double TotalGrams,
    double OperationalGrams,
    double EmbodiedGrams,
    double CpuKwh,
    double MemoryKwh,
    double NetworkKwh,
    double StorageKwh,
    double ConsensusKwh,
    double ItKwh,
    double FacilityKwh,
    double CpuConsumedKwh = 0,
    double MarketGrams = 0)
{
    /// <summary>No readings.</summary>
    public static readonly CarbonSummary Zero = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>This summary with one more reading added (its estimate, and its market-based grams).</summary>
    public CarbonSummary Add(CarbonReading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        return Add(reading.Estimate, reading.MarketGrams);
    }

    /// <summary>This summary with one more estimate added, counted at its location-based figure in both bases.</summary>
    public CarbonSummary Add(CarbonEstimate estimate)
    {
        ArgumentNullException.ThrowIfNull(estimate);
        return Add(estimate, estimate.TotalGrams);
    }

    private CarbonSummary Add(CarbonEstimate estimate, double marketGrams)
    {
        var e = estimate.Energy;
        return new CarbonSummary(
            TotalGrams + estimate.TotalGrams,
            OperationalGrams + estimate.OperationalGrams,
            EmbodiedGrams + estimate.EmbodiedGrams,
            CpuKwh + e.CpuKwh,
            MemoryKwh + e.MemoryKwh,
            NetworkKwh + e.NetworkKwh,
            StorageKwh + e.StorageKwh,
            ConsensusKwh + e.ConsensusKwh,
            ItKwh + e.ItKwh,
            FacilityKwh + e.TotalKwh,
            CpuConsumedKwh + e.CpuConsumedKwh,
            MarketGrams + marketGrams);
    }

    /// <summary>This summary plus another (the other's fields added to this one's, field by field).</summary>
    public CarbonSummary Add(CarbonSummary other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new CarbonSummary(
            TotalGrams + other.TotalGrams,
            OperationalGrams + other.OperationalGrams,
            EmbodiedGrams + other.EmbodiedGrams,
            CpuKwh + other.CpuKwh,
            MemoryKwh + other.MemoryKwh,
            NetworkKwh + other.NetworkKwh,
            StorageKwh + other.StorageKwh,
            ConsensusKwh + other.ConsensusKwh,
            ItKwh + other.ItKwh,
            FacilityKwh + other.FacilityKwh,
            CpuConsumedKwh + other.CpuConsumedKwh,
            MarketGrams + other.MarketGrams);
    }
}

/// <summary>
/// What every node stores for a block height once its carbon record has committed: the validators' entries (present,
/// missing, late), the block's sums over the readings, and gCO2e per transaction.
/// </summary>
/// <param name="Height">The block the figures are for.</param>
/// <param name="TransactionCount">Its transactions.</param>
/// <param name="RecordHeight">The block whose carbon section carried the height's main record.</param>
/// <param name="Entries">One per validator, by ascending node id.</param>
/// <param name="Summary">Sums over the present and late readings.</param>
/// <param name="RecordedAtMs">The time the main record counts at for calendar periods: its block's proposal time, never
/// before an earlier record's (Unix ms; 0 when the block stated none, before carbon format 3).</param>
public sealed record CarbonBlockView(ulong Height, int TransactionCount, ulong RecordHeight, IReadOnlyList<CarbonViewEntry> Entries, CarbonSummary Summary, long RecordedAtMs = 0)
{
    /// <summary>The block's footprint: the sum of its readings' <see cref="CarbonEstimate.TotalGrams"/>.</summary>
    public double TotalGrams => Summary.TotalGrams;

    /// <summary>gCO2e per transaction: <see cref="TotalGrams"/> ÷ <see cref="TransactionCount"/>.</summary>
    public double GramsPerTransaction => Summary.TotalGrams / TransactionCount;

    /// <summary>Entries with a present reading.</summary>
    public int PresentCount => Entries.Count(e => e.Status == CarbonReadingStatus.Present);

    /// <summary>Entries still missing.</summary>
    public int MissingCount => Entries.Count(e => e.Status == CarbonReadingStatus.Missing);

    /// <summary>Entries filled by a late record.</summary>
    public int LateCount => Entries.Count(e => e.Status == CarbonReadingStatus.Late);

    /// <summary>Whether the figures are a lower bound: some member's reading is missing (or was refused), so its share is not in them.</summary>
    public bool LowerBound => MissingCount > 0;

    /// <summary>The sums over <paramref name="entries"/>' readings, in entry order.</summary>
    public static CarbonSummary Summarize(IEnumerable<CarbonViewEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var summary = CarbonSummary.Zero;
        foreach (var entry in entries)
        {
            if (entry.Reading is { } reading)
            {
                summary = summary.Add(reading);
            }
        }
        return summary;
    }
}

/// <summary>Running totals over every committed carbon record, as each node stores them.</summary>
/// <param name="Heights">Heights with a committed record.</param>
/// <param name="Transactions">Transactions in those heights.</param>
/// <param name="Summary">Sums over every present and late reading.</param>
/// <param name="PresentReadings">Readings present in main records.</param>
/// <param name="MissingReadings">Readings still missing (a late reading takes one off).</param>
/// <param name="LateReadings">Readings that arrived late.</param>
/// <param name="FirstHeight">Lowest height with a record (0 when none).</param>
/// <param name="LastHeight">Highest height with a record (0 when none).</param>
/// <param name="LastGramsPerTransaction">gCO2e per transaction of the last height recorded.</param>
/// <param name="LastRecordedAtMs">The latest time a main record counts at (Unix ms; 0 when none stated one).</param>
public sealed record CarbonTotals(
    ulong Heights,
    ulong Transactions,
    CarbonSummary Summary,
    ulong PresentReadings,
    ulong MissingReadings,
    ulong LateReadings,
    ulong FirstHeight,
    ulong LastHeight,
    double LastGramsPerTransaction,
    long LastRecordedAtMs = 0)
{
    /// <summary>Nothing recorded yet.</summary>
    public static readonly CarbonTotals Empty = new(0, 0, CarbonSummary.Zero, 0, 0, 0, 0, 0, 0);

    /// <summary>Average gCO2e per committed transaction covered by records (0 when none).</summary>
    public double GramsPerTransaction => Transactions == 0 ? 0 : Summary.TotalGrams / Transactions;
}
