using System.Net;
using Aurigraph.Consensus;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Security;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transactions;
using Aurigraph.Node.Transport;
using Grpc.Core;
using Microsoft.Extensions.Options;
using RocksDbSharp;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// The assembled node: database, raft log, ledger, peer transport and consensus loop, plus the operations the
/// API needs (submit and wait, look up). Started and stopped by the web host.
/// </summary>
internal sealed class NodeRuntime : IHostedService, IAsyncDisposable
{
    private readonly NodeOptions _options;
    private readonly ILogger<NodeRuntime> _logger;
    private readonly NodeDatabase _database;
    private readonly PeerTransport _transport;
    private readonly WanPartition? _partition;
    private readonly ConsensusHost? _host;
    private readonly LedgerState _ledger;

    private readonly IHostApplicationLifetime? _lifetime;

    public NodeRuntime(IOptions<NodeOptions> options, ILoggerFactory loggers, IHostApplicationLifetime? lifetime = null, CarbonServices? carbon = null)
    {
        _lifetime = lifetime;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        _options = options.Value;
        _logger = loggers.CreateLogger<NodeRuntime>();
        var genesis = Genesis.Load(Path.GetFullPath(_options.GenesisFile));
        if (genesis.ChainId != _options.ChainId)
        {
            throw new InvalidOperationException($"Aurigraph:ChainId '{_options.ChainId}' differs from the genesis file's chainId '{genesis.ChainId}'");
        }
        Directory.CreateDirectory(_options.DataDir);
        _database = NodeDatabase.Open(Path.GetFullPath(_options.DataDir), _options.ChainId, _options.NodeId, _options.Memory.Storage);
        var log = new RaftLogStorage(_database, _options.LogCacheBytes, keepBodies: _options.Role != NodeRole.Slim);
        ConsensusHost.ResumeSnapshotInstall(_database, log, new LedgerStore(_database));
        var ledger = LoadLedger(genesis, log);
        ledger.ParallelApplyThreshold = _options.ParallelApplyThreshold;
        _ledger = ledger;
        Verifier = new TransactionVerifier(_options.ChainId, _options.MaxTransactionBytes);
        Tracker = new SubmissionTracker();
        Stages = new StageMeter(_options.StageAccounting);
        Ingress = new IngressGate(_options.IngressTransactions, _options.IngressBytes);
        Admission = new AdmissionShards(
            _options.ValidationShards > 0 ? _options.ValidationShards : Math.Min(Environment.ProcessorCount, AdmissionShards.MaxShards),
            Verifier,
            _options.AdmissionChecksSignatures,
            _options.RecentTransactionWindow,
            Tracker.IsPending,
            Stages);
        Feed = new BlockFeed();
        Book = AddressBook.Open(_options, _database);
        // Lanes to the configured members to start with (a record learned from an entry since truncated gets none);
        // the consensus host adds every member of the log's membership from the book.
        var peers = _options.Members.Where(m => m.Id != _options.NodeId && !Book.IsRemoved(m.Id)).Select(m => Book.Find(m.Id)!).ToDictionary(m => m.Id, m => IPEndPoint.Parse(m.PeerAddress));
        var limits = _options.Pipeline;
        var transportOptions = new TransportOptions
        {
            ClusterId = _options.ChainId,
            MaxFrameBytes = limits.MaxFrameBytes,
            BulkQueueMaxBytes = limits.PeerQueueBytes,
            WanLinks = WanLinks(loggers.CreateLogger<PeerTransport>()),
            WanSeed = _options.Transport.Wan.Seed,
            AdmitUnlisted = (id, _) => ConsensusHost.AdmitsUnlisted(Book, id),
        };
        if (_options.Transport.Wan.Enabled && _options.Transport.Wan.PartitionFile.Length > 0)
        {
            _partition = new WanPartition(_options.Transport.Wan.PartitionFile, _options.Self, [.. Book.Members]);
            transportOptions.IsCut = _partition.IsCut;
        }
        _transport = new PeerTransport(
            _options.NodeId,
            IPEndPoint.Parse(_options.Self.PeerAddress),
            peers,
            transportOptions,
            loggers.CreateLogger<PeerTransport>(),
            PeerSecurity.StreamFactory(_options, loggers),
            Stages);
        Metrics = new NodeMetrics(() => _host!.Snapshot, Ingress, _database.Statistics, () => log.SyncedWrites, _database.Memory, () => _host?.PeerRoundTrips ?? new Dictionary<ulong, double>());
        var validators = Book.Members.Where(m => m.Role == NodeRole.Validator).Select(m => m.Id).ToList();
        var members = Book.Members.Select(m => m.Id).ToList();
        IntensityHistory = new IntensityHistoryStore(_database.Db, _database.Intensity, _database.NoSyncWrite);
        Carbon = new CarbonPipeline(_options.NodeId, validators, members, carbon ?? CarbonServices.CreateOffline(), _database, _transport, log, ledger.Height, loggers.CreateLogger<CarbonPipeline>());
        _host = new ConsensusHost(_options, _database, log, ledger, _transport, Verifier, Tracker, Feed, loggers.CreateLogger<ConsensusHost>(), new SeededRandom((ulong)Environment.TickCount64 ^ (_options.NodeId * 0x9E3779B97F4A7C15UL)), Metrics, Carbon, Stages, Ingress, transportOptions.IncomingCapacity, book: Book);
    }

    public NodeOptions Options => _options;

    /// <summary>Where each member is: the configuration's members and what the log added (thread-safe).</summary>
    public AddressBook Book { get; }

    public TransactionVerifier Verifier { get; }

    public SubmissionTracker Tracker { get; }

    public AdmissionShards Admission { get; }

    public BlockFeed Feed { get; }

    public NodeSnapshot Snapshot => _host!.Snapshot;

    public LedgerStore Store => _host!.Store;

    public NodeMetrics Metrics { get; }

    /// <summary>What clients handed the node that it has not placed yet (bounded; beyond it, RESOURCE_EXHAUSTED).</summary>
    public IngressGate Ingress { get; }

    /// <summary>CPU per pipeline stage (aurigraph_stage_cpu_seconds_total).</summary>
    public StageMeter Stages { get; }

    /// <summary>Carbon metering and the committed carbon records.</summary>
    public CarbonPipeline Carbon { get; }

    /// <summary>This node's hourly grid-intensity history (its own, not replicated).</summary>
    public IntensityHistoryStore IntensityHistory { get; }

    private LedgerState LoadLedger(Genesis genesis, RaftLogStorage log)
    {
        var store = new LedgerStore(_database);
        var loaded = store.Load();
        if (loaded is { } state)
        {
            var ledger = new LedgerState(genesis.ChainId, store, _options.Memory.StateCacheBytes);
            ledger.Load(state.Records, state.Height, state.Hash);
            var applied = log.ReadAppliedIndex();
            HostLog.LedgerRecovered(_logger, _options.NodeId, state.Height, applied);
            return ledger;
        }
        var fresh = LedgerState.FromGenesis(genesis, store, _options.Memory.StateCacheBytes);
        using var batch = new WriteBatch();
        store.AddGenesis(batch, fresh);
        _database.Db.Write(batch, _database.SyncWrite);
        fresh.Persisted();
        HostLog.LedgerInitialised(_logger, _options.NodeId, fresh.AccountCount);
        return fresh;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _transport.StartAsync(cancellationToken).ConfigureAwait(false);
        _host!.Start();
        _ = _host.Loop.ContinueWith(
            loop =>
            {
                // The loop stops only on a fault it cannot get past (a block that fails its integrity checks, a
                // storage error): the node must not keep answering as if it were applying blocks.
                Environment.ExitCode = ExitCodes.LoopFailed;
                _lifetime?.StopApplication();
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Default);
        HostLog.Started(_logger, _options.NodeId, _options.Role, _options.Self.PeerAddress, _options.Self.ApiAddress);
    }

    /// <summary>
    /// Stops the node. A leader first hands leadership to the most caught-up other voter (bounded by one election
    /// timeout), so a planned stop costs the cluster a transfer rather than an election timeout.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_host is not null && _host.Snapshot.RaftRole == Consensus.NodeRole.Leader && _host.Membership.Voters.Count > 1)
        {
            try
            {
                var target = await _host.TransferLeadershipAsync(0)
                    .WaitAsync(TimeSpan.FromMilliseconds(_options.TickMilliseconds * _options.ElectionTicks), cancellationToken)
                    .ConfigureAwait(false);
                HostLog.HandedOverAtStop(_logger, _options.NodeId, target);
            }
            catch (Exception ex) when (ex is NodeUnavailableException or TimeoutException or OperationCanceledException)
            {
                HostLog.HandOverAtStopFailed(_logger, _options.NodeId, ex.Message);
            }
        }
        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The emulated path to each located peer when WAN emulation is on (logged: it slows the node on purpose).</summary>
    private Dictionary<ulong, WanLink> WanLinks(ILogger logger)
    {
        var links = new Dictionary<ulong, WanLink>();
        if (!_options.Transport.Wan.Enabled)
        {
            return links;
        }
        foreach (var member in Book.Members)
        {
            if (member.Id != _options.NodeId && WanTopology.Link(_options.Self, member, _options.Transport.Wan) is { } link)
            {
                links[member.Id] = link;
                HostLog.WanEmulated(logger, _options.NodeId, WanTopology.Location(_options.Self)!, member.Id, WanTopology.Location(member)!, link.RttMilliseconds, link.JitterMilliseconds, link.LossPercent);
            }
        }
        return links;
    }

    /// <summary>Runs a read of the ledger on the applier (which owns it) at the requested consistency, after the blocks before it.</summary>
    public Task<T> ReadAsync<T>(ReadConsistency consistency, Func<LedgerState, T> read) => _host!.ReadAsync(consistency, () => read(_ledger));

    /// <summary>Hands leadership over (this node must lead); completes with the target once this node stepped down.</summary>
    public Task<ulong> TransferLeadershipAsync(ulong target) => _host!.TransferLeadershipAsync(target);

    /// <summary>Proposes a membership change on this node (it must lead); completes once applied.</summary>
    public Task<(ulong Index, Consensus.MembershipConfig Config)> ChangeMembershipAsync(Consensus.MembershipChange change, MemberOptions? record = null, bool fromAdmin = true) => _host!.ChangeMembershipAsync(change, record, fromAdmin);

    /// <summary>The membership in effect on this node.</summary>
    public Consensus.MembershipConfig Membership => _host!.Membership;

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _host!.DisposeAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        _partition?.Dispose();
        await Admission.DisposeAsync().ConfigureAwait(false);
        // The loop, the applier and the peers have stopped: the meter's open interval is final and goes to the next run.
        Carbon.PersistOpenInterval();
        _database.Dispose();
        Metrics.Dispose();
        Stages.Dispose();
        Carbon.Dispose();
    }

    /// <summary>
    /// Verifies, admits and waits for a batch: each transaction ends committed (height, index, receipt), rejected
    /// (reason), or — if the commit timeout passes first — pending, for the client to look up later.
    /// </summary>
    public async Task<SubmitTransactionsResponse> SubmitAsync(SubmissionBatch transactions, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var cpu = Stages.Start();
        var bytes = transactions.Bytes;
        EnterIngress(transactions.Count, bytes); // before the transactions are even indexed
        var batch = new BatchWait(transactions.Count);
        Admission[] verdicts;
        try
        {
            Carbon.AddIngress(bytes);
            var validating = Admission.ValidateAsync(transactions, (v, part) => Admit(v, part, batch));
            Stages.Lap(PipelineStage.Ingress, cpu);
            verdicts = await validating.ConfigureAwait(false);
        }
        finally
        {
            // Every part has been admitted: what did not go on to the loop (refused, answered) leaves the gate now.
            Ingress.Leave(transactions.Count - batch.PassedOn, bytes - batch.PassedOnBytes);
        }
        try
        {
            await batch.Completion.WaitAsync(TimeSpan.FromMilliseconds(_options.CommitTimeoutMilliseconds), ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            AbandonUnanswered(verdicts, batch);
        }
        catch (OperationCanceledException)
        {
            AbandonUnanswered(verdicts, batch);
            throw;
        }
        var latency = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        cpu = Stages.Start();
        var response = new SubmitTransactionsResponse();
        var committed = 0;
        var refusedFull = 0;
        for (var i = 0; i < verdicts.Length; i++)
        {
            var result = Volatile.Read(ref batch.Results[i]) ?? new TransactionResult { TxId = (verdicts[i].Transaction?.Id ?? verdicts[i].Rejection!.Id!.Value).ToString(), State = TransactionState.Pending };
            committed += result.State == TransactionState.Committed ? 1 : 0;
            refusedFull += result.State == TransactionState.Rejected && result.RejectReason == Mempool.FullReason ? 1 : 0;
            response.Results.Add(result);
        }
        if (committed > 0)
        {
            Metrics.CommitLatency.Record(latency);
        }
        Stages.Lap(PipelineStage.Completion, cpu);
        if (refusedFull == verdicts.Length && refusedFull > 0)
        {
            // Nothing of the batch was taken: the whole call is refused, with how long to wait before retrying.
            var retryMs = Math.Max(50, _options.TickMilliseconds * 4);
            throw new RpcException(
                new Status(StatusCode.ResourceExhausted, $"mempool full: retry after {retryMs} ms"),
                new Metadata { { "retry-after-ms", retryMs.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        }
        return response;
    }

    /// <summary>
    /// Lets a call through the ingress gate, or refuses it whole with RESOURCE_EXHAUSTED before anything about it is
    /// remembered: a call larger than the gate can ever hold must be split; otherwise the client retries shortly.
    /// </summary>
    private void EnterIngress(int count, long bytes)
    {
        if (!Ingress.Fits(count, bytes))
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"a call of {count} transactions ({bytes} bytes) is more than this node admits at once ({NodeOptions.Section}:IngressTransactions = {Ingress.MaxTransactions}, {NodeOptions.Section}:IngressBytes = {Ingress.MaxBytes}); send fewer transactions per call"));
        }
        if (!Ingress.TryEnter(count, bytes))
        {
            var retryMs = Math.Max(50, _options.TickMilliseconds * 4);
            throw new RpcException(
                new Status(StatusCode.ResourceExhausted, $"node busy: {Ingress.Transactions} transactions ({Ingress.Bytes} bytes) are waiting for admission (limits {Ingress.MaxTransactions}, {Ingress.MaxBytes} bytes); retry after {retryMs} ms"),
                new Metadata { { "retry-after-ms", retryMs.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        }
    }

    /// <summary>This call stops waiting: its unanswered transactions are forgotten here unless another call waits for them.</summary>
    private void AbandonUnanswered(Admission[] verdicts, BatchWait batch)
    {
        for (var i = 0; i < verdicts.Length; i++)
        {
            // A forged copy that joined the original's wait has no transaction of its own, only the id it joined.
            if (Volatile.Read(ref batch.Results[i]) is null && (verdicts[i].Transaction?.Id ?? verdicts[i].Rejection?.Id) is { } id)
            {
                Tracker.Abandon(id, batch, i);
            }
        }
    }

    /// <summary>
    /// Admission of one shard's part of a call, on that shard (so a sender's transactions reach the loop in order):
    /// refusals answer at once; a transaction already committed answers with its commit; one already waited for
    /// shares that wait; the rest wait for their outcome and go to the consensus loop together.
    /// </summary>
    private void Admit(Admission[] verdicts, List<int> part, BatchWait batch)
    {
        List<VerifiedTransaction>? admitted = null;
        foreach (var i in part)
        {
            var verdict = verdicts[i];
            if (verdict.Outcome == AdmissionOutcome.Rejected)
            {
                // A forged copy of a transaction this node knows is answered as that transaction (its id names the
                // body); otherwise the refusal is this submission's alone and is not recorded against the id.
                if (verdict.Forged && verdict.Rejection!.Id is { } forgedId)
                {
                    if (Store.FindTransaction(forgedId) is { } known)
                    {
                        batch.Skip(i, Committed(forgedId, known));
                        continue;
                    }
                    if (Tracker.Join(forgedId, batch, i))
                    {
                        continue;
                    }
                }
                batch.Skip(i, new TransactionResult
                {
                    TxId = verdict.Rejection!.Id?.ToString() ?? "",
                    State = TransactionState.Rejected,
                    RejectReason = verdict.Rejection.Reason,
                });
                continue;
            }
            // Verified here (or, a duplicate, carrying the bytes verified here before).
            var tx = verdict.Transaction!;
            // Fresh: not admitted here recently, so only the transaction index (bloom-filtered) can know it.
            // Duplicate: admitted here recently — pending (join it), committed, or refused (admit it again).
            if (!Tracker.IsPending(tx.Id) && Store.FindTransaction(tx.Id) is { } at)
            {
                batch.Skip(i, Committed(tx.Id, at));
                continue;
            }
            Tracker.ClearRejection(tx.Id);
            if (Tracker.Wait(tx.Id, batch, i))
            {
                (admitted ??= []).Add(tx);
            }
        }
        if (admitted is not null)
        {
            long bytes = 0;
            foreach (var tx in admitted)
            {
                bytes += tx.Size;
            }
            batch.HandedOn(admitted.Count, bytes);
            _host!.Submit([.. admitted]);
        }
    }

    private TransactionResult Committed(TransactionId id, (ulong Height, uint Index) at) =>
        new() { TxId = id.ToString(), State = TransactionState.Committed, Height = at.Height, Index = at.Index, Receipt = Store.ReadReceipt(at.Height, at.Index) };

    /// <summary>What this node knows of a transaction: committed (from the index), pending, recently rejected, or unknown.</summary>
    public TransactionResult Lookup(TransactionId id)
    {
        if (Store.FindTransaction(id) is { } at)
        {
            return Committed(id, at);
        }
        if (Tracker.IsPending(id))
        {
            return new TransactionResult { TxId = id.ToString(), State = TransactionState.Pending };
        }
        return Tracker.RecentRejection(id) ?? new TransactionResult { TxId = id.ToString(), State = TransactionState.Unknown };
    }
}
