using System.Buffers.Binary;

namespace Aurigraph.Consensus.Simulation;

/// <summary>
/// A snapshot of the simulated key/value state machine: the boundary the core knows (<see cref="Meta"/>) and the
/// state itself, serialised as the bytes that travel in chunks. Immutable once taken.
/// </summary>
internal sealed class SimSnapshot
{
    private SimSnapshot(SnapshotMeta meta, byte[] bytes, Dictionary<int, long> kv, ulong hash)
    {
        Meta = meta;
        Bytes = bytes;
        Kv = kv;
        Hash = hash;
    }

    public SnapshotMeta Meta { get; }

    /// <summary>The state as sent: pair count (i32), then (key i32, value i64) pairs in key order.</summary>
    public byte[] Bytes { get; }

    public IReadOnlyDictionary<int, long> Kv { get; }

    /// <summary>The state's hash (<see cref="SimNode.StateHash"/> of the same pairs).</summary>
    public ulong Hash { get; }

    public static SimSnapshot Capture(SnapshotMeta meta, Dictionary<int, long> kv)
    {
        var bytes = new byte[4 + (12 * kv.Count)];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, kv.Count);
        var at = 4;
        foreach (var (key, value) in kv.OrderBy(p => p.Key))
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), key);
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(at + 4), value);
            at += 12;
        }
        return Decode(meta, bytes);
    }

    /// <summary>Rebuilds a snapshot from the bytes a receiver staged: the state is what the bytes say, nothing else.</summary>
    public static SimSnapshot Decode(SnapshotMeta meta, byte[] bytes)
    {
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        if (bytes.Length != 4 + (12 * count))
        {
            throw new SimulationViolationException($"snapshot {meta.Index} arrived as {bytes.Length} bytes for {count} pairs");
        }
        var kv = new Dictionary<int, long>(count);
        ulong hash = 0;
        for (var i = 0; i < count; i++)
        {
            var key = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4 + (12 * i)));
            var value = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8 + (12 * i)));
            kv[key] = value;
            hash += SimNode.PairHash(key, value);
        }
        return new SimSnapshot(meta, bytes, kv, hash);
    }
}

/// <summary>
/// One piece of a snapshot transfer on the simulated network, or its acknowledgement. A chunk carries the bytes
/// at <see cref="Offset"/>; an acknowledgement's <see cref="Offset"/> is how many bytes the receiver holds in order,
/// so a sender resumes from there after a loss, and from 0 after the receiver lost its staging in a crash.
/// </summary>
internal sealed record SnapshotChunk(ulong From, ulong To, ulong Term, SnapshotMeta Meta, long TransferId, int Offset, ReadOnlyMemory<byte> Data, int Total, bool IsAck)
{
    public override string ToString() =>
        IsAck ? $"SnapshotAck {From}->{To} snap {Meta.Index}@t{Meta.Term} has {Offset}/{Total}" : $"SnapshotChunk {From}->{To} t{Term} snap {Meta.Index}@t{Meta.Term} [{Offset}, {Offset + Data.Length}) of {Total}";
}

/// <summary>A sender's transfer of its snapshot to one peer (volatile: a crash ends it, and the core with it).</summary>
internal sealed class OutgoingTransfer(ulong peer, SimSnapshot snapshot, ulong term, long id)
{
    public ulong Peer { get; } = peer;
    public SimSnapshot Snapshot { get; } = snapshot;
    public ulong Term { get; } = term;
    public long Id { get; } = id;

    /// <summary>Bytes the receiver confirmed holding in order.</summary>
    public int Acked { get; set; }

    /// <summary>End of the bytes sent so far (the window runs from <see cref="Acked"/> to here).</summary>
    public int Sent { get; set; }

    public int AckedAtLastTimer { get; set; }

    /// <summary>Timer rounds in a row without progress.</summary>
    public int Retries { get; set; }
}

/// <summary>A receiver's partly staged snapshot: bytes held in order from one sender's snapshot (volatile).</summary>
internal sealed class IncomingTransfer(ulong from, SnapshotMeta meta, int total)
{
    public ulong From { get; } = from;
    public SnapshotMeta Meta { get; } = meta;
    public byte[] Buffer { get; } = new byte[total];
    public int Received { get; set; }

    public bool IsFor(SnapshotChunk chunk) => chunk.From == From && chunk.Meta.Index == Meta.Index && chunk.Meta.Term == Meta.Term && chunk.Total == Buffer.Length;
}
