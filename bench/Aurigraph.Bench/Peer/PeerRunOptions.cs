using System.Text.Json.Serialization;

namespace Aurigraph.Bench.Peer;

/// <summary>Which members the workers send to.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PeerTarget>))]
public enum PeerTarget
{
    /// <summary>Every member, worker w to member w mod n (followers forward to the leader, as clients see it).</summary>
    All,

    /// <summary>The leader only (found before the run).</summary>
    Leader,
}

/// <summary>How puts are grouped into requests.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PeerMode>))]
public enum PeerMode
{
    /// <summary>One put per request (etcd: KV.Put).</summary>
    Put,

    /// <summary>The system's own largest atomic batch per request (etcd: KV.Txn with up to --max-txn-ops puts).</summary>
    Batch,
}

/// <summary>
/// The workload shape of a peer run, independent of the system under test, so the same shape can drive another
/// store (or our own node) for a side-by-side report. Every option lands in the report beside the figures.
/// </summary>
public sealed record PeerRunOptions
{
    /// <summary>Bytes in every value.</summary>
    public int ValueBytes { get; init; } = 128;

    /// <summary>Requests in flight at once: one closed-loop worker each.</summary>
    public int Concurrency { get; init; } = 64;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Run before the timed phase; nothing completing in it is counted.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Distinct keys over all workers (`bench/{worker}/{n}`); each worker cycles through its own share.</summary>
    public int Keys { get; init; } = 131_072;

    public PeerTarget Target { get; init; } = PeerTarget.All;

    /// <summary>Modes to run, in order.</summary>
    public IReadOnlyList<PeerMode> Modes { get; init; } = [PeerMode.Put, PeerMode.Batch];

    /// <summary>Puts per batched request; etcd refuses a Txn with more operations than its --max-txn-ops (default 128).</summary>
    public int BatchOps { get; init; } = 128;

    /// <summary>A request not answered within this counts as an error (DeadlineExceeded).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Members of the cluster a run starts.</summary>
    public int Members { get; init; } = 3;

    /// <summary>First loopback port of the cluster a run starts: member i listens for clients on base + 2i and for peers on base + 2i + 1.</summary>
    public int PortBase { get; init; } = 23790;

    /// <summary>Folder in which the started cluster gets a fresh subfolder for its data (removed afterwards); null: bench/.peer-data in the repository (the project's disk).</summary>
    public string? DataRoot { get; init; }

    public void Validate()
    {
        if (ValueBytes < 0 || Concurrency < 1 || Duration <= TimeSpan.Zero || Warmup < TimeSpan.Zero || BatchOps < 1 || Members < 1)
        {
            throw new ArgumentException("value size must be >= 0; concurrency, batch size and members >= 1; duration > 0; warm-up >= 0");
        }
        if (Keys / Concurrency < 1)
        {
            throw new ArgumentException($"--keys ({Keys}) must give every one of the {Concurrency} workers at least one key");
        }
        if (Modes.Contains(PeerMode.Batch) && Keys / Concurrency < BatchOps)
        {
            // A batch must not name one key twice (etcd refuses a Txn that modifies a key more than once).
            throw new ArgumentException($"--keys ({Keys}) must give every one of the {Concurrency} workers at least --batch-ops ({BatchOps}) keys");
        }
        if (PortBase < 1024 || PortBase + (2 * Members) > 65535)
        {
            throw new ArgumentException($"--port-base {PortBase} leaves no room for {Members} members");
        }
    }
}

/// <summary>The figures of one mode of a peer run.</summary>
public sealed record PeerRunResult
{
    /// <summary>The system measured, e.g. "etcd".</summary>
    public required string System { get; init; }

    /// <summary>What the system reports about itself (for etcd: `etcd --version`).</summary>
    public required string Version { get; init; }

    public required PeerMode Mode { get; init; }

    /// <summary>The request carrying the puts, e.g. "KV.Put" or "KV.Txn of 128 puts".</summary>
    public required string Request { get; init; }

    public required PeerTarget Target { get; init; }

    /// <summary>Puts acknowledged as committed within the timed phase.</summary>
    public required long Puts { get; init; }

    /// <summary>Requests answered successfully within the timed phase.</summary>
    public required long Requests { get; init; }

    /// <summary>Length of the timed phase.</summary>
    public required double Seconds { get; init; }

    public double PutsPerSecond => Seconds > 0 ? Puts / Seconds : 0;

    public double RequestsPerSecond => Seconds > 0 ? Requests / Seconds : 0;

    /// <summary>Request latency (send → committed answer) percentiles, one sample per request.</summary>
    public required LatencyPercentiles PerRequest { get; init; }

    /// <summary>The same latencies weighted by the puts each request carried: how long a put waited to be committed.</summary>
    public required LatencyPercentiles PerPut { get; init; }

    /// <summary>Requests that failed within the timed phase, by reason.</summary>
    public required IReadOnlyDictionary<string, long> Errors { get; init; }

    /// <summary>Requests that failed during the warm-up, by reason (not in <see cref="Errors"/>).</summary>
    public required IReadOnlyDictionary<string, long> WarmupErrors { get; init; }

    /// <summary>Requests still unanswered when the timed phase ended (not counted).</summary>
    public long InFlightAtEnd { get; init; }
}

/// <summary>Latency percentiles in milliseconds (all 0 when nothing was recorded).</summary>
public sealed record LatencyPercentiles(double P50Ms, double P90Ms, double P99Ms, double P999Ms, double MaxMs, double MeanMs, long Samples)
{
    public static LatencyPercentiles From(LatencyHistogram h)
    {
        ArgumentNullException.ThrowIfNull(h);
        if (h.Count == 0)
        {
            return new LatencyPercentiles(0, 0, 0, 0, 0, 0, 0);
        }
        return new LatencyPercentiles(
            h.ValueAtQuantileMs(0.50),
            h.ValueAtQuantileMs(0.90),
            h.ValueAtQuantileMs(0.99),
            h.ValueAtQuantileMs(0.999),
            h.MaxMicros / 1000.0,
            h.MeanMicros / 1000.0,
            h.Count);
    }
}
