using System.Diagnostics.Metrics;
using Polly.Timeout;

namespace Aurigraph.Node.Carbon;

/// <summary>What a <see cref="GridIntensityProviderChain"/> serves for one zone it refreshes.</summary>
/// <param name="Zone">The zone the chain caches under (the region's Electricity Maps zone, else its region key).</param>
/// <param name="Figure">What <see cref="GridIntensityProviderChain.Current(CloudRegion)"/> answers for it now.</param>
/// <param name="LiveProviders">Configured live providers that have a zone for it (0: the static figure is all there is).</param>
internal readonly record struct ServedGridIntensity(string Zone, GridIntensity Figure, int LiveProviders);

/// <summary>
/// The grid-intensity chain's instruments (meter "Aurigraph.Node.Carbon"), for alerting on the figure a node meters with.
/// Unlike the emission counters these are this node's own: its providers, its zones, its clock.
/// </summary>
/// <remarks>
/// Prometheus names: <c>aurigraph_carbon_grid_provider_failures_total{provider,kind}</c>,
/// <c>aurigraph_carbon_grid_intensity_age_seconds{zone,source}</c>, <c>aurigraph_carbon_grid_intensity_fallback{zone}</c>
/// and <c>aurigraph_carbon_grid_live_providers{zone}</c>.
/// </remarks>
internal sealed class GridIntensityMetrics : IDisposable
{
    /// <summary>The values of the failure counter's <c>kind</c> label (see <see cref="Classify"/>).</summary>
    public static readonly IReadOnlyList<string> FailureKinds =
        ["timeout", "unreachable", "rate_limited", "server_error", "auth", "client_error", "unreadable"];

    private readonly Meter _meter = new(CarbonMetrics.MeterName);
    private readonly Counter<long> _failures;

    /// <summary>Creates the instruments.</summary>
    /// <param name="configuredProviders">Names of the configured live providers: their failure series start at 0, so the first failure shows in a rate.</param>
    /// <param name="served">The figure served now for each zone the chain refreshes.</param>
    /// <param name="time">The clock ages are measured with.</param>
    public GridIntensityMetrics(IEnumerable<string> configuredProviders, Func<IEnumerable<ServedGridIntensity>> served, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(configuredProviders);
        ArgumentNullException.ThrowIfNull(served);
        ArgumentNullException.ThrowIfNull(time);
        _failures = _meter.CreateCounter<long>(
            "aurigraph.carbon.grid_provider_failures", "{failure}",
            "Grid-intensity provider calls that failed after their retries, by provider and kind (timeout, unreachable, rate_limited, server_error, auth, client_error, unreadable)");
        foreach (var provider in configuredProviders.Distinct(StringComparer.Ordinal))
        {
            foreach (var kind in FailureKinds)
            {
                _failures.Add(0, Tag("provider", provider), Tag("kind", kind));
            }
        }

        _meter.CreateObservableGauge(
            "aurigraph.carbon.grid_intensity_age",
            () => served().Select(s => new Measurement<double>(
                Math.Max(0, (time.GetUtcNow() - s.Figure.ObservedAt).TotalSeconds), Tag("zone", s.Zone), Tag("source", s.Figure.Source))),
            "s",
            "Age of the grid-intensity figure served for the zone: now minus the time the figure applies to (a static figure's is the start of its data year)");
        _meter.CreateObservableGauge(
            "aurigraph.carbon.grid_intensity_fallback",
            () => served().Select(s => new Measurement<int>(s.Figure.Source == GridIntensitySources.StaticTable ? 1 : 0, Tag("zone", s.Zone))),
            null,
            "1 while the zone is served the static table's figure, 0 while a live figure");
        _meter.CreateObservableGauge(
            "aurigraph.carbon.grid_live_providers",
            () => served().Select(s => new Measurement<int>(s.LiveProviders, Tag("zone", s.Zone))),
            "{provider}",
            "Configured live providers that can answer for the zone (0: the static figure is all there is)");
    }

    /// <summary>The meter (tests listen to this instance only).</summary>
    public Meter Meter => _meter;

    /// <summary>Counts one provider call that failed after its retries.</summary>
    public void Failed(string provider, Exception failure) =>
        _failures.Add(1, Tag("provider", provider), Tag("kind", Classify(failure)));

    /// <summary>
    /// The reason class of a provider failure: <c>timeout</c> (attempt or total timeout, HTTP 408), <c>unreachable</c>
    /// (connection failures), <c>rate_limited</c> (429), <c>server_error</c> (5xx), <c>auth</c> (401, 403),
    /// <c>client_error</c> (other statuses), <c>unreadable</c> (an answer that could not be read).
    /// </summary>
    public static string Classify(Exception failure) => failure switch
    {
        TimeoutRejectedException or OperationCanceledException => "timeout",
        HttpRequestException => "unreachable",
        GridIntensityProviderException { StatusCode: null } => "unreadable",
        GridIntensityProviderException { StatusCode: 408 } => "timeout",
        GridIntensityProviderException { StatusCode: 429 } => "rate_limited",
        GridIntensityProviderException { StatusCode: >= 500 } => "server_error",
        GridIntensityProviderException { StatusCode: 401 or 403 } => "auth",
        GridIntensityProviderException => "client_error",
        _ => "unreadable",
    };

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);
}
