namespace Aurigraph.Consensus;

/// <summary>
/// The durable part of a node's log as the core reads it. The host writes to it (entries and hard state
/// from a <see cref="Ready"/>) and only then calls <see cref="RaftNode.Advance"/>; the core never writes.
/// Indexes start at 1. After compaction the log starts past a snapshot: <c>FirstIndex == Snapshot.Index + 1</c>,
/// and <see cref="Term"/> must answer for <c>FirstIndex - 1</c> (the snapshot's term; 0 for an empty log).
/// </summary>
public interface ILogStorage
{
    /// <summary>The hard state persisted last (all zero for a new node).</summary>
    HardState InitialState();

    /// <summary>
    /// The snapshot the log starts after: the host compacted every entry up to its index, or installed it from
    /// a leader (<see cref="Ready.Snapshot"/>). <see cref="SnapshotMeta.None"/> (index 0) when the log was never compacted.
    /// </summary>
    SnapshotMeta Snapshot => SnapshotMeta.None;

    /// <summary>The first index held in storage: <c>Snapshot.Index + 1</c>.</summary>
    ulong FirstIndex { get; }

    /// <summary>The last index held in storage; <c>FirstIndex - 1</c> when empty.</summary>
    ulong LastIndex { get; }

    /// <summary>The term of the entry at <paramref name="index"/>, for FirstIndex-1 ≤ index ≤ LastIndex.</summary>
    ulong Term(ulong index);

    /// <summary>
    /// Appends entries in [lo, hi) to <paramref name="into"/>, stopping once their total <see cref="Entry.Size"/>
    /// exceeds <paramref name="maxBytes"/> (at least one entry is always returned when lo &lt; hi).
    /// Returns the bytes added.
    /// </summary>
    long CopyEntries(ulong lo, ulong hi, long maxBytes, List<Entry> into);

    /// <summary>
    /// Appends the <see cref="EntryType.ConfChange"/> entries in [lo, hi) to <paramref name="into"/>, in order. The core
    /// asks once, at start, for the entries after the snapshot. The default reads every entry of the range; a storage
    /// that knows where its membership changes are can answer without reading the payloads.
    /// </summary>
    void CopyMembershipChanges(ulong lo, ulong hi, List<Entry> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        var batch = new List<Entry>();
        while (lo < hi)
        {
            batch.Clear();
            CopyEntries(lo, hi, 4L << 20, batch);
            foreach (var e in batch)
            {
                if (e.Type == EntryType.ConfChange)
                {
                    into.Add(e);
                }
            }
            lo += (ulong)batch.Count;
        }
    }
}
