namespace Aurigraph.Node.Ledger;

/// <summary>The ledger's key/value records in memory (see <see cref="StateCache{TKey, TValue}"/>), keyed by owned key (owner | key).</summary>
internal sealed class ValueCache(IStateSource? source, long maxCachedBytes, long filterBytes)
    : StateCache<ByteKey, byte[]>(source, maxCachedBytes, filterBytes)
{
    /// <summary>What an entry costs beyond its key and value bytes: two array headers and a dictionary entry.</summary>
    public const int EntryOverheadBytes = 80;

    /// <summary>An in-memory cache: no source, every record held.</summary>
    public ValueCache()
        : this(null, 0, 0)
    {
    }

    /// <summary>The record's value, or null when it has none.</summary>
    public byte[]? Get(ByteKey key) => TryGet(key, out var value) ? value : null;

    /// <summary>The state holds a record under <paramref name="key"/> (a record loaded at start; no copy of the key is made).</summary>
    public void Known(ReadOnlySpan<byte> key)
    {
        if (Filter is not null && !Filter.MightContain(key))
        {
            Filter.Add(key);
        }
    }

    protected override long Cost(ByteKey key, byte[] value) => key.Bytes.Length + value.Length + EntryOverheadBytes;

    protected override bool MightHold(KeyFilter filter, ByteKey key) => filter.MightContain(key.Bytes);

    protected override void Add(KeyFilter filter, ByteKey key) => filter.Add(key.Bytes);

    protected override bool TryRead(IStateSource source, ByteKey key, out byte[] value)
    {
        value = source.Read(StateWriteSet.KeyValuePrefix, key.Bytes)!;
        return value is not null;
    }
}
