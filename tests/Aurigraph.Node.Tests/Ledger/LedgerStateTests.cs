using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Ledger;

public sealed class LedgerStateTests : IDisposable
{
    private const string Chain = "test-chain";
    private readonly TransactionSigner _alice = TransactionSigner.Generate();
    private readonly TransactionSigner _bob = TransactionSigner.Generate();
    private readonly TransactionVerifier _verifier = new(Chain, 64 * 1024);

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    private Genesis Genesis() => new()
    {
        ChainId = Chain,
        Accounts = [new GenesisAccount { PublicKey = Convert.ToHexStringLower(_alice.PublicKey), Balance = 1_000 }],
    };

    private byte[] Block(params SignedTransaction[] txs) => BlockPayload.Encode(txs.Select(Verified).ToList());

    private VerifiedTransaction Verified(SignedTransaction tx)
    {
        var (verified, rejection) = _verifier.Verify(tx.Body.Memory, tx.Signature.Memory);
        Assert.Null(rejection);
        return verified!;
    }

    [Fact]
    public void Transfers_move_balance_and_consume_nonces_with_deterministic_receipts()
    {
        var state = LedgerState.FromGenesis(Genesis());
        var block = state.Apply(5, 1, Block(
            _alice.Transfer(Chain, 0, _bob.PublicKey, 300),
            _alice.Transfer(Chain, 0, _bob.PublicKey, 1),      // replayed nonce
            _alice.Transfer(Chain, 1, _bob.PublicKey, 5_000),  // too much: fails, nonce consumed
            _bob.Transfer(Chain, 0, _alice.PublicKey, 100),
            _alice.Put(Chain, 2, "color"u8, "blue"u8)));

        Assert.Equal(1UL, block.Height);
        Assert.Equal(
            [ReceiptRecord.Ok, new ReceiptRecord(false, "bad nonce: expected 1, got 0"), new ReceiptRecord(false, "insufficient balance"), ReceiptRecord.Ok, ReceiptRecord.Ok],
            block.Receipts);
        Assert.Equal((800UL, 3UL), state.Account(_alice.PublicKey));
        Assert.Equal((200UL, 1UL), state.Account(_bob.PublicKey));
        Assert.Equal("blue"u8.ToArray(), state.Value(_alice.PublicKey, "color"u8));
    }

    [Fact]
    public void Equal_blocks_give_equal_state_roots_and_hashes_and_a_different_block_does_not()
    {
        var a = LedgerState.FromGenesis(Genesis());
        var b = LedgerState.FromGenesis(Genesis());
        var c = LedgerState.FromGenesis(Genesis());
        var block1 = Block(_alice.Transfer(Chain, 0, _bob.PublicKey, 10));
        var other = Block(_alice.Transfer(Chain, 0, _bob.PublicKey, 11));

        var ra = a.Apply(2, 1, block1);
        var rb = b.Apply(2, 1, block1);
        var rc = c.Apply(2, 1, other);

        Assert.Equal(ra.StateRoot, rb.StateRoot);
        Assert.Equal(ra.Hash, rb.Hash);
        Assert.NotEqual(ra.StateRoot, rc.StateRoot);
        Assert.Equal(a.StateRoot, ra.StateRoot);
    }

    [Fact]
    public void The_state_root_commits_to_state_not_history()
    {
        // Two histories reaching the same balances at the same height have the same root.
        var a = LedgerState.FromGenesis(Genesis());
        var b = LedgerState.FromGenesis(Genesis());
        a.Apply(1, 1, Block(_alice.Transfer(Chain, 0, _bob.PublicKey, 10), _alice.Transfer(Chain, 1, _bob.PublicKey, 20)));
        b.Apply(1, 1, Block(_alice.Transfer(Chain, 0, _bob.PublicKey, 20), _alice.Transfer(Chain, 1, _bob.PublicKey, 10)));
        Assert.Equal(a.StateRoot, b.StateRoot);
    }

    [Fact]
    public void Persisted_records_reload_to_the_same_state_root()
    {
        var state = LedgerState.FromGenesis(Genesis());
        state.Apply(1, 1, Block(_alice.Transfer(Chain, 0, _bob.PublicKey, 10), _alice.Put(Chain, 1, "k"u8, "v"u8)));

        var reloaded = new LedgerState(Chain);
        reloaded.Load(state.Records().ToList(), state.Height, state.LastBlockHash);

        Assert.Equal(state.StateRoot, reloaded.StateRoot);
        Assert.Equal(state.Account(_bob.PublicKey), reloaded.Account(_bob.PublicKey));
        Assert.Equal("v"u8.ToArray(), reloaded.Value(_alice.PublicKey, "k"u8));
        Assert.Null(reloaded.Value(_bob.PublicKey, "k"u8));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_put_cannot_change_another_senders_record_of_the_same_key(bool parallel)
    {
        var state = LedgerState.FromGenesis(Genesis());
        state.ParallelApplyThreshold = 1;
        state.Apply(1, 1, Block(_alice.Put(Chain, 0, "owner"u8, "alice"u8)), parallel);
        var before = state.StateRoot;

        // Bob writes the same key: it lands in his own namespace; Alice's record is untouched.
        var block = state.Apply(2, 1, Block(_bob.Put(Chain, 0, "owner"u8, "bob"u8), _alice.Put(Chain, 1, "other"u8, "x"u8)), parallel);

        Assert.Equal([ReceiptRecord.Ok, ReceiptRecord.Ok], block.Receipts);
        Assert.Equal("alice"u8.ToArray(), state.Value(_alice.PublicKey, "owner"u8));
        Assert.Equal("bob"u8.ToArray(), state.Value(_bob.PublicKey, "owner"u8));
        Assert.Null(state.Value(_bob.PublicKey, "other"u8));
        Assert.NotEqual(before, state.StateRoot);
        // Bob's record and Alice's are distinct records of the persisted state.
        var keyValueRecords = state.Records().Where(r => r.Key[0] == (byte)'k').Select(r => Convert.ToHexString(r.Key)).ToList();
        Assert.Equal(3, keyValueRecords.Count);
        Assert.Contains("6B" + Convert.ToHexString(_bob.PublicKey) + Convert.ToHexString("owner"u8), keyValueRecords);
        Assert.Throws<ArgumentException>(() => state.Value("short"u8, "owner"u8));
    }

    [Fact]
    public void A_corrupt_block_payload_is_refused()
    {
        var state = LedgerState.FromGenesis(Genesis());
        var block = Block(_alice.Transfer(Chain, 0, _bob.PublicKey, 10));
        Assert.Throws<FormatException>(() => state.Apply(1, 1, block.AsMemory(0, block.Length - 3)));
        Assert.Equal(0UL, state.Height);
    }

    [Fact]
    public void A_block_whose_transactions_root_disagrees_with_its_bodies_is_refused_and_changes_nothing()
    {
        var state = LedgerState.FromGenesis(Genesis());
        var before = state.StateRoot;
        var block = Block(_alice.Transfer(Chain, 0, _bob.PublicKey, 10), _alice.Transfer(Chain, 1, _bob.PublicKey, 20));
        var wrongRoot = (byte[])block.Clone();
        wrongRoot[8] ^= 0x01;
        // The same root over swapped transactions: order is part of the root.
        var swapped = BlockPayload.Encode([Verified(_alice.Transfer(Chain, 1, _bob.PublicKey, 20)), Verified(_alice.Transfer(Chain, 0, _bob.PublicKey, 10))]);
        Array.Copy(block, 8, swapped, 8, 32);

        Assert.Throws<BlockIntegrityException>(() => state.Apply(1, 1, wrongRoot));
        Assert.Throws<BlockIntegrityException>(() => state.Apply(1, 1, swapped));
        Assert.Equal(0UL, state.Height);
        Assert.Equal(before, state.StateRoot);
        Assert.Equal(2, state.Apply(1, 1, block).TransactionIds.Length);
    }

    [Fact]
    public void The_carbon_section_travels_with_the_block_untouched()
    {
        var state = LedgerState.FromGenesis(Genesis());
        var carbon = new byte[] { 1, 2, 3, 4, 5 };
        var block = BlockPayload.Encode([Verified(_alice.Transfer(Chain, 0, _bob.PublicKey, 10))], carbon);
        var applied = state.Apply(1, 1, block);
        Assert.Equal(carbon, applied.Carbon.ToArray());
        Assert.Equal((990UL, 1UL), state.Account(_alice.PublicKey));
    }
}
