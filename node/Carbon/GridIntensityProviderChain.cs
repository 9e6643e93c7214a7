using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// Grid intensity for the node's regions from a chain of providers — Electricity Maps when a key is set, WattTime next,
/// the embedded static table last — cached per zone, retried with exponential back-off, bounded by timeouts.
/// </summary>
/// <remarks>
/// <para><see cref="Current(CloudRegion)"/> never blocks and never fails: it returns the latest live figure held for the
/// region's zone (while younger than <see cref="GridIntensityOptions.MaxAge"/>) or else the static table's figure.</para>
/// <para><see cref="RefreshAsync(CloudRegion, CancellationToken)"/> is driven by the host (see <see cref="GridIntensityRefresher"/>):
/// it asks the providers at most once per <see cref="GridIntensityOptions.CacheDuration"/> per zone, and only when the held
/// figure is older than that. A provider's outage costs the refresh its timeouts, never the caller of <c>Current</c>.</para>
/// <para>All time — cache ages, back-off delays, timeouts — comes from the injected <see cref="TimeProvider"/>.</para>
/// </remarks>
public sealed partial class GridIntensityProviderChain : IDisposable
{
    private readonly IGridIntensityProvider[] _providers;
    private readonly StaticGridIntensityTable _table;
    private readonly GridIntensityOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly ConcurrentDictionary<string, CacheEntry> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, GridRegionInfo> _refreshed = new(StringComparer.Ordinal);

    /// <summary>Creates the chain.</summary>
    /// <param name="providers">Live providers in the order they are asked.</param>
    /// <param name="table">The static table: zone mapping and the last fallback.</param>
    /// <param name="options">Cache, retry and timeout settings.</param>
    /// <param name="timeProvider">The clock and timer source.</param>
    /// <param name="logger">Where provider failures are reported.</param>
    public GridIntensityProviderChain(
        IEnumerable<IGridIntensityProvider> providers,
        StaticGridIntensityTable table,
        GridIntensityOptions options,
        TimeProvider timeProvider,
        ILogger<GridIntensityProviderChain>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(providers);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _providers = [.. providers];
        _table = table;
        _options = options;
        _time = timeProvider;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _pipeline = BuildPipeline(options, timeProvider);
        Metrics = new GridIntensityMetrics(_providers.Where(p => p.IsConfigured).Select(p => p.Name), Served, timeProvider);
    }

    /// <summary>The static table behind the chain.</summary>
    public StaticGridIntensityTable Table => _table;

    /// <summary>The chain's instruments: provider failures, and the age and source of what each refreshed zone is served.</summary>
    internal GridIntensityMetrics Metrics { get; }

    /// <summary>The latest figure for a region, immediately: a live figure younger than MaxAge, else the static table's.</summary>
    public GridIntensity Current(CloudRegion region)
    {
        var info = _table.Find(region);
        if (info is not null && _cache.TryGetValue(info.CacheKey, out var entry) && _time.GetUtcNow() - entry.FetchedAt <= _options.MaxAge)
        {
            return entry.Value;
        }

        return _table.Lookup(region);
    }

    /// <summary>The latest figure for a region, immediately.</summary>
    public GridIntensity Current(CloudProvider cloud, string region) => Current(new CloudRegion(cloud, region));

    /// <summary>
    /// Brings a region's figure up to date: returns the held live figure while it is younger than CacheDuration; otherwise asks
    /// each configured provider in turn (with retries and timeouts) and keeps the first answer. When every provider fails, the
    /// result is what <see cref="Current(CloudRegion)"/> gives. Throws only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public Task<GridIntensity> RefreshAsync(CloudRegion region, CancellationToken cancellationToken = default) =>
        RefreshCoreAsync(region, DateTimeOffset.MinValue, cancellationToken);

    /// <summary>
    /// Brings a region's figure up to date for the hour that starts at <paramref name="hour"/>: as
    /// <see cref="RefreshAsync(CloudRegion, CancellationToken)"/>, but a held figure counts as fresh only if it applies to
    /// that hour or later, so the intensity history asks the providers once when an hour begins and the refresh of that hour
    /// is then served from the cache.
    /// </summary>
    public Task<GridIntensity> RefreshForHourAsync(CloudRegion region, DateTimeOffset hour, CancellationToken cancellationToken = default) =>
        RefreshCoreAsync(region, hour, cancellationToken);

    private async Task<GridIntensity> RefreshCoreAsync(CloudRegion region, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        var info = _table.Find(region);
        if (info is null)
        {
            return _table.Lookup(region);
        }

        _refreshed.TryAdd(info.CacheKey, info);
        if (TryFresh(info, notBefore, out var fresh))
        {
            return fresh;
        }

        var gate = _gates.GetOrAdd(info.CacheKey, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (TryFresh(info, notBefore, out fresh))
            {
                return fresh;
            }

            foreach (var provider in _providers)
            {
                if (!provider.IsConfigured || provider.ZoneFor(info) is not { Length: > 0 } zone)
                {
                    continue;
                }

                if (await TryRunAsync(provider.Name, zone, token => provider.FetchAsync(zone, token), cancellationToken).ConfigureAwait(false) is { } value)
                {
                    _cache[info.CacheKey] = new CacheEntry(value, _time.GetUtcNow());
                    return value;
                }
            }

            var fallback = Current(region);
            LogFallback(_logger, region.Key, fallback.Source);
            return fallback;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Runs one provider call with the chain's timeouts and retries; a provider failure (unreachable, error status, unreadable
    /// answer, timeout) is logged and gives <see langword="null"/>. Throws only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    internal async Task<T?> TryRunAsync<T>(string provider, string zone, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return await _pipeline.ExecuteAsync(
                static (call, token) => new ValueTask<T>(call(token)),
                call,
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsProviderFailure(e, cancellationToken))
        {
            LogProviderFailed(_logger, provider, zone, e.Message);
            Metrics.Failed(provider, e);
            return null;
        }
    }

    /// <summary>Refreshes several regions one after another; see <see cref="RefreshAsync(CloudRegion, CancellationToken)"/>.</summary>
    public async Task RefreshAllAsync(IEnumerable<CloudRegion> regions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(regions);
        foreach (var region in regions.Distinct())
        {
            await RefreshAsync(region, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var gate in _gates.Values)
        {
            gate.Dispose();
        }

        Metrics.Dispose();
    }

    private IEnumerable<ServedGridIntensity> Served() => _refreshed.Select(z => new ServedGridIntensity(
        z.Key, Current(z.Value.Region), _providers.Count(p => p.IsConfigured && p.ZoneFor(z.Value) is { Length: > 0 })));

    private bool TryFresh(GridRegionInfo info, DateTimeOffset notBefore, out GridIntensity value)
    {
        if (_cache.TryGetValue(info.CacheKey, out var entry) && _time.GetUtcNow() - entry.FetchedAt < _options.CacheDuration && entry.Value.ObservedAt >= notBefore)
        {
            value = entry.Value;
            return true;
        }

        value = null!;
        return false;
    }

    private static bool IsProviderFailure(Exception e, CancellationToken cancellationToken) => e switch
    {
        OperationCanceledException when cancellationToken.IsCancellationRequested => false,
        HttpRequestException or GridIntensityProviderException or TimeoutRejectedException or OperationCanceledException => true,
        _ => false,
    };

    private static ResiliencePipeline BuildPipeline(GridIntensityOptions options, TimeProvider timeProvider)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        builder.AddTimeout(options.TotalTimeout);
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder()
                    .Handle<HttpRequestException>()
                    .Handle<TimeoutRejectedException>()
                    .Handle<GridIntensityProviderException>(e => e.IsTransient),
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                Delay = options.RetryBaseDelay,
                UseJitter = false,
            });
        }

        builder.AddTimeout(options.AttemptTimeout);
        return builder.Build();
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Grid intensity provider {Provider} failed for zone {Zone}: {Reason}")]
    private static partial void LogProviderFailed(ILogger logger, string provider, string zone, string reason);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "No live grid intensity for {Region}; serving the {Source} figure")]
    private static partial void LogFallback(ILogger logger, string region, string source);

    private sealed record CacheEntry(GridIntensity Value, DateTimeOffset FetchedAt);
}
