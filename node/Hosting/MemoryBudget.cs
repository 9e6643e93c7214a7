namespace Aurigraph.Node.Hosting;

/// <summary>
/// The node's memory plan, derived in one place from one setting, <c>Aurigraph:MemoryBudgetMegabytes</c>: how many
/// bytes each bounded cache, memtable and queue may hold. Every share is a fixed fraction of the budget; what is left
/// (<see cref="RuntimeBytes"/>) is for what no setting bounds: code and mapped files, thread stacks, the runtime, the
/// HTTP/2 and TLS buffers, and the GC heap's live data (the ledger state among it). Invariant: the shares of a derived
/// plan sum to at most the budget less <see cref="MinimumRuntimeBytes"/>; a plan with explicit settings is valid only
/// when the same holds (<see cref="Validate"/>).
/// </summary>
public sealed record MemoryBudget
{
    public const int DefaultMegabytes = 256;

    /// <summary>
    /// What a loaded validator holds outside every bounded share (measured: about 118 MB of mapped code and files, the
    /// runtime, 20–35 threads' stacks; the GC heap's working set comes on top): a budget must leave at least this.
    /// </summary>
    public const long MinimumRuntimeBytes = 96L << 20;

    /// <summary>Memtables of one column family fill up to this many buffers before writes wait for a flush.</summary>
    public const int MaxWriteBuffersPerFamily = 2;

    private const long MiB = 1L << 20;

    /// <summary>The whole budget in bytes.</summary>
    public required long BudgetBytes { get; init; }

    /// <summary>All column families' memtables together (RocksDB's write buffer manager flushes beyond it).</summary>
    public required long MemtableBytes { get; init; }

    /// <summary>One column family's write buffer: a quarter of <see cref="MemtableBytes"/>, so a few busy families share it.</summary>
    public long WriteBufferBytes => Math.Max(1 * MiB, MemtableBytes / 4);

    /// <summary>RocksDB's part of the plan, as the database takes it.</summary>
    public Storage.StorageMemoryLimits Storage => new(MemtableBytes, WriteBufferBytes, MaxWriteBuffersPerFamily, BlockCacheBytes);

    /// <summary>RocksDB's block cache, shared by every column family.</summary>
    public required long BlockCacheBytes { get; init; }

    /// <summary>Recent raft log entries held in memory (<c>LogCacheBytes</c>).</summary>
    public required long LogCacheBytes { get; init; }

    /// <summary>Transactions waiting on the leader (<c>MempoolMaxBytes</c>).</summary>
    public required long MempoolBytes { get; init; }

    /// <summary>Transactions handed in by clients and not yet placed (<c>IngressBytes</c>).</summary>
    public required long IngressBytes { get; init; }

    /// <summary>Proposed but uncommitted entries on a leader (the core's <c>MaxUncommittedBytes</c>); also the bytes in flight per follower.</summary>
    public required long UncommittedBytes { get; init; }

    /// <summary>The ledger's memory for key/value records: half a cache of persisted ones (<see cref="Ledger.ValueCache"/>), half a filter over every key (<see cref="Ledger.KeyFilter"/>); the rest are read from RocksDB.</summary>
    public required long StateCacheBytes { get; init; }

    /// <summary>The bounded shares together.</summary>
    public long SharesBytes => MemtableBytes + BlockCacheBytes + LogCacheBytes + MempoolBytes + IngressBytes + UncommittedBytes + StateCacheBytes;

    /// <summary>What is left for the runtime, code, stacks, network buffers and the GC heap's live data.</summary>
    public long RuntimeBytes => BudgetBytes - SharesBytes;

    /// <summary>The plan of a budget of <paramref name="megabytes"/> MB with no explicit settings: memtables 1/8, block cache 1/32, log cache 1/32, mempool 1/16, ingress 1/4 (at 256 MB: 64 MiB, the default Api:MaxMessageBytes, so the largest call fits), uncommitted 1/16, state cache 1/32 (13/32 left).</summary>
    public static MemoryBudget Derive(int megabytes)
    {
        var budget = Math.Max(0, megabytes) * MiB;
        return new MemoryBudget
        {
            BudgetBytes = budget,
            MemtableBytes = budget / 8,
            BlockCacheBytes = budget / 32,
            LogCacheBytes = budget / 32,
            MempoolBytes = budget / 16,
            IngressBytes = budget / 4,
            UncommittedBytes = budget / 16,
            StateCacheBytes = budget / 32,
        };
    }

    /// <summary>The smallest budget (MB) whose derived plan leaves <see cref="MinimumRuntimeBytes"/>: 13/32 of it must cover them.</summary>
    public static int MinimumMegabytes => (int)((MinimumRuntimeBytes * 32 / 13 + MiB - 1) / MiB);

    /// <summary>
    /// Every problem with the plan, each naming its settings; empty when valid. <paramref name="explicitSettings"/> names
    /// the settings an operator set (they replace their derived share), so an overflow says which ones to lower.
    /// </summary>
    public IReadOnlyList<string> Validate(IReadOnlyCollection<string> explicitSettings)
    {
        var setting = $"{NodeOptions.Section}:{nameof(NodeOptions.MemoryBudgetMegabytes)}";
        var errors = new List<string>();
        if (BudgetBytes <= 0)
        {
            errors.Add($"{setting} must be positive");
            return errors;
        }
        if (RuntimeBytes >= MinimumRuntimeBytes)
        {
            return errors;
        }
        var shares = $"memtables {Mb(MemtableBytes)} + block cache {Mb(BlockCacheBytes)} + {nameof(NodeOptions.LogCacheBytes)} {Mb(LogCacheBytes)} + " +
            $"{nameof(NodeOptions.MempoolMaxBytes)} {Mb(MempoolBytes)} + {nameof(NodeOptions.IngressBytes)} {Mb(IngressBytes)} + uncommitted {Mb(UncommittedBytes)} + state cache {Mb(StateCacheBytes)} = {Mb(SharesBytes)}";
        errors.Add(explicitSettings.Count == 0
            ? $"{setting} = {BudgetBytes / MiB} is too small: its shares ({shares}) leave {Mb(RuntimeBytes)} for the runtime, code and heap, less than {Mb(MinimumRuntimeBytes)}; give at least {MinimumMegabytes}"
            : $"{string.Join(", ", explicitSettings.Select(s => $"{NodeOptions.Section}:{s}"))} with {setting} = {BudgetBytes / MiB} do not fit: the shares ({shares}) leave {Mb(RuntimeBytes)} for the runtime, code and heap, less than {Mb(MinimumRuntimeBytes)}; lower them or raise {setting}");
        return errors;
    }

    private static string Mb(long bytes) => $"{bytes / (double)MiB:0.#} MiB";
}
