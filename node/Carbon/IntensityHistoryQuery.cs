using System.Globalization;

namespace Aurigraph.Node.Carbon;

/// <summary>One hour of a history answer: the stored record, or a gap; and whether the figure is stale for the hour.</summary>
/// <param name="Hour">The start of the hour (UTC).</param>
/// <param name="Record">The stored record, or <see langword="null"/> for a gap.</param>
/// <param name="Stale">Whether the figure was observed more than MaxAge before the hour it stands for.</param>
public sealed record IntensityHistoryEntry(DateTimeOffset Hour, IntensityHour? Record, bool Stale)
{
    /// <summary>No record for this hour.</summary>
    public bool Gap => Record is null;

    /// <summary>How long before the hour the figure was observed (negative when after its start); zero for a gap.</summary>
    public TimeSpan Age => Record is { } r ? Hour - r.ObservedAt : TimeSpan.Zero;
}

/// <summary>A zone's history over whole hours <see cref="From"/> (inclusive) to <see cref="To"/> (exclusive), every hour listed.</summary>
public sealed record IntensityHistoryAnswer(string Zone, DateTimeOffset From, DateTimeOffset To, TimeSpan MaxAge, IReadOnlyList<IntensityHistoryEntry> Hours)
{
    /// <summary>Hours without a record.</summary>
    public int Gaps => Hours.Count(h => h.Gap);

    /// <summary>Hours whose figure is stale.</summary>
    public int StaleHours => Hours.Count(h => h.Stale);
}

/// <summary>
/// Answers "the intensity of zone Z from A to B": checks the request (a zone name, ISO-8601 times, at most
/// <see cref="IntensityHistoryStore.MaxRangeHours"/> hours) and lists every hour of the range with its record or as a gap,
/// flagging figures older than <see cref="GridIntensityOptions.MaxAge"/> relative to their hour as stale.
/// </summary>
public sealed class IntensityHistoryQuery(IntensityHistoryStore store, TimeSpan maxAge, TimeProvider time)
{
    /// <summary>The range when <c>from</c> is not given: the 24 hours before <c>to</c>.</summary>
    public static readonly TimeSpan DefaultRange = TimeSpan.FromHours(24);

    // ISO-8601 / RFC 3339 forms; K takes "Z", an offset or nothing (then UTC).
    private static readonly string[] Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd'T'HHK",
        "yyyy-MM-dd",
        "yyyy-MM",
    ];

    private readonly IntensityHistoryStore _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly TimeProvider _time = time ?? throw new ArgumentNullException(nameof(time));

    /// <summary>
    /// The hours from <paramref name="from"/> (rounded down to its hour; default 24 hours before <c>to</c>) up to
    /// <paramref name="to"/> (rounded up to an hour; default and at most the end of the current hour).
    /// </summary>
    /// <exception cref="ArgumentException">The zone or a time is malformed, the range is empty or reversed, or longer than the limit.</exception>
    /// <exception cref="Ledger.CorruptRecordException">A stored record fails its check.</exception>
    public IntensityHistoryAnswer Run(string? zone, string? from, string? to)
    {
        if (!IntensityHistoryCodec.IsValidZone(zone))
        {
            throw new ArgumentException($"zone must be a grid zone such as DE or US-MIDA-PJM (1 to {IntensityHistoryCodec.MaxZoneBytes} letters, digits, '-', '_', '/', '.'), got '{zone}'");
        }
        var endOfNow = Hours.Floor(_time.GetUtcNow()) + Hours.One;
        var last = string.IsNullOrEmpty(to) ? endOfNow : Hours.Ceiling(Parse(to, "to"));
        var first = string.IsNullOrEmpty(from) ? last - DefaultRange : Hours.Floor(Parse(from, "from"));
        if (first.ToUnixTimeSeconds() < 0)
        {
            throw new ArgumentException($"from must not be before 1970-01-01T00:00:00Z (was {Text(first)})");
        }
        if (last <= first)
        {
            throw new ArgumentException($"to ({Text(last)}) must be after from ({Text(first)})");
        }
        if (last - first > IntensityHistoryStore.MaxRangeHours * Hours.One)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"a range may span at most {IntensityHistoryStore.MaxRangeHours} hours (31 days); {Text(first)} to {Text(last)} is {(last - first).TotalHours} hours"));
        }
        // Hours that have not begun are not listed: they are not gaps.
        var end = last < endOfNow ? last : endOfNow;
        var records = end > first ? _store.Range(zone!, first, end).ToDictionary(r => r.Hour) : [];
        var hours = new List<IntensityHistoryEntry>();
        for (var hour = first; hour < end; hour += Hours.One)
        {
            var record = records.GetValueOrDefault(hour);
            hours.Add(new IntensityHistoryEntry(hour, record, record is not null && hour - record.ObservedAt > maxAge));
        }
        return new IntensityHistoryAnswer(zone!, first, last, maxAge, hours);
    }

    /// <summary>An ISO-8601 time as RFC 3339 UTC with milliseconds, as every time of the carbon API is written.</summary>
    public static string Text(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>An ISO-8601 time (a day, an hour, a minute, a second or a month; UTC unless an offset is given).</summary>
    /// <exception cref="ArgumentException">The text is not one of those forms; the message names <paramref name="name"/>.</exception>
    public static DateTimeOffset Parse(string text, string name) =>
        DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : throw new ArgumentException($"{name} must be an ISO-8601 time such as 2026-11-23T10:00:00Z, got '{text}'");
}
