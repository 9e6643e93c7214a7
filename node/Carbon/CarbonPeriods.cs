using System.Buffers.Binary;
using System.Diagnostics;
using Aurigraph.Node.Ledger;
using RocksDbSharp;

namespace Aurigraph.Node.Carbon;

/// <summary>The committed carbon of one hour (UTC): what the records counted at that hour add up to.</summary>
/// <param name="Hour">Hours since the Unix epoch.</param>
/// <param name="Heights">Main records counted in the hour.</param>
/// <param name="Transactions">Their transactions.</param>
/// <param name="Summary">Sums over their present and late readings.</param>
/// <param name="PresentReadings">Readings present or filled late.</param>
/// <param name="MissingReadings">Readings still missing.</param>
public sealed record CarbonHour(long Hour, ulong Heights, ulong Transactions, CarbonSummary Summary, ulong PresentReadings, ulong MissingReadings)
{
    /// <summary>The hour's first instant.</summary>
    public DateTimeOffset Start => DateTimeOffset.FromUnixTimeMilliseconds(Hour * MillisecondsPerHour);

    /// <summary>Milliseconds in an hour.</summary>
    public const long MillisecondsPerHour = 3_600_000;

    /// <summary>This hour with more added.</summary>
    public CarbonHour Add(ulong heights, ulong transactions, CarbonSummary summary, long present, long missing) =>
        this with
        {
            Heights = Heights + heights,
            Transactions = Transactions + transactions,
            Summary = Summary.Add(summary),
            PresentReadings = (ulong)((long)PresentReadings + present),
            MissingReadings = (ulong)((long)MissingReadings + missing),
        };
}

/// <summary>
/// Committed carbon by calendar hour (UTC), from which days and months are summed: each main record counts at its block's
/// proposal time, never earlier than the record before it (so a leader whose clock is behind cannot move figures back),
/// and a late reading counts at the hour of the record it fills. Kept in the <c>carbon</c> family under <c>'H' hour</c>,
/// written only through the apply batch; like <see cref="CarbonLedger"/> it reads no clock and no storage at apply.
/// </summary>
/// <remarks>
/// Invariant: the hours held in memory are the latest hour counted and every hour a view that may still be filled late
/// counts at (reference-counted by <see cref="Hold"/> and <see cref="Release"/>), so a late reading always finds its hour.
/// </remarks>
public sealed class CarbonPeriods
{
    private const byte HourPrefix = (byte)'H';
    private const byte StoredVersion = 1;

    private readonly RocksDb _db;
    private readonly ColumnFamilyHandle _family;
    private readonly Dictionary<long, CarbonHour> _hours = [];
    private readonly Dictionary<long, int> _holds = [];
    private readonly HashSet<long> _touched = [];
    private long _latest = -1;

    /// <summary>Creates the periods over the <c>carbon</c> family; <see cref="Load"/> before applying.</summary>
    public CarbonPeriods(RocksDb db, ColumnFamilyHandle family)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(family);
        _db = db;
        _family = family;
    }

    /// <summary>The hour of a Unix-ms time.</summary>
    public static long HourOf(long unixMs) => unixMs / CarbonHour.MillisecondsPerHour;

    /// <summary>Rebuilds the in-memory hours: the latest one, and those of <paramref name="open"/> (views that may be filled late).</summary>
    public void Load(long lastRecordedAtMs, IEnumerable<CarbonBlockView> open)
    {
        ArgumentNullException.ThrowIfNull(open);
        _hours.Clear();
        _holds.Clear();
        _touched.Clear();
        _latest = lastRecordedAtMs > 0 ? HourOf(lastRecordedAtMs) : -1;
        if (_latest >= 0)
        {
            _hours[_latest] = ReadHour(_latest) ?? Empty(_latest);
        }
        foreach (var view in open)
        {
            Hold(view);
        }
    }

    /// <summary>Counts a main record's view at its <see cref="CarbonBlockView.RecordedAtMs"/> (nothing when it has none).</summary>
    public void CountMain(CarbonBlockView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        if (view.RecordedAtMs <= 0)
        {
            return;
        }
        var hour = HourOf(view.RecordedAtMs);
        Debug.Assert(hour >= _latest, "record times never go back");
        if (hour != _latest)
        {
            _latest = hour;
            _hours.TryAdd(hour, Empty(hour)); // no hour after the latest was ever counted

        }
        Change(hour, h => h.Add(1, (ulong)view.TransactionCount, view.Summary, view.PresentCount + view.LateCount, view.MissingCount));
    }

    /// <summary>Counts readings filled late into the hour of the view they fill.</summary>
    public void CountLate(CarbonBlockView view, CarbonSummary added, int filled)
    {
        ArgumentNullException.ThrowIfNull(view);
        if (view.RecordedAtMs <= 0)
        {
            return;
        }
        Change(HourOf(view.RecordedAtMs), h => h.Add(0, 0, added, filled, -filled));
    }

    /// <summary>A view may be filled late: its hour stays in memory.</summary>
    public void Hold(CarbonBlockView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        if (view.RecordedAtMs <= 0)
        {
            return;
        }
        var hour = HourOf(view.RecordedAtMs);
        _holds[hour] = _holds.GetValueOrDefault(hour) + 1;
        if (!_hours.ContainsKey(hour))
        {
            _hours[hour] = ReadHour(hour) ?? Empty(hour);
        }
    }

    /// <summary>A view can no longer be filled late (filled, or out of the window): its hold on its hour ends.</summary>
    public void Release(CarbonBlockView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        if (view.RecordedAtMs <= 0)
        {
            return;
        }
        var hour = HourOf(view.RecordedAtMs);
        var left = _holds.GetValueOrDefault(hour) - 1;
        Debug.Assert(left >= 0, "a release follows a hold");
        if (left > 0)
        {
            _holds[hour] = left;
            return;
        }
        _holds.Remove(hour);
    }

    /// <summary>Puts the hours changed since the last flush into <paramref name="batch"/>.</summary>
    public void Flush(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var hour in _touched)
        {
            if (_hours.TryGetValue(hour, out var h))
            {
                batch.Put(Key(hour), Checksum.Sealed(Encode(h)), _family);
            }
        }
        _touched.Clear();
        // Only the latest hour and the held ones stay in memory.
        List<long>? gone = null;
        foreach (var hour in _hours.Keys)
        {
            if (hour != _latest && !_holds.ContainsKey(hour))
            {
                (gone ??= []).Add(hour);
            }
        }
        foreach (var hour in gone ?? [])
        {
            _hours.Remove(hour);
        }
    }

    /// <summary>Hours held in memory (the latest and those of open views).</summary>
    public int HeldHours => _hours.Count;

    /// <summary>The stored hours from <paramref name="from"/> up to, not including, <paramref name="to"/> (hours since the epoch), ascending. Thread-safe.</summary>
    public IEnumerable<CarbonHour> ReadHours(long from, long to)
    {
        using var it = _db.NewIterator(_family);
        for (it.Seek(Key(Math.Max(0, from))); it.Valid(); it.Next())
        {
            var key = it.Key();
            if (key.Length != 9 || key[0] != HourPrefix)
            {
                yield break;
            }
            var hour = (long)BinaryPrimitives.ReadUInt64BigEndian(key.AsSpan(1));
            if (hour >= to)
            {
                yield break;
            }
            yield return Decode(hour, Verified(it.Value(), key));
        }
    }

    private void Change(long hour, Func<CarbonHour, CarbonHour> change)
    {
        Debug.Assert(_hours.ContainsKey(hour), "the hour of a record or of an open view is held");
        _hours[hour] = change(_hours.TryGetValue(hour, out var h) ? h : ReadHour(hour) ?? Empty(hour));
        _touched.Add(hour);
    }

    private CarbonHour? ReadHour(long hour)
    {
        var key = Key(hour);
        var raw = _db.Get(key, _family);
        return raw is null ? null : Decode(hour, Verified(raw, key));
    }

    private static CarbonHour Empty(long hour) => new(hour, 0, 0, CarbonSummary.Zero, 0, 0);

    private static byte[] Key(long hour)
    {
        var key = new byte[9];
        key[0] = HourPrefix;
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(1), (ulong)hour);
        return key;
    }

    private static ReadOnlySpan<byte> Verified(byte[] raw, byte[] key) =>
        Checksum.IsSealed(raw)
            ? raw.AsSpan(0, raw.Length - 4)
            : throw new CorruptRecordException($"carbon hour {Convert.ToHexStringLower(key)} fails its CRC32C check");

    private static byte[] Encode(CarbonHour h)
    {
        var w = new CarbonWriter(160);
        w.U8(StoredVersion);
        w.U64(h.Heights);
        w.U64(h.Transactions);
        CarbonLedger.WriteSummary(w, h.Summary);
        w.U64(h.PresentReadings);
        w.U64(h.MissingReadings);
        return w.ToArray();
    }

    private static CarbonHour Decode(long hour, ReadOnlySpan<byte> bytes)
    {
        var r = new CarbonReader(bytes, "stored carbon hour");
        r.Version(StoredVersion);
        var h = new CarbonHour(hour, r.U64("heights"), r.U64("transactions"), CarbonLedger.ReadSummary(ref r, CarbonLedger.ViewVersion), r.U64("present"), r.U64("missing"));
        r.End();
        return h;
    }
}
