using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aurigraph.Node.Security;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// The <c>timeouts</c> command: reads the round trips a leader measured to its peers (its /metrics), and prints the
/// election and heartbeat settings they call for by etcd's tuning rule (<see cref="TimeoutAdvice"/>), with the
/// environment variables to set them. The timeouts are the same on every member, so applying them is a rolling
/// configuration change; the node itself warns (EventId 135) when a measured round trip breaks the rule.
/// </summary>
internal static partial class TimeoutsCommand
{
    [GeneratedRegex(@"^aurigraph_consensus_peer_round_trip_milliseconds\{[^}]*peer=""(\d+)""[^}]*\} ([0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex RoundTripLine();

    /// <summary>The measured round trip to each peer in a Prometheus exposition (empty when the node measures none: it does not lead).</summary>
    public static Dictionary<ulong, double> RoundTrips(string metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var found = new Dictionary<ulong, double>();
        foreach (Match m in RoundTripLine().Matches(metrics))
        {
            if (ulong.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var peer)
                && double.TryParse(m.Groups[2].ValueSpan, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && double.IsFinite(ms) && ms > 0)
            {
                found[peer] = ms;
            }
        }
        return found;
    }

    /// <summary>What the slowest measured path calls for, as printed.</summary>
    public static object Advice(IReadOnlyDictionary<ulong, double> roundTrips)
    {
        ArgumentNullException.ThrowIfNull(roundTrips);
        var (peer, worst) = roundTrips.MaxBy(p => p.Value);
        var (tick, heartbeat, election) = TimeoutAdvice.Derive(worst);
        return new
        {
            measuredMilliseconds = roundTrips.OrderBy(p => p.Key).ToDictionary(p => p.Key.ToString(CultureInfo.InvariantCulture), p => Math.Round(p.Value, 1)),
            slowestPeer = peer,
            slowestMilliseconds = Math.Round(worst, 1),
            rule = "heartbeat about one round trip (at least 100 ms), election timeout at least ten round trips (at least ten heartbeats)",
            settings = new { TickMilliseconds = tick, HeartbeatTicks = heartbeat, ElectionTicks = election },
            environment = new[] { $"AURIGRAPH__TICKMILLISECONDS={tick}", $"AURIGRAPH__HEARTBEATTICKS={heartbeat}", $"AURIGRAPH__ELECTIONTICKS={election}" },
            apply = "on every member, one node at a time (a stopped leader hands over first)",
        };
    }

    public static async Task<int> RunAsync(string rest, ClientTls tls, CancellationToken ct)
    {
        using var http = new HttpClient(ClientChannels.CreateHandler(tls)) { BaseAddress = new Uri(rest), Timeout = TimeSpan.FromSeconds(10) };
        var roundTrips = RoundTrips(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), ct).ConfigureAwait(false));
        if (roundTrips.Count == 0)
        {
            await Console.Error.WriteLineAsync($"error: {rest} reports no measured round trips; only the leader measures them (ask the leader's REST address)").ConfigureAwait(false);
            return 1;
        }
        Console.WriteLine(JsonSerializer.Serialize(Advice(roundTrips), NodeServer.Indented));
        return 0;
    }
}
