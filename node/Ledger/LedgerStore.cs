using System.Buffers.Binary;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Google.Protobuf;
using RocksDbSharp;

namespace Aurigraph.Node.Ledger;

/// <summary>A stored block or index record failed its checksum: reported, never served or applied.</summary>
public sealed class CorruptRecordException(string message) : Exception(message);

/// <summary>
/// Persists what applying blocks produces — blocks by height (each with a CRC32C), the transaction index, the
/// ledger's state records and the chain tip — into the node database's column families, all in the caller's
/// write batch so a block lands atomically with the applied index.
/// </summary>
internal sealed class LedgerStore(RocksDb db, ColumnFamilyHandle blocks, ColumnFamilyHandle txIndex, ColumnFamilyHandle ledger, ColumnFamilyHandle meta)
{
    private static readonly byte[] TipKey = "ledger/tip"u8.ToArray();

    public void AddBlock(WriteBatch batch, Block block, AppliedBlock applied, HashSet<TransactionId>? indexedInBatch = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(applied);
        batch.Put(HeightKey(applied.Height), WithChecksum(block.ToByteArray()), blocks);
        for (var i = 0; i < applied.TransactionIds.Length; i++)
        {
            // A transaction proposed again after a leader change commits twice; its second copy fails on its used
            // nonce and changes nothing, and the index keeps pointing at the copy that took effect.
            if (!applied.Receipts[i].Success && (indexedInBatch?.Contains(applied.TransactionIds[i]) == true || db.HasKey(applied.TransactionIds[i].ToBytes(), txIndex)))
            {
                continue;
            }
            indexedInBatch?.Add(applied.TransactionIds[i]);
            var value = new byte[12];
            BinaryPrimitives.WriteUInt64BigEndian(value, applied.Height);
            BinaryPrimitives.WriteUInt32BigEndian(value.AsSpan(8), (uint)i);
            batch.Put(applied.TransactionIds[i].ToBytes(), value, txIndex);
        }
        foreach (var (key, value) in applied.StateWrites)
        {
            if (value is null)
            {
                batch.Delete(key, ledger);
            }
            else
            {
                batch.Put(key, value, ledger);
            }
        }
        var tip = new byte[8 + 32];
        BinaryPrimitives.WriteUInt64BigEndian(tip, applied.Height);
        applied.Hash.CopyTo(tip, 8);
        batch.Put(TipKey, tip, meta);
    }

    /// <summary>Writes the genesis state records (height 0).</summary>
    public void AddGenesis(WriteBatch batch, LedgerState state)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(state);
        foreach (var (key, value) in state.Records())
        {
            batch.Put(key, value, ledger);
        }
        batch.Put(TipKey, new byte[40], meta);
    }

    /// <summary>Replaces a stored block by its header alone (slim nodes keep headers of every block).</summary>
    public void PruneBody(WriteBatch batch, ulong height)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var block = ReadBlock(height);
        if (block is null || block.Transactions.Count == 0)
        {
            return;
        }
        batch.Put(HeightKey(height), WithChecksum(new Block { Header = block.Header }.ToByteArray()), blocks);
    }

    public Block? ReadBlock(ulong height)
    {
        var raw = db.Get(HeightKey(height), blocks);
        if (raw is null)
        {
            return null;
        }
        if (raw.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(raw) != Crc32C(raw.AsSpan(4)))
        {
            throw new CorruptRecordException($"block {height} in column family 'blocks' fails its CRC32C check");
        }
        return Block.Parser.ParseFrom(raw.AsSpan(4));
    }

    public (ulong Height, uint Index)? FindTransaction(TransactionId id)
    {
        var raw = db.Get(id.ToBytes(), txIndex);
        return raw is { Length: 12 } ? (BinaryPrimitives.ReadUInt64BigEndian(raw), BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(8))) : null;
    }

    /// <summary>The chain tip (height and block hash) and every state record, to rebuild the ledger at start.</summary>
    public (ulong Height, byte[] Hash, List<KeyValuePair<byte[], byte[]>> Records)? Load()
    {
        var tip = db.Get(TipKey, meta);
        if (tip is null)
        {
            return null;
        }
        if (tip.Length != 40)
        {
            throw new CorruptRecordException("ledger tip record has the wrong length");
        }
        var records = new List<KeyValuePair<byte[], byte[]>>();
        using (var it = db.NewIterator(ledger))
        {
            for (it.SeekToFirst(); it.Valid(); it.Next())
            {
                records.Add(new(it.Key(), it.Value()));
            }
        }
        return (BinaryPrimitives.ReadUInt64BigEndian(tip), tip[8..], records);
    }

    private static byte[] HeightKey(ulong height)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, height);
        return key;
    }

    private static byte[] WithChecksum(byte[] body)
    {
        var bytes = new byte[body.Length + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Crc32C(body));
        body.CopyTo(bytes, 4);
        return bytes;
    }

    private static uint Crc32C(ReadOnlySpan<byte> data) => Checksum.Crc32C(data);
}
