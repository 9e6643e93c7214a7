using Aurigraph.Node.Carbon;
using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Aurigraph.Node.Storage;
using RocksDbSharp;

namespace Aurigraph.Node.Snapshots;

/// <summary>What a state snapshot stands for: the raft position it replaces the log up to, and the ledger there.</summary>
/// <param name="ChainId">The chain.</param>
/// <param name="Index">Raft log index of the last entry the state includes (the node's applied index when it was taken).</param>
/// <param name="Term">Term of that entry.</param>
/// <param name="Height">Ledger height at that index.</param>
/// <param name="BlockHash">Hash of the block at <paramref name="Height"/>.</param>
/// <param name="StateRoot">The ledger's state root at <paramref name="Height"/> (checked after an install).</param>
/// <param name="Voters">Voting members at <paramref name="Index"/>.</param>
/// <param name="Learners">Learners at <paramref name="Index"/>.</param>
/// <param name="Members">The sender's address book: one encoded member record each (format 2; none in format 1).</param>
/// <param name="Removed">Ids the sender knows were removed from the cluster (format 2).</param>
public sealed record StateSnapshotHeader(
    string ChainId,
    ulong Index,
    ulong Term,
    ulong Height,
    byte[] BlockHash,
    byte[] StateRoot,
    IReadOnlyList<ulong> Voters,
    IReadOnlyList<ulong> Learners,
    IReadOnlyList<byte[]>? Members = null,
    IReadOnlyList<ulong>? Removed = null)
{
    /// <summary>The address book's records (empty when the header has none).</summary>
    public IReadOnlyList<byte[]> MemberRecords => Members ?? [];

    /// <summary>The removed ids (empty when the header has none).</summary>
    public IReadOnlyList<ulong> RemovedIds => Removed ?? [];
}

/// <summary>A complete, verified snapshot file: its header, size, record count and SHA-256.</summary>
public sealed record StateSnapshotInfo(StateSnapshotHeader Header, long Bytes, long Records, byte[] Sha256);

/// <summary>Which column family a snapshot record belongs to.</summary>
public enum SnapshotFamily : byte
{
    /// <summary>Ledger state records (accounts, key/values).</summary>
    Ledger = 1,

    /// <summary>Replicated carbon records and their bookkeeping (never a node's own pending readings).</summary>
    Carbon = 2,
}

/// <summary>
/// The on-disk and on-wire form of a state snapshot: a consistent copy of the replicated state at one raft index, written
/// from a RocksDB snapshot of the node database, so it needs no pause of the consensus loop beyond taking that snapshot.
/// </summary>
/// <remarks>
/// <code>
/// file    = "AGSS" | u16 version (2; 1 is read too) | header | record* | 0x00 | u64 record count | sha256 (32 bytes, over everything before it)
/// header  = u16 chain length | chain (UTF-8) | u64 index | u64 term | u64 height | block hash (32) | state root (32)
///           | u16 voters | u64* | u16 learners | u64* | u16 members | (u16 length | member record)* | u16 removed | u64* (version 2 only)
/// record  = u8 family (1 ledger, 2 carbon) | u32 key length | u32 value length | key | value
/// </code>
/// Integers are big-endian. What it holds: every record of the <c>ledger</c> family and the replicated part of the
/// <c>carbon</c> family (views, pending and missing markers, totals). Not included: blocks and the transaction index
/// below the snapshot (history, not state), the raft log, and this node's own readings.
/// </remarks>
public static class StateSnapshotFile
{
    private const ushort Version = 2;
    private const ushort FirstVersion = 1;
    private const int MaxMembers = 1024;
    private static readonly byte[] Magic = "AGSS"u8.ToArray();

    /// <summary>
    /// Writes a snapshot of <paramref name="database"/> as of <paramref name="view"/> (a RocksDB snapshot taken right after
    /// the apply batch of <paramref name="header"/>'s index) to <paramref name="path"/>: first to a temporary file, then
    /// renamed, so a crash never leaves a partial file under that name.
    /// </summary>
    public static StateSnapshotInfo Write(NodeDatabase database, Snapshot view, StateSnapshotHeader header, string path)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(header);
        var temporary = path + ".partial";
        long records = 0;
        byte[] hash;
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var writer = new HashingWriter(file, sha);
            writer.Write(Magic);
            writer.WriteU16(Version);
            WriteHeader(writer, header);
            var read = new ReadOptions().SetSnapshot(view);
            records += CopyFamily(database.Db, database.Ledger, read, SnapshotFamily.Ledger, writer, static _ => true);
            records += CopyFamily(database.Db, database.Carbon, read, SnapshotFamily.Carbon, writer, static key => !CarbonLedger.IsLocalKey(key));
            writer.WriteByte(0);
            writer.WriteU64((ulong)records);
            hash = sha.GetHashAndReset();
            file.Write(hash);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        return new StateSnapshotInfo(header, new FileInfo(path).Length, records, hash);
    }

    /// <summary>Reads and verifies a snapshot file end to end (SHA-256, structure); throws <see cref="InvalidDataException"/> when it fails.</summary>
    public static StateSnapshotInfo Verify(string path) => Read(path, static (_, _, _) => { });

    /// <summary>
    /// Reads a snapshot file, verifying it as it goes, and hands every record to <paramref name="record"/> (family, key,
    /// value; the spans are valid only during the call). The SHA-256 is checked at the end: a caller that stages records
    /// must discard them when this throws.
    /// </summary>
    public static StateSnapshotInfo Read(string path, Action<SnapshotFamily, ReadOnlyMemory<byte>, ReadOnlyMemory<byte>> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var length = file.Length;
        if (length < Magic.Length + 2 + 32)
        {
            throw new InvalidDataException($"snapshot '{path}' is too short ({length} bytes)");
        }
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var reader = new HashingReader(file, sha, length - 32);
        if (!reader.Read(4).Span.SequenceEqual(Magic))
        {
            throw new InvalidDataException($"'{path}' is not a state snapshot");
        }
        var version = reader.ReadU16();
        if (version != Version && version != FirstVersion)
        {
            throw new InvalidDataException($"snapshot '{path}' has format version {version}; this node reads {Version}");
        }
        var header = ReadHeader(reader, version);
        long records = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            while (true)
            {
                var family = reader.ReadByte();
                if (family == 0)
                {
                    break;
                }
                if (family is not ((byte)SnapshotFamily.Ledger or (byte)SnapshotFamily.Carbon))
                {
                    throw new InvalidDataException($"snapshot '{path}': unknown family {family} at record {records}");
                }
                var keyLength = reader.ReadU32();
                var valueLength = reader.ReadU32();
                if (keyLength > 1 << 20 || valueLength > 1 << 30)
                {
                    throw new InvalidDataException($"snapshot '{path}': record {records} has impossible lengths {keyLength}/{valueLength}");
                }
                var size = (int)(keyLength + valueLength);
                if (buffer.Length < size)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(size);
                }
                reader.ReadInto(buffer.AsSpan(0, size));
                record((SnapshotFamily)family, buffer.AsMemory(0, (int)keyLength), buffer.AsMemory((int)keyLength, (int)valueLength));
                records++;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        var count = reader.ReadU64();
        if (count != (ulong)records)
        {
            throw new InvalidDataException($"snapshot '{path}': {records} records, trailer says {count}");
        }
        if (reader.Position != length - 32)
        {
            throw new InvalidDataException($"snapshot '{path}': {length - 32 - reader.Position} stray bytes before the checksum");
        }
        var expected = sha.GetHashAndReset();
        Span<byte> stored = stackalloc byte[32];
        file.ReadExactly(stored);
        if (!stored.SequenceEqual(expected))
        {
            throw new InvalidDataException($"snapshot '{path}' fails its SHA-256 check");
        }
        return new StateSnapshotInfo(header, length, records, expected);
    }

    private static long CopyFamily(RocksDb db, ColumnFamilyHandle family, ReadOptions read, SnapshotFamily tag, HashingWriter writer, Func<byte[], bool> include)
    {
        long count = 0;
        using var it = db.NewIterator(family, read);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            var key = it.Key();
            if (!include(key))
            {
                continue;
            }
            var value = it.Value();
            writer.WriteByte((byte)tag);
            writer.WriteU32((uint)key.Length);
            writer.WriteU32((uint)value.Length);
            writer.Write(key);
            writer.Write(value);
            count++;
        }
        return count;
    }

    private static void WriteHeader(HashingWriter w, StateSnapshotHeader h)
    {
        var chain = Encoding.UTF8.GetBytes(h.ChainId);
        if (chain.Length > ushort.MaxValue || h.BlockHash.Length != 32 || h.StateRoot.Length != 32)
        {
            throw new ArgumentException("snapshot header: chain id too long, or block hash / state root not 32 bytes", nameof(h));
        }
        w.WriteU16((ushort)chain.Length);
        w.Write(chain);
        w.WriteU64(h.Index);
        w.WriteU64(h.Term);
        w.WriteU64(h.Height);
        w.Write(h.BlockHash);
        w.Write(h.StateRoot);
        foreach (var ids in new[] { h.Voters, h.Learners })
        {
            w.WriteU16((ushort)ids.Count);
            foreach (var id in ids)
            {
                w.WriteU64(id);
            }
        }
        var members = h.MemberRecords;
        if (members.Count > MaxMembers || members.Any(m => m.Length > ushort.MaxValue))
        {
            throw new ArgumentException($"snapshot header: at most {MaxMembers} member records of at most {ushort.MaxValue} bytes", nameof(h));
        }
        w.WriteU16((ushort)members.Count);
        foreach (var member in members)
        {
            w.WriteU16((ushort)member.Length);
            w.Write(member);
        }
        var removed = h.RemovedIds;
        if (removed.Count > MaxMembers)
        {
            throw new ArgumentException($"snapshot header: at most {MaxMembers} removed ids", nameof(h));
        }
        w.WriteU16((ushort)removed.Count);
        foreach (var id in removed)
        {
            w.WriteU64(id);
        }
    }

    private static StateSnapshotHeader ReadHeader(HashingReader r, ushort version)
    {
        var chain = Encoding.UTF8.GetString(r.Read(r.ReadU16()).Span);
        var index = r.ReadU64();
        var term = r.ReadU64();
        var height = r.ReadU64();
        var blockHash = r.Read(32).ToArray();
        var stateRoot = r.Read(32).ToArray();
        var voters = ReadIds(r);
        var learners = ReadIds(r);
        var members = new List<byte[]>();
        List<ulong> removed = [];
        if (version >= 2)
        {
            var count = r.ReadU16();
            if (count > MaxMembers)
            {
                throw new InvalidDataException($"snapshot header lists {count} members, over {MaxMembers}");
            }
            for (var i = 0; i < count; i++)
            {
                members.Add(r.Read(r.ReadU16()).ToArray());
            }
            removed = ReadIds(r);
            if (removed.Count > MaxMembers)
            {
                throw new InvalidDataException($"snapshot header lists {removed.Count} removed ids, over {MaxMembers}");
            }
        }
        return new StateSnapshotHeader(chain, index, term, height, blockHash, stateRoot, voters, learners, members, removed);
    }

    private static List<ulong> ReadIds(HashingReader r)
    {
        var count = r.ReadU16();
        var ids = new List<ulong>(count);
        for (var i = 0; i < count; i++)
        {
            ids.Add(r.ReadU64());
        }
        return ids;
    }

    /// <summary>Writes through to a stream while feeding a hash.</summary>
    private sealed class HashingWriter(Stream stream, IncrementalHash hash)
    {
        private readonly byte[] _scratch = new byte[8];

        public void Write(ReadOnlySpan<byte> data)
        {
            hash.AppendData(data);
            stream.Write(data);
        }

        public void WriteByte(byte value)
        {
            _scratch[0] = value;
            Write(_scratch.AsSpan(0, 1));
        }

        public void WriteU16(ushort value)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_scratch, value);
            Write(_scratch.AsSpan(0, 2));
        }

        public void WriteU32(uint value)
        {
            BinaryPrimitives.WriteUInt32BigEndian(_scratch, value);
            Write(_scratch.AsSpan(0, 4));
        }

        public void WriteU64(ulong value)
        {
            BinaryPrimitives.WriteUInt64BigEndian(_scratch, value);
            Write(_scratch);
        }
    }

    /// <summary>Reads from a stream up to a limit while feeding a hash.</summary>
    private sealed class HashingReader(Stream stream, IncrementalHash hash, long limit)
    {
        private readonly byte[] _scratch = new byte[8];

        public long Position { get; private set; }

        public void ReadInto(Span<byte> destination)
        {
            if (Position + destination.Length > limit)
            {
                throw new InvalidDataException("snapshot ends inside a record");
            }
            stream.ReadExactly(destination);
            hash.AppendData(destination);
            Position += destination.Length;
        }

        public ReadOnlyMemory<byte> Read(int count)
        {
            var data = new byte[count];
            ReadInto(data);
            return data;
        }

        public byte ReadByte()
        {
            ReadInto(_scratch.AsSpan(0, 1));
            return _scratch[0];
        }

        public ushort ReadU16()
        {
            ReadInto(_scratch.AsSpan(0, 2));
            return BinaryPrimitives.ReadUInt16BigEndian(_scratch);
        }

        public uint ReadU32()
        {
            ReadInto(_scratch.AsSpan(0, 4));
            return BinaryPrimitives.ReadUInt32BigEndian(_scratch);
        }

        public ulong ReadU64()
        {
            ReadInto(_scratch);
            return BinaryPrimitives.ReadUInt64BigEndian(_scratch);
        }
    }
}
