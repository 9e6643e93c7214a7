using System.Buffers.Binary;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transactions;
using Google.Protobuf;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Storage;

public sealed class LedgerStoreTests : IDisposable
{
    private const string Chain = "store-test";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-store-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void A_stored_block_reads_back_and_a_corrupted_one_is_reported_not_served()
    {
        using var alice = TransactionSigner.Generate();
        var verifier = new TransactionVerifier(Chain, 64 * 1024);
        var signed = alice.Put(Chain, 0, "k"u8, "v"u8);
        var tx = verifier.Verify(signed.Body.Memory, signed.Signature.Memory).Transaction!;
        var ledger = LedgerState.FromGenesis(new Genesis { ChainId = Chain });
        var stale = alice.Put(Chain, 7, "k"u8, "w"u8);
        var failing = verifier.Verify(stale.Body.Memory, stale.Signature.Memory).Transaction!;
        var payload = BlockPayload.Encode([tx, failing]);
        var applied = ledger.Apply(2, 1, payload);
        var block = LedgerStore.ToBlock(applied, payload);
        Assert.Equal([signed, stale], block.Transactions);
        Assert.Equal([true, false], block.Receipts.Select(r => r.Success));
        Assert.Equal("bad nonce: expected 1, got 7", block.Receipts[1].FailureReason);
        Assert.Equal(ByteString.CopyFrom(applied.TransactionsRoot), block.Header.TransactionsRoot);

        using var db = NodeDatabase.Open(_dir, Chain, 1);
        var store = new LedgerStore(db);
        var log = new RaftLogStorage(db);
        log.Append(new Aurigraph.Consensus.HardState(1, 1, 2), [new(1, 1, Aurigraph.Consensus.EntryType.NoOp, default), new(2, 1, Aurigraph.Consensus.EntryType.Normal, payload)]);
        using (var batch = new WriteBatch())
        {
            store.AddBlock(batch, applied);
            db.Db.Write(batch, db.StateWrite);
        }
        // The block's transactions are read from the raft log entry that committed it: same block, bytes for bytes.
        Assert.Equal(block, store.ReadBlock(1));
        Assert.Equal(block.ToByteArray(), store.ReadBlock(1)!.ToByteArray());
        Assert.Equal((1UL, 0U), store.FindTransaction(tx.Id));
        Assert.Equal(block.Receipts[1], store.ReadReceipt(1, 1));
        Assert.Null(store.ReadReceipt(1, 2));

        var key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, 1);
        var raw = db.Db.Get(key, db.Blocks);
        Assert.True(raw.Length < payload.Length, $"the block record ({raw.Length} bytes) holds no copy of the payload ({payload.Length} bytes)");

        // A damaged log entry is reported, not served as the block's transactions.
        var logKey = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(logKey, 2);
        var entry = db.Db.Get(logKey, db.RaftLog);
        entry[^2] ^= 0x01;
        db.Db.Put(logKey, entry, db.RaftLog);
        Assert.Throws<StorageCorruptionException>(() => store.ReadBlock(1));
        entry[^2] ^= 0x01;
        db.Db.Put(logKey, entry, db.RaftLog);

        // A slim node's pruning keeps the header and drops the transactions.
        using (var batch = new WriteBatch())
        {
            store.PruneBody(batch, 1);
            db.Db.Write(batch, db.SyncWrite);
        }
        Assert.Equal(new Block { Header = block.Header }, store.ReadBlock(1));

        raw[^3] ^= 0x10;
        db.Db.Put(key, raw, db.Blocks);

        var ex = Assert.Throws<CorruptRecordException>(() => store.ReadBlock(1));
        Assert.Contains("block 1", ex.Message, StringComparison.Ordinal);
    }
}
