using System.Diagnostics;
using Grpc.Core;

namespace Aurigraph.Bench.Peer;

/// <summary>
/// Sends one prepared request and returns how many puts its answer confirms committed; throws when the request
/// failed. <paramref name="sequence"/> counts the worker's requests from 0 (pick the prepared request with it).
/// </summary>
public delegate Task<int> PeerRequest(int worker, long sequence, CancellationToken ct);

/// <summary>What <see cref="WorkloadDriver"/> measured in one mode.</summary>
public sealed record WorkloadMeasurement(
    long Puts,
    long Requests,
    double Seconds,
    LatencyHistogram PerRequest,
    LatencyHistogram PerPut,
    IReadOnlyDictionary<string, long> Errors,
    IReadOnlyDictionary<string, long> WarmupErrors,
    long InFlightAtEnd);

/// <summary>
/// The closed loop shared by every peer run: <see cref="PeerRunOptions.Concurrency"/> workers, each sending its next
/// request as soon as the previous one is answered, for the warm-up and then the timed phase. A request counts
/// when its answer arrives inside the timed phase; its latency is send → answer, from Stopwatch timestamps.
/// Requests still in flight when the timed phase ends are waited for and not counted.
/// </summary>
public static class WorkloadDriver
{
    private static readonly TimeSpan ErrorBackoff = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(2);

    public static async Task<WorkloadMeasurement> RunAsync(string label, PeerRunOptions options, PeerRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(request);
        var workers = new Worker[options.Concurrency];
        long okPutsAnyPhase = 0;
        var start = Stopwatch.GetTimestamp();
        var warmupEnd = start + ToTicks(options.Warmup);
        var end = warmupEnd + ToTicks(options.Duration);

        async Task RunWorker(int w)
        {
            var me = workers[w] = new Worker();
            for (long sequence = 0; Stopwatch.GetTimestamp() < end; sequence++)
            {
                ct.ThrowIfCancellationRequested();
                var sent = Stopwatch.GetTimestamp();
                var puts = 0;
                string? error = null;
                try
                {
                    puts = await request(w, sequence, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    error = Reason(ex);
                }
                var answered = Stopwatch.GetTimestamp();
                if (answered >= end)
                {
                    me.InFlightAtEnd++;
                }
                else if (error is not null)
                {
                    var into = answered < warmupEnd ? me.WarmupErrors : me.Errors;
                    into[error] = into.GetValueOrDefault(error) + 1;
                }
                else if (answered >= warmupEnd)
                {
                    var micros = LatencyHistogram.TicksToMicros(answered - sent);
                    me.PerRequest.Record(micros);
                    me.PerPut.Record(micros, puts);
                    me.Requests++;
                    me.Puts += puts;
                }
                if (error is null)
                {
                    Interlocked.Add(ref okPutsAnyPhase, puts);
                }
                else
                {
                    await Task.Delay(ErrorBackoff, ct).ConfigureAwait(false);
                }
            }
        }

        var all = Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(w => Task.Run(() => RunWorker(w), ct)));
        long lastPuts = 0;
        var lastAt = start;
        // A progress line every ProgressEvery until every worker is done.
        using (var progress = new PeriodicTimer(ProgressEvery))
        {
            while (!all.IsCompleted && !ct.IsCancellationRequested)
            {
                await Task.WhenAny(all, progress.WaitForNextTickAsync(CancellationToken.None).AsTask()).ConfigureAwait(false);
                var now = Stopwatch.GetTimestamp();
                var puts = Interlocked.Read(ref okPutsAnyPhase);
                var rate = (puts - lastPuts) / Math.Max(1e-3, Stopwatch.GetElapsedTime(lastAt, now).TotalSeconds);
                (lastPuts, lastAt) = (puts, now);
                var phase = now < warmupEnd ? "warm-up" : now < end ? "timed" : "draining";
                PeerConsole.Info($"{label}  {Stopwatch.GetElapsedTime(start, now).TotalSeconds,5:F1} s  {phase,-8} {rate,10:N0} puts/s");
            }
        }
        try
        {
            await all.ConfigureAwait(false);
        }
        catch (RpcException ex) when (ct.IsCancellationRequested && ex.StatusCode == StatusCode.Cancelled)
        {
            throw new OperationCanceledException("the run was cancelled", ex, ct);
        }

        var perRequest = new LatencyHistogram();
        var perPut = new LatencyHistogram();
        var errors = new Dictionary<string, long>();
        var warmupErrors = new Dictionary<string, long>();
        long totalPuts = 0, requests = 0, inFlight = 0;
        foreach (var w in workers)
        {
            perRequest.Add(w.PerRequest);
            perPut.Add(w.PerPut);
            totalPuts += w.Puts;
            requests += w.Requests;
            inFlight += w.InFlightAtEnd;
            Merge(errors, w.Errors);
            Merge(warmupErrors, w.WarmupErrors);
        }
        return new WorkloadMeasurement(totalPuts, requests, options.Duration.TotalSeconds, perRequest, perPut, errors, warmupErrors, inFlight);
    }

    /// <summary>An error's reason as the report lists it: gRPC status and detail, or the exception's type and message.</summary>
    public static string Reason(Exception ex) => ex switch
    {
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

    private static long ToTicks(TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);

    private static void Merge(Dictionary<string, long> into, Dictionary<string, long> from)
    {
        foreach (var (k, v) in from)
        {
            into[k] = into.GetValueOrDefault(k) + v;
        }
    }

    private sealed class Worker
    {
        public LatencyHistogram PerRequest { get; } = new();

        public LatencyHistogram PerPut { get; } = new();

        public Dictionary<string, long> Errors { get; } = [];

        public Dictionary<string, long> WarmupErrors { get; } = [];

        public long Puts { get; set; }

        public long Requests { get; set; }

        public long InFlightAtEnd { get; set; }
    }
}
