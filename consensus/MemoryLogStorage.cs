namespace Aurigraph.Consensus;

/// <summary>
/// An in-memory <see cref="ILogStorage"/>: for tests, simulation and benchmarks. The host calls
/// <see cref="Append"/> and <see cref="SetHardState"/> when it "persists" a <see cref="Ready"/>,
/// <see cref="ApplySnapshot"/> when a Ready carries a snapshot, and <see cref="Compact"/> after it snapshotted
/// its own state machine.
/// </summary>
public sealed class MemoryLogStorage : ILogStorage
{
    // _entries[0] is a sentinel at the snapshot's index and term, so Term(FirstIndex - 1) always answers.
    private readonly List<Entry> _entries = [new Entry(0, 0, EntryType.NoOp, ReadOnlyMemory<byte>.Empty)];
    private HardState _hardState;
    private SnapshotMeta _snapshot = SnapshotMeta.None;

    public HardState InitialState() => _hardState;

    public SnapshotMeta Snapshot => _snapshot;

    public ulong FirstIndex => _snapshot.Index + 1;

    public ulong LastIndex => _snapshot.Index + (ulong)_entries.Count - 1;

    public ulong Term(ulong index)
    {
        if (index > LastIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"beyond last index {LastIndex}");
        }
        if (index < _snapshot.Index)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"compacted (snapshot at {_snapshot.Index})");
        }
        return _entries[(int)(index - _snapshot.Index)].Term;
    }

    public long CopyEntries(ulong lo, ulong hi, long maxBytes, List<Entry> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (lo < FirstIndex || hi > LastIndex + 1 || lo > hi)
        {
            throw new ArgumentOutOfRangeException(nameof(lo), $"[{lo}, {hi}) outside [{FirstIndex}, {LastIndex + 1})");
        }
        long bytes = 0;
        for (var i = lo; i < hi; i++)
        {
            var e = _entries[(int)(i - _snapshot.Index)];
            if (bytes > 0 && bytes + e.Size > maxBytes)
            {
                break;
            }
            into.Add(e);
            bytes += e.Size;
        }
        return bytes;
    }

    public void SetHardState(HardState state) => _hardState = state;

    /// <summary>Appends entries, first discarding any held entries at or after the first new index.</summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }
        var first = entries[0].Index;
        if (first <= _snapshot.Index || first > LastIndex + 1)
        {
            throw new InvalidOperationException($"append at {first} outside ({_snapshot.Index}, {LastIndex + 1}]");
        }
        var keep = (int)(first - _snapshot.Index);
        if (keep < _entries.Count)
        {
            _entries.RemoveRange(keep, _entries.Count - keep);
        }
        for (var i = 0; i < entries.Count; i++)
        {
            _entries.Add(entries[i]);
        }
    }

    /// <summary>
    /// Discards the entries up to <paramref name="meta"/>'s index, which the host's state-machine snapshot now
    /// covers. The index must be held (and applied: the host never compacts past what it applied), and the
    /// meta's term must be the entry's.
    /// </summary>
    public void Compact(SnapshotMeta meta)
    {
        ArgumentNullException.ThrowIfNull(meta);
        ArgumentNullException.ThrowIfNull(meta.Config);
        if (meta.Index <= _snapshot.Index)
        {
            return; // already covered
        }
        if (meta.Index > LastIndex)
        {
            throw new InvalidOperationException($"compaction to {meta.Index} beyond last index {LastIndex}");
        }
        var term = Term(meta.Index);
        if (term != meta.Term)
        {
            throw new InvalidOperationException($"snapshot names term {meta.Term} at {meta.Index}, the log holds term {term}");
        }
        _entries.RemoveRange(0, (int)(meta.Index - _snapshot.Index));
        _entries[0] = new Entry(meta.Index, meta.Term, EntryType.NoOp, ReadOnlyMemory<byte>.Empty);
        _snapshot = meta;
    }

    /// <summary>Replaces the whole log with a snapshot received from the leader: the log is then empty after it.</summary>
    public void ApplySnapshot(SnapshotMeta meta)
    {
        ArgumentNullException.ThrowIfNull(meta);
        ArgumentNullException.ThrowIfNull(meta.Config);
        if (meta.Index < _snapshot.Index)
        {
            throw new InvalidOperationException($"snapshot at {meta.Index} is older than the held one at {_snapshot.Index}");
        }
        _entries.Clear();
        _entries.Add(new Entry(meta.Index, meta.Term, EntryType.NoOp, ReadOnlyMemory<byte>.Empty));
        _snapshot = meta;
    }

    /// <summary>The entry at <paramref name="index"/> (tests and checkers).</summary>
    public Entry EntryAt(ulong index) => _entries[(int)(index - _snapshot.Index)];
}
