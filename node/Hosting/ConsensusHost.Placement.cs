using Aurigraph.Node.Carbon;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// Carbon-aware leader placement on the loop (see <see cref="LeaderPlacementSettings"/>): every check interval the
/// leader reads each voter's grid intensity (the grid chain's current figure for the voter's cloud and region, which
/// the refresher keeps live for every validator's region while placement is on), its commit round trip from the location
/// table, and whether it is caught up; <see cref="LeaderPlacementPolicy"/> decides, and the core's transfer does the rest.
/// </summary>
internal sealed partial class ConsensusHost
{
    private LeaderPlacementPolicy? _placement;
    private long _placementDueMs;

    private void InitPlacement()
    {
        if (_options.LeaderPlacement.Enabled)
        {
            _placement = new LeaderPlacementPolicy(_options.LeaderPlacement);
        }
    }

    /// <summary>On the loop, about once a second: runs a placement check when one is due.</summary>
    private void CheckPlacement()
    {
        if (_placement is null || _raft.Role != Consensus.NodeRole.Leader || _raft.LeadTransferee != 0)
        {
            return;
        }
        var now = NowMs;
        if (now < _placementDueMs)
        {
            return;
        }
        _placementDueMs = now + (_options.LeaderPlacement.CheckIntervalSeconds * 1000L);
        var voters = _raft.Voters.ToList();
        var candidates = new PlacementCandidate[voters.Count];
        for (var i = 0; i < voters.Count; i++)
        {
            var id = voters[i];
            candidates[i] = new PlacementCandidate(id, GridOf(id), LeaderPlacementPolicy.QuorumRtt(id, voters, RoundTrip), id == _options.NodeId || CaughtUp(id));
        }
        var target = _placement.Check(now, _options.NodeId, _raft.Term, candidates);
        if (target == 0)
        {
            return;
        }
        var result = _raft.TransferLeadership(target);
        _metrics.PlacementTransfers.Add(1);
        var self = Array.Find(candidates, c => c.Id == _options.NodeId);
        var chosen = Array.Find(candidates, c => c.Id == target);
        var (targetAt, selfAt) = (LocationOf(target), LocationOf(_options.NodeId));
        HostLog.PlacementTransfer(
            _logger, _options.NodeId, target, targetAt, chosen.GramsPerKwh, chosen.QuorumRttMilliseconds,
            selfAt, self.GramsPerKwh, self.QuorumRttMilliseconds, result);
    }

    private MemberOptions? MemberOf(ulong id) => _book.Find(id);

    private string LocationOf(ulong id) => MemberOf(id) is { } m ? WanTopology.Location(m) ?? "no location" : "unknown";

    /// <summary>The current grid intensity of a voter's region; NaN when it has no location (never a candidate).</summary>
    private double GridOf(ulong id) =>
        MemberOf(id) is { Cloud.Length: > 0, Region.Length: > 0 } m
            ? _carbon.Services.Grid.Current(CloudProviders.Parse(m.Cloud), m.Region).GramsPerKwh
            : double.NaN;

    /// <summary>The location table's round trip between two members; NaN when either is unlocated (out of any budget).</summary>
    private double RoundTrip(ulong a, ulong b) =>
        MemberOf(a) is { } x && MemberOf(b) is { } y && WanTopology.Link(x, y, _options.Transport.Wan) is { } link
            ? link.RttMilliseconds
            : double.NaN;

    private bool CaughtUp(ulong id) =>
        _raft.ProgressOf(id) is { RecentActive: true } p && p.Match + (ulong)_options.LeaderPlacement.MaxLagEntries >= _raft.LastIndex;
}
