using System.Buffers.Binary;
using Aurigraph.Node.Ledger;
using RocksDbSharp;

namespace Aurigraph.Node.Carbon;

/// <summary>What a block's carbon section did with the offsets it carried.</summary>
/// <param name="Recorded">Offsets recorded, with the height that committed them.</param>
/// <param name="Refused">Offsets not recorded, with why (every node refuses the same ones).</param>
public sealed record OffsetApplyResult(IReadOnlyList<OffsetRecordedAt> Recorded, IReadOnlyList<(OffsetRetirement Offset, string Reason)> Refused)
{
    /// <summary>No offsets carried.</summary>
    public static readonly OffsetApplyResult None = new([], []);
}

/// <summary>A committed offset retirement and the block that committed it.</summary>
public sealed record OffsetRecordedAt(OffsetRetirement Offset, ulong Height);

/// <summary>
/// The retired offsets every node keeps, in the <c>carbon</c> family under <c>'F' height index</c>, written only through
/// the apply batch. Apply is deterministic (no clock, no storage): the registry and serial of every record are held in
/// memory to refuse a second record of the same credits. Offsets are never subtracted from the measured footprint.
/// </summary>
public sealed class OffsetLedger
{
    /// <summary>The most offset records a chain keeps; further ones are refused alike on every node.</summary>
    public const int MaxRecords = 100_000;

    private const byte Prefix = (byte)'F';

    private readonly RocksDb _db;
    private readonly ColumnFamilyHandle _family;
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private double _tonnes;

    /// <summary>Creates the ledger over the <c>carbon</c> family; <see cref="Load"/> before applying.</summary>
    public OffsetLedger(RocksDb db, ColumnFamilyHandle family)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(family);
        _db = db;
        _family = family;
    }

    /// <summary>Offset records committed.</summary>
    public int Count => _keys.Count;

    /// <summary>Tonnes of every committed record, summed in commit order.</summary>
    public double Tonnes => _tonnes;

    /// <summary>Whether credits of this registry and serial are recorded.</summary>
    public bool Contains(OffsetRetirement offset)
    {
        ArgumentNullException.ThrowIfNull(offset);
        return _keys.Contains(offset.Key);
    }

    /// <summary>Reads the committed records into memory.</summary>
    public void Load()
    {
        _keys.Clear();
        _tonnes = 0;
        foreach (var (offset, _) in ReadAll())
        {
            _keys.Add(offset.Key);
            _tonnes += offset.Tonnes;
        }
    }

    /// <summary>
    /// Records the offsets block <paramref name="height"/> carries. <paramref name="blockTimeMs"/> is the block's proposal
    /// time (Unix ms, 0 when none): a retirement may not be dated after the day that follows it.
    /// </summary>
    public OffsetApplyResult Apply(WriteBatch batch, ulong height, IReadOnlyList<OffsetRetirement> offsets, long blockTimeMs)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(offsets);
        if (offsets.Count == 0)
        {
            return OffsetApplyResult.None;
        }
        var latest = blockTimeMs > 0
            ? DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(blockTimeMs).UtcDateTime).AddDays(1)
            : DateOnly.MinValue;
        var recorded = new List<OffsetRecordedAt>();
        var refused = new List<(OffsetRetirement, string)>();
        for (var i = 0; i < offsets.Count; i++)
        {
            var offset = offsets[i];
            var reason = blockTimeMs <= 0 ? "the block states no time" : Refusal(offset, latest);
            if (reason is not null)
            {
                refused.Add((offset, reason));
                continue;
            }
            _keys.Add(offset.Key);
            _tonnes += offset.Tonnes;
            batch.Put(Key(height, (ushort)i), Checksum.Sealed(OffsetCodec.EncodeStored(offset, height)), _family);
            recorded.Add(new OffsetRecordedAt(offset, height));
        }
        return new OffsetApplyResult(recorded, refused);
    }

    /// <summary>Why <paramref name="offset"/> cannot be recorded now, or <see langword="null"/> when it can.</summary>
    public string? Refusal(OffsetRetirement offset, DateOnly latestRetirement)
    {
        ArgumentNullException.ThrowIfNull(offset);
        var problems = offset.Problems(latestRetirement);
        if (problems.Count > 0)
        {
            return string.Join("; ", problems);
        }
        if (_keys.Contains(offset.Key))
        {
            return $"{offset.Registry} serial {offset.Serial} is already recorded";
        }
        return _keys.Count >= MaxRecords ? $"the chain keeps at most {MaxRecords} offset records" : null;
    }

    /// <summary>Every committed record in commit order. Thread-safe.</summary>
    public IEnumerable<OffsetRecordedAt> ReadAll()
    {
        using var it = _db.NewIterator(_family);
        for (it.Seek([Prefix]); it.Valid(); it.Next())
        {
            var key = it.Key();
            if (key.Length != 11 || key[0] != Prefix)
            {
                yield break;
            }
            var raw = it.Value();
            if (!Checksum.IsSealed(raw))
            {
                throw new CorruptRecordException($"offset record {Convert.ToHexStringLower(key)} fails its CRC32C check");
            }
            var (offset, height) = OffsetCodec.DecodeStored(raw.AsSpan(0, raw.Length - 4));
            yield return new OffsetRecordedAt(offset, height);
        }
    }

    private static byte[] Key(ulong height, ushort index)
    {
        var key = new byte[11];
        key[0] = Prefix;
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(1), height);
        BinaryPrimitives.WriteUInt16BigEndian(key.AsSpan(9), index);
        return key;
    }
}
