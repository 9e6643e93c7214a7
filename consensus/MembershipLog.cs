namespace Aurigraph.Consensus;

/// <summary>
/// The membership configurations along a node's log: a base (the snapshot's, or the bootstrap configuration at
/// index 0) and one entry per <see cref="EntryType.ConfChange"/> after it. A configuration is in effect from the
/// moment its entry is in the log (Raft thesis §4.1), so truncating the entry reverts it.
/// </summary>
internal sealed class MembershipLog
{
    private readonly List<(ulong Index, MembershipConfig Config)> _changes = [];
    private ulong _baseIndex;
    private MembershipConfig _base;

    public MembershipLog(ulong baseIndex, MembershipConfig baseConfig)
    {
        _baseIndex = baseIndex;
        _base = baseConfig;
    }

    /// <summary>The configuration of the last entry in the log.</summary>
    public MembershipConfig Current => _changes.Count > 0 ? _changes[^1].Config : _base;

    /// <summary>The index of the entry that set <see cref="Current"/> (the base's index when none did).</summary>
    public ulong CurrentIndex => _changes.Count > 0 ? _changes[^1].Index : _baseIndex;

    /// <summary>The configuration in effect at <paramref name="index"/> (at or after the base).</summary>
    public MembershipConfig At(ulong index)
    {
        if (index < _baseIndex)
        {
            throw new InvalidOperationException($"membership at {index} precedes the snapshot at {_baseIndex}");
        }
        for (var i = _changes.Count - 1; i >= 0; i--)
        {
            if (_changes[i].Index <= index)
            {
                return _changes[i].Config;
            }
        }
        return _base;
    }

    /// <summary>Notes an entry appended to the log, in index order.</summary>
    public void Observe(in Entry e)
    {
        if (e.Type == EntryType.ConfChange)
        {
            _changes.Add((e.Index, MembershipChange.Decode(e.Data.Span).Config));
        }
    }

    /// <summary>The log lost its entries from <paramref name="index"/> on: their configurations go with them.</summary>
    public void TruncateFrom(ulong index)
    {
        while (_changes.Count > 0 && _changes[^1].Index >= index)
        {
            _changes.RemoveAt(_changes.Count - 1);
        }
    }

    /// <summary>The log now starts after a snapshot taken at <paramref name="index"/> with <paramref name="config"/>.</summary>
    public void Reset(ulong index, MembershipConfig config)
    {
        _changes.Clear();
        _baseIndex = index;
        _base = config;
    }
}
