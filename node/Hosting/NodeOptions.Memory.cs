using System.Text.Json.Serialization;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// The memory settings: one budget (<see cref="MemoryBudgetMegabytes"/>) and the byte bounds derived from it. A bound
/// an operator sets replaces its derived share; the plan with every explicit bound must still fit the budget
/// (<see cref="MemoryBudget.Validate"/>). Derived bounds are not written to JSON (a devnet's configuration files), so
/// a changed budget changes them.
/// </summary>
public sealed partial class NodeOptions
{
    private long? _mempoolMaxBytes;
    private long? _ingressBytes;
    private long? _logCacheBytes;

    /// <summary>Megabytes (MiB) a node may use in all; every bounded cache, memtable and queue is a share of it (see <see cref="MemoryBudget"/>).</summary>
    public int MemoryBudgetMegabytes { get; set; } = MemoryBudget.DefaultMegabytes;

    /// <summary>Bytes of transactions waiting on the leader; beyond it submissions get RESOURCE_EXHAUSTED. Derived: 1/16 of the budget.</summary>
    [JsonIgnore]
    public long MempoolMaxBytes
    {
        get => _mempoolMaxBytes ?? Derived.MempoolBytes;
        set => _mempoolMaxBytes = value;
    }

    /// <summary>
    /// The ingress bound in bytes (bodies plus signatures as submitted); at least Api:MaxMessageBytes, so the largest
    /// call fits. Derived: 1/4 of the budget.
    /// </summary>
    [JsonIgnore]
    public long IngressBytes
    {
        get => _ingressBytes ?? Derived.IngressBytes;
        set => _ingressBytes = value;
    }

    /// <summary>
    /// Recent raft log entries kept in memory for replication and apply (older ones are read from RocksDB). A
    /// follower that keeps up never needs more than the blocks in flight. Derived: 1/32 of the budget.
    /// </summary>
    [JsonIgnore]
    public long LogCacheBytes
    {
        get => _logCacheBytes ?? Derived.LogCacheBytes;
        set => _logCacheBytes = value;
    }

    /// <summary>The plan in effect: the budget's derived shares with the explicit bounds in their place.</summary>
    [JsonIgnore]
    public MemoryBudget Memory => Derived with { MempoolBytes = MempoolMaxBytes, IngressBytes = IngressBytes, LogCacheBytes = LogCacheBytes };

    /// <summary>The message size limits between stages and nodes, derived from <see cref="MaxBlockBytes"/> and the plan.</summary>
    [JsonIgnore]
    public PipelineLimits Pipeline => PipelineLimits.Derive(this);

    /// <summary>The memory bounds set explicitly (configuration names, without the section).</summary>
    [JsonIgnore]
    public IReadOnlyCollection<string> ExplicitMemorySettings =>
        [.. new (string Name, long? Value)[] { (nameof(MempoolMaxBytes), _mempoolMaxBytes), (nameof(IngressBytes), _ingressBytes), (nameof(LogCacheBytes), _logCacheBytes) }
            .Where(s => s.Value is not null).Select(s => s.Name)];

    /// <summary>
    /// After binding <paramref name="section"/> (the "Aurigraph" section): a bound the section does not set is derived
    /// again. The configuration binder writes every property back, derived values included, which would make them look
    /// explicit and tie them to the budget in effect before the budget itself was bound.
    /// </summary>
    public void DeriveUnsetMemoryBounds(Microsoft.Extensions.Configuration.IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        _mempoolMaxBytes = section[nameof(MempoolMaxBytes)] is null ? null : _mempoolMaxBytes;
        _ingressBytes = section[nameof(IngressBytes)] is null ? null : _ingressBytes;
        _logCacheBytes = section[nameof(LogCacheBytes)] is null ? null : _logCacheBytes;
    }

    private MemoryBudget Derived => MemoryBudget.Derive(MemoryBudgetMegabytes);
}
