namespace Aurigraph.Consensus;

/// <summary>
/// A node's view of its log: the durable prefix in <see cref="ILogStorage"/> followed by unstable entries
/// the host has not yet reported persisted. Tracks the commit and applied indexes.
/// </summary>
internal sealed class RaftLog
{
    private readonly ILogStorage _storage;
    private readonly List<Entry> _unstable = [];
    private readonly List<Entry> _scratch = [];

    // Index of _unstable[0]; always ≤ storage.LastIndex + 1.
    private ulong _unstableOffset;

    public RaftLog(ILogStorage storage, ulong committed, ulong applied)
    {
        _storage = storage;
        _unstableOffset = storage.LastIndex + 1;
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
    }

    public ulong Committed { get; private set; }

    public ulong Applied { get; private set; }

    public ulong FirstIndex => _storage.FirstIndex;

    public ulong LastIndex => _unstable.Count > 0 ? _unstableOffset + (ulong)_unstable.Count - 1 : _storage.LastIndex;

    public ulong LastTerm => Term(LastIndex);

    /// <summary>The last index that is durable and still part of this log.</summary>
    public ulong PersistedLastIndex => _unstable.Count == 0 ? _storage.LastIndex : Math.Min(_storage.LastIndex, _unstableOffset - 1);

    public int UnstableCount => _unstable.Count;

    /// <summary>The term at <paramref name="index"/>, or 0 when the index is beyond the log.</summary>
    public ulong Term(ulong index)
    {
        if (_unstable.Count > 0 && index >= _unstableOffset)
        {
            var i = index - _unstableOffset;
            return i < (ulong)_unstable.Count ? _unstable[(int)i].Term : 0;
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
        foreach (var e in entries)
        {
            _unstable.Add(e);
        }
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

    public bool HasNextCommitted => Committed > Applied;

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

    public Entry[] NextCommittedEntries(long maxBytes) => Slice(Applied + 1, Committed + 1, maxBytes);

    /// <summary>
    /// The largest index ≤ <paramref name="index"/> whose term is ≤ <paramref name="term"/> (binary search:
    /// terms never decrease along a log). Used to skip a whole conflicting term at once.
    /// </summary>
    public ulong LastIndexWithTermAtMost(ulong index, ulong term)
    {
        var lo = FirstIndex - 1; // Term(lo) answers; treat it as ≤ any term
        var hi = Math.Min(index, LastIndex);
        if (Term(hi) <= term)
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
