using System.Diagnostics;
using System.Globalization;

namespace Aurigraph.Bench.Load;

/// <summary>One node process's resource use over the timed phase.</summary>
/// <param name="Pid">The process.</param>
/// <param name="Name">Its command line.</param>
/// <param name="CpuPercent">CPU % over the timed phase (100 = one core), from /proc.</param>
/// <param name="PeakRssMb">Peak resident memory, MB.</param>
public sealed record NodeUsage(int Pid, string Name, double CpuPercent, double PeakRssMb)
{
    /// <summary>Process CPU seconds over the timed phase, from the kernel's accounting (/proc/&lt;pid&gt;/stat).</summary>
    public double? ProcessCpuSeconds { get; init; }

    /// <summary>
    /// CPU seconds the node's carbon meter attributed to blocks over the same phase (its <c>aurigraph_carbon_meter_cpu_seconds_total</c>
    /// scraped at the start and the end); null when the node does not meter or could not be scraped.
    /// </summary>
    public double? MeteredCpuSeconds { get; init; }

    /// <summary>Where the node's CPU, memory traffic and disk writes went over the phase (null when it could not be scraped).</summary>
    public NodePipeline? Pipeline { get; init; }

    /// <summary>Metered ÷ process CPU − 1: the conservation error of the meter's CPU figure over the phase (null without both).</summary>
    public double? MeterError => MeteredCpuSeconds is { } m && ProcessCpuSeconds is { } p && p > 0 ? (m / p) - 1 : null;
}

/// <summary>
/// Reads node processes' CPU time and memory from /proc: CPU % = (utime + stime) consumed during the timed phase
/// over its wall time (100 % = one core); peak RSS = the kernel's high-water mark (VmHWM) at the end.
/// </summary>
public sealed class NodeProbe(IReadOnlyList<int> pids)
{
    // USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux architecture .NET runs on.
    private const double TicksPerSecond = 100;
    private readonly Dictionary<int, double> _startTicks = [];
    private readonly Dictionary<int, double> _startMetered = [];
    private readonly Dictionary<int, double> _endTicks = [];
    private readonly Dictionary<int, double> _endMetered = [];
    private readonly Dictionary<int, (ProcessReading Process, Dictionary<string, double> Scrape)> _startReadings = [];
    private readonly Dictionary<int, (ProcessReading Process, Dictionary<string, double> Scrape)> _endReadings = [];
    private TimeSpan? _endWall;
    private readonly Dictionary<int, double> _peakRss = [];
    private readonly Stopwatch _wall = new();

    public void Start()
    {
        foreach (var pid in pids)
        {
            if (Bracketed(pid) is { } b)
            {
                _startTicks[pid] = b.Ticks;
                if (b.Metered is { } m)
                {
                    _startMetered[pid] = m;
                }
                if (b.Reading is { } r)
                {
                    _startReadings[pid] = r;
                }
            }
        }
        _wall.Restart();
    }

    public void Sample()
    {
        foreach (var pid in pids)
        {
            if (Status(pid, "VmRSS:") is { } rss)
            {
                _peakRss[pid] = Math.Max(_peakRss.GetValueOrDefault(pid), rss);
            }
        }
    }

    /// <summary>
    /// Ends the phase now, while the load still runs (so the nodes' meters keep closing intervals and the scrape is at most
    /// one apply round behind the kernel's figure); <see cref="Finish"/> then reports up to this moment.
    /// </summary>
    public void Stop()
    {
        if (_endWall is not null)
        {
            return;
        }
        foreach (var pid in pids)
        {
            if (Bracketed(pid) is { } b)
            {
                _endTicks[pid] = b.Ticks;
                if (b.Metered is { } m)
                {
                    _endMetered[pid] = m;
                }
                if (b.Reading is { } r)
                {
                    _endReadings[pid] = r;
                }
            }
        }
        _endWall = _wall.Elapsed;
    }

    public IReadOnlyList<NodeUsage> Finish()
    {
        Stop();
        var seconds = _endWall!.Value.TotalSeconds;
        var result = new List<NodeUsage>();
        foreach (var pid in pids)
        {
            double? processCpu = _startTicks.TryGetValue(pid, out var start) && _endTicks.TryGetValue(pid, out var end) ? (end - start) / TicksPerSecond : null;
            double? metered = _startMetered.TryGetValue(pid, out var from) && _endMetered.TryGetValue(pid, out var to) ? to - from : null;
            var cpu = seconds > 0 && processCpu is { } c ? c / seconds * 100 : double.NaN;
            var peak = Math.Max(_peakRss.GetValueOrDefault(pid), Status(pid, "VmHWM:") ?? 0);
            var pipeline = _startReadings.TryGetValue(pid, out var first) && _endReadings.TryGetValue(pid, out var last)
                ? NodePipeline.Between(NodeId(pid), first, last)
                : null;
            result.Add(new NodeUsage(pid, Name(pid), cpu, peak) { ProcessCpuSeconds = processCpu, MeteredCpuSeconds = metered, Pipeline = pipeline });
        }
        return result;
    }

    /// <summary>Node processes on this machine: `Aurigraph.Node ... run --config <file>` (apphost or dotnet + dll).</summary>
    public static IReadOnlyList<int> FindNodes()
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            var cmd = Name(pid);
            if (cmd.Contains("Aurigraph.Node", StringComparison.Ordinal) && cmd.Contains(" run ", StringComparison.Ordinal))
            {
                found.Add(pid);
            }
        }
        return found;
    }

    private static string Name(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>
    /// The kernel's CPU ticks and the meter's scrape at one moment: the ticks are read before and after the scrape (which
    /// takes a while on a saturated node) and averaged, so both figures stand for the same instant.
    /// </summary>
    private (double Ticks, double? Metered, (ProcessReading, Dictionary<string, double>)? Reading)? Bracketed(int pid)
    {
        if (CpuTicks(pid) is not { } before)
        {
            return null;
        }
        var process = ProcessReading.Read(pid);
        var scrape = Scrape(pid);
        var after = CpuTicks(pid) ?? before;
        var metered = scrape is not null ? MetricsScrape.Sum(scrape, "aurigraph_carbon_meter_cpu_seconds_total") : null;
        return ((before + after) / 2.0, metered, process is not null && scrape is not null ? (process, scrape) : null);
    }

    private static readonly HttpClient Scraper = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly Dictionary<int, string?> _metricsUrls = [];

    /// <summary>The node's /metrics page (REST address from the configuration on its command line), or null.</summary>
    private Dictionary<string, double>? Scrape(int pid)
    {
        if (!_metricsUrls.TryGetValue(pid, out var url))
        {
            url = MetricsUrl(pid);
            _metricsUrls[pid] = url;
        }
        if (url is null)
        {
            return null;
        }
        try
        {
            return MetricsScrape.Parse(Scraper.GetStringAsync(url).GetAwaiter().GetResult());
        }
        catch (HttpRequestException)
        {
        }
        catch (TaskCanceledException)
        {
        }
        return null;
    }

    /// <summary>The node id in the configuration on the process's command line (0 if unknown).</summary>
    private static ulong NodeId(int pid)
    {
        try
        {
            var args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            var at = Array.IndexOf(args, "--config");
            if (at >= 0 && at + 1 < args.Length)
            {
                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(args[at + 1]));
                return doc.RootElement.GetProperty("Aurigraph").GetProperty("NodeId").GetUInt64();
            }
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
        }
        return 0;
    }

    private static string? MetricsUrl(int pid)
    {
        try
        {
            var args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            var at = Array.IndexOf(args, "--config");
            if (at < 0 || at + 1 >= args.Length)
            {
                return null;
            }
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(args[at + 1]));
            var node = doc.RootElement.GetProperty("Aurigraph");
            var id = node.GetProperty("NodeId").GetUInt64();
            foreach (var member in node.GetProperty("Members").EnumerateArray())
            {
                if (member.GetProperty("Id").GetUInt64() == id)
                {
                    return member.GetProperty("RestAddress").GetString()!.TrimEnd('/') + "/metrics";
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
        }
        return null;
    }

    private static long? CpuTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static double? Status(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    var kb = long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kb / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }
}
