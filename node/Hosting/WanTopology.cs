using Aurigraph.Node.Transport;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// WAN emulation settings ("Aurigraph:Transport:Wan"): on loopback, each peer lane delays what it sends by the path
/// between this member's location and the peer's (<see cref="MemberOptions.Cloud"/>, <see cref="MemberOptions.Region"/>,
/// <see cref="MemberOptions.Zone"/>), so tests and benchmarks see cross-cloud latency on one machine. Off by default:
/// a real deployment has real latency.
/// </summary>
public sealed class WanSettings
{
    public bool Enabled { get; set; }

    /// <summary>Seed of the jitter and loss draws (each lane's generator is derived from it and the two member ids).</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Paths that replace the built-in table (<see cref="WanTopology.DefaultTable"/>), either direction.</summary>
    public List<WanLinkSettings> Links { get; set; } = [];

    /// <summary>
    /// A file listing locations cut off from the rest (see <see cref="WanPartition"/>), for partition drills; empty: none.
    /// Only with <see cref="Enabled"/>.
    /// </summary>
    public string PartitionFile { get; set; } = "";
}

/// <summary>One configured path: <c>From</c> and <c>To</c> are "cloud:region" (e.g. "aws:us-east-1").</summary>
public sealed class WanLinkSettings
{
    public string From { get; set; } = "";

    public string To { get; set; } = "";

    public double RttMilliseconds { get; set; }

    /// <summary>Jitter each way (±); default 5 % of the round trip.</summary>
    public double? JitterMilliseconds { get; set; }

    public double LossPercent { get; set; }
}

/// <summary>
/// The path between two members' locations for WAN emulation: the same zone, the same region (another zone), a
/// configured path, the built-in table of the programme's three regions, or — for two regions the table does not
/// know — the programme's cross-cloud bound of 50 ms. Members without a location are not delayed.
/// </summary>
public static class WanTopology
{
    /// <summary>Round trip between two zones of one region (cloud providers quote under 2 ms; measured 0.5–1 ms).</summary>
    public const double SameRegionRttMilliseconds = 1.0;

    /// <summary>Round trip inside one zone.</summary>
    public const double SameZoneRttMilliseconds = 0.2;

    /// <summary>Round trip assumed between regions the table does not know: the programme's cross-cloud bound.</summary>
    public const double UnknownRttMilliseconds = 50;

    /// <summary>
    /// Round trips between the programme's regions, approximate medians of public VM-to-VM ping measurements (for
    /// example S. Agarwal, "Public Cloud Inter-region Network Latency as Heat-maps", 2018, AWS/GCP/Azure): AWS
    /// us-east-1 and Azure eastus are both in northern Virginia; GCP us-central1 is in Iowa. Override any of them
    /// with <see cref="WanSettings.Links"/> from a measurement of your own.
    /// </summary>
    public static IReadOnlyList<(string From, string To, double RttMilliseconds)> DefaultTable { get; } =
    [
        ("aws:us-east-1", "azure:eastus", 2.0),
        ("aws:us-east-1", "gcp:us-central1", 30.0),
        ("azure:eastus", "gcp:us-central1", 32.0),
    ];

    /// <summary>The emulated path from <paramref name="from"/> to <paramref name="to"/>, or null when either has no location.</summary>
    public static WanLink? Link(MemberOptions from, MemberOptions to, WanSettings settings)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        ArgumentNullException.ThrowIfNull(settings);
        if (Location(from) is not { } a || Location(to) is not { } b)
        {
            return null;
        }
        if (a == b)
        {
            var sameZone = from.Zone.Length > 0 && string.Equals(from.Zone, to.Zone, StringComparison.OrdinalIgnoreCase);
            return Path(sameZone ? SameZoneRttMilliseconds : SameRegionRttMilliseconds, null, 0);
        }
        foreach (var link in settings.Links)
        {
            if (Matches(link.From, link.To, a, b))
            {
                return Path(link.RttMilliseconds, link.JitterMilliseconds, link.LossPercent);
            }
        }
        foreach (var (f, t, rtt) in DefaultTable)
        {
            if (Matches(f, t, a, b))
            {
                return Path(rtt, null, 0);
            }
        }
        return Path(UnknownRttMilliseconds, null, 0);
    }

    /// <summary>The largest round trip between any two located members (what the timeouts must be judged against).</summary>
    public static double MaxRttMilliseconds(IReadOnlyList<MemberOptions> members, WanSettings settings)
    {
        ArgumentNullException.ThrowIfNull(members);
        double max = 0;
        foreach (var a in members)
        {
            foreach (var b in members)
            {
                if (a.Id != b.Id && Link(a, b, settings) is { } link)
                {
                    max = Math.Max(max, link.RttMilliseconds + (2 * link.JitterMilliseconds));
                }
            }
        }
        return max;
    }

    /// <summary>
    /// Checks the settings and, as etcd's tuning guide advises, the timeouts against the largest round trip between
    /// located members (emulated or not: a deployment across these regions has it): the heartbeat interval at least
    /// half of it and the election timeout at least ten times it.
    /// </summary>
    public static IEnumerable<string> Validate(string section, IReadOnlyList<MemberOptions> members, WanSettings settings, int tickMilliseconds, int heartbeatTicks, int electionTicks)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.PartitionFile.Length > 0 && !settings.Enabled)
        {
            yield return $"{section}:Transport:Wan:PartitionFile is set but {section}:Transport:Wan:Enabled is false: partitions are part of WAN emulation";
        }
        for (var i = 0; i < settings.Links.Count; i++)
        {
            var link = settings.Links[i];
            if (!IsLocation(link.From) || !IsLocation(link.To))
            {
                yield return $"{section}:Transport:Wan:Links:{i}: From and To must be \"cloud:region\" (got '{link.From}', '{link.To}')";
            }
            if (Path(link.RttMilliseconds, link.JitterMilliseconds, link.LossPercent).Problem() is { } problem)
            {
                yield return $"{section}:Transport:Wan:Links:{i}: {problem}";
            }
        }
        var rtt = MaxRttMilliseconds(members, settings);
        if (rtt <= 0)
        {
            yield break;
        }
        var (tick, beats, elections) = TimeoutAdvice.Derive(rtt);
        var advice = $"for example TickMilliseconds {tick}, HeartbeatTicks {beats}, ElectionTicks {elections}";
        var heartbeat = (double)heartbeatTicks * tickMilliseconds;
        var election = (double)electionTicks * tickMilliseconds;
        if (heartbeat < rtt / 2)
        {
            yield return $"{section}:HeartbeatTicks × TickMilliseconds = {heartbeat} ms is under half the largest round trip between the members' regions ({rtt:F1} ms): heartbeats would not arrive between intervals; raise it ({advice})";
        }
        if (election < 10 * rtt)
        {
            yield return $"{section}:ElectionTicks × TickMilliseconds = {election} ms is under ten times the largest round trip between the members' regions ({rtt:F1} ms, etcd's tuning rule): elections would start on ordinary delays; raise it ({advice})";
        }
    }

    private static bool IsLocation(string value)
    {
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && colon < value.Length - 1;
    }

    /// <summary>"cloud:region" of a member, lower case, or null without one.</summary>
    public static string? Location(MemberOptions member)
    {
        ArgumentNullException.ThrowIfNull(member);
        return member.Cloud.Length == 0 || member.Region.Length == 0 ? null : $"{member.Cloud}:{member.Region}".ToLowerInvariant();
    }

    private static bool Matches(string from, string to, string a, string b)
    {
        var f = from.ToLowerInvariant();
        var t = to.ToLowerInvariant();
        return (f == a && t == b) || (f == b && t == a);
    }

    private static WanLink Path(double rtt, double? jitter, double loss) => new(rtt, jitter ?? (0.05 * rtt), loss);
}
