using System.Diagnostics;

namespace Aurigraph.Node.Ledger;

/// <summary>Where the ledger reads persisted state records it does not hold in memory (the node's RocksDB ledger family).</summary>
public interface IStateSource
{
    /// <summary>The persisted value of the record <paramref name="prefix"/> | <paramref name="id"/>, or null when there is none.</summary>
    byte[]? Read(byte prefix, ReadOnlySpan<byte> id);
}

/// <summary>
/// Ledger records of one kind in memory. Records written by applied blocks and not yet persisted are always held
/// (<see cref="Persisted"/> releases them: the host calls it once its write of those blocks returned); persisted ones
/// stay in a cache bounded by bytes, evicted oldest first; the rest are read from the <see cref="IStateSource"/> on
/// demand, unless the <see cref="KeyFilter"/> over every key the state holds says there is no record (a put of a new
/// key or a transfer to a new account then reads nothing). Without a source (tools, tests) nothing is ever released:
/// every record stays in memory.
/// <para>
/// Invariant: a key is in at most one of the two maps, and <see cref="CachedBytes"/> is the cost of the cached entries,
/// at most the bound once an insert returns. Thread-safe: the applier writes and reads while applying, the consensus
/// loop reads accounts' nonces for admission; every call holds one lock for its whole length (a read through to the
/// source included), so a reader sees each record either before or after a block's write, never a stale value cached
/// over a newer one. The source is read only for records the state holds as of the last persisted block, so what it
/// answers is what the ledger would have held: reading through it keeps applying deterministic.
/// </para>
/// </summary>
internal abstract class StateCache<TKey, TValue>(IStateSource? source, long maxCachedBytes, long filterBytes)
    where TKey : notnull, IEquatable<TKey>
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TKey, TValue> _unpersisted = [];
    private readonly Dictionary<TKey, TValue> _cached = [];

    // Cached keys in insertion order (eviction order); may hold keys that left the cache since (skipped when met).
    private readonly Queue<TKey> _order = new();

    /// <summary>Records are read from a source and may be released once persisted.</summary>
    public bool Backed => source is not null;

    /// <summary>Records written and not yet persisted.</summary>
    public int UnpersistedCount => _unpersisted.Count;

    /// <summary>Persisted records held in the cache.</summary>
    public int CachedCount => _cached.Count;

    /// <summary>The cache's bytes (<see cref="Cost"/> of each entry).</summary>
    public long CachedBytes { get; private set; }

    /// <summary>Reads from the source since start (misses the filter could not answer).</summary>
    public long SourceReads { get; private set; }

    /// <summary>Misses the key filter answered without a read (the key has no record).</summary>
    public long FilterAnswers { get; private set; }

    /// <summary>The key filter is off: too many keys for its share of memory, so every miss is read.</summary>
    public bool FilterOff => Filter?.Off ?? false;

    /// <summary>
    /// The records held in memory: all of them without a source, else those not yet persisted or cached. Not locked:
    /// enumerate only on the thread that applies, or while nothing applies.
    /// </summary>
    public IEnumerable<KeyValuePair<TKey, TValue>> Held => source is null ? _unpersisted : _unpersisted.Concat(_cached);

    /// <summary>Every key the state holds (with a source only): absent from it means no record.</summary>
    protected KeyFilter? Filter { get; } = source is null ? null : new KeyFilter(filterBytes);

    /// <summary>The record's value; false when it has none.</summary>
    public bool TryGet(TKey key, out TValue value)
    {
        lock (_gate)
        {
            if (_unpersisted.TryGetValue(key, out value!) || _cached.TryGetValue(key, out value!))
            {
                return true;
            }
            if (source is null)
            {
                return false;
            }
            if (!MightHold(Filter!, key))
            {
                FilterAnswers++;
                return false;
            }
            SourceReads++;
            if (!TryRead(source, key, out value))
            {
                return false;
            }
            Cache(key, value);
            return true;
        }
    }

    /// <summary>A block's final value for the record; held until <see cref="Persisted"/>.</summary>
    public void Set(TKey key, TValue value)
    {
        lock (_gate)
        {
            AddKey(key);
            _unpersisted[key] = value;
            if (_cached.Remove(key, out var old))
            {
                CachedBytes -= Cost(key, old);
            }
        }
    }

    /// <summary>The state holds a record under <paramref name="key"/> (in the source: a record loaded at start).</summary>
    public void Known(TKey key)
    {
        lock (_gate)
        {
            AddKey(key);
        }
    }

    private void AddKey(TKey key)
    {
        // A key the filter may already hold is not added again: its bits are set, and the count stays a count of keys.
        if (Filter is not null && !MightHold(Filter, key))
        {
            Add(Filter, key);
        }
    }

    /// <summary>Every record written so far is persisted: with a source, they move to the bounded cache.</summary>
    public void Persisted()
    {
        lock (_gate)
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
    }

    /// <summary>Forgets every record (the state is being rebuilt).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            Filter?.Clear();
            _unpersisted.Clear();
            _cached.Clear();
            _order.Clear();
            CachedBytes = 0;
        }
    }

    /// <summary>What an entry costs in the cache's bound.</summary>
    protected abstract long Cost(TKey key, TValue value);

    protected abstract bool MightHold(KeyFilter filter, TKey key);

    protected abstract void Add(KeyFilter filter, TKey key);

    /// <summary>Reads and decodes the persisted record; false when there is none.</summary>
    protected abstract bool TryRead(IStateSource source, TKey key, out TValue value);

    private void Cache(TKey key, TValue value)
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
        var keys = _order.ToArray();
        var keep = new bool[keys.Length];
        var seen = new HashSet<TKey>();
        // The last occurrence of a key is its current place in the order.
        for (var i = keys.Length - 1; i >= 0; i--)
        {
            keep[i] = _cached.ContainsKey(keys[i]) && seen.Add(keys[i]);
        }
        _order.Clear();
        for (var i = 0; i < keys.Length; i++)
        {
            if (keep[i])
            {
                _order.Enqueue(keys[i]);
            }
        }
    }
}
