using Aurigraph.Node.Ledger;
using Aurigraph.Node.Snapshots;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transactions;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Storage;

public sealed class StateSnapshotTests : IDisposable
{
    private const string Chain = "snapshot-test";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-snapshot-" + Guid.NewGuid().ToString("N"));

    public StateSnapshotTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static LedgerStore Store(NodeDatabase db) => new(db);

    /// <summary>A ledger of <paramref name="accounts"/> accounts plus a key/value written by a real block.</summary>
    private static (LedgerState Ledger, AppliedBlock Block, ReadOnlyMemory<byte> Payload) Ledger(int accounts)
    {
        var genesis = new Genesis
        {
            ChainId = Chain,
            Accounts = [.. Enumerable.Range(0, accounts).Select(i => new GenesisAccount { PublicKey = Convert.ToHexString(BitConverter.GetBytes((long)i).Concat(new byte[24]).ToArray()), Balance = (ulong)(1000 + i) })],
        };
        var ledger = LedgerState.FromGenesis(genesis);
        using var alice = TransactionSigner.Generate();
        var verifier = new TransactionVerifier(Chain, 64 * 1024);
        var signed = alice.Put(Chain, 0, "colour"u8, "blue"u8);
        var payload = BlockPayload.Encode([verifier.Verify(signed.Body.Memory, signed.Signature.Memory).Transaction!]);
        var block = ledger.Apply(5, 2, payload);
        return (ledger, block, payload);
    }

    private static StateSnapshotHeader Header(LedgerState ledger, ulong index = 5, ulong term = 2) =>
        new(Chain, index, term, ledger.Height, ledger.LastBlockHash, ledger.StateRoot, [1, 2, 3], [4]);

    /// <summary>Stores the ledger in a fresh source database and writes its snapshot to <paramref name="path"/>.</summary>
    private void WriteSnapshot(LedgerState ledger, AppliedBlock block, ReadOnlyMemory<byte> payload, string path)
    {
        using var source = NodeDatabase.Open(Path.Combine(_dir, "a"), Chain, 1);
        using (var batch = new WriteBatch())
        {
            Store(source).AddGenesis(batch, ledger);
            Store(source).AddBlock(batch, block);
            source.Db.Write(batch, source.SyncWrite);
        }
        var view = source.Db.CreateSnapshot();
        StateSnapshotFile.Write(source, view, Header(ledger), path);
        view.Dispose();
    }

    private static List<(byte[] Key, byte[] Value)> Family(NodeDatabase db, ColumnFamilyHandle family)
    {
        var all = new List<(byte[], byte[])>();
        using var it = db.Db.NewIterator(family);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            all.Add((it.Key(), it.Value()));
        }
        return all;
    }

    [Fact]
    public void A_snapshot_installed_on_another_node_gives_the_same_ledger_and_replicated_carbon_state_at_its_moment()
    {
        var (ledger, block, payload) = Ledger(accounts: 500);
        var path = Path.Combine(_dir, "snap.bin");
        byte[] expectedRoot = ledger.StateRoot;
        StateSnapshotInfo written;
        List<(byte[] Key, byte[] Value)> sourceLedger;
        using (var source = NodeDatabase.Open(Path.Combine(_dir, "a"), Chain, 1))
        {
            using (var batch = new WriteBatch())
            {
                var store = Store(source);
                store.AddGenesis(batch, ledger);
                store.AddBlock(batch, block);
                batch.Put("h\0\0\0\0\0\0\0\x01"u8.ToArray(), "view"u8.ToArray(), source.Carbon);
                batch.Put("t"u8.ToArray(), "totals"u8.ToArray(), source.Carbon);
                batch.Put("o\0\0\0\0\0\0\0\x01"u8.ToArray(), "source's own reading"u8.ToArray(), source.Carbon);
                batch.Put("r\0\0\0\0\0\0\0\x01"u8.ToArray(), "source's own reading, format 2"u8.ToArray(), source.Carbon);
                batch.Put("s"u8.ToArray(), "source's meter tail"u8.ToArray(), source.Carbon);
                source.Db.Write(batch, source.SyncWrite);
            }
            sourceLedger = Family(source, source.Ledger);
            var view = source.Db.CreateSnapshot();
            // Written after the snapshot was taken: not in it.
            source.Db.Put("later"u8.ToArray(), "x"u8.ToArray(), source.Ledger);
            source.Db.Put("t"u8.ToArray(), "later totals"u8.ToArray(), source.Carbon);
            written = StateSnapshotFile.Write(source, view, Header(ledger), path);
            view.Dispose();
        }
        Assert.Equal(sourceLedger.Count + 2, written.Records); // ledger records + view + totals, no own readings, no meter tail
        var verified = StateSnapshotFile.Verify(path);
        Assert.Equal((written.Bytes, written.Records), (verified.Bytes, verified.Records));
        Assert.Equal(written.Sha256, verified.Sha256);
        Assert.Equal((5UL, 2UL, 1UL, Chain), (verified.Header.Index, verified.Header.Term, verified.Header.Height, verified.Header.ChainId));
        Assert.Equal(expectedRoot, verified.Header.StateRoot);

        using var target = NodeDatabase.Open(Path.Combine(_dir, "b"), Chain, 2);
        using (var batch = new WriteBatch())
        {
            Store(target).AddGenesis(batch, LedgerState.FromGenesis(new Genesis { ChainId = Chain, Accounts = [new GenesisAccount { PublicKey = Convert.ToHexString(new byte[32]), Balance = 1 }] }));
            batch.Put("p\0\0\0\0\0\0\0\x09"u8.ToArray(), "stale pending"u8.ToArray(), target.Carbon);
            batch.Put("o\0\0\0\0\0\0\0\x02"u8.ToArray(), "target's own reading"u8.ToArray(), target.Carbon);
            batch.Put("r\0\0\0\0\0\0\0\x02"u8.ToArray(), "target's own reading, format 2"u8.ToArray(), target.Carbon);
            batch.Put("q"u8.ToArray(), "stale, between the own prefixes"u8.ToArray(), target.Carbon);
            batch.Put("s"u8.ToArray(), "target's meter tail"u8.ToArray(), target.Carbon);
            target.Db.Write(batch, target.SyncWrite);
        }

        ulong finishedAt = 0;
        var installed = StateSnapshotInstaller.Install(target, path, (batch, info) =>
        {
            Store(target).SetTip(batch, info.Header.Height, info.Header.BlockHash);
            finishedAt = info.Header.Index;
        });

        Assert.Equal(5UL, finishedAt);
        Assert.Equal(written.Sha256, installed.Sha256);
        Assert.Equal([1UL, 2UL, 3UL], installed.Header.Voters);
        Assert.Equal([4UL], installed.Header.Learners);
        Assert.Equal(sourceLedger.Select(r => Convert.ToHexString(r.Key) + "=" + Convert.ToHexString(r.Value)), Family(target, target.Ledger).Select(r => Convert.ToHexString(r.Key) + "=" + Convert.ToHexString(r.Value)));
        var carbon = Family(target, target.Carbon).ToDictionary(r => System.Text.Encoding.Latin1.GetString(r.Key), r => System.Text.Encoding.UTF8.GetString(r.Value));
        Assert.Equal(5, carbon.Count);
        Assert.Equal("target's meter tail", carbon["s"]);
        Assert.Equal("view", carbon["h\0\0\0\0\0\0\0\x01"]);
        Assert.Equal("totals", carbon["t"]);
        Assert.Equal("target's own reading", carbon["o\0\0\0\0\0\0\0\x02"]);
        Assert.Equal("target's own reading, format 2", carbon["r\0\0\0\0\0\0\0\x02"]);

        // The ledger loads from the installed state to the snapshot's state root.
        var loaded = Store(target).Load()!.Value;
        var restored = new LedgerState(Chain);
        restored.Load(loaded.Records, loaded.Height, loaded.Hash);
        Assert.Equal(1UL, restored.Height);
        Assert.Equal(expectedRoot, restored.StateRoot);
        Assert.Equal(500 + 1, restored.AccountCount);
        // The key/value record keeps its owner (the putting sender) through the snapshot.
        Assert.Equal("blue"u8.ToArray(), restored.Value(block.Senders[0]!, "colour"u8));
    }

    [Fact]
    public void A_damaged_snapshot_is_refused_before_anything_changes()
    {
        var (ledger, block, payload) = Ledger(accounts: 50);
        var path = Path.Combine(_dir, "snap.bin");
        WriteSnapshot(ledger, block, payload, path);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);

        using var target = NodeDatabase.Open(Path.Combine(_dir, "b"), Chain, 2);
        target.Db.Put("k"u8.ToArray(), "kept"u8.ToArray(), target.Ledger);
        var called = false;

        Assert.Throws<InvalidDataException>(() => StateSnapshotInstaller.Install(target, path, (_, _) => called = true));

        Assert.False(called);
        Assert.Equal("kept"u8.ToArray(), target.Db.Get("k"u8.ToArray(), target.Ledger));
        Assert.Null(StateSnapshotInstaller.ResumeIfInterrupted(target, (_, _) => called = true));
        Assert.False(called);
    }

    [Fact]
    public void An_install_interrupted_by_a_crash_is_completed_at_the_next_start()
    {
        var (ledger, block, payload) = Ledger(accounts: 20);
        var path = Path.Combine(_dir, "snap.bin");
        WriteSnapshot(ledger, block, payload, path);
        var targetDir = Path.Combine(_dir, "b");
        using (var target = NodeDatabase.Open(targetDir, Chain, 2))
        {
            // The crash: the finishing step throws after the old state was cleared and the records written.
            Assert.Throws<IOException>(() => StateSnapshotInstaller.Install(target, path, (_, _) => throw new IOException("power cut")));
            Assert.Null(Store(target).Load());
        }
        using (var target = NodeDatabase.Open(targetDir, Chain, 2))
        {
            var resumed = StateSnapshotInstaller.ResumeIfInterrupted(target, (batch, info) => Store(target).SetTip(batch, info.Header.Height, info.Header.BlockHash));
            Assert.NotNull(resumed);
            var loaded = Store(target).Load()!.Value;
            var restored = new LedgerState(Chain);
            restored.Load(loaded.Records, loaded.Height, loaded.Hash);
            Assert.Equal(ledger.StateRoot, restored.StateRoot);
            Assert.Null(StateSnapshotInstaller.ResumeIfInterrupted(target, (_, _) => throw new InvalidOperationException("not again")));
        }
    }
}
