using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// The size limits along a transaction's way between nodes, derived in one place from <c>Aurigraph:MaxBlockBytes</c>
/// and checked together, so that whatever one stage may produce the next can carry:
/// <list type="bullet">
/// <item>a transaction of <c>MaxTransactionBytes</c> fits a block with a full carbon section (<see cref="MaxBlockBytes"/>);</item>
/// <item>a block fits the core's uncommitted-byte limit (or it could never be proposed);</item>
/// <item>a forwarded chunk of transactions (<see cref="ForwardChunkBytes"/>) is a block's worth, so the leader can
/// take it into one block, and a rejection list answering it is cut to the same size;</item>
/// <item>an append message — one block, or up to <see cref="MaxAppendBytes"/> of smaller entries — a snapshot chunk
/// and a forwarded chunk each fit one peer frame (<see cref="MaxFrameBytes"/>), and a frame fits a peer's send queue
/// (<see cref="PeerQueueBytes"/>).</item>
/// </list>
/// A client request may be larger than a frame (<c>Api:MaxMessageBytes</c>): the node splits its transactions into
/// forwarded chunks and blocks. Every member must run with the same <c>MaxBlockBytes</c>: a frame over the receiver's
/// limit is dropped, and the block in it would be re-sent forever.
/// </summary>
public sealed record PipelineLimits
{
    /// <summary>The default <c>Aurigraph:MaxBlockBytes</c>: 4 MiB, about 15,000 transactions of 128-byte bodies.</summary>
    public const int DefaultMaxBlockBytes = 4 << 20;

    /// <summary>The least <c>MaxBlockBytes</c> the node accepts.</summary>
    public const int MinimumMaxBlockBytes = 64 << 10;

    /// <summary>The largest <c>MaxBlockBytes</c>: a frame of it and its overhead stays well inside an int.</summary>
    public const int MaximumMaxBlockBytes = 256 << 20;

    /// <summary>Bytes a block adds around one transaction: its body length and its signature.</summary>
    public const int BlockBytesPerTransaction = BlockPayload.FramingBytesPerTransaction;

    /// <summary>Room kept in a block for its carbon section (a few records of every validator's reading).</summary>
    public const int CarbonSectionReserveBytes = 32 << 10;

    /// <summary>
    /// What a frame adds to what it carries, with room to spare: the length prefix and kind, a raft message's header
    /// (eleven integers), the channel byte of an application message, a snapshot chunk's header.
    /// </summary>
    public const int FrameHeaderBytes = 4 << 10;

    /// <summary>
    /// Encoded entry headers cost at most one byte more than the core counts per entry (<see cref="Consensus.Entry.Overhead"/>),
    /// so entries the core counts as n bytes take at most n + n / 16 on the wire.
    /// </summary>
    public const int EntryHeaderSlackDivisor = 16;

    /// <summary>Bytes of a rejection's reason sent back to a forwarder; longer reasons are cut.</summary>
    public const int MaxReasonBytes = 512;

    /// <summary>The largest snapshot chunk message.</summary>
    public const int MaxSnapshotChunkBytes = 1 << 20;

    /// <summary>The largest append message of several entries (the core always sends at least one whole entry).</summary>
    public const int MaxAppendMessageBytes = 1 << 20;

    /// <summary>Frames a peer's bulk send queue holds beyond the bytes the core keeps in flight to it.</summary>
    public const int QueuedFramesBeyondInflight = 2;

    private const string Setting = NodeOptions.Section + ":" + nameof(NodeOptions.MaxBlockBytes);

    /// <summary>The bytes of one block payload (one raft entry), carbon section included.</summary>
    public required int MaxBlockBytes { get; init; }

    /// <summary>A forwarded chunk of transactions (block layout), and a list of rejections answering one.</summary>
    public int ForwardChunkBytes => MaxBlockBytes;

    /// <summary>The core's bytes per append message of several entries (<see cref="Consensus.RaftConfig.MaxSizePerMessage"/>).</summary>
    public int MaxAppendBytes => Math.Min(MaxAppendMessageBytes, MaxBlockBytes);

    /// <summary>Bytes per snapshot chunk message.</summary>
    public int SnapshotChunkBytes => Math.Min(MaxSnapshotChunkBytes, MaxBlockBytes);

    /// <summary>The peer transport's frame limit, both ways: the largest of the above and their headers.</summary>
    public int MaxFrameBytes => MaxBlockBytes + (MaxBlockBytes / EntryHeaderSlackDivisor) + FrameHeaderBytes;

    /// <summary>Bytes a peer's bulk send queue may hold: what the core keeps in flight to it and a few frames more.</summary>
    public required long PeerQueueBytes { get; init; }

    /// <summary>The core's limit on proposed, uncommitted bytes (the memory budget's share).</summary>
    public required long UncommittedBytes { get; init; }

    /// <summary>Transaction bytes (bodies, their lengths and signatures) a block may take after its carbon section.</summary>
    public int TransactionBytesFor(int carbonSectionBytes) =>
        Math.Max(0, MaxBlockBytes - BlockPayload.HeaderSize - carbonSectionBytes);

    /// <summary>The limits of <paramref name="options"/>.</summary>
    public static PipelineLimits Derive(NodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var block = Math.Clamp(options.MaxBlockBytes, MinimumMaxBlockBytes, MaximumMaxBlockBytes);
        var uncommitted = options.Memory.UncommittedBytes;
        var frame = block + (block / EntryHeaderSlackDivisor) + FrameHeaderBytes;
        var limits = new PipelineLimits
        {
            MaxBlockBytes = block,
            UncommittedBytes = uncommitted,
            PeerQueueBytes = uncommitted + ((long)QueuedFramesBeyondInflight * frame),
        };
        // What each message may carry fits one frame, and a frame fits the queue it waits in.
        System.Diagnostics.Debug.Assert(limits.MaxFrameBytes == frame, "one derivation of the frame limit");
        System.Diagnostics.Debug.Assert(limits.MaxAppendBytes + (limits.MaxAppendBytes / EntryHeaderSlackDivisor) + FrameHeaderBytes <= frame, "an append of several entries fits a frame");
        System.Diagnostics.Debug.Assert(limits.ForwardChunkBytes + FrameHeaderBytes <= frame && limits.SnapshotChunkBytes + FrameHeaderBytes <= frame, "a forwarded chunk and a snapshot chunk fit a frame");
        System.Diagnostics.Debug.Assert(limits.PeerQueueBytes >= frame, "a frame fits a peer's queue");
        return limits;
    }

    /// <summary>Every problem with these limits and <paramref name="options"/> together, each naming its settings; empty when valid.</summary>
    public static IReadOnlyList<string> Validate(NodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.MaxBlockBytes is < MinimumMaxBlockBytes or > MaximumMaxBlockBytes)
        {
            errors.Add($"{Setting} must be between {MinimumMaxBlockBytes} and {MaximumMaxBlockBytes} (got {options.MaxBlockBytes})");
            return errors;
        }
        var limits = Derive(options);
        var largest = (long)BlockPayload.HeaderSize + CarbonSectionReserveBytes + options.MaxTransactionBytes + BlockBytesPerTransaction;
        if (largest > limits.MaxBlockBytes)
        {
            errors.Add($"{Setting} ({limits.MaxBlockBytes}) must hold a transaction of {NodeOptions.Section}:MaxTransactionBytes ({options.MaxTransactionBytes}) with its framing and a carbon section: at least {largest}");
        }
        if (limits.MaxBlockBytes > limits.UncommittedBytes)
        {
            errors.Add($"{Setting} ({limits.MaxBlockBytes}) must not exceed the uncommitted bytes the memory budget allows ({limits.UncommittedBytes}, 1/16 of {NodeOptions.Section}:{nameof(NodeOptions.MemoryBudgetMegabytes)}), or a full block could never be proposed; lower it or raise the budget");
        }
        return errors;
    }
}
