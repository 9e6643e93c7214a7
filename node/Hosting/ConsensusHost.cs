using System.Buffers.Binary;
using System.Text;
using System.Threading.Channels;
using Aurigraph.Consensus;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transactions;
using Aurigraph.Node.Transport;
using Google.Protobuf;
using RocksDbSharp;

namespace Aurigraph.Node.Hosting;

/// <summary>What the API reads about the node, published by the consensus loop after every round.</summary>
internal sealed record NodeSnapshot(
    Consensus.NodeRole RaftRole,
    ulong Term,
    ulong Leader,
    ulong CommitIndex,
    ulong AppliedIndex,
    ulong Height,
    byte[] StateRoot,
    int BlockTarget,
    IReadOnlyList<(ulong Id, ulong Match, bool Active)> Peers)
{
    /// <summary>The first raft log entry the node still holds.</summary>
    public ulong LogFirstIndex { get; init; }

    /// <summary>Raft index of the latest state snapshot the node holds (0 = none).</summary>
    public ulong SnapshotIndex { get; init; }
}

/// <summary>
/// The node's single consensus loop: feeds ticks, peer messages and admitted transactions to the core, cuts
/// blocks on the leader, and runs the Ready contract — send, persist (one synced write per Ready), send what
/// waited for the write, apply committed blocks, advance. Everything that touches the core or the ledger runs
/// on this loop; other threads talk to it through <see cref="Submit"/> and read <see cref="Snapshot"/>.
/// </summary>
internal sealed partial class ConsensusHost : IAsyncDisposable
{
    /// <summary>Application channel: a follower forwards admitted transactions to the leader (block payload layout).</summary>
    public const byte ForwardChannel = 1;

    /// <summary>Application channel: the leader tells a forwarder which forwarded transactions it refused, and why.</summary>
    public const byte RejectionChannel = 2;

    private const int MaxBlocksInFlight = 4;

    private readonly NodeOptions _options;
    private readonly RaftNode _raft;
    private readonly NodeDatabase _database;
    private readonly RaftLogStorage _log;
    private readonly LedgerStore _store;
    private readonly LedgerState _ledger;
    private readonly PeerTransport _transport;
    private readonly TransactionVerifier _verifier;
    private readonly SubmissionTracker _tracker;
    private readonly BlockFeed _feed;
    private readonly ILogger _logger;
    private readonly NodeMetrics _metrics;
    private ulong _lastLeader;
    private readonly Mempool _mempool;
    private readonly BatchPolicy _batching;
    private readonly CarbonPipeline _carbon;

    // On the leader: when each of its blocks was proposed (log index → timestamp), to measure propose→commit.
    private readonly Dictionary<ulong, long> _proposedAt = [];
    // Every input to the loop — peer frames, ticks, submissions — arrives through this one channel.
    private readonly Channel<HostInput> _inputs = Channel.CreateUnbounded<HostInput>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<VerifiedTransaction> _forwardBuffer = [];

    // Transactions this node forwarded and still has a client waiting for: re-forwarded every election timeout
    // until they commit or are refused, so a leader that died, or a frame lost on the way, cannot strand them.
    private readonly Dictionary<TransactionId, VerifiedTransaction> _forwarded = [];

    // On the leader: transactions in blocks it proposed that are not applied yet, so a re-forwarded copy is not
    // proposed twice.
    private readonly HashSet<TransactionId> _proposed = [];
    private long _ticks;

    // The tick at which the forward buffer last was empty: how long its transactions have waited for a leader.
    private long _forwardBufferSince;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private Task? _ticker;
    private NodeSnapshot _snapshot;
    private ulong _lastProposedIndex;
    private Consensus.NodeRole _lastRole;

    public ConsensusHost(
        NodeOptions options,
        NodeDatabase database,
        RaftLogStorage log,
        LedgerState ledger,
        PeerTransport transport,
        TransactionVerifier verifier,
        SubmissionTracker tracker,
        BlockFeed feed,
        ILogger logger,
        IRandomSource random,
        NodeMetrics metrics,
        CarbonPipeline carbon)
    {
        _carbon = carbon;
        _metrics = metrics;
        _options = options;
        _database = database;
        _log = log;
        _ledger = ledger;
        _transport = transport;
        _verifier = verifier;
        _tracker = tracker;
        _feed = feed;
        _logger = logger;
        _mempool = new Mempool(options.MempoolCapacity, options.MempoolMaxBytes);
        _batching = new BatchPolicy(options.MinBlockTransactions, options.MaxBlockTransactions, options.BlockLatencyGoalMilliseconds);
        _store = new LedgerStore(database.Db, database.Blocks, database.TxIndex, database.Ledger, database.Meta);
        _raft = new RaftNode(new Consensus.RaftConfig
        {
            Id = options.NodeId,
            Voters = [.. options.Members.Where(m => m.Role == NodeRole.Validator && !m.Joining).Select(m => m.Id)],
            Learners = [.. options.Members.Where(m => (m.Role != NodeRole.Validator && !m.Joining) || (m.Joining && m.Id == options.NodeId)).Select(m => m.Id)],
            Storage = log,
            Random = random,
            ElectionTicks = options.ElectionTicks,
            HeartbeatTicks = options.HeartbeatTicks,
            Applied = log.ReadAppliedIndex(),
        });
        InitSnapshots();
        // Carbon readings are expected from the members in effect (the log's, after changes), not the whole address book.
        _carbon.OnMembership(_raft.Voters, [.. _raft.Voters, .. _raft.Learners]);
        _snapshot = Publish();
    }

    public NodeSnapshot Snapshot => Volatile.Read(ref _snapshot);

    public LedgerStore Store => _store;

    /// <summary>The consensus loop; faults if the loop stops on an error.</summary>
    public Task Loop => _loop ?? Task.CompletedTask;

    public void Start()
    {
        _loop = Task.Run(() => RunAsync(_stop.Token));
        _ticker = Task.Run(() => TickAsync(_stop.Token));
    }

    /// <summary>Hands verified transactions to the loop for admission (here if leader, else forwarded).</summary>
    public void Submit(VerifiedTransaction[] transactions) => _inputs.Writer.TryWrite(new HostInput(default, transactions, Tick: false));

    private async Task TickAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.TickMilliseconds));
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                _inputs.Writer.TryWrite(new HostInput(default, null, Tick: true));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var incoming = _transport.Incoming;
        var pumpPeers = Task.Run(async () =>
        {
            await foreach (var input in incoming.ReadAllAsync(ct).ConfigureAwait(false))
            {
                // Snapshot chunks are written to disk here, off the consensus loop.
                if (input.Raft is null && input.Channel == SnapshotChannel)
                {
                    _snapshots.OnMessage(input.From, input.Payload, NowMs);
                    continue;
                }
                // Forwarded transactions are parsed here, off the consensus loop; the loop only admits them.
                _inputs.Writer.TryWrite(input.Raft is null && input.Channel == ForwardChannel
                    ? new HostInput(input, null, Tick: false) { Forwarded = ParseForwarded(input.From, input.Payload) }
                    : new HostInput(input, null, Tick: false));
            }
        }, ct);
        try
        {
            while (await _inputs.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                Round();
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            HostLog.LoopFailed(_logger, ex);
            // Stop the peer pump too, so the loop's task completes (faulted) and the runtime can stop the node.
            await _stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            try
            {
                await pumpPeers.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>One round: take everything that arrived, then cut blocks and run the Ready contract once for all of it.</summary>
    private void Round()
    {
        while (_inputs.Reader.TryRead(out var input))
        {
            if (input.Tick)
            {
                _raft.Tick();
                _snapshots.Tick(NowMs);
                if (++_ticks % _options.ElectionTicks == 0)
                {
                    RetryForwards();
                }
            }
            else if (input.Transactions is { } batch)
            {
                foreach (var tx in batch)
                {
                    Admit(tx, forwardedBy: 0, rejections: null);
                }
            }
            else if (input.Forwarded is { } forwarded)
            {
                AdmitForwarded(forwarded);
            }
            else if (input.Command is { } command)
            {
                command();
            }
            else if (input.Peer.Raft is not null || (input.Peer.Channel != ForwardChannel && input.Peer.Channel != 0))
            {
                HandlePeerInput(input.Peer);
            }
        }
        FlushForwards();
        CutBlocks();
        CutCarbonBlock();
        ProcessReady();
        CompleteTransfers();
        Volatile.Write(ref _snapshot, Publish());
    }

    private void HandlePeerInput(PeerInput input)
    {
        if (input.Raft is { } message)
        {
            _raft.Step(message);
            return;
        }
        switch (input.Channel)
        {
            case RejectionChannel:
                foreach (var (id, reason) in DecodeRejections(input.Payload.Span))
                {
                    _tracker.Reject(id, reason);
                }
                break;
            case CarbonPipeline.ReadingsChannel:
                _carbon.OnReadings(input.From, input.Payload);
                break;
            case ReadIndexRequestChannel:
                HandleReadIndexRequest(input.From, input.Payload.Span);
                break;
            case ReadIndexResponseChannel:
                HandleReadIndexResponse(input.Payload.Span);
                break;
            default:
                HostLog.UnknownChannel(_logger, input.Channel, input.From);
                break;
        }
    }

    private void Admit(VerifiedTransaction tx, ulong forwardedBy, List<(TransactionId, string)>? rejections)
    {
        if (_raft.Role == Consensus.NodeRole.Leader)
        {
            if (_proposed.Contains(tx.Id) || _store.FindTransaction(tx.Id) is not null)
            {
                return; // already in a block: its submitters learn the outcome when that block is applied
            }
            var reason = _mempool.TryAdd(tx, _ledger.Account(tx.Body.Sender.Span).Nonce);
            if (reason is not null)
            {
                if (forwardedBy == 0)
                {
                    _tracker.Reject(tx.Id, reason);
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
            rejections!.Add((tx.Id, "not the leader any more; resubmit"));
            return;
        }
        _forwardBuffer.Add(tx);
    }

    /// <summary>Parses a forwarded batch (format and nonce fields; the forwarder verified the signatures).</summary>
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
        var batch = new ForwardedBatch(from, new List<VerifiedTransaction>(items.Count), []);
        foreach (var (body, signature) in items)
        {
            // The forwarder verified the signature (crash-fault model); format and nonce are checked again here.
            var (tx, rejection) = _verifier.Verify(body, signature, checkSignature: false);
            if (tx is not null)
            {
                batch.Transactions.Add(tx);
            }
            else if (rejection!.Id is { } id)
            {
                batch.Rejections.Add((id, rejection.Reason));
            }
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
            _transport.SendApplication(batch.From, RejectionChannel, EncodeRejections(batch.Rejections));
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
        if (leader == 0 || leader == _options.NodeId)
        {
            if (leader == _options.NodeId)
            {
                foreach (var tx in _forwardBuffer)
                {
                    Admit(tx, 0, null);
                }
            }
            else
            {
                foreach (var tx in _forwardBuffer)
                {
                    _tracker.Reject(tx.Id, "no leader is known right now; retry shortly");
                }
            }
            _forwardBuffer.Clear();
            return;
        }
        _transport.SendApplication(leader, ForwardChannel, BlockPayload.Encode(_forwardBuffer));
        foreach (var tx in _forwardBuffer)
        {
            _forwarded[tx.Id] = tx;
        }
        _forwardBuffer.Clear();
    }

    private void RetryForwards()
    {
        if (_forwarded.Count == 0)
        {
            return;
        }
        foreach (var (id, tx) in _forwarded)
        {
            if (_tracker.IsPending(id))
            {
                _forwardBuffer.Add(tx);
            }
        }
        _forwarded.Clear();
    }

    /// <summary>
    /// Cuts blocks while the pipeline has room: a lone transaction goes out at once; under load, transactions
    /// gather while earlier blocks commit, and each block takes up to the dynamic target (<see cref="BatchPolicy"/>).
    /// </summary>
    private void CutBlocks()
    {
        if (_raft.Role != Consensus.NodeRole.Leader)
        {
            return;
        }
        while (_mempool.Count > 0)
        {
            var inFlight = _lastProposedIndex > _raft.CommitIndex ? _lastProposedIndex - _raft.CommitIndex : 0;
            if (inFlight >= MaxBlocksInFlight && _mempool.Count < _batching.Target)
            {
                return;
            }
            var batch = _mempool.Take(_batching.Target);
            var result = _raft.Propose(BlockPayload.Encode(batch, _carbon.TakeSection()));
            if (!result.Accepted)
            {
                foreach (var tx in batch)
                {
                    _tracker.Reject(tx.Id, $"block refused by consensus ({result.Refusal}); resubmit");
                }
                return;
            }
            _lastProposedIndex = result.Index;
            _proposedAt[result.Index] = System.Diagnostics.Stopwatch.GetTimestamp();
            foreach (var tx in batch)
            {
                _proposed.Add(tx.Id);
            }
        }
    }

    /// <summary>
    /// With no transaction waiting, a block of carbon records alone once records have waited an idle-flush interval for a
    /// transaction block. Such a block closes no metering interval, so it never makes a record of its own: an idle cluster
    /// stays idle.
    /// </summary>
    private void CutCarbonBlock()
    {
        _carbon.OnRound(_raft.Role == Consensus.NodeRole.Leader, _raft.Leader);
        if (_raft.Role != Consensus.NodeRole.Leader || _mempool.Count > 0 || _lastProposedIndex > _raft.CommitIndex + MaxBlocksInFlight - 1 || !_carbon.CarbonOnlyBlockDue)
        {
            return;
        }
        var result = _raft.Propose(BlockPayload.Encode([], _carbon.TakeSection()));
        if (result.Accepted)
        {
            _lastProposedIndex = result.Index;
        }
    }

    private void ProcessReady()
    {
        while (_raft.HasReady)
        {
            var ready = _raft.GetReady();
            _carbon.OnReady(ready);
            foreach (var m in ready.Messages)
            {
                if (m.Type == MessageType.Snapshot)
                {
                    SendSnapshot(m);
                }
                else
                {
                    _transport.Send(m);
                }
            }
            if (ready.Snapshot is { } snapshot)
            {
                InstallSnapshot(snapshot); // before the Ready's entries are persisted and its committed entries applied
            }
            if (ready.MustPersist)
            {
                FaultPoints.Hit(FaultPoints.BeforeLogWrite);
                _log.Append(ready.HardState, ready.Entries);
                FaultPoints.Hit(FaultPoints.AfterLogWrite);
            }
            if (ready.Entries.Count > 0 || ready.MessagesAfterPersist.Count > 0)
            {
                // Durable but not yet acknowledged: a follower's acknowledgements below, or the leader's own count
                // at Advance, are what let the entries commit.
                FaultPoints.Hit(FaultPoints.BeforeCommit);
            }
            foreach (var m in ready.MessagesAfterPersist)
            {
                _transport.Send(m);
            }
            if (ready.ReadStates.Count > 0)
            {
                OnReadStates(ready.ReadStates);
            }
            if (ready.CommittedEntries.Count > 0)
            {
                FaultPoints.Hit(FaultPoints.BeforeApply);
                Apply(ready.CommittedEntries);
            }
            if (ready.Leader != _lastLeader)
            {
                _lastLeader = ready.Leader;
                _metrics.LeaderChanges.Add(1);
                if (ready.Leader != 0 && ready.Leader != _options.NodeId)
                {
                    RetryForwards(); // what went to the old leader goes to the new one now, not at the next retry round
                }
                FailReadsAwaitingIndex("leadership changed before the read was confirmed; retry");
            }
            if (ready.Role != _lastRole)
            {
                OnRoleChanged(_lastRole, ready.Role);
                _lastRole = ready.Role;
            }
            _raft.Advance(ready);
            ServeAppliedReads();
            CompleteMembershipWaits(ready);
            MaybeSnapshot();
        }
    }

    private void OnRoleChanged(Consensus.NodeRole from, Consensus.NodeRole to)
    {
        HostLog.RoleChanged(_logger, _options.NodeId, from, to, _raft.Term, _raft.Leader);
        if (from == Consensus.NodeRole.Leader)
        {
            _proposed.Clear();
            _proposedAt.Clear();
            // Transactions still waiting for a block go to the next leader, as a follower forwards its own; those
            // forwarded here by others are re-forwarded by their nodes.
            foreach (var tx in _mempool.Clear())
            {
                if (_tracker.IsPending(tx.Id))
                {
                    _forwardBuffer.Add(tx);
                }
            }
        }
        if (to == Consensus.NodeRole.Leader)
        {
            _lastProposedIndex = _raft.LastIndex;
        }
    }

    private void Apply(IReadOnlyList<Entry> entries)
    {
        using var batch = new WriteBatch();
        var applied = new List<(AppliedBlock Applied, ReadOnlyMemory<byte> Payload)>();
        var indexed = new HashSet<TransactionId>();
        foreach (var entry in entries)
        {
            if (entry.Type != EntryType.Normal)
            {
                continue;
            }
            if (_options.Paranoid)
            {
                VerifyCommittedSignatures(entry.Index, entry.Data);
            }
            var result = _ledger.Apply(entry.Index, entry.Term, entry.Data);
            if (_proposedAt.Remove(entry.Index, out var proposedAt))
            {
                _batching.Observe(_mempool.Count, System.Diagnostics.Stopwatch.GetElapsedTime(proposedAt).TotalMilliseconds);
            }
            _store.AddBlock(batch, result, entry.Data, indexed);
            _carbon.OnBlockApplied(batch, result);
            if (_options.Role == NodeRole.Slim && result.Height > (ulong)_options.SlimRetainedBlocks)
            {
                _store.PruneBody(batch, result.Height - (ulong)_options.SlimRetainedBlocks);
            }
            applied.Add((result, entry.Data));
        }
        _log.AddAppliedIndex(batch, entries[^1].Index);
        _carbon.OnApplyRound(batch);
        _database.Db.Write(batch);

        foreach (var (result, payload) in applied)
        {
            for (var i = 0; i < result.TransactionIds.Length; i++)
            {
                _tracker.Complete(result.TransactionIds[i], static c => Committed(c.result, c.i), (result, i));
                _proposed.Remove(result.TransactionIds[i]);
            }
            _mempool.OnApplied(key => _ledger.Account(key).Nonce, result.Senders);
            _metrics.TransactionsCommitted.Add(result.TransactionIds.Length);
            if (_feed.HasSubscribers)
            {
                _feed.Publish(LedgerStore.ToBlock(result, payload));
            }
        }
    }

    /// <summary>
    /// Paranoid mode: every signature of a committed block is checked again (in parallel) before it is applied. A
    /// failure means the block should never have been proposed; applying it would make this node's state differ from
    /// what its operator trusts, so the node stops instead.
    /// </summary>
    private void VerifyCommittedSignatures(ulong index, ReadOnlyMemory<byte> payload)
    {
        var transactions = BlockPayload.Decode(payload);
        var failures = new string?[transactions.Count];
        Parallel.For(0, transactions.Count, i =>
        {
            var (_, rejection) = _verifier.Verify(transactions[i].Body, transactions[i].Signature, checkSignature: true);
            failures[i] = rejection?.Reason;
        });
        for (var i = 0; i < failures.Length; i++)
        {
            if (failures[i] is { } reason)
            {
                throw new BlockIntegrityException($"paranoid check: transaction {i} of the block at log index {index} fails verification ({reason})");
            }
        }
    }

    private static TransactionResult Committed(AppliedBlock block, int index) => new()
    {
        TxId = block.TransactionIds[index].ToString(),
        State = TransactionState.Committed,
        Height = block.Height,
        Index = (uint)index,
        Receipt = new Receipt { Success = block.Receipts[index].Success, FailureReason = block.Receipts[index].FailureReason ?? "" },
    };

    private NodeSnapshot Publish()
    {
        var peers = _options.Members.Where(m => m.Id != _options.NodeId).Select(m =>
        {
            var p = _raft.ProgressOf(m.Id);
            return (m.Id, p?.Match ?? 0, p?.RecentActive ?? false);
        }).ToList();
        return new NodeSnapshot(_raft.Role, _raft.Term, _raft.Leader, _raft.CommitIndex, _raft.AppliedIndex, _ledger.Height, _ledger.StateRoot, _batching.Target, peers)
        {
            LogFirstIndex = _log.FirstIndex,
            SnapshotIndex = _latestSnapshot?.Info.Header.Index ?? 0,
        };
    }

    private static byte[] EncodeRejections(List<(TransactionId Id, string Reason)> rejections)
    {
        using var stream = new MemoryStream();
        Span<byte> header = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(header, rejections.Count);
        stream.Write(header);
        foreach (var (id, reason) in rejections)
        {
            stream.Write(id.ToBytes());
            var text = Encoding.UTF8.GetBytes(reason);
            BinaryPrimitives.WriteInt32LittleEndian(header, text.Length);
            stream.Write(header);
            stream.Write(text);
        }
        return stream.ToArray();
    }

    private static List<(TransactionId Id, string Reason)> DecodeRejections(ReadOnlySpan<byte> bytes)
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
            if (len < 0 || at + len > bytes.Length)
            {
                break;
            }
            result.Add((id, Encoding.UTF8.GetString(bytes.Slice(at, len))));
            at += len;
        }
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _inputs.Writer.TryComplete();
        foreach (var task in new[] { _loop, _ticker })
        {
            if (task is not null)
            {
                // A loop that failed has logged why; stopping must still complete.
                await task.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
        _stop.Dispose();
    }
}

/// <summary>One input to the consensus loop: a peer frame, a batch of admitted transactions, or a tick.</summary>
internal readonly record struct HostInput(PeerInput Peer, VerifiedTransaction[]? Transactions, bool Tick)
{
    /// <summary>A forwarded batch, already parsed off the loop.</summary>
    public ForwardedBatch? Forwarded { get; init; }

    /// <summary>Work that must run on the loop (reads of the ledger, operator commands).</summary>
    public Action? Command { get; init; }
}

/// <summary>Transactions a follower forwarded, parsed; <see cref="Rejections"/> collects what the leader refuses.</summary>
internal sealed record ForwardedBatch(ulong From, List<VerifiedTransaction> Transactions, List<(TransactionId Id, string Reason)> Rejections);
