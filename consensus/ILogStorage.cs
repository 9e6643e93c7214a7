namespace Aurigraph.Consensus;

/// <summary>
/// The durable part of a node's log as the core reads it. The host writes to it (entries and hard state
/// from a <see cref="Ready"/>) and only then calls <see cref="RaftNode.Advance"/>; the core never writes.
/// Indexes start at 1; <see cref="Term"/> must answer for <c>FirstIndex - 1</c> (0 for an empty log).
/// </summary>
public interface ILogStorage
{
    /// <summary>The hard state persisted last (all zero for a new node).</summary>
    HardState InitialState();

    /// <summary>The first index held in storage.</summary>
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
}
