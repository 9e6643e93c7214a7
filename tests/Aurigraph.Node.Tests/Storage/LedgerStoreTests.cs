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
        var applied = ledger.Apply(2, 1, BlockPayload.Encode([tx]));
        var block = new Block
        {
            Header = new BlockHeader { Height = applied.Height, Hash = ByteString.CopyFrom(applied.Hash), TransactionCount = 1 },
            Transactions = { signed },
        };

        using var db = NodeDatabase.Open(_dir, Chain, 1);
        var store = new LedgerStore(db.Db, db.Blocks, db.TxIndex, db.Ledger, db.Meta);
        using (var batch = new WriteBatch())
        {
            store.AddBlock(batch, block, applied);
            db.Db.Write(batch, db.SyncWrite);
        }
        Assert.Equal(block, store.ReadBlock(1));
        Assert.Equal((1UL, 0U), store.FindTransaction(tx.Id));

        var key = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(key, 1);
        var raw = db.Db.Get(key, db.Blocks);
        raw[^3] ^= 0x10;
        db.Db.Put(key, raw, db.Blocks);

        var ex = Assert.Throws<CorruptRecordException>(() => store.ReadBlock(1));
        Assert.Contains("block 1", ex.Message, StringComparison.Ordinal);
    }
}
