using System.Buffers.Binary;
using System.Diagnostics;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transactions;
using Google.Protobuf;
using RocksDbSharp;

namespace Aurigraph.Node.Ledger;

/// <summary>A stored block or index record failed its checksum: reported, never served or applied.</summary>
public sealed class CorruptRecordException(string message) : Exception(message);

/// <summary>
/// Persists what applying blocks produces — a record per block height (its header and failed receipts, with a CRC32C), the
/// transaction index, the ledger's state records and the chain tip — into the node database's column families, all in the
/// caller's write batch so a block lands atomically with the applied index.
/// <para>
/// A block's transactions are stored once: in the raft log entry that committed it. The block record names that entry
/// (header log index and term), and reading a block reads the payload from the log (<see cref="RaftLogStorage.ReadBody"/>).
/// Invariant: the entry of every block record with a body is committed, so it is never truncated, and it is kept past log
/// compaction (except on slim nodes, which serve bodies only from <see cref="BodiesFromKey"/> on). A node that installed a
/// state snapshot holds no entries of the blocks it never applied, and has no block records for them either.
/// </para>
/// </summary>
internal sealed class LedgerStore(NodeDatabase database) : IStateSource
{
    private static readonly byte[] TipKey = "ledger/tip"u8.ToArray();

    // Slim nodes: the lowest height whose body is served (meta family, u64 big-endian); absent = every body.
    private static readonly byte[] BodiesFromKey = "blocks/bodies-from"u8.ToArray();

    private readonly RocksDb db = database.Db;
    private readonly ColumnFamilyHandle blocks = database.Blocks;
    private readonly ColumnFamilyHandle txIndex = database.TxIndex;
    private readonly ColumnFamilyHandle ledger = database.Ledger;
    private readonly ColumnFamilyHandle meta = database.Meta;

    /// <summary>
    /// Adds a block to the caller's batch: the record is the header and the failed receipts; the transactions stay in the
    /// raft log entry <paramref name="applied"/> came from — no per-transaction objects are built to store it.
    /// </summary>
    public void AddBlock(WriteBatch batch, AppliedBlock applied, HashSet<TransactionId>? indexedInBatch = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(applied);
        batch.Put(HeightKey(applied.Height), EncodeRecord(Header(applied), applied.Receipts), blocks);
        Span<byte> value = stackalloc byte[12];
        for (var i = 0; i < applied.TransactionIds.Length; i++)
        {
            // A transaction proposed again after a leader change commits twice; its second copy fails on its used
            // nonce and changes nothing, and the index keeps pointing at the copy that took effect.
            if (!applied.Receipts[i].Success && (indexedInBatch?.Contains(applied.TransactionIds[i]) == true || db.HasKey(applied.TransactionIds[i].ToBytes(), txIndex)))
            {
                continue;
            }
            indexedInBatch?.Add(applied.TransactionIds[i]);
            BinaryPrimitives.WriteUInt64BigEndian(value, applied.Height);
            BinaryPrimitives.WriteUInt32BigEndian(value[8..], (uint)i);
            batch.Put(applied.TransactionIds[i].ToBytes(), value.ToArray(), txIndex);
        }
        applied.StateWrites.ForEach((batch, ledger), static (s, key, stateValue) => s.batch.Put(key, stateValue, s.ledger));
        SetTip(batch, applied.Height, applied.Hash);
    }

    /// <summary>Records the chain tip (height and block hash) in the caller's batch.</summary>
    public void SetTip(WriteBatch batch, ulong height, ReadOnlySpan<byte> hash)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var tip = new byte[8 + 32];
        BinaryPrimitives.WriteUInt64BigEndian(tip, height);
        hash.CopyTo(tip.AsSpan(8));
        batch.Put(TipKey, tip, meta);
    }

    /// <summary>The API form of a block: header, signed transactions sliced from the payload, and receipts.</summary>
    public static Block ToBlock(AppliedBlock applied, ReadOnlyMemory<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(applied);
        var failures = new List<(uint, string)>();
        for (var i = 0; i < applied.Receipts.Length; i++)
        {
            if (!applied.Receipts[i].Success)
            {
                failures.Add(((uint)i, applied.Receipts[i].FailureReason ?? ""));
            }
        }
        return Assemble(Header(applied), failures, payload);
    }

    private static BlockHeader Header(AppliedBlock applied) => new()
    {
        Height = applied.Height,
        LogIndex = applied.LogIndex,
        Term = applied.Term,
        PreviousHash = ByteString.CopyFrom(applied.PreviousHash),
        TransactionsRoot = ByteString.CopyFrom(applied.TransactionsRoot),
        StateRoot = ByteString.CopyFrom(applied.StateRoot),
        TransactionCount = (uint)applied.TransactionIds.Length,
        Hash = ByteString.CopyFrom(applied.Hash),
    };

    private static Block Assemble(BlockHeader header, List<(uint Index, string Reason)> failures, ReadOnlyMemory<byte> payload)
    {
        var block = new Block { Header = header };
        if (payload.IsEmpty)
        {
            return block; // a pruned body: the header alone
        }
        foreach (var (body, signature) in BlockPayload.Read(payload).Transactions)
        {
            block.Transactions.Add(new SignedTransaction { Body = ByteString.CopyFrom(body.Span), Signature = ByteString.CopyFrom(signature.Span) });
        }
        var next = 0;
        for (var i = 0; i < block.Transactions.Count; i++)
        {
            if (next < failures.Count && failures[next].Index == i)
            {
                block.Receipts.Add(new Receipt { Success = false, FailureReason = failures[next++].Reason });
            }
            else
            {
                block.Receipts.Add(new Receipt { Success = true });
            }
        }
        return block;
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

    /// <summary>
    /// Slim nodes: from this batch on, blocks up to <paramref name="height"/> are served by their header alone. Their log
    /// entries go at the next compaction (<see cref="RaftLogStorage"/> without kept bodies).
    /// </summary>
    public void PruneBody(WriteBatch batch, ulong height)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var from = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(from, height + 1);
        batch.Put(BodiesFromKey, from, meta);
    }

    /// <summary>The block at <paramref name="height"/>, its transactions read from the raft log entry that committed it.</summary>
    public Block? ReadBlock(ulong height)
    {
        if (ReadRecord(height) is not { } record)
        {
            return null;
        }
        var payload = height >= BodiesFrom() ? RaftLogStorage.ReadBody(database, record.Header.LogIndex, record.Header.Term) ?? default : default;
        return Assemble(record.Header, record.Failures, payload);
    }

    private ulong BodiesFrom() => db.Get(BodiesFromKey, meta) is { Length: 8 } raw ? BinaryPrimitives.ReadUInt64BigEndian(raw) : 0;

    /// <summary>One transaction's receipt, read from the block record without building the block.</summary>
    public Receipt? ReadReceipt(ulong height, uint index)
    {
        if (ReadRecord(height) is not { } record || index >= record.Header.TransactionCount)
        {
            return null;
        }
        foreach (var (at, reason) in record.Failures)
        {
            if (at == index)
            {
                return new Receipt { Success = false, FailureReason = reason };
            }
        }
        return new Receipt { Success = true };
    }

    // Block record: u32 CRC32C of the rest | u8 format (3) | u32 header length | BlockHeader | u32 failed receipts |
    // failures × (u32 index | u32 reason length | UTF-8 reason). The transactions are in the raft log at header.LogIndex.
    private const byte RecordFormat = 3;

    private static byte[] EncodeRecord(BlockHeader header, ReceiptRecord[] receipts)
    {
        var headerSize = header.CalculateSize();
        var size = 4 + 1 + 4 + headerSize + 4;
        var failures = 0;
        foreach (var receipt in receipts)
        {
            if (!receipt.Success)
            {
                size += 8 + System.Text.Encoding.UTF8.GetByteCount(receipt.FailureReason ?? "");
                failures++;
            }
        }
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        span[4] = RecordFormat;
        BinaryPrimitives.WriteInt32LittleEndian(span[5..], headerSize);
        header.WriteTo(span.Slice(9, headerSize));
        var at = 9 + headerSize;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], failures);
        at += 4;
        for (var i = 0; i < receipts.Length; i++)
        {
            if (receipts[i].Success)
            {
                continue;
            }
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], i);
            var written = System.Text.Encoding.UTF8.GetBytes(receipts[i].FailureReason ?? "", span[(at + 8)..]);
            BinaryPrimitives.WriteInt32LittleEndian(span[(at + 4)..], written);
            at += 8 + written;
        }
        Debug.Assert(at == size, "the record is exactly the size computed for it");
        BinaryPrimitives.WriteUInt32LittleEndian(span, Crc32C(span[4..]));
        return bytes;
    }

    private (BlockHeader Header, List<(uint Index, string Reason)> Failures)? ReadRecord(ulong height)
    {
        var raw = db.Get(HeightKey(height), blocks);
        if (raw is null)
        {
            return null;
        }
        if (raw.Length < 5 || BinaryPrimitives.ReadUInt32LittleEndian(raw) != Crc32C(raw.AsSpan(4)))
        {
            throw new CorruptRecordException($"block {height} in column family 'blocks' fails its CRC32C check");
        }
        try
        {
            if (raw[4] != RecordFormat)
            {
                throw new CorruptRecordException($"block {height} in column family 'blocks' has record format {raw[4]}, expected {RecordFormat}");
            }
            var span = raw.AsSpan();
            var headerSize = BinaryPrimitives.ReadInt32LittleEndian(span[5..]);
            var header = BlockHeader.Parser.ParseFrom(span.Slice(9, headerSize));
            var at = 9 + headerSize;
            var count = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
            at += 4;
            var failures = new List<(uint, string)>(count);
            for (var i = 0; i < count; i++)
            {
                var index = BinaryPrimitives.ReadUInt32LittleEndian(span[at..]);
                var length = BinaryPrimitives.ReadInt32LittleEndian(span[(at + 4)..]);
                failures.Add((index, System.Text.Encoding.UTF8.GetString(span.Slice(at + 8, length))));
                at += 8 + length;
            }
            if (at != raw.Length)
            {
                throw new CorruptRecordException($"block {height} in column family 'blocks' has {raw.Length - at} bytes after its receipts");
            }
            return (header, failures);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or ArgumentOutOfRangeException or FormatException)
        {
            throw new CorruptRecordException($"block {height} in column family 'blocks' is malformed: {ex.Message}");
        }
    }

    public (ulong Height, uint Index)? FindTransaction(TransactionId id)
    {
        var raw = db.Get(id.ToBytes(), txIndex);
        return raw is { Length: 12 } ? (BinaryPrimitives.ReadUInt64BigEndian(raw), BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(8))) : null;
    }

    /// <summary>A persisted state record (the ledger's reads of what it does not hold in memory).</summary>
    public byte[]? Read(byte prefix, ReadOnlySpan<byte> id)
    {
        var key = new byte[1 + id.Length];
        key[0] = prefix;
        id.CopyTo(key.AsSpan(1));
        return db.Get(key, ledger);
    }

    /// <summary>
    /// The chain tip (height and block hash) and every state record, to rebuild the ledger at start. The records are
    /// read as they are enumerated (once, while the database is open), so a large state is never held whole.
    /// </summary>
    public (ulong Height, byte[] Hash, IEnumerable<KeyValuePair<byte[], byte[]>> Records)? Load()
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
        return (BinaryPrimitives.ReadUInt64BigEndian(tip), tip[8..], Records());
    }

    private IEnumerable<KeyValuePair<byte[], byte[]>> Records()
    {
        using var it = db.NewIterator(ledger);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            yield return new(it.Key(), it.Value());
        }
    }

    private static byte[] HeightKey(ulong height)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, height);
        return key;
    }

    private static uint Crc32C(ReadOnlySpan<byte> data) => Checksum.Crc32C(data);
}
