using System.Diagnostics;
using System.Numerics;

namespace Aurigraph.Bench.Peer;

/// <summary>
/// A log-linear latency histogram in the HdrHistogram manner: values (microseconds) below 256 are counted
/// exactly; above, each power-of-two range is split into 128 equal buckets, so any recorded value is known to
/// within 1/128 (0.8 %). Fixed memory (about 58 KB), O(1) recording, no allocation after construction.
/// Not thread-safe: give each worker its own and <see cref="Add"/> them at the end.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBucketBits = 7;
    private const int SubBuckets = 1 << SubBucketBits;      // 128 buckets per power of two
    private const int LinearLimit = 2 * SubBuckets;         // 0..255 counted one by one
    private const int MaxShift = 63 - SubBucketBits;

    private readonly long[] _counts = new long[LinearLimit + (MaxShift * SubBuckets)];

    public long Count { get; private set; }

    public long MinMicros { get; private set; } = long.MaxValue;

    public long MaxMicros { get; private set; }

    private double _sumMicros;

    public double MeanMicros => Count == 0 ? double.NaN : _sumMicros / Count;

    /// <summary>Records the time since <paramref name="startTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/>) <paramref name="count"/> times.</summary>
    public void RecordSince(long startTimestamp, long count = 1) =>
        Record(TicksToMicros(Stopwatch.GetTimestamp() - startTimestamp), count);

    public static long TicksToMicros(long stopwatchTicks) =>
        (long)(stopwatchTicks * (1_000_000.0 / Stopwatch.Frequency));

    public void Record(long micros, long count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0)
        {
            return;
        }
        micros = Math.Max(0, micros);
        _counts[IndexOf(micros)] += count;
        Count += count;
        _sumMicros += (double)micros * count;
        MinMicros = Math.Min(MinMicros, micros);
        MaxMicros = Math.Max(MaxMicros, micros);
    }

    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }
        Count += other.Count;
        _sumMicros += other._sumMicros;
        MinMicros = Math.Min(MinMicros, other.MinMicros);
        MaxMicros = Math.Max(MaxMicros, other.MaxMicros);
    }

    /// <summary>
    /// The value at quantile <paramref name="q"/> (0..1): the highest value equivalent to the bucket holding the
    /// ⌈q·count⌉-th smallest recording (never above the largest value recorded); NaN when empty.
    /// </summary>
    public double ValueAtQuantileMicros(double q)
    {
        if (Count == 0)
        {
            return double.NaN;
        }
        var rank = Math.Clamp((long)Math.Ceiling(q * Count), 1, Count);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(HighestEquivalent(i), MaxMicros);
            }
        }
        return MaxMicros;
    }

    public double ValueAtQuantileMs(double q) => ValueAtQuantileMicros(q) / 1000.0;

    private static int IndexOf(long value)
    {
        if (value < LinearLimit)
        {
            return (int)value;
        }
        var msb = 63 - BitOperations.LeadingZeroCount((ulong)value);   // >= 8
        var shift = msb - SubBucketBits;                                 // >= 1
        var sub = (int)(value >> shift);                                 // 128..255
        return LinearLimit + ((shift - 1) * SubBuckets) + (sub - SubBuckets);
    }

    private static long HighestEquivalent(int index)
    {
        if (index < LinearLimit)
        {
            return index;
        }
        var shift = ((index - LinearLimit) / SubBuckets) + 1;
        var sub = ((index - LinearLimit) % SubBuckets) + SubBuckets;
        return ((long)(sub + 1) << shift) - 1;
    }
}
