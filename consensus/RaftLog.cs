namespace Aurigraph.Consensus;

/// <summary>
/// A node's view of its log: the durable prefix in <see cref="ILogStorage"/> followed by unstable entries
/// the host has not yet reported persisted, possibly after a snapshot received from the leader that the host
/// has not yet installed. Tracks the commit and applied indexes and the membership along the log.
/// </summary>
internal sealed class RaftLog
{
    private readonly ILogStorage _storage;
    private readonly List<Entry> _unstable = [];
    private readonly List<Entry> _scratch = [];

    // Index of _unstable[0]; always ≤ storage.LastIndex + 1, or the pending snapshot's index + 1.
    private ulong _unstableOffset;

    // A snapshot restored from the leader and not yet installed by the host: while set, storage is not read
    // (the host replaces it wholesale) and the log is this snapshot followed by the unstable entries.
    private SnapshotMeta? _pendingSnapshot;

    public RaftLog(ILogStorage storage, ulong committed, ulong applied, MembershipConfig bootstrap)
    {
        _storage = storage;
        _unstableOffset = storage.LastIndex + 1;
        var snapshot = storage.Snapshot;
        if (snapshot.Index > 0 && storage.FirstIndex != snapshot.Index + 1)
        {
            throw new InvalidOperationException($"storage starts at {storage.FirstIndex}, its snapshot is at {snapshot.Index}");
        }
        // The state machine holds at least the snapshot (the host restores it first), and the snapshot is committed.
        committed = Math.Max(committed, snapshot.Index);
        applied = Math.Max(applied, snapshot.Index);
        if (committed > storage.LastIndex)
        {
            throw new InvalidOperationException($"hard state commit {committed} is beyond the stored log ({storage.LastIndex})");
        }
        if (applied > committed)
        {
            throw new InvalidOperationException($"applied {applied} is beyond commit {committed}");
        }
        Committed = committed;
        Applied = applied;
        Membership = new MembershipLog(snapshot.Index, snapshot.Index > 0 && !snapshot.Config.IsEmpty ? snapshot.Config : bootstrap);
        // Configurations after the snapshot come from the log itself, read once at start.
        storage.CopyMembershipChanges(storage.FirstIndex, storage.LastIndex + 1, _scratch);
        foreach (var e in _scratch)
        {
            Membership.Observe(e);
        }
        _scratch.Clear();
    }

    public ulong Committed { get; private set; }

    public ulong Applied { get; private set; }

    public MembershipLog Membership { get; }

    public SnapshotMeta? PendingSnapshot => _pendingSnapshot;

    /// <summary>The snapshot this log starts after: the pending one, else the storage's.</summary>
    public SnapshotMeta Snapshot => _pendingSnapshot ?? _storage.Snapshot;

    public ulong FirstIndex => _pendingSnapshot is { } s ? s.Index + 1 : _storage.FirstIndex;

    public ulong LastIndex =>
        _unstable.Count > 0 ? _unstableOffset + (ulong)_unstable.Count - 1 : _pendingSnapshot is { } s ? s.Index : _storage.LastIndex;

    public ulong LastTerm => Term(LastIndex);

    /// <summary>The last index that is durable and still part of this log.</summary>
    public ulong PersistedLastIndex
    {
        get
        {
            if (_pendingSnapshot is not null)
            {
                return 0; // nothing durable belongs to this log until the host installs the snapshot
            }
            return _unstable.Count == 0 ? _storage.LastIndex : Math.Min(_storage.LastIndex, _unstableOffset - 1);
        }
    }

    public int UnstableCount => _unstable.Count;

    /// <summary>The term at <paramref name="index"/>, or 0 when the index is beyond the log.</summary>
    public ulong Term(ulong index)
    {
        if (_unstable.Count > 0 && index >= _unstableOffset)
        {
            var i = index - _unstableOffset;
            return i < (ulong)_unstable.Count ? _unstable[(int)i].Term : 0;
        }
        if (_pendingSnapshot is { } snapshot)
        {
            if (index < snapshot.Index)
            {
                throw new InvalidOperationException($"term of index {index} below the restored snapshot at {snapshot.Index} requested");
            }
            return index == snapshot.Index ? snapshot.Term : 0;
        }
        if (index > _storage.LastIndex)
        {
            return 0;
        }
        if (index + 1 < _storage.FirstIndex)
        {
            throw new InvalidOperationException($"term of compacted index {index} requested");
        }
        return _storage.Term(index);
    }

    public bool MatchTerm(ulong index, ulong term) => index <= LastIndex && Term(index) == term;

    /// <summary>Raft's up-to-date rule (§5.4.1): is a log ending at (lastIndex, lastTerm) at least as current as ours?</summary>
    public bool IsUpToDate(ulong lastIndex, ulong lastTerm)
    {
        var ourTerm = LastTerm;
        return lastTerm > ourTerm || (lastTerm == ourTerm && lastIndex >= LastIndex);
    }

    /// <summary>Appends entries the leader created (contiguous after <see cref="LastIndex"/>).</summary>
    public void AppendNew(in Entry entry)
    {
        if (entry.Index != LastIndex + 1)
        {
            throw new InvalidOperationException($"new entry {entry.Index} does not follow last index {LastIndex}");
        }
        if (_unstable.Count == 0)
        {
            _unstableOffset = entry.Index;
        }
        _unstable.Add(entry);
        Membership.Observe(entry);
    }

    /// <summary>
    /// Follower append: if our log matches (prevIndex, prevTerm), merge the entries (truncating from the first
    /// conflict) and return the index of the last new entry; otherwise null.
    /// </summary>
    public ulong? MaybeAppend(ulong prevIndex, ulong prevTerm, ReadOnlySpan<Entry> entries)
    {
        if (!MatchTerm(prevIndex, prevTerm))
        {
            return null;
        }
        var lastNew = prevIndex + (ulong)entries.Length;
        var conflictAt = -1;
        for (var i = 0; i < entries.Length; i++)
        {
            if (!MatchTerm(entries[i].Index, entries[i].Term))
            {
                conflictAt = i;
                break;
            }
        }
        if (conflictAt >= 0)
        {
            var first = entries[conflictAt].Index;
            if (first <= Committed)
            {
                throw new InvalidOperationException($"entry {first} conflicts with committed entry (commit {Committed})");
            }
            TruncateAndAppend(entries[conflictAt..]);
        }
        return lastNew;
    }

    private void TruncateAndAppend(ReadOnlySpan<Entry> entries)
    {
        var first = entries[0].Index;
        if (_unstable.Count > 0 && first == _unstableOffset + (ulong)_unstable.Count)
        {
            // Plain extension of the unstable tail.
        }
        else if (_unstable.Count == 0 || first <= _unstableOffset)
        {
            // Replaces stored entries from `first` on; the host's Append truncates storage the same way.
            _unstable.Clear();
            _unstableOffset = first;
        }
        else
        {
            _unstable.RemoveRange((int)(first - _unstableOffset), _unstable.Count - (int)(first - _unstableOffset));
        }
        Membership.TruncateFrom(first);
        foreach (var e in entries)
        {
            _unstable.Add(e);
            Membership.Observe(e);
        }
    }

    /// <summary>
    /// Follower restore: the log becomes <paramref name="snapshot"/> alone (everything held is discarded, as the
    /// host will discard it on install), committed up to the snapshot's index.
    /// </summary>
    public void Restore(SnapshotMeta snapshot)
    {
        if (snapshot.Index <= Committed)
        {
            throw new InvalidOperationException($"restore of snapshot {snapshot.Index} at or below commit {Committed}");
        }
        _pendingSnapshot = snapshot;
        _unstable.Clear();
        _unstableOffset = snapshot.Index + 1;
        Committed = snapshot.Index;
        Membership.Reset(snapshot.Index, snapshot.Config);
    }

    /// <summary>The host installed <paramref name="snapshot"/>: its state machine is at the snapshot's index.</summary>
    public void SnapshotInstalled(SnapshotMeta snapshot)
    {
        if (_pendingSnapshot is { } pending && pending.Index == snapshot.Index)
        {
            _pendingSnapshot = null;
        }
        Applied = Math.Max(Applied, snapshot.Index);
    }

    public void CommitTo(ulong index)
    {
        if (index <= Committed)
        {
            return;
        }
        if (index > LastIndex)
        {
            throw new InvalidOperationException($"commit {index} is beyond last index {LastIndex}");
        }
        Committed = index;
    }

    public void AppliedTo(ulong index)
    {
        if (index == 0)
        {
            return;
        }
        if (index > Committed || index < Applied)
        {
            throw new InvalidOperationException($"applied {index} outside [{Applied}, {Committed}]");
        }
        Applied = index;
    }

    /// <summary>The host reports entries up to (index, term) durable.</summary>
    public void StableTo(ulong index, ulong term)
    {
        if (_unstable.Count == 0 || index < _unstableOffset || Term(index) != term)
        {
            return; // superseded by a later truncation: those entries come again in the next Ready
        }
        var n = (int)(index - _unstableOffset + 1);
        _unstable.RemoveRange(0, n);
        _unstableOffset = index + 1;
    }

    public Entry[] UnstableEntries() => _unstable.Count == 0 ? [] : [.. _unstable];

    // Entries at or below a pending snapshot are never applied: the snapshot replaces them.
    private ulong ApplyFloor => _pendingSnapshot is { } s ? Math.Max(Applied, s.Index) : Applied;

    public bool HasNextCommitted => Committed > ApplyFloor;

    /// <summary>Entries in [lo, hi) bounded by <paramref name="maxBytes"/> (at least one when lo &lt; hi).</summary>
    public Entry[] Slice(ulong lo, ulong hi, long maxBytes)
    {
        if (lo >= hi)
        {
            return [];
        }
        if (hi > LastIndex + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(hi), $"slice end {hi} beyond last index {LastIndex}");
        }
        if (lo < FirstIndex)
        {
            throw new InvalidOperationException($"slice from {lo} reaches below the first index {FirstIndex}");
        }
        _scratch.Clear();
        long bytes = 0;
        var storedEnd = _unstable.Count > 0 ? Math.Min(hi, _unstableOffset) : hi;
        if (lo < storedEnd)
        {
            bytes = _storage.CopyEntries(lo, storedEnd, maxBytes, _scratch);
            if (_scratch.Count < (int)(storedEnd - lo))
            {
                return [.. _scratch];
            }
        }
        if (_unstable.Count > 0 && hi > _unstableOffset)
        {
            var from = Math.Max(lo, _unstableOffset);
            for (var i = from; i < hi; i++)
            {
                var e = _unstable[(int)(i - _unstableOffset)];
                if (_scratch.Count > 0 && bytes + e.Size > maxBytes)
                {
                    break;
                }
                _scratch.Add(e);
                bytes += e.Size;
            }
        }
        return [.. _scratch];
    }

    public Entry[] NextCommittedEntries(long maxBytes) => Slice(ApplyFloor + 1, Committed + 1, maxBytes);

    /// <summary>
    /// The largest index ≤ <paramref name="index"/> whose term is ≤ <paramref name="term"/> (binary search:
    /// terms never decrease along a log). Used to skip a whole conflicting term at once.
    /// </summary>
    public ulong LastIndexWithTermAtMost(ulong index, ulong term)
    {
        var lo = FirstIndex - 1; // Term(lo) answers; treat it as ≤ any term
        var hi = Math.Min(index, LastIndex);
        if (hi <= lo || Term(hi) <= term)
        {
            return hi;
        }
        // invariant: Term(lo) <= term (or lo is the floor), Term(hi) > term
        while (hi - lo > 1)
        {
            var mid = lo + ((hi - lo) / 2);
            if (Term(mid) <= term)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    /// <summary>The first index of the run of entries with <paramref name="term"/> that contains <paramref name="index"/>.</summary>
    public ulong FirstIndexOfTerm(ulong index, ulong term)
    {
        var lo = FirstIndex;
        var hi = index; // Term(hi) == term
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            if (Term(mid) < term)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }
}
