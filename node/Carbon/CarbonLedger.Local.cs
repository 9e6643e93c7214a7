using System.Buffers.Binary;
using Aurigraph.Node.Ledger;
using RocksDbSharp;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// The node's local bookkeeping in the <c>carbon</c> family: its own readings until a committed record carries them, and
/// the meter's open interval at a graceful stop. None of it comes from the log, and a snapshot neither carries nor replaces it.
/// </summary>
public sealed partial class CarbonLedger
{
    /// <summary>Whether a key of the <c>carbon</c> family is this node's local bookkeeping (its own readings), which a snapshot neither carries nor replaces.</summary>
    public static bool IsLocalKey(ReadOnlySpan<byte> key) => key.Length > 0 && key[0] is OwnPrefix or OwnPrefixV1 or MeterTailPrefix;

    /// <summary>Keeps the meter's open interval of a stopping node for its next run (local bookkeeping).</summary>
    /// <returns>The bytes put (key and value): <see cref="MeterTailBytes"/>.</returns>
    public int PutMeterTail(WriteBatch batch, MeterInterval tail)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var w = new CarbonWriter(MeterTailBytes);
        w.U8(MeterTailVersion);
        w.I64(tail.CpuMicros);
        w.I64(tail.WallMicros);
        w.I64(tail.PeerBytesSent);
        w.I64(tail.PeerBytesReceived);
        w.I64(tail.IngressBytes);
        w.I64(tail.StoredBytes);
        w.I64(tail.PooledRounds);
        var value = WithChecksum(w.ToArray());
        batch.Put(MeterTailKey, value, _family);
        return MeterTailKey.Length + value.Length;
    }

    /// <summary>The meter's open interval the node stopped with last, or null when there is none (or it was carried already).</summary>
    public MeterInterval? ReadMeterTail()
    {
        var raw = _db.Get(MeterTailKey, _family);
        if (raw is null)
        {
            return null;
        }
        var r = new CarbonReader(Verified(raw, MeterTailKey), "meter tail");
        r.Version(MeterTailVersion);
        var tail = new MeterInterval(
            r.Count("cpu µs"), r.Count("wall µs"), r.Count("bytes sent"), r.Count("bytes received"), r.Count("ingress bytes"), r.Count("bytes stored"), r.Count("pooled rounds"));
        r.End();
        return tail;
    }

    /// <summary>Forgets the meter's tail (its run's first reading carries it; same batch).</summary>
    public void DeleteMeterTail(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Delete(MeterTailKey, _family);
    }

    /// <summary>Keeps this node's own reading until it is seen in a committed record (local bookkeeping, in the same batch).</summary>
    /// <returns>The bytes put (key and value).</returns>
    public int PutOwnReading(WriteBatch batch, CarbonReading reading)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(reading);
        var key = Key(OwnPrefix, reading.Height);
        var value = WithChecksum(CarbonCodec.EncodeReading(reading));
        batch.Put(key, value, _family);
        return key.Length + value.Length;
    }

    /// <summary>Forgets this node's own reading for a height.</summary>
    public void DeleteOwnReading(WriteBatch batch, ulong height)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Delete(Key(OwnPrefix, height), _family);
        batch.Delete(Key(OwnPrefixV1, height), _family);
    }

    /// <summary>This node's own readings not yet seen in a committed record, by height.</summary>
    public List<CarbonReading> ReadOwnReadings()
    {
        var readings = new List<CarbonReading>();
        foreach (var (key, value) in Scan(OwnPrefixV1))
        {
            readings.Add(CarbonCodec.DecodeReading(Verified(value, key), CarbonCodec.FirstVersion));
        }
        foreach (var (key, value) in Scan(OwnPrefix))
        {
            readings.Add(CarbonCodec.DecodeReading(Verified(value, key)));
        }
        return readings;
    }
}
