using Aurigraph.Node.Ledger;
using RocksDbSharp;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// The hourly grid-intensity history in the database's <c>intensity</c> column family (see <see cref="IntensityHistoryCodec"/>):
/// one record per zone and hour, each value ending in a CRC-32C. Written by one ingester; read by any thread.
/// </summary>
/// <param name="db">The database.</param>
/// <param name="family">Its <c>intensity</c> column family.</param>
/// <param name="write">The write options of puts and deletes.</param>
public sealed class IntensityHistoryStore(RocksDb db, ColumnFamilyHandle family, WriteOptions write)
{
    /// <summary>The most hours one <see cref="Range"/> returns.</summary>
    public const int MaxRangeHours = 744;

    // Past every hour number of a zone: seeking to prefix + this lands on the next zone's first key.
    private const ulong AfterLastHour = ulong.MaxValue;

    private readonly RocksDb _db = db ?? throw new ArgumentNullException(nameof(db));
    private readonly ColumnFamilyHandle _family = family ?? throw new ArgumentNullException(nameof(family));
    private readonly WriteOptions _write = write ?? throw new ArgumentNullException(nameof(write));

    /// <summary>Stores (or replaces) the record of <paramref name="zone"/> for <see cref="IntensityHour.Hour"/>.</summary>
    public void Put(string zone, IntensityHour hour)
    {
        ArgumentNullException.ThrowIfNull(hour);
        _db.Put(IntensityHistoryCodec.Key(zone, hour.Hour), Checksum.Sealed(IntensityHistoryCodec.Encode(hour)), _family, _write);
    }

    /// <summary>Whether the zone has a record for the hour that holds <paramref name="hour"/>.</summary>
    public bool Contains(string zone, DateTimeOffset hour) => _db.Get(IntensityHistoryCodec.Key(zone, hour), _family) is not null;

    /// <summary>The zone's record for the hour that holds <paramref name="hour"/>, or <see langword="null"/>.</summary>
    /// <exception cref="CorruptRecordException">The stored value fails its check or does not decode.</exception>
    public IntensityHour? Read(string zone, DateTimeOffset hour)
    {
        var key = IntensityHistoryCodec.Key(zone, hour);
        return _db.Get(key, _family) is { } raw ? Decode(key, raw) : null;
    }

    /// <summary>The zone's records for the hours from <paramref name="from"/> up to, not including, <paramref name="to"/>, in time order (at most <see cref="MaxRangeHours"/>).</summary>
    /// <exception cref="CorruptRecordException">A stored value fails its check or does not decode.</exception>
    public List<IntensityHour> Range(string zone, DateTimeOffset from, DateTimeOffset to)
    {
        var prefix = IntensityHistoryCodec.Prefix(zone);
        var last = IntensityHistoryCodec.HourNumber(to);
        var hours = new List<IntensityHour>();
        using var it = _db.NewIterator(_family);
        for (it.Seek(IntensityHistoryCodec.Key(prefix, IntensityHistoryCodec.HourNumber(from))); it.Valid() && hours.Count < MaxRangeHours; it.Next())
        {
            var key = it.Key();
            if (!HasPrefix(key, prefix) || IntensityHistoryCodec.HourOf(key) >= last)
            {
                break;
            }
            hours.Add(Decode(key, it.Value()));
        }
        return hours;
    }

    /// <summary>The zone's latest hour on record, or <see langword="null"/> when it has none.</summary>
    public DateTimeOffset? LatestHour(string zone)
    {
        var prefix = IntensityHistoryCodec.Prefix(zone);
        using var it = _db.NewIterator(_family);
        it.SeekForPrev(IntensityHistoryCodec.Key(prefix, AfterLastHour));
        return it.Valid() && HasPrefix(it.Key(), prefix) ? IntensityHistoryCodec.HourStart(IntensityHistoryCodec.HourOf(it.Key())) : null;
    }

    /// <summary>
    /// Deletes records of hours before <paramref name="cutoff"/>, of every zone, oldest first within each zone, at most
    /// <paramref name="maxDeletes"/> of them and visiting at most <paramref name="maxZones"/> zones. Returns how many it deleted.
    /// </summary>
    public int Prune(DateTimeOffset cutoff, int maxDeletes, int maxZones = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxDeletes);
        var first = IntensityHistoryCodec.HourNumber(cutoff);
        using var batch = new WriteBatch();
        var deleted = 0;
        var zones = 0;
        using var it = _db.NewIterator(_family);
        it.SeekToFirst();
        while (it.Valid() && deleted < maxDeletes && zones < maxZones)
        {
            var key = it.Key();
            var length = IntensityHistoryCodec.PrefixLength(key);
            if (length > 0 && IntensityHistoryCodec.HourOf(key) < first)
            {
                batch.Delete(key, _family);
                deleted++;
                it.Next();
                continue;
            }
            // This zone holds nothing older from here on: go to the next zone's first hour.
            zones++;
            it.Seek(length > 0 ? IntensityHistoryCodec.Key(key[..length], AfterLastHour) : [.. key, 0]);
        }
        if (deleted > 0)
        {
            _db.Write(batch, _write);
        }
        return deleted;
    }

    private static bool HasPrefix(byte[] key, byte[] prefix) =>
        key.Length == prefix.Length + 8 && key.AsSpan(0, prefix.Length).SequenceEqual(prefix);

    private static IntensityHour Decode(byte[] key, byte[] raw)
    {
        if (!Checksum.IsSealed(raw))
        {
            throw new CorruptRecordException($"intensity record {Convert.ToHexStringLower(key)} fails its CRC32C check");
        }
        try
        {
            return IntensityHistoryCodec.Decode(IntensityHistoryCodec.HourStart(IntensityHistoryCodec.HourOf(key)), raw.AsSpan(0, raw.Length - 4));
        }
        catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException)
        {
            throw new CorruptRecordException($"intensity record {Convert.ToHexStringLower(key)}: {e.Message}");
        }
    }
}
