using System.Buffers.Binary;

namespace Aurigraph.Node.Ledger;

/// <summary>The ledger's 32-byte accounts in memory (see <see cref="StateCache{TKey, TValue}"/>): a transfer to a new account reads nothing.</summary>
internal sealed class AccountCache(IStateSource? source, long maxCachedBytes, long filterBytes)
    : StateCache<AccountKey, (ulong Balance, ulong Nonce)>(source, maxCachedBytes, filterBytes)
{
    /// <summary>What one cached account costs: its key and value, its dictionary entry and its place in the order.</summary>
    public const int EntryBytes = 96;

    /// <summary>An in-memory cache: no source, every account held.</summary>
    public AccountCache()
        : this(null, 0, 0)
    {
    }

    protected override long Cost(AccountKey key, (ulong Balance, ulong Nonce) value) => EntryBytes;

    protected override bool MightHold(KeyFilter filter, AccountKey key)
    {
        Span<byte> id = stackalloc byte[AccountKey.Size];
        key.WriteTo(id);
        return filter.MightContain(id);
    }

    protected override void Add(KeyFilter filter, AccountKey key)
    {
        Span<byte> id = stackalloc byte[AccountKey.Size];
        key.WriteTo(id);
        filter.Add(id);
    }

    protected override bool TryRead(IStateSource source, AccountKey key, out (ulong Balance, ulong Nonce) value)
    {
        Span<byte> id = stackalloc byte[AccountKey.Size];
        key.WriteTo(id);
        if (source.Read(StateWriteSet.AccountPrefix, id) is not { Length: 16 } raw)
        {
            value = default;
            return false;
        }
        value = (BinaryPrimitives.ReadUInt64LittleEndian(raw), BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(8)));
        return true;
    }
}
