using System.Buffers.Binary;
using System.Text;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// Admission on the loop and the way to the leader. A node that leads puts verified transactions in its mempool;
/// one that does not forwards them to the leader it knows, and keeps every forwarded transaction a client waits for
/// until it commits, re-forwarding it every election timeout and at once on a leader change.
/// <para>
/// Answers stay true: a client hears REJECTED only for a transaction that never left this node — refused by this
/// node's own mempool while it leads, or held with no leader known for two election timeouts — or when the one node
/// it was ever sent to refused it (that node never put it in its log). Anything that was sent elsewhere too, or that
/// this node proposed, may still be in some log and commit: it stays PENDING until it commits or the client stops
/// waiting. A new leader admits nothing until it has applied every entry of earlier terms (its term's first entry
/// applied), so the nonces it checks against include every committed and every in-flight transaction of those terms.
/// </para>
/// </summary>
internal sealed partial class ConsensusHost
{
    /// <summary>Application channel: a follower forwards admitted transactions to the leader (block payload layout).</summary>
    public const byte ForwardChannel = 1;

    /// <summary>Application channel: the leader tells a forwarder which forwarded transactions it refused, and why.</summary>
    public const byte RejectionChannel = 2;

    private readonly List<VerifiedTransaction> _forwardBuffer = [];

    // The message sizes between nodes (forwarded chunks, rejections, appends, snapshot chunks).
    private readonly PipelineLimits _limits;

    // Transactions a client here waits for that left this node: forwarded to a leader, or proposed by this node while
    // it led. Each is re-forwarded until it commits; an entry goes once nobody here waits for it any more.
    private readonly Dictionary<TransactionId, Departure> _departed = [];

    // On the leader: transactions in blocks it proposed that are not applied yet, so a re-forwarded copy is not
    // proposed twice.
    private readonly HashSet<TransactionId> _proposed = [];

    // On a new leader that has not yet applied its term's first entry: what arrived meanwhile (0 = submitted here).
    private readonly List<(VerifiedTransaction Tx, ulong From)> _awaitingCatchUp = [];

    // The tick at which the forward buffer last was empty: how long its transactions have waited for a leader.
    private long _forwardBufferSince;

    // The leader's first log index of its term (its no-op); entries before it belong to earlier terms.
    private ulong _termStartIndex;

    /// <summary>This node leads and has applied every entry of earlier terms: its ledger's nonces are the whole truth.</summary>
    private bool LeaderCaughtUp => _raft.Role == Consensus.NodeRole.Leader && _applier.State.Index >= _termStartIndex;

    private void Admit(VerifiedTransaction tx, ulong forwardedBy, List<(TransactionId, string)>? rejections)
    {
        if (_raft.Role == Consensus.NodeRole.Leader)
        {
            if (!LeaderCaughtUp)
            {
                HoldUntilCaughtUp(tx, forwardedBy);
                return;
            }
            if (_proposed.Contains(tx.Id) || _store.FindTransaction(tx.Id) is not null)
            {
                return; // already in a block: its submitters learn the outcome when that block is applied
            }
            var reason = _proposer.Pool.TryAdd(tx, _ledger.Account(tx.Sender.Span).Nonce);
            if (reason is not null)
            {
                if (forwardedBy == 0)
                {
                    RejectIfNeverLeft(tx.Id, reason);
                }
                else
                {
                    rejections!.Add((tx.Id, reason));
                }
            }
            return;
        }
        if (forwardedBy != 0)
        {
            // Sent to a node that does not lead (any more): dropped, not refused. Its forwarder still waits for it and
            // sends it to the leader it learns of; a refusal from here would not be true — it may commit yet.
            return;
        }
        _forwardBuffer.Add(tx);
    }

    /// <summary>A refusal a client here may hear only if the transaction never left this node (else it may commit yet).</summary>
    private void RejectIfNeverLeft(TransactionId id, string reason)
    {
        if (!_departed.ContainsKey(id))
        {
            _tracker.Reject(id, reason);
        }
    }

    private void HoldUntilCaughtUp(VerifiedTransaction tx, ulong from)
    {
        if (_awaitingCatchUp.Count < _proposer.Pool.Capacity)
        {
            _awaitingCatchUp.Add((tx, from));
        }
        else if (from == 0)
        {
            RejectIfNeverLeft(tx.Id, Mempool.FullReason);
        }
        // A forwarded one over the bound is dropped: its forwarder re-forwards it.
    }

    /// <summary>Admits what waited for this new leader to apply the earlier terms' entries, once it has.</summary>
    private void AdmitCaughtUp()
    {
        if (_awaitingCatchUp.Count == 0 || !LeaderCaughtUp)
        {
            return;
        }
        var waiting = _awaitingCatchUp.ToArray();
        _awaitingCatchUp.Clear();
        Dictionary<ulong, List<(TransactionId, string)>>? refused = null;
        foreach (var (tx, from) in waiting)
        {
            List<(TransactionId, string)>? rejections = null;
            if (from != 0)
            {
                refused ??= [];
                if (!refused.TryGetValue(from, out rejections))
                {
                    rejections = [];
                    refused[from] = rejections;
                }
            }
            Admit(tx, from, rejections);
        }
        foreach (var (from, rejections) in refused ?? [])
        {
            if (rejections.Count > 0)
            {
                SendRejections(from, rejections);
            }
        }
    }

    /// <summary>
    /// Parses a forwarded batch off the loop. Signatures are checked again here when the forwarder is not proven a
    /// member (plaintext transport) or in paranoid mode, where the leader proposes only what it verified itself.
    /// </summary>
    private ForwardedBatch? ParseForwarded(ulong from, ReadOnlyMemory<byte> payload)
    {
        List<(ReadOnlyMemory<byte> Body, ReadOnlyMemory<byte> Signature)> items;
        try
        {
            items = BlockPayload.Decode(payload);
        }
        catch (FormatException ex)
        {
            HostLog.MalformedForward(_logger, from, ex.Message);
            return null;
        }
        var verdicts = new (VerifiedTransaction? Tx, TransactionRejection? Rejection)[items.Count];
        if (_verifyForwarded && items.Count > 1)
        {
            _stages.For(items.Count, new ParallelOptions(), Diagnostics.PipelineStage.Verify, i => verdicts[i] = _verifier.Verify(items[i].Body, items[i].Signature, checkSignature: true));
        }
        else
        {
            for (var i = 0; i < items.Count; i++)
            {
                verdicts[i] = _verifier.Verify(items[i].Body, items[i].Signature, checkSignature: _verifyForwarded);
            }
        }
        var batch = new ForwardedBatch(from, new List<VerifiedTransaction>(items.Count), []);
        foreach (var (tx, rejection) in verdicts)
        {
            if (tx is not null)
            {
                batch.Transactions.Add(tx);
            }
            else if (rejection!.Id is { } id)
            {
                batch.Rejections.Add((id, rejection.Reason));
            }
        }
        if (batch.Rejections.Count > 0)
        {
            HostLog.ForwardRefused(_logger, from, batch.Rejections.Count, batch.Rejections[0].Reason);
        }
        return batch;
    }

    private void AdmitForwarded(ForwardedBatch batch)
    {
        foreach (var tx in batch.Transactions)
        {
            Admit(tx, batch.From, batch.Rejections);
        }
        if (batch.Rejections.Count > 0)
        {
            SendRejections(batch.From, batch.Rejections);
        }
    }

    /// <summary>The leader refused transactions this node forwarded: final only where it was the one node ever sent them, once.</summary>
    private void OnForwardRejections(ulong from, ReadOnlySpan<byte> payload)
    {
        foreach (var (id, reason) in DecodeRejections(payload))
        {
            if (_departed.TryGetValue(id, out var departure) && departure.RefusalIsFinal(from))
            {
                _departed.Remove(id);
                _tracker.Reject(id, reason);
            }
        }
    }

    private void FlushForwards()
    {
        if (_forwardBuffer.Count == 0)
        {
            _forwardBufferSince = _ticks;
            return;
        }
        var leader = _raft.Leader;
        if (leader == 0 && _ticks - _forwardBufferSince < _options.ElectionTicks * 2)
        {
            return; // an election is under way: hold the transactions for the leader it produces
        }
        if (leader == _options.NodeId)
        {
            foreach (var tx in _forwardBuffer)
            {
                Admit(tx, 0, null);
            }
        }
        else if (leader == 0)
        {
            // No leader for two election timeouts: what never left is refused (true: it is nowhere else); what did
            // leave stays waiting in the departed set and goes to the next leader.
            foreach (var tx in _forwardBuffer)
            {
                RejectIfNeverLeft(tx.Id, "no leader is known right now; retry shortly");
            }
        }
        else
        {
            SendForwards(leader);
        }
        _forwardBuffer.Clear();
        _forwardBufferSince = _ticks;
    }

    /// <summary>
    /// Sends the forward buffer to <paramref name="leader"/> in chunks of at most <see cref="PipelineLimits.ForwardChunkBytes"/>
    /// (block layout), each of which fits one peer frame and one block.
    /// </summary>
    private void SendForwards(ulong leader)
    {
        foreach (var (start, count) in BlockPayload.Split(_forwardBuffer, _limits.ForwardChunkBytes))
        {
            _transport.SendApplication(leader, ForwardChannel, BlockPayload.Encode(_forwardBuffer.GetRange(start, count)));
        }
        foreach (var tx in _forwardBuffer)
        {
            Departed(tx, leader);
        }
    }

    /// <summary>Records that <paramref name="tx"/> left this node towards <paramref name="target"/> (this node's id: proposed here).</summary>
    private void Departed(VerifiedTransaction tx, ulong target)
    {
        if (_departed.TryGetValue(tx.Id, out var departure))
        {
            departure.SentTo(target);
        }
        else if (_tracker.IsPending(tx.Id))
        {
            _departed.Add(tx.Id, new Departure(tx, target));
        }
    }

    /// <summary>Every departed transaction a client still waits for goes out again; the rest are forgotten.</summary>
    private void RetryForwards()
    {
        if (_departed.Count == 0)
        {
            return;
        }
        List<TransactionId>? done = null;
        var again = new List<VerifiedTransaction>(_departed.Count);
        foreach (var (id, departure) in _departed)
        {
            if (_tracker.IsPending(id))
            {
                again.Add(departure.Transaction);
            }
            else
            {
                (done ??= []).Add(id);
            }
        }
        foreach (var id in done ?? [])
        {
            _departed.Remove(id);
        }
        // Ahead of anything new, and each sender's in nonce order: the leader's mempool takes a sender's nonces only in
        // sequence, so a later one arriving first would be refused.
        again.Sort(static (a, b) => a.Nonce.CompareTo(b.Nonce));
        _forwardBuffer.InsertRange(0, again);
    }

    /// <summary>
    /// This node stopped leading: what waited in its mempool goes to the next leader like any submission of its own;
    /// what it proposed is departed (it may be in the log) and is re-forwarded until it commits.
    /// </summary>
    private void OnLeadershipLost()
    {
        _proposed.Clear();
        _proposer.OnLeadershipLost();
        foreach (var (tx, from) in _awaitingCatchUp)
        {
            if (from == 0)
            {
                _forwardBuffer.Add(tx);
            }
        }
        _awaitingCatchUp.Clear();
        foreach (var tx in _proposer.Pool.Clear())
        {
            if (_tracker.IsPending(tx.Id) && !_departed.ContainsKey(tx.Id))
            {
                _forwardBuffer.Add(tx);
            }
        }
    }

    /// <summary>
    /// Tells a forwarder which of its transactions were refused, in messages of at most
    /// <see cref="PipelineLimits.ForwardChunkBytes"/>; each reason is cut to <see cref="PipelineLimits.MaxReasonBytes"/>.
    /// </summary>
    private void SendRejections(ulong to, List<(TransactionId Id, string Reason)> rejections)
    {
        foreach (var message in EncodeRejections(rejections, _limits.ForwardChunkBytes))
        {
            _transport.SendApplication(to, RejectionChannel, message);
        }
    }

    /// <summary>Rejection messages (<c>i32 count | count × (id | i32 length | UTF-8 reason)</c>), each at most <paramref name="maxBytes"/>.</summary>
    internal static List<byte[]> EncodeRejections(List<(TransactionId Id, string Reason)> rejections, int maxBytes)
    {
        var messages = new List<byte[]>();
        using var stream = new MemoryStream();
        Span<byte> header = stackalloc byte[4];
        var count = 0;
        var countAt = 0L;
        Span<byte> reason = stackalloc byte[PipelineLimits.MaxReasonBytes];
        foreach (var (id, text) in rejections)
        {
            var length = Utf8Prefix(text, reason);
            var entryBytes = TransactionId.Size + 4 + length;
            if (count > 0 && stream.Length + entryBytes > maxBytes)
            {
                messages.Add(Finish(stream, countAt, count));
                stream.SetLength(0);
                count = 0;
            }
            if (count == 0)
            {
                countAt = stream.Position;
                stream.Write(header); // the count, written when the message is finished
            }
            stream.Write(id.ToBytes());
            BinaryPrimitives.WriteInt32LittleEndian(header, length);
            stream.Write(header);
            stream.Write(reason[..length]);
            count++;
        }
        if (count > 0)
        {
            messages.Add(Finish(stream, countAt, count));
        }
        return messages;

        static byte[] Finish(MemoryStream stream, long countAt, int count)
        {
            var bytes = stream.ToArray();
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan((int)countAt), count);
            return bytes;
        }
    }

    /// <summary>The UTF-8 bytes of <paramref name="text"/> that fit <paramref name="into"/>, cut at a character boundary.</summary>
    private static int Utf8Prefix(string text, Span<byte> into)
    {
        var encoder = Encoding.UTF8.GetEncoder();
        encoder.Convert(text, into, flush: true, out _, out var written, out _);
        return written;
    }

    internal static List<(TransactionId Id, string Reason)> DecodeRejections(ReadOnlySpan<byte> bytes)
    {
        var result = new List<(TransactionId, string)>();
        if (bytes.Length < 4)
        {
            return result;
        }
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        var at = 4;
        for (var i = 0; i < count && at + TransactionId.Size + 4 <= bytes.Length; i++)
        {
            var id = TransactionId.FromBytes(bytes.Slice(at, TransactionId.Size));
            at += TransactionId.Size;
            var len = BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);
            at += 4;
            if (len < 0 || len > bytes.Length - at)
            {
                break;
            }
            result.Add((id, Encoding.UTF8.GetString(bytes.Slice(at, len))));
            at += len;
        }
        return result;
    }

    /// <summary>Where a departed transaction went: one node, once, unless <see cref="Ambiguous"/>.</summary>
    private sealed class Departure(VerifiedTransaction transaction, ulong target)
    {
        public VerifiedTransaction Transaction { get; } = transaction;

        public ulong Target { get; private set; } = target;

        /// <summary>Sent more than once, or to more than one node (this node proposing it counts as one).</summary>
        public bool Ambiguous { get; private set; }

        public void SentTo(ulong target)
        {
            Ambiguous = true; // a second copy: a refusal can no longer be told apart from the other copy's fate
            Target = target;
        }

        /// <summary>A refusal from <paramref name="from"/> is final only if it is the one node that ever got the one copy sent.</summary>
        public bool RefusalIsFinal(ulong from) => !Ambiguous && Target == from;
    }
}

/// <summary>Transactions a follower forwarded, parsed; <see cref="Rejections"/> collects what the leader refuses.</summary>
internal sealed record ForwardedBatch(ulong From, List<VerifiedTransaction> Transactions, List<(TransactionId Id, string Reason)> Rejections);
