using System.Diagnostics;

namespace Aurigraph.Node.Ledger;

/// <summary>Where the ledger reads persisted state records it does not hold in memory (the node's RocksDB ledger family).</summary>
public interface IStateSource
{
    /// <summary>The persisted value of the record <paramref name="prefix"/> | <paramref name="id"/>, or null when there is none.</summary>
    byte[]? Read(byte prefix, ReadOnlySpan<byte> id);
}

/// <summary>
/// The ledger's key/value records in memory. Records written by applied blocks and not yet persisted are always held
/// (<see cref="Persisted"/> releases them: the host calls it once its write of those blocks returned); persisted ones
/// stay in a cache bounded by bytes, evicted oldest first; the rest are read from the <see cref="IStateSource"/> on
/// demand, unless the <see cref="KeyFilter"/> over every key the state holds says the key has no record (a put of a new
/// key, most puts, then reads nothing). Without a source (tools, tests) nothing is ever released: every record stays in
/// memory.
/// <para>
/// Invariant: a key is in at most one of the two maps, and <see cref="CachedBytes"/> is the cost of the clean map's
/// entries, at most the bound once an insert returns. Owned by the consensus loop: not thread-safe. The source is read
/// only for records the state holds as of the last persisted block, so what it answers is what the ledger would have
/// held: reading through it keeps applying deterministic.
/// </para>
/// </summary>
internal sealed class ValueCache(IStateSource? source, long maxCachedBytes, long filterBytes)
{
    /// <summary>What an entry costs beyond its key and value bytes: two array headers and a dictionary entry.</summary>
    public const int EntryOverheadBytes = 80;

    private readonly Dictionary<ByteKey, byte[]> _unpersisted = [];
    private readonly Dictionary<ByteKey, byte[]> _cached = [];

    // Cached keys in insertion order (eviction order); may hold keys that left the cache since (skipped when met).
    private readonly Queue<ByteKey> _order = new();

    // Every key the state holds (with a source only): absent from it means no record.
    private readonly KeyFilter? _filter = source is null ? null : new KeyFilter(filterBytes);

    /// <summary>An in-memory cache: no source, every record held.</summary>
    public ValueCache()
        : this(null, 0, 0)
    {
    }

    /// <summary>Misses the key filter answered without a read (the key has no record).</summary>
    public long FilterAnswers { get; private set; }

    /// <summary>The key filter is off: too many keys for its share of memory, so every miss is read.</summary>
    public bool FilterOff => _filter?.Off ?? false;

    /// <summary>Records are read from a source and may be released once persisted.</summary>
    public bool Backed => source is not null;

    /// <summary>Records written and not yet persisted.</summary>
    public int UnpersistedCount => _unpersisted.Count;

    /// <summary>Persisted records held in the cache.</summary>
    public int CachedCount => _cached.Count;

    /// <summary>The cache's bytes (keys, values and <see cref="EntryOverheadBytes"/> each).</summary>
    public long CachedBytes { get; private set; }

    /// <summary>Reads from the source since start (cache misses).</summary>
    public long SourceReads { get; private set; }

    /// <summary>The record's value, or null when it has none.</summary>
    public byte[]? Get(ByteKey key)
    {
        if (_unpersisted.TryGetValue(key, out var value) || _cached.TryGetValue(key, out value))
        {
            return value;
        }
        if (source is null)
        {
            return null;
        }
        if (!_filter!.MightContain(key.Bytes))
        {
            FilterAnswers++;
            return null;
        }
        SourceReads++;
        value = source.Read(StateWriteSet.KeyValuePrefix, key.Bytes);
        if (value is not null)
        {
            Cache(key, value);
        }
        return value;
    }

    /// <summary>A block's final value for the record; held until <see cref="Persisted"/>.</summary>
    public void Set(ByteKey key, byte[] value)
    {
        Known(key.Bytes);
        _unpersisted[key] = value;
        if (_cached.Remove(key, out var old))
        {
            CachedBytes -= Cost(key, old);
        }
    }

    /// <summary>Every record written so far is persisted: with a source, they move to the bounded cache.</summary>
    public void Persisted()
    {
        if (source is null || _unpersisted.Count == 0)
        {
            return;
        }
        foreach (var (key, value) in _unpersisted)
        {
            Cache(key, value);
        }
        _unpersisted.Clear();
    }

    /// <summary>The state holds a record under <paramref name="key"/> (in the source: a record loaded at start).</summary>
    public void Known(ReadOnlySpan<byte> key)
    {
        // A key the filter may already hold is not added again: its bits are set, and the count stays a count of keys.
        if (_filter is not null && !_filter.MightContain(key))
        {
            _filter.Add(key);
        }
    }

    /// <summary>Forgets every record (the state is being rebuilt).</summary>
    public void Clear()
    {
        _filter?.Clear();
        _unpersisted.Clear();
        _cached.Clear();
        _order.Clear();
        CachedBytes = 0;
    }

    /// <summary>The records held in memory: all of them without a source, else those not yet persisted.</summary>
    public IEnumerable<KeyValuePair<ByteKey, byte[]>> Held => source is null ? _unpersisted : _unpersisted.Concat(_cached);

    private static long Cost(ByteKey key, byte[] value) => key.Bytes.Length + value.Length + EntryOverheadBytes;

    private void Cache(ByteKey key, byte[] value)
    {
        var cost = Cost(key, value);
        if (cost > maxCachedBytes)
        {
            return;
        }
        if (_cached.Remove(key, out var old))
        {
            CachedBytes -= Cost(key, old);
        }
        _cached[key] = value;
        _order.Enqueue(key);
        CachedBytes += cost;
        while (CachedBytes > maxCachedBytes && _order.TryDequeue(out var oldest))
        {
            if (_cached.Remove(oldest, out var evicted))
            {
                CachedBytes -= Cost(oldest, evicted);
            }
        }
        if (_order.Count > (2 * _cached.Count) + 1024)
        {
            Compact();
        }
        Debug.Assert(CachedBytes <= maxCachedBytes, "the cache stays within its bound");
    }

    /// <summary>Drops the order's stale keys (that left the cache, or queued twice), keeping the order of the rest.</summary>
    private void Compact()
    {
        var seen = new HashSet<ByteKey>();
        var keys = _order.ToArray();
        _order.Clear();
        // The last occurrence of a key is its current place in the order.
        for (var i = keys.Length - 1; i >= 0; i--)
        {
            if (_cached.ContainsKey(keys[i]) && seen.Add(keys[i]))
            {
                continue;
            }
            keys[i] = default;
        }
        foreach (var key in keys)
        {
            if (key.Bytes is not null)
            {
                _order.Enqueue(key);
            }
        }
    }
}
