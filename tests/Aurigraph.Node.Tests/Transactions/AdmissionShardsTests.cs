using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Google.Protobuf;

namespace Aurigraph.Node.Tests.Transactions;

public sealed class AdmissionShardsTests : IAsyncDisposable
{
    private const string Chain = "c1";
    private readonly TransactionVerifier _verifier = new(Chain, 4096);
    private readonly HashSet<TransactionId> _pending = [];
    private readonly List<TransactionSigner> _signers = [.. Enumerable.Range(0, 16).Select(_ => TransactionSigner.Generate())];
    private readonly AdmissionShards _shards;

    public AdmissionShardsTests() => _shards = new AdmissionShards(4, _verifier, checkSignatures: true, window: 1024, IsPending);

    private bool IsPending(TransactionId id)
    {
        lock (_pending)
        {
            return _pending.Contains(id);
        }
    }

    private void MarkPending(params Admission[] verdicts)
    {
        lock (_pending)
        {
            foreach (var v in verdicts)
            {
                _pending.Add(v.Transaction!.Id);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _shards.DisposeAsync();
        foreach (var s in _signers)
        {
            s.Dispose();
        }
    }

    [Fact]
    public async Task A_batch_from_many_senders_is_validated_across_shards_and_answered_in_order_with_reasons()
    {
        var batch = new List<SignedTransaction>();
        for (var i = 0; i < 64; i++)
        {
            batch.Add(_signers[i % _signers.Count].Transfer(Chain, (ulong)(i / _signers.Count), new byte[32], 1));
        }
        var forged = _signers[0].Transfer(Chain, 99, new byte[32], 1);
        forged.Signature = ByteString.CopyFrom(new byte[64]);
        batch.Insert(10, forged);
        batch.Insert(20, new SignedTransaction { Body = ByteString.CopyFrom([1, 2, 3]), Signature = ByteString.CopyFrom(new byte[64]) });

        var verdicts = await _shards.ValidateAsync(batch);

        Assert.Equal(batch.Count, verdicts.Length);
        Assert.Equal("bad signature", verdicts[10].Rejection!.Reason);
        Assert.StartsWith("malformed transaction body", verdicts[20].Rejection!.Reason, StringComparison.Ordinal);
        var fresh = verdicts.Where((v, i) => i is not 10 and not 20).ToList();
        Assert.All(fresh, v => Assert.Equal(AdmissionOutcome.Fresh, v.Outcome));
        // Answers line up with the request: each verdict is about the transaction at its position.
        for (var i = 0; i < batch.Count; i++)
        {
            if (verdicts[i].Transaction is { } tx)
            {
                Assert.Equal(batch[i].Body, ByteString.CopyFrom(tx.BodyBytes.Span));
            }
        }
        // The senders really were spread over several shards.
        Assert.True(_signers.Select(s => AdmissionShards.ShardOf(s.PublicKey, 4)).Distinct().Count() > 1);
    }

    [Fact]
    public async Task A_transaction_admitted_recently_is_recognised_as_a_duplicate_until_it_leaves_the_window()
    {
        await using var shards = new AdmissionShards(1, _verifier, checkSignatures: true, window: 8, _ => false);
        var first = _signers[0].Transfer(Chain, 0, new byte[32], 1);
        Assert.Equal(AdmissionOutcome.Fresh, (await shards.ValidateAsync([first]))[0].Outcome);
        Assert.Equal(AdmissionOutcome.Duplicate, (await shards.ValidateAsync([first]))[0].Outcome);

        // Eight newer transactions push it out of a window of eight.
        await shards.ValidateAsync([.. Enumerable.Range(1, 8).Select(n => _signers[0].Transfer(Chain, (ulong)n, new byte[32], 1))]);
        Assert.Equal(AdmissionOutcome.Fresh, (await shards.ValidateAsync([first]))[0].Outcome);
    }

    [Fact]
    public async Task A_different_transaction_reusing_a_pending_nonce_is_refused_and_order_within_a_sender_holds()
    {
        var a = _signers[1].Transfer(Chain, 0, new byte[32], 1);
        var verdicts = await _shards.ValidateAsync([a]);
        Assert.Equal(AdmissionOutcome.Fresh, verdicts[0].Outcome);
        MarkPending(verdicts[0]);

        // While a waits, a different transaction with its nonce is refused; the sender's next nonce is not.
        var rival = _signers[1].Transfer(Chain, 0, new byte[32], 3);
        var next = _signers[1].Transfer(Chain, 1, new byte[32], 3);
        var second = await _shards.ValidateAsync([rival, next]);
        Assert.Equal(AdmissionOutcome.Rejected, second[0].Outcome);
        Assert.Contains($"taken by transaction {verdicts[0].Transaction!.Id}", second[0].Rejection!.Reason, StringComparison.Ordinal);
        Assert.Equal(AdmissionOutcome.Fresh, second[1].Outcome);
        MarkPending(second[1]);
        // The same transaction again is a duplicate, not a rival.
        Assert.Equal(AdmissionOutcome.Duplicate, (await _shards.ValidateAsync([next]))[0].Outcome);

        // When a is no longer waiting (committed or refused), the nonce is the leader's to judge again.
        lock (_pending)
        {
            _pending.Clear();
        }
        Assert.Equal(AdmissionOutcome.Fresh, (await _shards.ValidateAsync([_signers[1].Transfer(Chain, 1, new byte[32], 4)]))[0].Outcome);
    }

    [Fact]
    public async Task Without_signature_checks_a_forged_signature_passes_but_format_is_still_checked()
    {
        await using var trusting = new AdmissionShards(2, _verifier, checkSignatures: false, window: 64, _ => false);
        var forged = _signers[2].Transfer(Chain, 0, new byte[32], 1);
        forged.Signature = ByteString.CopyFrom(new byte[64]);
        var wrongChain = _signers[2].Transfer("other", 1, new byte[32], 1);

        var verdicts = await trusting.ValidateAsync([forged, wrongChain]);

        Assert.Equal(AdmissionOutcome.Fresh, verdicts[0].Outcome);
        Assert.Contains("does not match", verdicts[1].Rejection!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_batches_all_complete_with_one_verdict_per_transaction()
    {
        var calls = Enumerable.Range(0, 32).Select(c => _shards.ValidateAsync(
            [.. Enumerable.Range(0, 16).Select(i => _signers[i].Put(Chain, (ulong)c, "k"u8, [(byte)c, (byte)i]))])).ToArray();
        var results = await Task.WhenAll(calls);
        Assert.All(results, r => Assert.All(r, v => Assert.Equal(AdmissionOutcome.Fresh, v.Outcome)));
        Assert.Equal(32 * 16, results.SelectMany(r => r).Select(v => v.Transaction!.Id).Distinct().Count());
    }

    [Fact]
    public async Task A_copy_of_an_admitted_body_with_other_signature_bytes_is_answered_as_the_original_and_carries_its_signature()
    {
        await using var shards = new AdmissionShards(1, _verifier, checkSignatures: true, window: 64, _ => false);
        var original = _signers[3].Transfer(Chain, 1, new byte[32], 5);
        Assert.Equal(AdmissionOutcome.Fresh, (await shards.ValidateAsync([original]))[0].Outcome);

        var forged = original.Clone();
        forged.Signature = ByteString.CopyFrom(Enumerable.Range(0, 64).Select(b => (byte)(b * 7 + 1)).ToArray());
        var copy = (await shards.ValidateAsync([forged]))[0];

        Assert.Equal(AdmissionOutcome.Duplicate, copy.Outcome);
        Assert.Equal(TransactionId.Of(original.Body.Span), copy.Transaction!.Id);
        // What goes on towards a block is the verified original, never the forged bytes.
        Assert.Equal(original.Signature.ToByteArray(), copy.Transaction.Signature.ToArray());
        Assert.Null(TransactionVerifier.SignatureRejection(copy.Transaction));
    }

    [Fact]
    public async Task A_forged_signature_is_refused_and_nothing_about_the_transaction_is_remembered()
    {
        await using var shards = new AdmissionShards(1, _verifier, checkSignatures: true, window: 64, _ => true);
        var genuine = _signers[4].Transfer(Chain, 0, new byte[32], 5);
        var forged = genuine.Clone();
        forged.Signature = ByteString.CopyFrom(new byte[64]);

        var refused = (await shards.ValidateAsync([forged]))[0];
        Assert.Equal(AdmissionOutcome.Rejected, refused.Outcome);
        Assert.True(refused.Forged);
        Assert.Equal("bad signature", refused.Rejection!.Reason);

        // The forged copy left no trace: it is no duplicate, does not hold the nonce, and the genuine one is fresh.
        Assert.Equal(AdmissionOutcome.Rejected, (await shards.ValidateAsync([forged]))[0].Outcome);
        var verdict = (await shards.ValidateAsync([genuine]))[0];
        Assert.Equal(AdmissionOutcome.Fresh, verdict.Outcome);
        Assert.Equal(genuine.Signature.ToByteArray(), verdict.Transaction!.Signature.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(257)]
    public void The_shard_count_is_bounded(int shards) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdmissionShards(shards, _verifier, true, 1024, _ => false));
}
