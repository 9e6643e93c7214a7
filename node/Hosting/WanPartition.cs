namespace Aurigraph.Node.Hosting;

/// <summary>
/// Emulated network partitions between locations, for tests and drills on one machine
/// (<see cref="WanSettings.PartitionFile"/>): the file lists locations ("cloud:region", one per line) cut off from all
/// others; while a peer is on the other side of a cut, the transport holds what it sends to it (its lanes fill and
/// then drop, as a send buffer on a dead path would). Removing a line (or the file) heals. The file is read every
/// <see cref="PollInterval"/>; without a file setting nothing polls.
/// </summary>
internal sealed class WanPartition : IDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    private readonly string _path;
    private readonly string? _self;
    private readonly Dictionary<ulong, string?> _peers;
    private readonly Timer _timer;
    private volatile HashSet<ulong> _cut = [];

    public WanPartition(string path, MemberOptions self, IEnumerable<MemberOptions> members)
    {
        _path = path;
        _self = WanTopology.Location(self);
        _peers = members.Where(m => m.Id != self.Id).ToDictionary(m => m.Id, WanTopology.Location);
        Read();
        _timer = new Timer(_ => Read(), null, PollInterval, PollInterval);
    }

    /// <summary>Whether frames to <paramref name="peer"/> are held now (any thread).</summary>
    public bool IsCut(ulong peer) => _cut.Contains(peer);

    private void Read()
    {
        HashSet<string> isolated;
        try
        {
            isolated = File.Exists(_path)
                ? [.. File.ReadAllLines(_path).Select(l => l.Trim().ToLowerInvariant()).Where(l => l.Length > 0)]
                : [];
        }
        catch (IOException)
        {
            return; // being rewritten: read at the next poll
        }
        var selfIsolated = _self is not null && isolated.Contains(_self);
        _cut = [.. _peers.Where(p => (p.Value is not null && isolated.Contains(p.Value)) != selfIsolated).Select(p => p.Key)];
    }

    public void Dispose() => _timer.Dispose();
}
