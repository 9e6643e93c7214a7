namespace Aurigraph.Client;

/// <summary>How an <see cref="AurigraphClient"/> reaches the cluster.</summary>
public sealed class AurigraphClientOptions
{
    /// <summary>
    /// The nodes' gRPC API addresses (<c>http://host:port</c> for a plaintext devnet, <c>https://</c> otherwise), in the
    /// order to try them. Any node takes any call (a follower forwards submissions to the leader); the client prefers the
    /// leader for submissions once a node's status has named it, and fails over along the list.
    /// </summary>
    public IList<string> Nodes { get; } = [];

    /// <summary>For https nodes: the CA to trust (e.g. the devnet's <c>certs/ca.pem</c>) and an optional client certificate.</summary>
    public ClientTls Tls { get; set; } = ClientTls.None;

    /// <summary>
    /// The deadline of each call. A submission waits on the node for its commit up to the node's commit timeout
    /// (<c>Aurigraph:CommitTimeoutMilliseconds</c>, 10 s by default) before answering pending, so keep this above it.
    /// </summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often and how patiently calls are retried.</summary>
    public AurigraphRetryPolicy Retry { get; set; } = new();

    /// <summary>How long a node that failed to answer is tried only after the others.</summary>
    public TimeSpan FailedNodeBackoff { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Retries of a call: after a node failure (connection refused or reset, deadline passed; the next node is tried at
/// once), a node that cannot answer yet (<c>UNAVAILABLE</c>: no leader known, read not confirmed), a full mempool
/// (<c>RESOURCE_EXHAUSTED</c> with its <c>retry-after-ms</c>), or a transaction still pending. Waits grow exponentially
/// from <see cref="Delay"/> to <see cref="MaxDelay"/>, with jitter.
/// </summary>
public sealed class AurigraphRetryPolicy
{
    /// <summary>Attempts in all, the first included (at least 1).</summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>The first wait between attempts.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between attempts.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The wait before attempt <paramref name="failures"/> + 1 (no jitter), for loops outside the retry pipeline.</summary>
    internal TimeSpan Backoff(int failures) =>
        TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, Delay.Ticks * (1L << Math.Clamp(failures - 1, 0, 20))));
}
