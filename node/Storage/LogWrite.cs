using Aurigraph.Consensus;
using RocksDbSharp;

namespace Aurigraph.Node.Storage;

/// <summary>
/// One append to the raft log between <see cref="RaftLogStorage.Prepare"/> and <see cref="RaftLogStorage.Complete"/>:
/// the batch to write and what the in-memory view takes on once it is durable.
/// </summary>
/// <param name="truncatedRuns">Term runs at the end of the log that the write deletes (a conflicting suffix replaced).</param>
public sealed class LogWrite(WriteBatch batch, HardState? hardState, IReadOnlyList<Entry> entries, int truncatedRuns, long bytes) : IDisposable
{
    internal WriteBatch Batch { get; } = batch;

    internal HardState? HardState { get; } = hardState;

    internal IReadOnlyList<Entry> Entries { get; } = entries;

    internal int TruncatedRuns { get; } = truncatedRuns;

    /// <summary>Bytes of keys and values the write puts.</summary>
    public long Bytes { get; } = bytes;

    /// <summary>Nothing to write: no hard state and no entries.</summary>
    public bool IsEmpty => HardState is null && Entries.Count == 0;

    /// <summary>Set once the synced write returned.</summary>
    internal bool Durable { get; set; }

    public void Dispose() => Batch.Dispose();
}
