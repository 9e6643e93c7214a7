using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Transactions;

public sealed class MempoolTests : IDisposable
{
    private const string Chain = "mempool-test";
    private readonly TransactionSigner _busy = TransactionSigner.Generate();
    private readonly TransactionSigner _quiet = TransactionSigner.Generate();
    private readonly TransactionVerifier _verifier = new(Chain, 64 * 1024);

    public void Dispose()
    {
        _busy.Dispose();
        _quiet.Dispose();
    }

    private VerifiedTransaction Tx(TransactionSigner signer, ulong nonce, int valueBytes = 8)
    {
        SignedTransaction signed = signer.Put(Chain, nonce, "k"u8, new byte[valueBytes]);
        return _verifier.Verify(signed.Body.Memory, signed.Signature.Memory).Transaction!;
    }

    [Fact]
    public void Blocks_take_senders_in_turn_and_each_sender_in_nonce_order()
    {
        var pool = new Mempool(100);
        for (ulong n = 0; n < 5; n++)
        {
            Assert.Null(pool.TryAdd(Tx(_busy, n), 0));
        }
        Assert.Null(pool.TryAdd(Tx(_quiet, 0), 0));
        Assert.Null(pool.TryAdd(Tx(_quiet, 1), 0));

        var first = pool.Take(3);
        var second = pool.Take(10);

        // The quiet sender is served in the first block although the busy one queued five transactions before it.
        Assert.Equal([(_busy, 0UL), (_quiet, 0UL), (_busy, 1UL)], first.Select(Who));
        Assert.Equal([(_quiet, 1UL), (_busy, 2UL), (_busy, 3UL), (_busy, 4UL)], second.Select(Who));
        Assert.Equal(0, pool.Count);
        Assert.Equal(0, pool.Bytes);
    }

    [Fact]
    public void A_batch_put_back_is_taken_again_first_and_in_order_with_the_nonce_sequence_unchanged()
    {
        var pool = new Mempool(100);
        var all = new List<VerifiedTransaction> { Tx(_busy, 0), Tx(_busy, 1), Tx(_busy, 2), Tx(_quiet, 0) };
        foreach (var tx in all)
        {
            Assert.Null(pool.TryAdd(tx, 0));
        }
        var batch = pool.Take(2); // busy 0, quiet 0
        all.Add(Tx(_quiet, 1));
        Assert.Null(pool.TryAdd(all[^1], 0));

        pool.Requeue(batch);

        Assert.Equal(5, pool.Count);
        Assert.Equal(all.Sum(t => (long)t.Size), pool.Bytes);
        // The nonces the batch holds stay taken: the next admissible nonces follow what the pool held before.
        Assert.StartsWith("nonce 1 already used", pool.TryAdd(Tx(_quiet, 1, valueBytes: 9), 0), StringComparison.Ordinal);
        Assert.Null(pool.TryAdd(Tx(_quiet, 2), 0));
        Assert.Equal([(_busy, 0UL), (_quiet, 0UL), (_busy, 1UL), (_quiet, 1UL), (_busy, 2UL), (_quiet, 2UL)], pool.Take(10).Select(Who));
        Assert.Equal(0, pool.Count);
        Assert.Equal(0, pool.Bytes);
    }

    private (TransactionSigner, ulong) Who(VerifiedTransaction tx) =>
        (tx.Sender.Span.SequenceEqual(_busy.PublicKey) ? _busy : _quiet, tx.Nonce);

    [Fact]
    public void A_full_pool_refuses_by_count_or_by_bytes_and_admits_again_once_drained()
    {
        var byCount = new Mempool(capacity: 2);
        Assert.Null(byCount.TryAdd(Tx(_busy, 0), 0));
        Assert.Null(byCount.TryAdd(Tx(_busy, 1), 0));
        Assert.Equal(Mempool.FullReason, byCount.TryAdd(Tx(_busy, 2), 0));
        byCount.Take(1);
        Assert.Null(byCount.TryAdd(Tx(_busy, 2), 0));

        var one = Tx(_quiet, 0, valueBytes: 1000);
        var byBytes = new Mempool(capacity: 100, maxBytes: one.Size + 500);
        Assert.Null(byBytes.TryAdd(one, 0));
        Assert.Equal(Mempool.FullReason, byBytes.TryAdd(Tx(_quiet, 1, valueBytes: 1000), 0));
        Assert.Null(byBytes.TryAdd(Tx(_busy, 0, valueBytes: 100), 0));
        Assert.Equal(2, byBytes.Count);
        Assert.True(byBytes.Bytes <= byBytes.MaxBytes);
    }

    [Fact]
    public void Nonces_are_checked_against_queued_transactions_and_duplicates_are_one_transaction()
    {
        var pool = new Mempool(100);
        var tx0 = Tx(_busy, 0);
        Assert.Null(pool.TryAdd(tx0, 0));
        Assert.Null(pool.TryAdd(tx0, 0));
        Assert.Equal(1, pool.Count);
        Assert.StartsWith("out-of-order nonce", pool.TryAdd(Tx(_busy, 2), 0), StringComparison.Ordinal);
        Assert.StartsWith("nonce 0 already used", pool.TryAdd(Tx(_busy, 0, valueBytes: 9), 0), StringComparison.Ordinal);
        Assert.Null(pool.TryAdd(Tx(_busy, 1), 0));

        var cleared = pool.Clear();
        Assert.Equal(2, cleared.Count);
        Assert.Equal(0, pool.Count);
        Assert.Null(pool.TryAdd(Tx(_busy, 5), 5));
    }
}
