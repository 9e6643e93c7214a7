using System.Net;
using Aurigraph.Consensus;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Ledger;
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
    private readonly ConsensusHost? _host;

    public NodeRuntime(IOptions<NodeOptions> options, ILoggerFactory loggers)
    {
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
        _database = NodeDatabase.Open(Path.GetFullPath(_options.DataDir), _options.ChainId, _options.NodeId);
        var log = new RaftLogStorage(_database);
        var ledger = LoadLedger(genesis, log);
        Verifier = new TransactionVerifier(_options.ChainId, _options.MaxTransactionBytes);
        Tracker = new SubmissionTracker();
        Feed = new BlockFeed();
        var peers = _options.Members.Where(m => m.Id != _options.NodeId).ToDictionary(m => m.Id, m => IPEndPoint.Parse(m.PeerAddress));
        _transport = new PeerTransport(
            _options.NodeId,
            IPEndPoint.Parse(_options.Self.PeerAddress),
            peers,
            new TransportOptions { ClusterId = _options.ChainId },
            loggers.CreateLogger<PeerTransport>());
        Metrics = new NodeMetrics(() => _host!.Snapshot);
        _host = new ConsensusHost(_options, _database, log, ledger, _transport, Verifier, Tracker, Feed, loggers.CreateLogger<ConsensusHost>(), new SeededRandom((ulong)Environment.TickCount64 ^ (_options.NodeId * 0x9E3779B97F4A7C15UL)), Metrics);
    }

    public NodeOptions Options => _options;

    public TransactionVerifier Verifier { get; }

    public SubmissionTracker Tracker { get; }

    public BlockFeed Feed { get; }

    public NodeSnapshot Snapshot => _host!.Snapshot;

    public LedgerStore Store => _host!.Store;

    public NodeMetrics Metrics { get; }

    private LedgerState LoadLedger(Genesis genesis, RaftLogStorage log)
    {
        var store = new LedgerStore(_database.Db, _database.Blocks, _database.TxIndex, _database.Ledger, _database.Meta);
        var loaded = store.Load();
        if (loaded is { } state)
        {
            var ledger = new LedgerState(genesis.ChainId);
            ledger.Load(state.Records, state.Height, state.Hash);
            var applied = log.ReadAppliedIndex();
            HostLog.LedgerRecovered(_logger, _options.NodeId, state.Height, applied);
            return ledger;
        }
        var fresh = LedgerState.FromGenesis(genesis);
        using var batch = new WriteBatch();
        store.AddGenesis(batch, fresh);
        _database.Db.Write(batch, _database.SyncWrite);
        HostLog.LedgerInitialised(_logger, _options.NodeId, fresh.AccountCount);
        return fresh;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _transport.StartAsync(cancellationToken).ConfigureAwait(false);
        _host!.Start();
        HostLog.Started(_logger, _options.NodeId, _options.Role, _options.Self.PeerAddress, _options.Self.ApiAddress);
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _host!.DisposeAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        _database.Dispose();
        Metrics.Dispose();
    }

    /// <summary>
    /// Verifies, admits and waits for a batch: each transaction ends committed (height, index, receipt), rejected
    /// (reason), or — if the commit timeout passes first — pending, for the client to look up later.
    /// </summary>
    public async Task<SubmitTransactionsResponse> SubmitAsync(IReadOnlyList<SignedTransaction> transactions, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var results = new TransactionResult?[transactions.Count];
        var waits = new Task<TransactionResult>?[transactions.Count];
        var verified = new VerifiedTransaction?[transactions.Count];
        var rejections = new TransactionRejection?[transactions.Count];
        var checkSignatures = _options.SignatureMode == SignatureMode.Ed25519;
        if (transactions.Count >= 64)
        {
            Parallel.For(0, transactions.Count, i => (verified[i], rejections[i]) = Verifier.Verify(transactions[i].Body.Memory, transactions[i].Signature.Memory, checkSignatures));
        }
        else
        {
            for (var i = 0; i < transactions.Count; i++)
            {
                (verified[i], rejections[i]) = Verifier.Verify(transactions[i].Body.Memory, transactions[i].Signature.Memory, checkSignatures);
            }
        }
        var admitted = new List<VerifiedTransaction>(transactions.Count);
        for (var i = 0; i < transactions.Count; i++)
        {
            if (verified[i] is not { } tx)
            {
                results[i] = new TransactionResult
                {
                    TxId = rejections[i]!.Id?.ToString() ?? "",
                    State = TransactionState.Rejected,
                    RejectReason = rejections[i]!.Reason,
                };
                continue;
            }
            if (Lookup(tx.Id) is { State: TransactionState.Committed } committed)
            {
                results[i] = committed; // a resubmission of a committed transaction answers with its commit
                continue;
            }
            Tracker.ClearRejection(tx.Id);
            var alreadyPending = Tracker.IsPending(tx.Id);
            waits[i] = Tracker.Wait(tx.Id);
            if (!alreadyPending)
            {
                admitted.Add(tx);
            }
        }
        if (admitted.Count > 0)
        {
            _host!.Submit([.. admitted]);
        }
        var pending = waits.Where(w => w is not null).Cast<Task>().ToArray();
        try
        {
            await Task.WhenAll(pending).WaitAsync(TimeSpan.FromMilliseconds(_options.CommitTimeoutMilliseconds), ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        var latency = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var response = new SubmitTransactionsResponse();
        foreach (var wait in waits)
        {
            if (wait is { IsCompletedSuccessfully: true } && wait.Result.State == TransactionState.Committed)
            {
                Metrics.CommitLatency.Record(latency);
            }
        }
        for (var i = 0; i < transactions.Count; i++)
        {
            response.Results.Add(results[i] ?? (waits[i]!.IsCompletedSuccessfully
                ? waits[i]!.Result
                : new TransactionResult { TxId = verified[i]!.Id.ToString(), State = TransactionState.Pending }));
        }
        if (response.Results.Count > 0 && response.Results.All(r => r.State == TransactionState.Rejected && r.RejectReason == Mempool.FullReason))
        {
            // Nothing of the batch was taken: the whole call is refused, with how long to wait before retrying.
            var retryMs = Math.Max(50, _options.TickMilliseconds * 4);
            throw new RpcException(
                new Status(StatusCode.ResourceExhausted, $"mempool full: retry after {retryMs} ms"),
                new Metadata { { "retry-after-ms", retryMs.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        }
        return response;
    }

    /// <summary>What this node knows of a transaction: committed (from the index), pending, recently rejected, or unknown.</summary>
    public TransactionResult Lookup(TransactionId id)
    {
        if (Store.FindTransaction(id) is { } at)
        {
            var receipt = Store.ReadReceipt(at.Height, at.Index);
            return new TransactionResult { TxId = id.ToString(), State = TransactionState.Committed, Height = at.Height, Index = at.Index, Receipt = receipt };
        }
        if (Tracker.IsPending(id))
        {
            return new TransactionResult { TxId = id.ToString(), State = TransactionState.Pending };
        }
        return Tracker.RecentRejection(id) ?? new TransactionResult { TxId = id.ToString(), State = TransactionState.Unknown };
    }
}
