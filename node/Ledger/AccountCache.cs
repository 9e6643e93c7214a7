using System.Buffers.Binary;
using System.Diagnostics;

namespace Aurigraph.Node.Ledger;

/// <summary>
/// The ledger's 32-byte accounts in memory, as <see cref="ValueCache"/> holds key/value records: accounts written by
/// applied blocks are held until <see cref="Persisted"/>, persisted ones stay in a cache bounded by bytes (oldest out
/// first), the rest are read from the <see cref="IStateSource"/> unless the <see cref="KeyFilter"/> over every account
/// says there is none (a transfer to a new account reads nothing). Without a source every account stays in memory.
/// <para>
/// Invariant: an account is in at most one of the two maps; <see cref="CachedBytes"/> is <see cref="EntryBytes"/> per
/// cached account and at most the bound once an insert returns. Owned by the consensus loop: not thread-safe.
/// </para>
/// </summary>
internal sealed class AccountCache(IStateSource? source, long maxCachedBytes, long filterBytes)
{
    /// <summary>What one cached account costs: its key and value, its dictionary entry and its place in the order.</summary>
    public const int EntryBytes = 96;

    private readonly Dictionary<AccountKey, (ulong Balance, ulong Nonce)> _unpersisted = [];
    private readonly Dictionary<AccountKey, (ulong Balance, ulong Nonce)> _cached = [];
    private readonly Queue<AccountKey> _order = new();
    private readonly KeyFilter? _filter = source is null ? null : new KeyFilter(filterBytes);

    /// <summary>An in-memory cache: no source, every account held.</summary>
    public AccountCache()
        : this(null, 0, 0)
    {
    }

    public bool Backed => source is not null;

    public int UnpersistedCount => _unpersisted.Count;

    public int CachedCount => _cached.Count;

    public long CachedBytes => (long)_cached.Count * EntryBytes;

    /// <summary>Reads from the source since start (misses the filter could not answer).</summary>
    public long SourceReads { get; private set; }

    /// <summary>The accounts held in memory: all of them without a source, else those not yet persisted or cached.</summary>
    public IEnumerable<KeyValuePair<AccountKey, (ulong Balance, ulong Nonce)>> Held => source is null ? _unpersisted : _unpersisted.Concat(_cached);

    public bool TryGet(AccountKey key, out (ulong Balance, ulong Nonce) account)
    {
        if (_unpersisted.TryGetValue(key, out account) || _cached.TryGetValue(key, out account))
        {
            return true;
        }
        if (source is null)
        {
            return false;
        }
        Span<byte> id = stackalloc byte[AccountKey.Size];
        key.WriteTo(id);
        if (!_filter!.MightContain(id))
        {
            return false;
        }
        SourceReads++;
        if (source.Read(StateWriteSet.AccountPrefix, id) is not { Length: 16 } raw)
        {
            return false;
        }
        account = (BinaryPrimitives.ReadUInt64LittleEndian(raw), BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(8)));
        Cache(key, account);
        return true;
    }

    /// <summary>A block's final value for the account; held until <see cref="Persisted"/>.</summary>
    public void Set(AccountKey key, (ulong Balance, ulong Nonce) account)
    {
        Known(key);
        _unpersisted[key] = account;
        _cached.Remove(key);
    }

    /// <summary>The state holds this account (in the source: an account loaded at start).</summary>
    public void Known(AccountKey key)
    {
        if (_filter is null)
        {
            return;
        }
        Span<byte> id = stackalloc byte[AccountKey.Size];
        key.WriteTo(id);
        if (!_filter.MightContain(id))
        {
            _filter.Add(id);
        }
    }

    /// <summary>Every account written so far is persisted: with a source, they move to the bounded cache.</summary>
    public void Persisted()
    {
        if (source is null || _unpersisted.Count == 0)
        {
            return;
        }
        foreach (var (key, account) in _unpersisted)
        {
            Cache(key, account);
        }
        _unpersisted.Clear();
    }

    public void Clear()
    {
        _unpersisted.Clear();
        _cached.Clear();
        _order.Clear();
        _filter?.Clear();
    }

    private void Cache(AccountKey key, (ulong Balance, ulong Nonce) account)
    {
        if (maxCachedBytes < EntryBytes)
        {
            return;
        }
        if (!_cached.TryAdd(key, account))
        {
            _cached[key] = account;
            return; // already in the order
        }
        _order.Enqueue(key);
        while (CachedBytes > maxCachedBytes && _order.TryDequeue(out var oldest))
        {
            _cached.Remove(oldest);
        }
        if (_order.Count > (2 * _cached.Count) + 1024)
        {
            var seen = new HashSet<AccountKey>();
            var keys = _order.ToArray();
            _order.Clear();
            for (var i = keys.Length - 1; i >= 0; i--)
            {
                if (_cached.ContainsKey(keys[i]) && seen.Add(keys[i]))
                {
                    _order.Enqueue(keys[i]);
                }
            }
            // Rebuilt newest first: reverse it back to oldest first.
            var ordered = _order.Reverse().ToArray();
            _order.Clear();
            foreach (var k in ordered)
            {
                _order.Enqueue(k);
            }
        }
        Debug.Assert(CachedBytes <= maxCachedBytes, "the cache stays within its bound");
    }
}
