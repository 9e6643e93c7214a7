using System.Globalization;
using Aurigraph.Node.Api.V1;
using Grpc.Core;
using Polly;
using Polly.Retry;

namespace Aurigraph.Client;

/// <summary>
/// A client of an Aurigraph cluster over its gRPC API: submissions that wait for their commit and retry the same signed
/// bytes, reads at a chosen consistency, block subscriptions that resume, all failing over along the node list.
/// Thread-safe; one per application is enough. Dispose it to close its connections.
/// </summary>
public sealed partial class AurigraphClient : IDisposable
{
    private readonly AurigraphClientOptions _options;
    private readonly NodeRouter _router;
    private readonly ResiliencePipeline _retry;
    private long _lastDiscovery;
    private string? _chainId;

    /// <summary>A client of the nodes in <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">No node address given, or a retry setting out of range.</exception>
    /// <exception cref="InvalidDataException">A TLS file cannot be read.</exception>
    public AurigraphClient(AurigraphClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Retry.MaxAttempts < 1)
        {
            throw new ArgumentException("Retry.MaxAttempts must be at least 1", nameof(options));
        }
        _options = options;
        _router = new NodeRouter(options.Nodes, options.Tls, options.FailedNodeBackoff);
        var retry = options.Retry;
        _retry = retry.MaxAttempts == 1 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = retry.MaxAttempts - 1,
                Delay = retry.Delay,
                MaxDelay = retry.MaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<RetryableException>(),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is RetryableException { Delay: { } delay } ? delay : (TimeSpan?)null),
            })
            .Build();
    }

    /// <summary>A client of <paramref name="nodes"/> (gRPC addresses) with the default settings.</summary>
    public AurigraphClient(params string[] nodes)
        : this(Options(nodes))
    {
    }

    /// <summary>The node addresses, in the order they are tried.</summary>
    public IReadOnlyList<string> Nodes => [.. _router.Endpoints.Select(e => e.Address)];

    /// <summary>The address of the node a status last named the leader (submissions go there first); null while none is known.</summary>
    public string? KnownLeader => _router.Leader?.Address;

    /// <summary>Closes the connections.</summary>
    public void Dispose() => _router.Dispose();

    private static AurigraphClientOptions Options(string[] nodes)
    {
        var options = new AurigraphClientOptions();
        foreach (var node in nodes)
        {
            options.Nodes.Add(node);
        }
        return options;
    }

    private CallOptions CallOptions(CancellationToken ct) => new(deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: ct);

    /// <summary>
    /// Runs <paramref name="call"/> on the node the router picks, retried under the policy on another node after a node
    /// failure and on the same after a transient refusal; the last error, typed, when every attempt failed.
    /// </summary>
    private async Task<T> CallAsync<T>(Func<NodeRouter.Endpoint, CallOptions, Task<T>> call, bool preferLeader, CancellationToken ct)
    {
        var failures = new Dictionary<string, string>();
        try
        {
            return await _retry.ExecuteAsync(async token =>
            {
                var endpoint = _router.Next(preferLeader);
                try
                {
                    var result = await call(endpoint, CallOptions(token)).ConfigureAwait(false);
                    _router.Answered(endpoint);
                    return result;
                }
                catch (RpcException ex)
                {
                    throw Classify(endpoint, ex, failures, token);
                }
            }, ct).ConfigureAwait(false);
        }
        catch (RetryableException ex)
        {
            throw ex.Final;
        }
    }

    /// <summary>
    /// What a failed call means: a node failure (it goes to the back; the next node at once), a transient refusal
    /// (retried after the policy's or the node's wait), or a final error (thrown as is).
    /// </summary>
    private Exception Classify(NodeRouter.Endpoint endpoint, RpcException ex, Dictionary<string, string> failures, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return new OperationCanceledException("the call was cancelled", ex, ct);
        }
        if (IsNodeFailure(ex))
        {
            _router.Failed(endpoint);
            failures[endpoint.Address] = $"{ex.StatusCode}: {ex.Status.Detail}";
            return new RetryableException(new NoNodeAvailableException(new Dictionary<string, string>(failures), ex), _router.AnyLive ? TimeSpan.Zero : null);
        }
        var typed = AurigraphException.From(ex);
        switch (ex.StatusCode)
        {
            case StatusCode.Unavailable:
                return new RetryableException(typed, null);
            case StatusCode.ResourceExhausted when RetryAfter(ex) is { } wait:
                return new RetryableException(typed, wait);
            case StatusCode.FailedPrecondition when typed.LeaderHint is { } leader && _router.PreferAddress(leader):
                return new RetryableException(typed, TimeSpan.Zero);
            default:
                return typed;
        }
    }

    /// <summary>
    /// The node did not answer: the connection failed (refused, reset, TLS), or the deadline passed. UNAVAILABLE that a
    /// node answered itself (no leader known, read not confirmed) is not a node failure: the node is up.
    /// </summary>
    private static bool IsNodeFailure(RpcException ex) =>
        ex.StatusCode == StatusCode.DeadlineExceeded
        || (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled
            && ex.Status.DebugException is HttpRequestException or IOException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException or ObjectDisposedException);

    private static TimeSpan? RetryAfter(RpcException ex) =>
        ex.Trailers.GetValue("retry-after-ms") is { } text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? TimeSpan.FromMilliseconds(ms)
            : null;

    /// <summary>
    /// Asks for statuses until the leader's address is known, at most every half second: from the node the router
    /// picks, then, if the leader is a node whose address is not matched yet, from the nodes not yet identified.
    /// Best effort: a node that does not answer is marked failed and the call goes on.
    /// </summary>
    private async Task DiscoverLeaderAsync(CancellationToken ct)
    {
        var now = Environment.TickCount64;
        if (!_router.LeaderUnknown || now - Interlocked.Read(ref _lastDiscovery) < 500)
        {
            return;
        }
        Interlocked.Exchange(ref _lastDiscovery, now);
        await StatusOfAsync(_router.Next(preferLeader: false), ct).ConfigureAwait(false);
        if (_router.LeaderAddressUnknown)
        {
            await Task.WhenAll(_router.Unidentified().Select(e => StatusOfAsync(e, ct))).ConfigureAwait(false);
        }
    }

    private async Task<NodeStatus?> StatusOfAsync(NodeRouter.Endpoint endpoint, CancellationToken ct)
    {
        try
        {
            var status = await endpoint.Node.GetStatusAsync(new GetStatusRequest(), CallOptions(ct)).ConfigureAwait(false);
            _router.Learn(endpoint, status);
            return status;
        }
        catch (RpcException ex) when (!ct.IsCancellationRequested)
        {
            if (IsNodeFailure(ex))
            {
                _router.Failed(endpoint);
            }
            return null;
        }
    }

    /// <summary>A failed attempt the retry pipeline retries; <see cref="Final"/> is what the caller sees if none is left.</summary>
    private sealed class RetryableException(AurigraphException final, TimeSpan? delay) : Exception(final.Message, final)
    {
        public AurigraphException Final { get; } = final;

        /// <summary>The wait before the next attempt; null: the policy's backoff.</summary>
        public TimeSpan? Delay { get; } = delay;
    }
}
