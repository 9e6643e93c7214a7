using System.Globalization;

namespace Aurigraph.Bench.Load;

/// <summary>
/// What the kernel says about a node process at one moment: CPU per thread (grouped by thread name), bytes the process
/// caused to be written to storage, and its memory. Thread CPU is read from /proc/&lt;pid&gt;/task/*/stat; a thread that
/// exits between two readings takes its time with it, which the report shows as the process total minus the threads'.
/// </summary>
public sealed record ProcessReading(double CpuSeconds, IReadOnlyDictionary<string, double> ThreadCpuSeconds, long? DiskWriteBytes)
{
    // USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux architecture .NET runs on.
    private const double TicksPerSecond = 100;

    public static ProcessReading? Read(int pid)
    {
        if (StatTicks($"/proc/{pid}/stat") is not { } total)
        {
            return null;
        }
        var threads = new Dictionary<string, double>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (StatTicks(Path.Combine(dir, "stat"), out var name) is { } ticks)
                {
                    var group = Group(name);
                    threads[group] = threads.GetValueOrDefault(group) + (ticks / TicksPerSecond);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return new ProcessReading(total / TicksPerSecond, threads, WriteBytes(pid));
    }

    /// <summary>Thread names without their numbers: ".NET TP Worker", "rocksdb:low", ".NET BGC", the main thread's name.</summary>
    public static string Group(string name) => name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '#', '-', ':').Trim() is { Length: > 0 } g ? g : name;

    private static long? StatTicks(string path) => StatTicks(path, out _);

    private static long? StatTicks(string path, out string name)
    {
        name = "";
        try
        {
            var stat = File.ReadAllText(path);
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            name = stat[(open + 1)..close];
            // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
            var fields = stat[(close + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>write_bytes of /proc/&lt;pid&gt;/io: bytes this process caused to be sent to the storage layer.</summary>
    private static long? WriteBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/io"))
            {
                if (line.StartsWith("write_bytes:", StringComparison.Ordinal))
                {
                    return long.Parse(line["write_bytes:".Length..].Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
        }
        return null;
    }
}

/// <summary>A node's /metrics page as series → value (the series is the name with its labels, as exported).</summary>
public static class MetricsScrape
{
    public static Dictionary<string, double> Parse(string text)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            // "name{labels} value [timestamp]": the value follows the series, which ends at the last '}' or the first space.
            var seriesEnd = line.LastIndexOf('}') is var brace and >= 0 ? brace + 1 : line.IndexOf(' ', StringComparison.Ordinal);
            if (seriesEnd <= 0 || seriesEnd >= line.Length)
            {
                continue;
            }
            var rest = line[seriesEnd..].Trim().Split(' ');
            if (double.TryParse(rest[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                values[line[..seriesEnd]] = value;
            }
        }
        return values;
    }

    /// <summary>Series of <paramref name="name"/> by the value of <paramref name="label"/>: stage → seconds, generation → count.</summary>
    public static Dictionary<string, double> ByLabel(IReadOnlyDictionary<string, double> scrape, string name, string label)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        var prefix = name + "{";
        var key = label + "=\"";
        foreach (var (series, value) in scrape)
        {
            if (!series.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }
            var at = series.IndexOf(key, StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }
            var start = at + key.Length;
            var end = series.IndexOf('"', start);
            result[series[start..end]] = result.GetValueOrDefault(series[start..end]) + value;
        }
        return result;
    }

    /// <summary>The sum of every series of <paramref name="name"/> (with or without labels).</summary>
    public static double? Sum(IReadOnlyDictionary<string, double> scrape, string name)
    {
        double? sum = null;
        foreach (var (series, value) in scrape)
        {
            if (series == name || series.StartsWith(name + "{", StringComparison.Ordinal))
            {
                sum = (sum ?? 0) + value;
            }
        }
        return sum;
    }
}
