using System.Globalization;

namespace Aurigraph.Node.Carbon.Reporting;

/// <summary>The calendar periods the reports sum hours into (UTC).</summary>
public enum PeriodGranularity
{
    /// <summary>One hour.</summary>
    Hour,

    /// <summary>One calendar day.</summary>
    Day,

    /// <summary>One calendar month.</summary>
    Month,
}

/// <summary>
/// Sums committed carbon hours (<see cref="CarbonHour"/>) into calendar periods: every period of the range appears, in
/// order, with zeros where nothing was recorded. Hours are added in ascending order, so every node gets the same bits.
/// </summary>
public static class PeriodFiguresBuilder
{
    /// <summary>The most periods one query returns.</summary>
    public const int MaxPeriods = 1000;

    /// <summary>The start of the period that holds <paramref name="at"/>.</summary>
    public static DateTimeOffset Floor(DateTimeOffset at, PeriodGranularity granularity)
    {
        var u = at.ToUniversalTime();
        return granularity switch
        {
            PeriodGranularity.Hour => new DateTimeOffset(u.Year, u.Month, u.Day, u.Hour, 0, 0, TimeSpan.Zero),
            PeriodGranularity.Day => new DateTimeOffset(u.Year, u.Month, u.Day, 0, 0, 0, TimeSpan.Zero),
            _ => new DateTimeOffset(u.Year, u.Month, 1, 0, 0, 0, TimeSpan.Zero),
        };
    }

    /// <summary>The start of the period after the one starting at <paramref name="start"/>.</summary>
    public static DateTimeOffset Next(DateTimeOffset start, PeriodGranularity granularity) => granularity switch
    {
        PeriodGranularity.Hour => start.AddHours(1),
        PeriodGranularity.Day => start.AddDays(1),
        _ => start.AddMonths(1),
    };

    /// <summary>The label of the period starting at <paramref name="start"/>: <c>2026-12-03T14</c>, <c>2026-12-03</c> or <c>2026-12</c>.</summary>
    public static string Label(DateTimeOffset start, PeriodGranularity granularity) => start.ToString(
        granularity switch
        {
            PeriodGranularity.Hour => "yyyy-MM-dd'T'HH",
            PeriodGranularity.Day => "yyyy-MM-dd",
            _ => "yyyy-MM",
        },
        CultureInfo.InvariantCulture);

    /// <summary>
    /// The periods from the one holding <paramref name="from"/> up to the one before <paramref name="to"/> (exclusive), with
    /// <paramref name="hours"/> (ascending) summed into them.
    /// </summary>
    /// <exception cref="ArgumentException">The range is empty or holds more than <see cref="MaxPeriods"/> periods.</exception>
    public static List<PeriodFigures> Build(IEnumerable<CarbonHour> hours, DateTimeOffset from, DateTimeOffset to, PeriodGranularity granularity)
    {
        ArgumentNullException.ThrowIfNull(hours);
        var starts = new List<DateTimeOffset>();
        for (var start = Floor(from, granularity); start < to; start = Next(start, granularity))
        {
            if (starts.Count == MaxPeriods)
            {
                throw new ArgumentException($"the range holds more than {MaxPeriods} periods of one {granularity.ToString().ToLowerInvariant()}", nameof(to));
            }
            starts.Add(start);
        }
        if (starts.Count == 0)
        {
            throw new ArgumentException("the range is empty: 'to' must be after 'from'", nameof(to));
        }
        var sums = new CarbonHour[starts.Count];
        var i = 0;
        foreach (var hour in hours)
        {
            while (i < starts.Count && hour.Start >= Next(starts[i], granularity))
            {
                i++;
            }
            if (i == starts.Count)
            {
                break;
            }
            if (hour.Start < starts[i])
            {
                continue;
            }
            sums[i] = sums[i] is null ? hour : sums[i].Add(hour.Heights, hour.Transactions, hour.Summary, (long)hour.PresentReadings, (long)hour.MissingReadings);
        }
        var periods = new List<PeriodFigures>(starts.Count);
        for (var k = 0; k < starts.Count; k++)
        {
            periods.Add(Figures(starts[k], granularity, sums[k]));
        }
        return periods;
    }

    private static PeriodFigures Figures(DateTimeOffset start, PeriodGranularity granularity, CarbonHour? sum)
    {
        var s = sum?.Summary ?? CarbonSummary.Zero;
        return new PeriodFigures(
            Label(start, granularity),
            start,
            Next(start, granularity),
            sum?.Transactions ?? 0,
            sum?.Heights ?? 0,
            s.TotalGrams,
            s.MarketGrams,
            s.OperationalGrams,
            s.EmbodiedGrams,
            EnergyFigures.Of(s),
            sum?.PresentReadings ?? 0,
            sum?.MissingReadings ?? 0);
    }
}
