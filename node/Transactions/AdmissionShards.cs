using System.Buffers.Binary;
using System.Threading.Channels;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Api.V1;

namespace Aurigraph.Node.Transactions;

/// <summary>What sharded validation decided for one submitted transaction.</summary>
public enum AdmissionOutcome
{
    /// <summary>Valid and not seen recently at this node: to be admitted.</summary>
    Fresh,

    /// <summary>Valid, and this node admitted the same transaction recently: the caller joins its outcome.</summary>
    Duplicate,

    /// <summary>Refused, with a reason.</summary>
    Rejected,
}

/// <summary>The verdict on one transaction of a batch.</summary>
public readonly record struct Admission(AdmissionOutcome Outcome, VerifiedTransaction? Transaction, TransactionRejection? Rejection)
{
    /// <summary>
    /// Refused because its signature does not verify. The answer belongs to this submission alone: the same body with
    /// a valid signature may be waiting, or commit later, so nothing is recorded against the transaction id.
    /// </summary>
    public bool Forged { get; init; }
}

/// <summary>
/// Validation at the node that receives a batch, on S shards keyed by a hash of the sender. Each shard is one
/// worker that owns its senders' state, so there are no locks: it checks, in arrival order, that the transaction
/// was not admitted here recently with the same signature bytes (a window of recent verified transactions), that its nonce does not collide with a
/// different transaction of the same sender still waiting here, and its Ed25519 signature. A batch is split by
/// shard, the shards work on their parts in parallel, and the batch completes when the last part does — one
/// completion per batch, not per transaction. A sender always lands on the same shard, and each shard hands its
/// part of a batch to the caller's admission step before it takes the next part, so a sender's transactions reach
/// the consensus loop in the order they arrived. The nonce sequence itself is enforced by the leader's mempool,
/// which sees every node's traffic.
/// </summary>
public sealed class AdmissionShards : IAsyncDisposable
{
    /// <summary>The most shards a node runs.</summary>
    public const int MaxShards = 256;

    private readonly Shard[] _shards;
    private readonly TransactionVerifier _verifier;
    private readonly Task[] _workers;

    /// <param name="shards">Shard count, 1–256.</param>
    /// <param name="verifier">Format checks (thread-safe).</param>
    /// <param name="checkSignatures">False in the trusted-ingress mode (signature mode none).</param>
    /// <param name="window">Recent transaction ids remembered per node (split across shards).</param>
    /// <param name="isPending">Whether a transaction is still waiting for its outcome at this node (thread-safe).</param>
    /// <param name="stages">Where the shards' CPU is accounted (Admission, and Verify for signature checks).</param>
    public AdmissionShards(int shards, TransactionVerifier verifier, bool checkSignatures, int window, Func<TransactionId, bool> isPending, StageMeter? stages = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shards, MaxShards);
        ArgumentOutOfRangeException.ThrowIfLessThan(window, shards);
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(isPending);
        _verifier = verifier;
        _shards = new Shard[shards];
        _workers = new Task[shards];
        for (var i = 0; i < shards; i++)
        {
            _shards[i] = new Shard(window / shards, checkSignatures, isPending, stages ?? StageMeter.Off);
            var shard = _shards[i];
            _workers[i] = Task.Run(shard.RunAsync);
        }
    }

    public int ShardCount => _shards.Length;

    /// <summary>
    /// Validates a batch; the verdicts come back in the batch's order. <paramref name="admit"/>, if given, receives
    /// every position of the batch exactly once, a part at a time — positions refused by the format checks first (on
    /// the calling thread), then each shard's part on that shard, in the shard's order — before the task completes.
    /// </summary>
    public Task<Admission[]> ValidateAsync(IReadOnlyList<SignedTransaction> transactions, Action<Admission[], List<int>>? admit = null) =>
        ValidateAsync(SubmissionBatch.From(transactions), admit);

    /// <inheritdoc cref="ValidateAsync(IReadOnlyList{SignedTransaction}, Action{Admission[], List{int}}?)"/>
    public Task<Admission[]> ValidateAsync(SubmissionBatch transactions, Action<Admission[], List<int>>? admit = null)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        var verdicts = new Admission[transactions.Count];
        // Format checks and ids first (cheap, no state), to learn each sender's shard.
        var parts = new List<int>?[_shards.Length];
        var partCount = 0;
        List<int>? refused = null;
        for (var i = 0; i < transactions.Count; i++)
        {
            var (tx, rejection) = _verifier.Verify(transactions.Body(i), transactions.Signature(i), checkSignature: false);
            if (tx is null)
            {
                verdicts[i] = new Admission(AdmissionOutcome.Rejected, null, rejection);
                (refused ??= []).Add(i);
                continue;
            }
            verdicts[i] = new Admission(AdmissionOutcome.Fresh, tx, null);
            var shard = ShardOf(tx.Sender.Span, _shards.Length);
            if (parts[shard] is null)
            {
                parts[shard] = [];
                partCount++;
            }
            parts[shard]!.Add(i);
        }
        if (refused is not null)
        {
            admit?.Invoke(verdicts, refused);
        }
        if (partCount == 0)
        {
            return Task.FromResult(verdicts);
        }
        var batch = new Batch(verdicts, partCount, admit);
        for (var s = 0; s < parts.Length; s++)
        {
            if (parts[s] is { } part)
            {
                _shards[s].Post(new Part(batch, part));
            }
        }
        return batch.Completion.Task;
    }

    /// <summary>The shard of a sender: the first 4 bytes of its key (an Ed25519 public key is uniformly distributed) modulo the shard count.</summary>
    public static int ShardOf(ReadOnlySpan<byte> sender, int shards) =>
        sender.Length >= 4 ? (int)(BinaryPrimitives.ReadUInt32LittleEndian(sender) % (uint)shards) : 0;

    public async ValueTask DisposeAsync()
    {
        foreach (var shard in _shards)
        {
            shard.Complete();
        }
        await Task.WhenAll(_workers).ConfigureAwait(false);
    }

    private sealed class Batch(Admission[] verdicts, int parts, Action<Admission[], List<int>>? admit)
    {
        public Action<Admission[], List<int>>? Admit { get; } = admit;

        private int _remaining = parts;

        public Admission[] Verdicts { get; } = verdicts;

        public TaskCompletionSource<Admission[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void PartDone()
        {
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                Completion.SetResult(Verdicts);
            }
        }
    }

    private readonly record struct Part(Batch Batch, List<int> Indexes);

    /// <summary>One shard: its queue of batch parts, its window of recent verified transactions and its senders' last pending nonce.</summary>
    private sealed class Shard(int window, bool checkSignatures, Func<TransactionId, bool> isPending, StageMeter stages)
    {
        // CPU of the signature checks of the part being handled (thread clock), moved from Admission to Verify after it.
        private long _verifyNanoseconds;

        private readonly Channel<Part> _queue = Channel.CreateUnbounded<Part>(new UnboundedChannelOptions { SingleReader = true });
        private readonly RecentTransactions _recent = new(window);
        private readonly Dictionary<ByteKey32, (ulong Nonce, TransactionId Id)> _lastBySender = [];

        public void Post(Part part) => _queue.Writer.TryWrite(part);

        public void Complete() => _queue.Writer.TryComplete();

        public async Task RunAsync()
        {
            while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (_queue.Reader.TryRead(out var part))
                {
                    var started = stages.Start();
                    _verifyNanoseconds = 0;
                    foreach (var i in part.Indexes)
                    {
                        part.Batch.Verdicts[i] = Check(part.Batch.Verdicts[i].Transaction!);
                    }
                    try
                    {
                        part.Batch.Admit?.Invoke(part.Batch.Verdicts, part.Indexes);
                    }
                    finally
                    {
                        stages.Lap(PipelineStage.Admission, started);
                        stages.Add(PipelineStage.Verify, _verifyNanoseconds);
                        stages.Add(PipelineStage.Admission, -_verifyNanoseconds);
                        part.Batch.PartDone();
                    }
                }
            }
        }

        private Admission Check(VerifiedTransaction tx)
        {
            // Admitted here recently: the same transaction. A copy of the body with other signature bytes is answered as
            // the original and carries the original's verified bytes from here on; its own bytes go no further.
            // Without signature checks (trusted ingress) nothing was verified, so other bytes are simply a new submission.
            if (_recent.TryGet(tx.Id, tx.Signature.Span, out var verified) && (verified is null || checkSignatures))
            {
                return new Admission(AdmissionOutcome.Duplicate, verified is null ? tx : tx with { Signature = verified }, null);
            }
            var sender = new ByteKey32(tx.Sender.Span);
            if (_lastBySender.TryGetValue(sender, out var last) && last.Nonce == tx.Nonce && last.Id != tx.Id && isPending(last.Id))
            {
                return new Admission(AdmissionOutcome.Rejected, null, new TransactionRejection(tx.Id,
                    $"nonce {tx.Nonce} is taken by transaction {last.Id} of the same sender, still waiting for its outcome"));
            }
            var verifyStarted = checkSignatures ? stages.Start() : 0;
            var bad = checkSignatures ? TransactionVerifier.SignatureRejection(tx) : null;
            if (checkSignatures && stages.Enabled)
            {
                _verifyNanoseconds += ThreadCpuClock.Now() - verifyStarted;
            }
            if (bad is not null)
            {
                // Nothing about the transaction is remembered: the answer is this submission's alone.
                return new Admission(AdmissionOutcome.Rejected, null, new TransactionRejection(tx.Id, bad)) { Forged = true };
            }
            _recent.Add(tx.Id, tx.Signature.Span);
            if (last.Id == default || tx.Nonce >= last.Nonce || !isPending(last.Id))
            {
                if (_lastBySender.Count >= window && !_lastBySender.ContainsKey(sender))
                {
                    // Keep the map bounded: forget senders with nothing waiting.
                    foreach (var (key, value) in _lastBySender)
                    {
                        if (!isPending(value.Id))
                        {
                            _lastBySender.Remove(key);
                        }
                    }
                }
                _lastBySender[sender] = (tx.Nonce, tx.Id);
            }
            return new Admission(AdmissionOutcome.Fresh, tx, null);
        }
    }

    /// <summary>A 32-byte sender key held by value, compared by content.</summary>
    private readonly struct ByteKey32 : IEquatable<ByteKey32>
    {
        private readonly ulong _a;
        private readonly ulong _b;
        private readonly ulong _c;
        private readonly ulong _d;

        public ByteKey32(ReadOnlySpan<byte> key)
        {
            Span<byte> padded = stackalloc byte[32];
            key[..Math.Min(32, key.Length)].CopyTo(padded);
            _a = BinaryPrimitives.ReadUInt64LittleEndian(padded);
            _b = BinaryPrimitives.ReadUInt64LittleEndian(padded[8..]);
            _c = BinaryPrimitives.ReadUInt64LittleEndian(padded[16..]);
            _d = BinaryPrimitives.ReadUInt64LittleEndian(padded[24..]);
        }

        public bool Equals(ByteKey32 other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

        public override bool Equals(object? obj) => obj is ByteKey32 other && Equals(other);

        public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);
    }
}
