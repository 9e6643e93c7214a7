using System.Diagnostics;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// Carbon-aware leader placement ("Aurigraph:LeaderPlacement"), off by default. The leader does most of a cluster's
/// work (it verifies and orders every transaction, serves most clients, sends every block to every follower), so its
/// grid decides most of the cluster's gCO2e. With the policy on, the leader hands leadership to the caught-up validator
/// whose region has the lowest current grid intensity, when that region is cleaner by at least
/// <see cref="MinImprovementPercent"/>, has been for <see cref="HoldSeconds"/>, and its commit round trip stays within
/// <see cref="LatencyBudgetMilliseconds"/>.
/// </summary>
public sealed class LeaderPlacementSettings
{
    public bool Enabled { get; set; }

    /// <summary>How often the leader compares the validators' grids.</summary>
    public int CheckIntervalSeconds { get; set; } = 30;

    /// <summary>
    /// Hysteresis in time: a cleaner validator must have been the best choice this long, unbroken, before leadership
    /// moves; a new leader also waits this long before it moves leadership on (no ping-pong between two views).
    /// </summary>
    public int HoldSeconds { get; set; } = 180;

    /// <summary>Hysteresis in size: the candidate's grid must be this much cleaner than the leader's, in percent.</summary>
    public double MinImprovementPercent { get; set; } = 5;

    /// <summary>
    /// A candidate's commit round trip — the round trip to the nearest quorum of the other voters, from the location
    /// table (<see cref="WanTopology"/>) — must not exceed this. Default: the programme's cross-cloud bound.
    /// </summary>
    public double LatencyBudgetMilliseconds { get; set; } = 50;

    /// <summary>A candidate is caught up when it answered in the current check-quorum period and lags at most this many entries.</summary>
    public int MaxLagEntries { get; set; } = 64;

    public IEnumerable<string> Validate(string section)
    {
        var s = $"{section}:LeaderPlacement";
        if (CheckIntervalSeconds <= 0)
        {
            yield return $"{s}:CheckIntervalSeconds must be positive";
        }
        if (HoldSeconds < CheckIntervalSeconds)
        {
            yield return $"{s}:HoldSeconds ({HoldSeconds}) must be at least CheckIntervalSeconds ({CheckIntervalSeconds}): a candidate is confirmed over several checks";
        }
        if (!(MinImprovementPercent > 0 && MinImprovementPercent < 100))
        {
            yield return $"{s}:MinImprovementPercent must be above 0 and below 100 (got {MinImprovementPercent})";
        }
        if (!(LatencyBudgetMilliseconds > 0))
        {
            yield return $"{s}:LatencyBudgetMilliseconds must be positive";
        }
        if (MaxLagEntries < 0)
        {
            yield return $"{s}:MaxLagEntries must not be negative";
        }
    }
}

/// <summary>One voter as the placement policy sees it at a check.</summary>
/// <param name="Id">Node id.</param>
/// <param name="GramsPerKwh">Its region's current grid intensity.</param>
/// <param name="QuorumRttMilliseconds">Its commit round trip as leader (to the nearest quorum of the other voters).</param>
/// <param name="CaughtUp">Answering and within the lag bound (always true for the leader itself).</param>
public readonly record struct PlacementCandidate(ulong Id, double GramsPerKwh, double QuorumRttMilliseconds, bool CaughtUp);

/// <summary>
/// The placement decision, deterministic: no clock but the milliseconds passed in. The leader calls
/// <see cref="Check"/> every check interval; it answers the validator to hand leadership to, or 0.
/// </summary>
/// <remarks>
/// Rules, in order: (1) only a leader checks, and not within <see cref="LeaderPlacementSettings.HoldSeconds"/> of taking
/// office; (2) the best candidate is the caught-up voter within the latency budget with the lowest intensity (ties:
/// lower round trip, then lower id); (3) it must be cleaner than the leader by the minimum improvement; (4) it must have
/// been the best, by rules 2–3, at every check for the hold time. Any check that breaks the run starts it again.
/// </remarks>
public sealed class LeaderPlacementPolicy(LeaderPlacementSettings settings)
{
    private readonly LeaderPlacementSettings _settings = settings ?? throw new ArgumentNullException(nameof(settings));
    private ulong _term;
    private long _termStartMs;
    private ulong _pending;
    private long _pendingSinceMs;

    /// <summary>The candidate being confirmed (0: none) and since when.</summary>
    public (ulong Id, long SinceMs) Pending => (_pending, _pendingSinceMs);

    /// <summary>
    /// One check by leader <paramref name="self"/> in <paramref name="term"/> at <paramref name="nowMs"/>; returns the
    /// voter to transfer to, or 0. <paramref name="voters"/> includes the leader.
    /// </summary>
    public ulong Check(long nowMs, ulong self, ulong term, IReadOnlyList<PlacementCandidate> voters)
    {
        ArgumentNullException.ThrowIfNull(voters);
        if (term != _term)
        {
            _term = term;
            _termStartMs = nowMs;
            _pending = 0;
        }
        var best = Best(self, voters);
        if (best == 0)
        {
            _pending = 0;
            return 0;
        }
        if (best != _pending)
        {
            _pending = best;
            _pendingSinceMs = nowMs;
        }
        var hold = _settings.HoldSeconds * 1000L;
        if (nowMs - _termStartMs < hold || nowMs - _pendingSinceMs < hold)
        {
            return 0;
        }
        _pending = 0;
        return best;
    }

    /// <summary>The candidate rules 2–3 pick now, or 0.</summary>
    public ulong Best(ulong self, IReadOnlyList<PlacementCandidate> voters)
    {
        ArgumentNullException.ThrowIfNull(voters);
        PlacementCandidate? leader = null;
        PlacementCandidate? best = null;
        foreach (var v in voters)
        {
            if (v.Id == self)
            {
                leader = v;
                continue;
            }
            if (!v.CaughtUp || !(v.QuorumRttMilliseconds <= _settings.LatencyBudgetMilliseconds) || !double.IsFinite(v.GramsPerKwh))
            {
                continue;
            }
            if (best is not { } b || Better(v, b))
            {
                best = v;
            }
        }
        if (leader is not { } l || best is not { } c || !double.IsFinite(l.GramsPerKwh))
        {
            return 0;
        }
        Debug.Assert(c.Id != self, "the leader is never its own candidate");
        return c.GramsPerKwh <= l.GramsPerKwh * (1 - (_settings.MinImprovementPercent / 100)) ? c.Id : 0;
    }

    private static bool Better(PlacementCandidate a, PlacementCandidate b) =>
        a.GramsPerKwh < b.GramsPerKwh
        || (a.GramsPerKwh == b.GramsPerKwh && (a.QuorumRttMilliseconds < b.QuorumRttMilliseconds
            || (a.QuorumRttMilliseconds == b.QuorumRttMilliseconds && a.Id < b.Id)));

    /// <summary>
    /// The round trip a leader at <paramref name="candidate"/> waits for a commit: the (quorum − 1)-th smallest round
    /// trip to the other voters (its own vote is free). 0 with a single voter.
    /// </summary>
    public static double QuorumRtt(ulong candidate, IReadOnlyList<ulong> voters, Func<ulong, ulong, double> rtt)
    {
        ArgumentNullException.ThrowIfNull(voters);
        ArgumentNullException.ThrowIfNull(rtt);
        var others = voters.Where(v => v != candidate).Select(v => rtt(candidate, v)).Order().ToList();
        var needed = (voters.Count / 2) + 1 - 1;
        return needed == 0 ? 0 : others[needed - 1];
    }
}
