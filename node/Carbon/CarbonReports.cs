using System.Globalization;
using System.Text;

namespace Aurigraph.Node.Carbon;

/// <summary>The Software Carbon Intensity of a height range: SCI = (E × I + M) ÷ R, with every term shown.</summary>
/// <param name="From">First height of the range.</param>
/// <param name="To">Last height of the range.</param>
/// <param name="Heights">Heights in the range with a committed record.</param>
/// <param name="Transactions">R summed: their transactions.</param>
/// <param name="Summary">Sums over their readings (E = <see cref="CarbonSummary.FacilityKwh"/>, M = <see cref="CarbonSummary.EmbodiedGrams"/>).</param>
/// <param name="MissingReadings">Readings still missing in those heights.</param>
/// <param name="LateReadings">Readings that arrived late.</param>
/// <param name="GridSources">The distinct grid-intensity sources the readings used, sorted.</param>
/// <param name="Disclosure">What the SCI specification asks the report to state, and what keeps it from conforming.</param>
public sealed record SciReport(
    ulong From,
    ulong To,
    ulong Heights,
    ulong Transactions,
    CarbonSummary Summary,
    ulong MissingReadings,
    ulong LateReadings,
    IReadOnlyList<string> GridSources,
    SciDisclosure Disclosure)
{
    /// <summary>Whether readings are missing, so the figures leave out their shares.</summary>
    public bool LowerBound => MissingReadings > 0;

    /// <summary>The formula as reported.</summary>
    public const string Formula = "SCI = (E × I + M) / R; E = facility kWh (IT kWh × PUE), I = operational gCO2e / E (energy-weighted grid intensity), M = embodied gCO2e, R = committed transactions";

    /// <summary>E, facility kWh.</summary>
    public double EnergyKwh => Summary.FacilityKwh;

    /// <summary>I, gCO2e per kWh: the recorded operational grams over E (0 when E is 0).</summary>
    public double IntensityGramsPerKwh => Summary.FacilityKwh > 0 ? Summary.OperationalGrams / Summary.FacilityKwh : 0;

    /// <summary>(E × I + M) ÷ R, gCO2e per transaction (0 when R is 0).</summary>
    public double SciGramsPerTransaction => Transactions > 0 ? ((EnergyKwh * IntensityGramsPerKwh) + Summary.EmbodiedGrams) / Transactions : 0;
}

/// <summary>Reports over stored carbon views: the SCI figure of a height range and a CSV export with one row per height.</summary>
public static class CarbonReports
{
    /// <summary>The most heights one report or export may span.</summary>
    public const ulong MaxHeights = 100_000;

    /// <summary>The CSV header.</summary>
    public const string CsvHeader = "height,transactions,record_height,present,missing,late,cpu_kwh,memory_kwh,network_kwh,storage_kwh,consensus_kwh,it_kwh,facility_kwh,operational_g,embodied_g,total_g,g_per_tx,grid_sources";

    /// <summary>
    /// Resolves a requested range: <paramref name="from"/> 0 means 1, <paramref name="to"/> 0 means the last recorded height.
    /// </summary>
    /// <exception cref="ArgumentException">The range is reversed or spans more than <see cref="MaxHeights"/> heights.</exception>
    public static (ulong From, ulong To) Range(ulong from, ulong to, ulong lastRecorded)
    {
        var first = Math.Max(1, from);
        var last = to == 0 ? lastRecorded : to;
        if (to != 0 && last < first)
        {
            throw new ArgumentException($"from ({first}) is after to ({last})");
        }
        if (last >= first && last - first + 1 > MaxHeights)
        {
            throw new ArgumentException($"the range {first}..{last} spans {last - first + 1} heights; at most {MaxHeights} per report");
        }
        return (first, last);
    }

    /// <summary>Sums the views of a range into its SCI figure.</summary>
    public static SciReport Sci(IEnumerable<CarbonBlockView> views, ulong from, ulong to)
    {
        ArgumentNullException.ThrowIfNull(views);
        var summary = CarbonSummary.Zero;
        ulong heights = 0, transactions = 0, missing = 0, late = 0;
        var sources = new SortedSet<string>(StringComparer.Ordinal);
        var readings = new List<CarbonReading>();
        foreach (var view in views)
        {
            heights++;
            transactions += (ulong)view.TransactionCount;
            summary = summary.Add(view.Summary);
            missing += (ulong)view.MissingCount;
            late += (ulong)view.LateCount;
            foreach (var entry in view.Entries)
            {
                if (entry.Reading is { } reading)
                {
                    sources.Add(reading.Grid.Source);
                    readings.Add(reading);
                }
            }
        }
        return new SciReport(from, to, heights, transactions, summary, missing, late, [.. sources], SciDisclosure.Of(readings, missing));
    }

    /// <summary>Writes the CSV export: the header, then one row per recorded height, figures in round-trip form.</summary>
    public static void WriteCsv(TextWriter writer, IEnumerable<CarbonBlockView> views)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(views);
        writer.Write(CsvHeader);
        writer.Write('\n');
        var line = new StringBuilder(256);
        var inv = CultureInfo.InvariantCulture;
        foreach (var v in views)
        {
            var s = v.Summary;
            line.Clear();
            line.Append(inv, $"{v.Height},{v.TransactionCount},{v.RecordHeight},{v.PresentCount},{v.MissingCount},{v.LateCount},");
            line.Append(inv, $"{s.CpuKwh:R},{s.MemoryKwh:R},{s.NetworkKwh:R},{s.StorageKwh:R},{s.ConsensusKwh:R},{s.ItKwh:R},{s.FacilityKwh:R},");
            line.Append(inv, $"{s.OperationalGrams:R},{s.EmbodiedGrams:R},{s.TotalGrams:R},{v.GramsPerTransaction:R},");
            line.AppendJoin(';', v.Entries.Where(e => e.Reading is not null).Select(e => e.Reading!.Grid.Source).Distinct().Order(StringComparer.Ordinal));
            line.Append('\n');
            writer.Write(line);
        }
    }

    /// <summary>
    /// Figures of a height window: totals, gCO2e per transaction (mean, and p50 / p99 over transactions — each
    /// transaction carries its block's figure), energy by component, and shares by region, node and role.
    /// </summary>
    public static CarbonWindowFigures Window(IEnumerable<CarbonBlockView> views, Func<ulong, string> roleOf)
    {
        ArgumentNullException.ThrowIfNull(views);
        ArgumentNullException.ThrowIfNull(roleOf);
        var summary = CarbonSummary.Zero;
        ulong heights = 0, transactions = 0;
        var perTx = new List<(double Grams, int Count)>();
        var regions = new SortedDictionary<string, CarbonShareFigures>(StringComparer.Ordinal);
        var nodes = new SortedDictionary<ulong, CarbonShareFigures>();
        var roles = new SortedDictionary<string, CarbonShareFigures>(StringComparer.Ordinal);
        foreach (var view in views)
        {
            heights++;
            transactions += (ulong)view.TransactionCount;
            summary = summary.Add(view.Summary);
            if (view.TransactionCount > 0)
            {
                perTx.Add((view.GramsPerTransaction, view.TransactionCount));
            }
            foreach (var entry in view.Entries)
            {
                if (entry.Reading is not { } reading)
                {
                    continue;
                }
                var share = new CarbonShareFigures(reading.Estimate.TotalGrams, reading.Estimate.Energy.TotalKwh, 1);
                Accumulate(regions, $"{CloudProviders.ToKey(reading.Cloud)}/{reading.Region}", share);
                Accumulate(nodes, reading.NodeId, share);
                Accumulate(roles, roleOf(reading.NodeId), share);
            }
        }
        perTx.Sort((a, b) => a.Grams.CompareTo(b.Grams));
        return new CarbonWindowFigures(
            heights,
            transactions,
            summary,
            Percentile(perTx, transactions, 0.50),
            Percentile(perTx, transactions, 0.99),
            regions.ToList(),
            [.. nodes.Select(n => new KeyValuePair<string, CarbonShareFigures>($"node {n.Key}", n.Value))],
            roles.ToList());
    }

    private static void Accumulate<TKey>(SortedDictionary<TKey, CarbonShareFigures> shares, TKey key, CarbonShareFigures add)
        where TKey : notnull =>
        shares[key] = shares.TryGetValue(key, out var had) ? new CarbonShareFigures(had.Grams + add.Grams, had.FacilityKwh + add.FacilityKwh, had.Readings + 1) : add;

    /// <summary>The figure below which <paramref name="q"/> of the transactions fall (nearest rank, transaction-weighted).</summary>
    private static double Percentile(List<(double Grams, int Count)> sorted, ulong transactions, double q)
    {
        if (transactions == 0)
        {
            return 0;
        }
        var rank = (ulong)Math.Ceiling(q * transactions);
        ulong seen = 0;
        foreach (var (grams, count) in sorted)
        {
            seen += (ulong)count;
            if (seen >= rank)
            {
                return grams;
            }
        }
        return sorted[^1].Grams;
    }
}

/// <summary>One share of a window's footprint (a region, node or role).</summary>
public readonly record struct CarbonShareFigures(double Grams, double FacilityKwh, ulong Readings);

/// <summary>The figures of a height window (see <see cref="CarbonReports.Window"/>).</summary>
public sealed record CarbonWindowFigures(
    ulong Heights,
    ulong Transactions,
    CarbonSummary Summary,
    double P50GramsPerTransaction,
    double P99GramsPerTransaction,
    IReadOnlyList<KeyValuePair<string, CarbonShareFigures>> ByRegion,
    IReadOnlyList<KeyValuePair<string, CarbonShareFigures>> ByNode,
    IReadOnlyList<KeyValuePair<string, CarbonShareFigures>> ByRole)
{
    public double MeanGramsPerTransaction => Transactions == 0 ? 0 : Summary.TotalGrams / Transactions;
}
