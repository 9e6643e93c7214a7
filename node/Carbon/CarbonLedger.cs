using System.Buffers.Binary;
using Aurigraph.Node.Ledger;
using RocksDbSharp;

namespace Aurigraph.Node.Carbon;

/// <summary>What applying one block did to the carbon records.</summary>
/// <param name="Accepted">The records (main, and late with only the entries taken) that took effect, in section order.</param>
/// <param name="Ignored">Records or entries the block carried that did not take effect (already recorded, unknown height, not missing), with why.</param>
/// <param name="Offsets">What became of the offsets the block carried.</param>
public sealed record CarbonApplyResult(IReadOnlyList<CarbonRecord> Accepted, IReadOnlyList<string> Ignored, OffsetApplyResult? Offsets = null)
{
    /// <summary>Nothing carried, nothing changed.</summary>
    public static readonly CarbonApplyResult None = new([], []);
}

/// <summary>The parts of the committed carbon state the leader's collector needs.</summary>
public interface ICarbonRecordState
{
    /// <summary>Heights with transactions whose main record has not committed, with their transaction counts.</summary>
    IReadOnlyDictionary<ulong, int> Pending { get; }

    /// <summary>Whether <paramref name="node"/>'s entry for <paramref name="height"/> committed missing and can still be filled by a late record; gives the height's transaction count.</summary>
    bool IsMissing(ulong height, ulong node, out int transactionCount);
}

/// <summary>
/// The carbon records every node keeps, in the column family <c>carbon</c>, written only through the caller's apply
/// <see cref="WriteBatch"/>. <see cref="Apply"/> is deterministic: it reads no clock and no storage, only the block and the
/// in-memory state that earlier applies (or <see cref="Load"/> at start) built, so equal logs give equal records on every node.
/// </summary>
/// <remarks>
/// Keys (heights 8-byte big-endian; values end in a CRC-32C):
/// <list type="bullet">
/// <item><c>'h' height</c> → the height's <see cref="CarbonBlockView"/> once its main record committed;</item>
/// <item><c>'p' height</c> → u32 transaction count, while the height waits for its main record;</item>
/// <item><c>'m' height</c> → empty, while the view has a missing entry that a late record may still fill
/// (for <see cref="LateWindowBlocks"/> blocks after the height);</item>
/// <item><c>'t'</c> → the running <see cref="CarbonTotals"/>;</item>
/// <item><c>'H' hour</c> → the committed carbon of an hour (<see cref="CarbonPeriods"/>);</item>
/// <item><c>'F' height index</c> → a retired offset (<see cref="OffsetLedger"/>);</item>
/// <item><c>'o' height</c> → this node's own reading for the height until it sees it in a committed record (local, not replicated).</item>
/// <item><c>'s'</c> → the meter's open interval when the node last stopped, until its next run's first reading (local, not replicated).</item>
/// </list>
/// </remarks>
public sealed partial class CarbonLedger : ICarbonRecordState
{
    /// <summary>A late reading is accepted only while the ledger is at most this many blocks past its height (a fixed rule: it must be the same on every node).</summary>
    public const ulong LateWindowBlocks = 10_000;

    private const byte ViewPrefix = (byte)'h';
    private const byte PendingPrefix = (byte)'p';
    private const byte MissingPrefix = (byte)'m';
    /// <summary>Key prefix of this node's own readings (local, never in a snapshot), carbon format 2 and later.</summary>
    internal const byte OwnPrefix = (byte)'r';

    /// <summary>Key prefix of own readings of carbon format 1 (read, then deleted with their height).</summary>
    internal const byte OwnPrefixV1 = (byte)'o';
    // Version 2: readings of carbon format 2, a reason on missing entries, and the consumed-CPU sum; version 3: readings
    // of format 3, the market-based sum, the view's record time and the totals' last record time; 1 and 2 are read.
    internal const byte ViewVersion = 3;
    private static readonly byte[] TotalsKey = "t"u8.ToArray();

    /// <summary>Key of the meter's open interval at the last stop (local, never in a snapshot).</summary>
    internal const byte MeterTailPrefix = (byte)'s';
    private static readonly byte[] MeterTailKey = [MeterTailPrefix];
    private const byte MeterTailVersion = 1;

    /// <summary>Bytes (key and value) of the stored meter tail: version, seven i64 quantities, CRC-32C.</summary>
    public const int MeterTailBytes = 1 + 1 + (7 * 8) + 4;

    private readonly RocksDb _db;
    private readonly ColumnFamilyHandle _family;
    private readonly SortedDictionary<ulong, int> _pending = [];
    private readonly SortedDictionary<ulong, CarbonBlockView> _missing = [];
    private CarbonTotals _totals = CarbonTotals.Empty;

    /// <summary>Creates the ledger over a database's <c>carbon</c> column family; call <see cref="Load"/> before applying.</summary>
    public CarbonLedger(RocksDb db, ColumnFamilyHandle family)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(family);
        _db = db;
        _family = family;
        Periods = new CarbonPeriods(db, family);
        Offsets = new OffsetLedger(db, family);
    }

    /// <summary>Committed carbon by calendar hour (reads are thread-safe).</summary>
    public CarbonPeriods Periods { get; }

    /// <summary>The retired offsets (reads are thread-safe).</summary>
    public OffsetLedger Offsets { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<ulong, int> Pending => _pending;

    /// <summary>The running totals as applied so far (on the consensus loop; readers use <see cref="ReadTotals"/>).</summary>
    public CarbonTotals Totals => _totals;

    /// <inheritdoc />
    public bool IsMissing(ulong height, ulong node, out int transactionCount)
    {
        transactionCount = 0;
        if (!_missing.TryGetValue(height, out var view))
        {
            return false;
        }
        transactionCount = view.TransactionCount;
        foreach (var entry in view.Entries)
        {
            if (entry.NodeId == node)
            {
                return entry.Status == CarbonReadingStatus.Missing;
            }
        }
        return false;
    }

    /// <summary>Rebuilds the in-memory state (pending heights, views with missing entries, totals) from the database.</summary>
    public void Load()
    {
        _pending.Clear();
        _missing.Clear();
        foreach (var (key, value) in Scan(PendingPrefix))
        {
            _pending[Height(key)] = (int)BinaryPrimitives.ReadUInt32LittleEndian(Verified(value, key));
        }
        foreach (var (key, _) in Scan(MissingPrefix))
        {
            var height = Height(key);
            _missing[height] = ReadView(height) ?? throw new CorruptRecordException($"carbon: height {height} is marked missing but has no view");
        }
        _totals = ReadTotals();
        Periods.Load(_totals.LastRecordedAtMs, _missing.Values);
        Offsets.Load();
    }

    /// <summary>
    /// Applies block <paramref name="height"/>'s carbon: stores the records of its carbon section (a main record only for a
    /// pending height, once; a late entry only for an entry committed missing within the window), then registers the
    /// height as pending when it has transactions. Everything goes into <paramref name="batch"/>.
    /// </summary>
    /// <remarks>A malformed carbon section is ignored whole and reported in <see cref="CarbonApplyResult.Ignored"/>: every node holds the same bytes and ignores them alike.</remarks>
    public CarbonApplyResult Apply(WriteBatch batch, ulong height, int transactionCount, ReadOnlySpan<byte> section)
    {
        ArgumentNullException.ThrowIfNull(batch);
        PruneMissing(batch, height);
        var result = CarbonApplyResult.None;
        if (!section.IsEmpty)
        {
            var accepted = new List<CarbonRecord>();
            var ignored = new List<string>();
            CarbonSection decoded;
            try
            {
                decoded = CarbonCodec.ReadSection(section);
            }
            catch (FormatException ex)
            {
                // Every node holds the same bytes, so every node ignores the same section.
                ignored.Add($"block {height}: {ex.Message}");
                decoded = new CarbonSection(0, [], []);
            }
            // Records count at the block's time, never before an earlier record's: the same rule on every node.
            var at = decoded.ProposedAtMs > 0 ? Math.Max(decoded.ProposedAtMs, _totals.LastRecordedAtMs) : 0;
            foreach (var record in decoded.Records)
            {
                if (record.Height >= height)
                {
                    ignored.Add($"record for height {record.Height} in block {height}: a record must follow its block");
                }
                else if (record.Kind == CarbonRecordKind.Main)
                {
                    ApplyMain(batch, height, at, record, accepted, ignored);
                }
                else
                {
                    ApplyLate(batch, height, record, accepted, ignored);
                }
            }
            var offsets = Offsets.Apply(batch, height, decoded.Offsets, at);
            foreach (var (offset, reason) in offsets.Refused)
            {
                ignored.Add($"offset {offset.Registry} {offset.Serial}: {reason}");
            }
            result = new CarbonApplyResult(accepted, ignored, offsets);
            if (accepted.Count > 0)
            {
                batch.Put(TotalsKey, WithChecksum(EncodeTotals(_totals)), _family);
            }
        }
        Periods.Flush(batch);
        if (transactionCount > 0)
        {
            _pending[height] = transactionCount;
            var value = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(value, (uint)transactionCount);
            batch.Put(Key(PendingPrefix, height), WithChecksum(value), _family);
        }
        return result;
    }

    private void ApplyMain(WriteBatch batch, ulong height, long at, CarbonRecord record, List<CarbonRecord> accepted, List<string> ignored)
    {
        if (!_pending.TryGetValue(record.Height, out var transactions))
        {
            ignored.Add($"main record for height {record.Height}: the height is not waiting for one (already recorded, or no transactions)");
            return;
        }
        if (transactions != record.TransactionCount)
        {
            ignored.Add($"main record for height {record.Height}: {record.TransactionCount} transactions, the block has {transactions}");
            return;
        }
        var entries = record.Entries.Select(e => new CarbonViewEntry(e.NodeId, e.Status, 0, e.Reading, e.Reason)).ToArray();
        var view = new CarbonBlockView(record.Height, transactions, height, entries, CarbonBlockView.Summarize(entries), at);
        batch.Put(Key(ViewPrefix, record.Height), WithChecksum(EncodeView(view)), _family);
        batch.Delete(Key(PendingPrefix, record.Height), _family);
        _pending.Remove(record.Height);
        Periods.CountMain(view);
        var missing = (ulong)view.MissingCount;
        if (missing > 0 && height - record.Height <= LateWindowBlocks)
        {
            _missing[record.Height] = view;
            Periods.Hold(view);
            batch.Put(Key(MissingPrefix, record.Height), WithChecksum([]), _family);
        }
        var t = _totals;
        _totals = t with
        {
            Heights = t.Heights + 1,
            Transactions = t.Transactions + (ulong)transactions,
            Summary = t.Summary.Add(view.Summary),
            PresentReadings = t.PresentReadings + (ulong)view.PresentCount,
            MissingReadings = t.MissingReadings + missing,
            FirstHeight = t.FirstHeight == 0 ? record.Height : Math.Min(t.FirstHeight, record.Height),
            LastHeight = Math.Max(t.LastHeight, record.Height),
            LastGramsPerTransaction = record.Height >= t.LastHeight ? view.GramsPerTransaction : t.LastGramsPerTransaction,
            LastRecordedAtMs = Math.Max(t.LastRecordedAtMs, at),
        };
        accepted.Add(record);
    }

    private void ApplyLate(WriteBatch batch, ulong height, CarbonRecord record, List<CarbonRecord> accepted, List<string> ignored)
    {
        if (!_missing.TryGetValue(record.Height, out var view))
        {
            ignored.Add($"late record for height {record.Height}: no missing entry is open for it");
            return;
        }
        var entries = view.Entries.ToArray();
        var taken = new List<CarbonRecordEntry>();
        var added = CarbonSummary.Zero;
        foreach (var late in record.Entries)
        {
            var i = Array.FindIndex(entries, e => e.NodeId == late.NodeId);
            if (i < 0 || entries[i].Status != CarbonReadingStatus.Missing)
            {
                ignored.Add($"late reading of node {late.NodeId} for height {record.Height}: its entry is not missing");
                continue;
            }
            entries[i] = new CarbonViewEntry(late.NodeId, CarbonReadingStatus.Late, height, late.Reading);
            added = added.Add(late.Reading!);
            taken.Add(late);
        }
        if (taken.Count == 0)
        {
            return;
        }
        var updated = view with { Entries = entries, Summary = CarbonBlockView.Summarize(entries) };
        batch.Put(Key(ViewPrefix, record.Height), WithChecksum(EncodeView(updated)), _family);
        Periods.CountLate(view, added, taken.Count);
        if (updated.MissingCount == 0)
        {
            _missing.Remove(record.Height);
            Periods.Release(view);
            batch.Delete(Key(MissingPrefix, record.Height), _family);
        }
        else
        {
            _missing[record.Height] = updated;
        }
        var t = _totals;
        _totals = t with
        {
            Summary = t.Summary.Add(added),
            MissingReadings = t.MissingReadings - (ulong)taken.Count,
            LateReadings = t.LateReadings + (ulong)taken.Count,
            LastGramsPerTransaction = record.Height == t.LastHeight ? updated.GramsPerTransaction : t.LastGramsPerTransaction,
        };
        accepted.Add(record with { Entries = taken });
    }

    private void PruneMissing(WriteBatch batch, ulong height)
    {
        while (_missing.Count > 0)
        {
            var oldest = _missing.Keys.First();
            if (height - oldest <= LateWindowBlocks)
            {
                return;
            }
            Periods.Release(_missing[oldest]);
            _missing.Remove(oldest);
            batch.Delete(Key(MissingPrefix, oldest), _family);
        }
    }

    /// <summary>The stored view of a height, or null when its main record has not committed (or it has no transactions). Thread-safe.</summary>
    public CarbonBlockView? ReadView(ulong height)
    {
        var key = Key(ViewPrefix, height);
        var raw = _db.Get(key, _family);
        return raw is null ? null : DecodeView(Verified(raw, key));
    }

    /// <summary>Stored views of heights <paramref name="from"/>..<paramref name="to"/> (inclusive), ascending. Thread-safe.</summary>
    public IEnumerable<CarbonBlockView> ReadViews(ulong from, ulong to)
    {
        using var it = _db.NewIterator(_family);
        for (it.Seek(Key(ViewPrefix, from)); it.Valid(); it.Next())
        {
            var key = it.Key();
            if (key.Length != 9 || key[0] != ViewPrefix || Height(key) > to)
            {
                yield break;
            }
            yield return DecodeView(Verified(it.Value(), key));
        }
    }

    /// <summary>Whether a height waits for its main record. Thread-safe.</summary>
    public bool IsPendingStored(ulong height) => _db.Get(Key(PendingPrefix, height), _family) is not null;

    /// <summary>How many heights wait for their main record. Thread-safe.</summary>
    public int CountPendingStored() => Scan(PendingPrefix).Count();

    /// <summary>The stored running totals. Thread-safe.</summary>
    public CarbonTotals ReadTotals()
    {
        var raw = _db.Get(TotalsKey, _family);
        return raw is null ? CarbonTotals.Empty : DecodeTotals(Verified(raw, TotalsKey));
    }

    private IEnumerable<(byte[] Key, byte[] Value)> Scan(byte prefix)
    {
        using var it = _db.NewIterator(_family);
        for (it.Seek([prefix]); it.Valid(); it.Next())
        {
            var key = it.Key();
            if (key.Length == 0 || key[0] != prefix)
            {
                yield break;
            }
            yield return (key, it.Value());
        }
    }

    private static byte[] Key(byte prefix, ulong height)
    {
        var key = new byte[9];
        key[0] = prefix;
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(1), height);
        return key;
    }

    private static ulong Height(byte[] key) =>
        key.Length == 9 ? BinaryPrimitives.ReadUInt64BigEndian(key.AsSpan(1)) : throw new CorruptRecordException($"carbon: key of {key.Length} bytes");

    private static byte[] WithChecksum(ReadOnlySpan<byte> body) => Checksum.Sealed(body);

    private static ReadOnlySpan<byte> Verified(byte[] raw, byte[] key) =>
        Checksum.IsSealed(raw)
            ? raw.AsSpan(0, raw.Length - 4)
            : throw new CorruptRecordException($"carbon record {Convert.ToHexStringLower(key)} fails its CRC32C check");

    internal static byte[] EncodeView(CarbonBlockView view)
    {
        var w = new CarbonWriter(64 + (view.Entries.Count * 400));
        w.U8(ViewVersion);
        w.U64(view.Height);
        w.U32((uint)view.TransactionCount);
        w.U64(view.RecordHeight);
        w.U16((ushort)view.Entries.Count);
        foreach (var e in view.Entries)
        {
            w.U64(e.NodeId);
            w.U8((byte)e.Status);
            w.U64(e.LateHeight);
            if (e.Reading is { } reading)
            {
                CarbonCodec.WriteReading(w, reading);
            }
            else
            {
                w.Str(e.Reason);
            }
        }
        WriteSummary(w, view.Summary);
        w.I64(view.RecordedAtMs);
        return w.ToArray();
    }

    internal static CarbonBlockView DecodeView(ReadOnlySpan<byte> bytes)
    {
        var r = new CarbonReader(bytes, "stored carbon view");
        var version = r.Versions(1, ViewVersion);
        var height = r.U64("height");
        var transactions = (int)r.U32("transactions");
        var recordHeight = r.U64("record height");
        var count = r.U16("entries");
        var entries = new CarbonViewEntry[count];
        for (var i = 0; i < count; i++)
        {
            var node = r.U64("node");
            var status = (CarbonReadingStatus)r.U8("status");
            var late = r.U64("late height");
            var reading = status == CarbonReadingStatus.Missing ? null : CarbonCodec.ReadReading(ref r, version);
            var reason = status == CarbonReadingStatus.Missing && version >= 2 ? r.Str("missing reason") : "";
            entries[i] = new CarbonViewEntry(node, status, late, reading, reason);
        }
        var summary = ReadSummary(ref r, version);
        var recordedAt = version >= 3 ? r.I64("recorded-at") : 0;
        r.End();
        return new CarbonBlockView(height, transactions, recordHeight, entries, summary, recordedAt);
    }

    internal static byte[] EncodeTotals(CarbonTotals t)
    {
        var w = new CarbonWriter(160);
        w.U8(ViewVersion);
        w.U64(t.Heights);
        w.U64(t.Transactions);
        WriteSummary(w, t.Summary);
        w.U64(t.PresentReadings);
        w.U64(t.MissingReadings);
        w.U64(t.LateReadings);
        w.U64(t.FirstHeight);
        w.U64(t.LastHeight);
        w.F64(t.LastGramsPerTransaction);
        w.I64(t.LastRecordedAtMs);
        return w.ToArray();
    }

    internal static CarbonTotals DecodeTotals(ReadOnlySpan<byte> bytes)
    {
        var r = new CarbonReader(bytes, "stored carbon totals");
        var version = r.Versions(1, ViewVersion);
        var totals = new CarbonTotals(
            r.U64("heights"),
            r.U64("transactions"),
            ReadSummary(ref r, version),
            r.U64("present"),
            r.U64("missing"),
            r.U64("late"),
            r.U64("first height"),
            r.U64("last height"),
            r.F64("last gCO2e/tx"),
            version >= 3 ? r.I64("last recorded-at") : 0);
        r.End();
        return totals;
    }

    internal static void WriteSummary(CarbonWriter w, CarbonSummary s)
    {
        w.F64(s.TotalGrams);
        w.F64(s.OperationalGrams);
        w.F64(s.EmbodiedGrams);
        w.F64(s.CpuKwh);
        w.F64(s.MemoryKwh);
        w.F64(s.NetworkKwh);
        w.F64(s.StorageKwh);
        w.F64(s.ConsensusKwh);
        w.F64(s.ItKwh);
        w.F64(s.FacilityKwh);
        w.F64(s.CpuConsumedKwh);
        w.F64(s.MarketGrams);
    }

    internal static CarbonSummary ReadSummary(ref CarbonReader r, byte version)
    {
        var summary = ReadSummaryV1(ref r);
        // Before version 2 the CPU term was the consumed CPU; before version 3 no reading had a market factor, so the
        // market-based figure is the location-based one.
        summary = summary with { CpuConsumedKwh = version >= 2 ? r.F64("consumed cpu kWh") : summary.CpuKwh };
        return summary with { MarketGrams = version >= 3 ? r.F64("market g") : summary.TotalGrams };
    }

    private static CarbonSummary ReadSummaryV1(ref CarbonReader r) => new(
        r.F64("total g"),
        r.F64("operational g"),
        r.F64("embodied g"),
        r.F64("cpu kWh"),
        r.F64("memory kWh"),
        r.F64("network kWh"),
        r.F64("storage kWh"),
        r.F64("consensus kWh"),
        r.F64("IT kWh"),
        r.F64("facility kWh"));
}
