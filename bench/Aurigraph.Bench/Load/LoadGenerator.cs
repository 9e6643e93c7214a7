using System.Diagnostics;
using Aurigraph.Bench.Peer;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Grpc.Core;
using Grpc.Net.Client;
using Spectre.Console;

namespace Aurigraph.Bench.Load;

/// <summary>What to run: every option lands in the report beside the figures.</summary>
public sealed record LoadOptions
{
    /// <summary>gRPC addresses of the nodes to submit to (round-robin across workers).</summary>
    public required IReadOnlyList<string> Targets { get; init; }

    public string ChainId { get; init; } = "aurigraph-devnet";

    /// <summary>Target size of each serialized transaction body (a key/value put padded to this size).</summary>
    public int BodyBytes { get; init; } = 128;

    /// <summary>
    /// Offered load in transactions per second (0: closed loop, each worker sends its next call when the last returns).
    /// With a rate each worker sends on a fixed schedule and a call's latency counts from when it was due, so a cluster
    /// that falls behind shows its queueing in the percentiles.
    /// </summary>
    public double RatePerSecond { get; init; }

    /// <summary>First port of a devnet the run starts (each node takes a few above it).</summary>
    public int BasePort { get; init; } = 27_100;

    /// <summary>Distinct sending accounts; each one's transactions stay in nonce order on one worker.</summary>
    public int Senders { get; init; } = 1024;

    /// <summary>Transactions per SubmitTransactions call.</summary>
    public int BatchSize { get; init; } = 200;

    /// <summary>Calls in flight at once (one worker each).</summary>
    public int Concurrency { get; init; } = 16;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Transactions signed before the timed phase; the run stops early if they run out.</summary>
    public int Transactions { get; init; } = 300_000;

    /// <summary>Signature mode the cluster runs in (stated in every report).</summary>
    public string SignatureMode { get; init; } = "ed25519";

    /// <summary>Whether the devnet's validators meter carbon (Aurigraph:Carbon:Metering); stated in the report.</summary>
    public bool Metering { get; init; } = true;

    /// <summary>Whether the devnet's peers run mutual TLS (the default) or plaintext (Aurigraph:Transport:Insecure); stated in the report.</summary>
    public bool PeerTls { get; init; } = true;

    /// <summary>With a devnet: the locations its validators are spread over, with WAN emulation between them (none: no emulation); stated in the report.</summary>
    public IReadOnlyList<string> WanClouds { get; init; } = [];

    /// <summary>With a devnet: the validator leadership is handed to before the run (0: wherever the election put it); stated in the report.</summary>
    public ulong Leader { get; init; }

    /// <summary>
    /// With a devnet: carbon-aware leader placement's hold in seconds (Aurigraph:LeaderPlacement, checks every second);
    /// 0: placement off. Stated in the report.
    /// </summary>
    public int PlacementHoldSeconds { get; init; }

    /// <summary>The node that led when the timed phase ended (read after the run; 0: unknown).</summary>
    public ulong LeaderAtEnd { get; init; }
}

/// <summary>The figures of one run.</summary>
public sealed record LoadResult(
    double Seconds,
    long Committed,
    double CommittedPerSecond,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double P999Ms,
    IReadOnlyDictionary<string, long> Rejections,
    IReadOnlyDictionary<string, long> Errors,
    IReadOnlyList<NodeUsage> Nodes,
    bool RanOutOfTransactions)
{
    /// <summary>What the cluster's carbon records added during the run (read from the leader's carbon stats), when read.</summary>
    public CarbonFigure? Carbon { get; init; }
}

/// <summary>
/// Drives a running cluster with pre-signed transactions: workers each own a slice of the senders and submit
/// batches one call at a time (so every sender's nonces arrive in order), for a warm-up and then a timed phase.
/// A transaction counts when its call returns it committed inside the timed phase; its latency is its call's
/// submit→commit time.
/// </summary>
public static class LoadGenerator
{
    public static async Task<LoadResult> RunAsync(LoadOptions options, Func<IReadOnlyList<int>> nodePids, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        var batches = Prepare(options);
        var channels = options.Targets.Select(t => GrpcChannel.ForAddress(t, new GrpcChannelOptions { MaxSendMessageSize = 64 << 20, MaxReceiveMessageSize = 64 << 20 })).ToArray();
        var clients = channels.Select(c => new TransactionService.TransactionServiceClient(c)).ToArray();
        // One histogram per worker (no sharing on the hot path), merged at the end; the same recorder the peer runs use.
        var latencies = new LatencyHistogram[options.Concurrency];
        var rejections = new Dictionary<string, long>();
        var errors = new Dictionary<string, long>();
        long committed = 0, committedTotal = 0;
        var ranOut = false;
        var probe = new NodeProbe(nodePids());
        var clock = Stopwatch.StartNew();
        var warmupEnd = options.Warmup;
        var end = options.Warmup + options.Duration;
        TimeSpan? measuredFrom = null;

        async Task Worker(int w)
        {
            latencies[w] = new LatencyHistogram();
            var client = clients[w % clients.Length];
            // Open loop: worker w's calls are due every `interval`, the workers spread evenly over one interval.
            var interval = options.RatePerSecond > 0 ? TimeSpan.FromSeconds(options.BatchSize * options.Concurrency / options.RatePerSecond) : TimeSpan.Zero;
            var due = clock.Elapsed + (interval * w / Math.Max(1, options.Concurrency));
            foreach (var request in batches[w])
            {
                if (clock.Elapsed >= end || ct.IsCancellationRequested)
                {
                    return;
                }
                var started = Stopwatch.GetTimestamp();
                if (interval > TimeSpan.Zero)
                {
                    var wait = due - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, ct); // pacing of the offered load, not synchronisation
                    }
                    // Late calls count from when they were due.
                    started = Stopwatch.GetTimestamp() - (long)(Math.Max(0, (clock.Elapsed - due).TotalSeconds) * Stopwatch.Frequency);
                    due += interval;
                }
                SubmitTransactionsResponse response;
                try
                {
                    response = await client.SubmitTransactionsAsync(request, cancellationToken: ct);
                }
                catch (RpcException ex)
                {
                    lock (errors)
                    {
                        var key = $"{ex.StatusCode}: {ex.Status.Detail}";
                        errors[key] = errors.GetValueOrDefault(key) + 1;
                    }
                    // A refused batch breaks its senders' nonce sequence: this worker stops rather than send gaps.
                    return;
                }
                var answered = Stopwatch.GetTimestamp();
                var inWindow = clock.Elapsed >= warmupEnd && clock.Elapsed < end;
                var ok = 0;
                foreach (var r in response.Results)
                {
                    if (r.State == TransactionState.Committed)
                    {
                        ok++;
                    }
                    else
                    {
                        var key = r.State == TransactionState.Rejected ? r.RejectReason : r.State.ToString();
                        lock (rejections)
                        {
                            rejections[key] = rejections.GetValueOrDefault(key) + 1;
                        }
                    }
                }
                Interlocked.Add(ref committedTotal, ok);
                if (inWindow)
                {
                    Interlocked.Add(ref committed, ok);
                    latencies[w].Record(LatencyHistogram.TicksToMicros(answered - started), ok);
                }
                if (ok < response.Results.Count)
                {
                    return; // as above: later nonces of these senders would only be refused
                }
            }
            ranOut = true;
        }

        var workers = Enumerable.Range(0, options.Concurrency).Select(w => Task.Run(() => Worker(w), ct)).ToArray();
        var all = Task.WhenAll(workers);
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var bar = progress.AddTask("warm-up", maxValue: end.TotalSeconds);
                long lastCount = 0;
                var lastTime = TimeSpan.Zero;
                // Refresh the progress line twice a second until every worker is done.
                using var refresh = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
                while (!all.IsCompleted)
                {
                    await Task.WhenAny(all, refresh.WaitForNextTickAsync(ct).AsTask());
                    var now = clock.Elapsed;
                    if (measuredFrom is null && now >= warmupEnd)
                    {
                        measuredFrom = now;
                        probe.Start();
                    }
                    else if (measuredFrom is not null && now >= end)
                    {
                        probe.Stop();
                    }
                    var total = Interlocked.Read(ref committedTotal);
                    var rate = (total - lastCount) / Math.Max(0.001, (now - lastTime).TotalSeconds);
                    lastCount = total;
                    lastTime = now;
                    bar.Description = $"{(now < warmupEnd ? "warm-up" : "timed")}  {rate,9:N0} tx/s  committed {total,10:N0}";
                    bar.Value = Math.Min(now.TotalSeconds, end.TotalSeconds);
                    probe.Sample();
                }
                bar.Value = end.TotalSeconds;
            });
        await all;
        var seconds = Math.Min(clock.Elapsed.TotalSeconds, end.TotalSeconds) - options.Warmup.TotalSeconds;
        foreach (var channel in channels)
        {
            channel.Dispose();
        }
        var merged = new LatencyHistogram();
        foreach (var h in latencies.Where(h => h is not null))
        {
            merged.Add(h);
        }
        return new LoadResult(
            seconds,
            committed,
            seconds > 0 ? committed / seconds : 0,
            Percentile(merged, 0.50),
            Percentile(merged, 0.90),
            Percentile(merged, 0.99),
            Percentile(merged, 0.999),
            rejections,
            errors,
            probe.Finish(),
            ranOut);
    }

    private static double Percentile(LatencyHistogram h, double q) => h.Count == 0 ? double.NaN : h.ValueAtQuantileMicros(q) / 1000.0;

    /// <summary>Signs every transaction before anything is timed; returns each worker's batches in submission order.</summary>
    private static List<SubmitTransactionsRequest>[] Prepare(LoadOptions options)
    {
        if (options.Senders < options.Concurrency)
        {
            throw new ArgumentException("--senders must be at least --concurrency (each worker owns its senders)");
        }
        var senders = new TransactionSigner[options.Senders];
        Parallel.For(0, senders.Length, i => senders[i] = TransactionSigner.Generate());
        var perSender = (options.Transactions + options.Senders - 1) / options.Senders;
        var probe = senders[0].Put(options.ChainId, 0, "k/00000000"u8, []);
        var padding = Math.Max(0, options.BodyBytes - probe.Body.Length - 2);
        var signed = new SignedTransaction[options.Senders][];
        AnsiConsole.MarkupLine($"[grey]signing {perSender * options.Senders:N0} transactions ({options.BodyBytes}-byte bodies) before the timed phase...[/]");
        Parallel.For(0, options.Senders, s =>
        {
            var value = new byte[padding];
            var list = new SignedTransaction[perSender];
            for (var n = 0; n < perSender; n++)
            {
                var key = System.Text.Encoding.ASCII.GetBytes($"k/{s:x4}{n:x4}");
                list[n] = senders[s].Put(options.ChainId, (ulong)n, key, value);
            }
            signed[s] = list;
        });
        foreach (var s in senders)
        {
            s.Dispose();
        }

        // Worker w owns senders w, w + C, w + 2C, ...; its batches take each sender's next nonces in turn.
        var batches = new List<SubmitTransactionsRequest>[options.Concurrency];
        for (var w = 0; w < options.Concurrency; w++)
        {
            var own = Enumerable.Range(0, options.Senders).Where(s => s % options.Concurrency == w).ToArray();
            var list = new List<SubmitTransactionsRequest>();
            var request = new SubmitTransactionsRequest();
            for (var n = 0; n < perSender; n++)
            {
                foreach (var s in own)
                {
                    request.Transactions.Add(signed[s][n]);
                    if (request.Transactions.Count == options.BatchSize)
                    {
                        list.Add(request);
                        request = new SubmitTransactionsRequest();
                    }
                }
            }
            if (request.Transactions.Count > 0)
            {
                list.Add(request);
            }
            batches[w] = list;
        }
        return batches;
    }
}
