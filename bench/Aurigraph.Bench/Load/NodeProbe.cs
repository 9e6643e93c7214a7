using System.Diagnostics;
using System.Globalization;

namespace Aurigraph.Bench.Load;

/// <summary>One node process's resource use over the timed phase.</summary>
public sealed record NodeUsage(int Pid, string Name, double CpuPercent, double PeakRssMb);

/// <summary>
/// Reads node processes' CPU time and memory from /proc: CPU % = (utime + stime) consumed during the timed phase
/// over its wall time (100 % = one core); peak RSS = the kernel's high-water mark (VmHWM) at the end.
/// </summary>
public sealed class NodeProbe(IReadOnlyList<int> pids)
{
    // USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux architecture .NET runs on.
    private const double TicksPerSecond = 100;
    private readonly Dictionary<int, long> _startTicks = [];
    private readonly Dictionary<int, double> _peakRss = [];
    private readonly Stopwatch _wall = new();

    public void Start()
    {
        foreach (var pid in pids)
        {
            if (CpuTicks(pid) is { } t)
            {
                _startTicks[pid] = t;
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

    public IReadOnlyList<NodeUsage> Finish()
    {
        var seconds = _wall.Elapsed.TotalSeconds;
        var result = new List<NodeUsage>();
        foreach (var pid in pids)
        {
            var cpu = _startTicks.TryGetValue(pid, out var start) && CpuTicks(pid) is { } end && seconds > 0
                ? (end - start) / TicksPerSecond / seconds * 100
                : double.NaN;
            var peak = Math.Max(_peakRss.GetValueOrDefault(pid), Status(pid, "VmHWM:") ?? 0);
            result.Add(new NodeUsage(pid, Name(pid), cpu, peak));
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
