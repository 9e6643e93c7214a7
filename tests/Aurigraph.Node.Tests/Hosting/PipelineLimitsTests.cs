using Aurigraph.Consensus;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Hosting;

/// <summary>
/// The size limits between stages and nodes come from one place and hold together: what a stage may produce, the next
/// can carry (a block fits a frame, a forwarded chunk fits a block, a rejection list fits a chunk).
/// </summary>
public sealed class PipelineLimitsTests : IDisposable
{
    private const string Chain = "limits-test";
    private readonly TransactionSigner _signer = TransactionSigner.Generate();
    private readonly TransactionVerifier _verifier = new(Chain, 64 * 1024);

    public void Dispose() => _signer.Dispose();

    private VerifiedTransaction Tx(ulong nonce, int valueBytes)
    {
        var signed = _signer.Put(Chain, nonce, "k"u8, new byte[valueBytes]);
        return _verifier.Verify(signed.Body.Memory, signed.Signature.Memory).Transaction!;
    }

    [Fact]
    public void The_defaults_derive_a_frame_that_carries_a_block_an_append_a_forwarded_chunk_and_a_snapshot_chunk()
    {
        var options = new NodeOptions();
        var limits = options.Pipeline;

        Assert.Empty(PipelineLimits.Validate(options));
        Assert.Equal(4 << 20, limits.MaxBlockBytes);
        Assert.Equal(limits.MaxBlockBytes, limits.ForwardChunkBytes);
        Assert.Equal(1 << 20, limits.MaxAppendBytes);
        Assert.Equal(1 << 20, limits.SnapshotChunkBytes);
        Assert.Equal((4 << 20) + (256 << 10) + (4 << 10), limits.MaxFrameBytes);
        Assert.True(limits.MaxFrameBytes >= limits.MaxBlockBytes + Entry.Overhead + PipelineLimits.FrameHeaderBytes);
        Assert.Equal(options.Memory.UncommittedBytes, limits.UncommittedBytes);
        Assert.Equal(options.Memory.UncommittedBytes + (2L * limits.MaxFrameBytes), limits.PeerQueueBytes);
    }

    [Fact]
    public void A_small_block_limit_shrinks_the_frame_and_every_chunk_with_it()
    {
        var limits = new NodeOptions { MaxBlockBytes = 256 << 10, MaxTransactionBytes = 16 << 10 }.Pipeline;

        Assert.Equal(256 << 10, limits.ForwardChunkBytes);
        Assert.Equal(256 << 10, limits.MaxAppendBytes);
        Assert.Equal(256 << 10, limits.SnapshotChunkBytes);
        Assert.Equal((256 << 10) + (16 << 10) + (4 << 10), limits.MaxFrameBytes);
    }

    [Fact]
    public void A_block_limit_that_cannot_hold_the_largest_transaction_is_refused_naming_both_settings()
    {
        var errors = PipelineLimits.Validate(new NodeOptions { MaxBlockBytes = 64 << 10, MaxTransactionBytes = 64 << 10 });

        var error = Assert.Single(errors);
        Assert.Contains("MaxBlockBytes", error, StringComparison.Ordinal);
        Assert.Contains("MaxTransactionBytes", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_block_larger_than_the_uncommitted_share_of_the_memory_budget_is_refused()
    {
        // At 256 MB the core may hold 16 MiB proposed and uncommitted: a 32 MiB block could never be proposed.
        var error = Assert.Single(PipelineLimits.Validate(new NodeOptions { MaxBlockBytes = 32 << 20 }));
        Assert.Contains("MemoryBudgetMegabytes", error, StringComparison.Ordinal);
        Assert.Empty(PipelineLimits.Validate(new NodeOptions { MaxBlockBytes = 32 << 20, MemoryBudgetMegabytes = 512 }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData((64 << 10) - 1)]
    [InlineData((256 << 20) + 1)]
    public void A_block_limit_out_of_range_is_refused(int bytes)
    {
        var error = Assert.Single(PipelineLimits.Validate(new NodeOptions { MaxBlockBytes = bytes }));
        Assert.Contains("must be between", error, StringComparison.Ordinal);
        Assert.Contains(new NodeOptions { MaxBlockBytes = bytes }.Validate(), e => e.Contains("MaxBlockBytes", StringComparison.Ordinal));
    }

    [Fact]
    public void The_mempool_cuts_a_block_at_its_byte_limit_but_always_takes_one()
    {
        var pool = new Mempool(100);
        for (ulong n = 0; n < 10; n++)
        {
            Assert.Null(pool.TryAdd(Tx(n, 1000), 0));
        }
        var framed = Tx(0, 1000).BodyBytes.Length + PipelineLimits.BlockBytesPerTransaction;

        var three = pool.Take(100, (3 * framed) + framed - 1);
        var one = pool.Take(100, 1);
        var rest = pool.Take(100);

        Assert.Equal([0UL, 1, 2], three.Select(t => t.Nonce));
        Assert.Equal([3UL], one.Select(t => t.Nonce));
        Assert.Equal(6, rest.Count);
        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void Transactions_split_into_runs_whose_payloads_fit_the_limit_in_order()
    {
        var transactions = Enumerable.Range(0, 50).Select(i => Tx((ulong)i, 100 * (i % 7))).ToList();
        const int Limit = 4096;

        var runs = BlockPayload.Split(transactions, Limit);

        Assert.True(runs.Count > 1, $"{runs.Count} runs");
        Assert.Equal(Enumerable.Range(0, 50), runs.SelectMany(r => Enumerable.Range(r.Start, r.Count)));
        foreach (var (start, count) in runs)
        {
            var payload = BlockPayload.Encode(transactions.GetRange(start, count));
            Assert.True(payload.Length <= Limit, $"a run of {count} is {payload.Length} bytes");
        }
        // A transaction larger than the limit goes alone rather than not at all.
        var big = new List<VerifiedTransaction> { Tx(0, 10), Tx(1, 8000), Tx(2, 10) };
        Assert.Equal([(0, 1), (1, 1), (2, 1)], BlockPayload.Split(big, Limit));
    }

    [Fact]
    public void Rejections_are_cut_into_messages_within_the_limit_and_each_reason_is_bounded()
    {
        var rejections = Enumerable.Range(0, 300)
            .Select(i => (TransactionId.Of(BitConverter.GetBytes(i)), i % 10 == 0 ? new string('é', 2000) : $"nonce {i} already used"))
            .ToList();
        const int Limit = 2048;

        var messages = ConsensusHost.EncodeRejections(rejections, Limit);
        var decoded = messages.SelectMany(m => ConsensusHost.DecodeRejections(m)).ToList();

        Assert.True(messages.Count > 1);
        Assert.All(messages, m => Assert.True(m.Length <= Limit, $"{m.Length} bytes"));
        Assert.Equal(rejections.Select(r => r.Item1), decoded.Select(d => d.Id));
        Assert.Equal($"nonce 1 already used", decoded[1].Reason);
        Assert.Equal(new string('é', PipelineLimits.MaxReasonBytes / 2), decoded[0].Reason); // cut at a character boundary
    }

    [Fact]
    public async Task A_follower_forwards_in_chunks_and_the_leader_cuts_blocks_within_the_block_limit()
    {
        const int BlockBytes = 64 << 10;
        await using var harness = HostHarness.Create(validators: 3, seed: 5, o =>
        {
            o.MaxBlockBytes = BlockBytes;
            o.MaxTransactionBytes = 16 << 10;
            o.MinBlockTransactions = 10_000; // the batch policy would take them all: only the byte limit cuts
        });
        await harness.StepUntil(() => harness.AgreedLeader() != 0, 200, "an agreed leader");
        var leader = harness.AgreedLeader();
        var follower = harness.Ids.First(id => id != leader);
        var recipient = new byte[32];
        recipient[0] = 9;
        var transfers = Enumerable.Range(0, 1200).Select(n => harness.Funded.Transfer(HostHarness.Chain, (ulong)n, recipient, 1)).ToArray();
        var lastId = TransactionId.Of(transfers[^1].Body.Span);

        harness.Node(follower).Submit(transfers);
        await harness.StepUntil(() => harness.Ids.All(id => harness.Node(id).Host.Store.FindTransaction(lastId) is not null), 200, "every transfer applied on every node");

        var forwards = harness.Node(follower).Network.Applications.Where(a => a.To == leader && a.Channel == ConsensusHost.ForwardChannel).ToList();
        Assert.True(forwards.Count >= 3, $"{forwards.Count} forwarded chunks");
        Assert.All(forwards, f => Assert.True(f.Bytes <= BlockBytes, $"a {f.Bytes}-byte chunk"));
        var blocks = harness.Node(leader).Network.Log.Where(m => m.Type == MessageType.Append).SelectMany(m => m.Entries).Where(e => e.Type == EntryType.Normal).ToList();
        Assert.Contains(blocks, e => e.Data.Length > BlockBytes / 2);
        Assert.All(blocks, e => Assert.True(e.Data.Length <= BlockBytes, $"a {e.Data.Length}-byte block"));
        Assert.Single(harness.Ids.Select(id => Convert.ToHexString(harness.Node(id).Host.Snapshot.StateRoot)).Distinct());
    }
}
