using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// The host's background refresh of grid intensity: at start and then every <see cref="GridIntensityOptions.RefreshInterval"/>,
/// refreshes this node's region and the configured extra regions. The chain's cache keeps provider calls to one per hour per zone.
/// </summary>
public sealed class GridIntensityRefresher : BackgroundService
{
    private readonly GridIntensityProviderChain _chain;
    private readonly CarbonOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates the refresher.</summary>
    public GridIntensityRefresher(GridIntensityProviderChain chain, IOptions<CarbonOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _chain = chain;
        _options = options.Value;
        _time = timeProvider;
    }

    /// <summary>The regions refreshed: this node's own first, then <see cref="GridIntensityOptions.Regions"/> (<c>cloud/region</c>).</summary>
    public IReadOnlyList<CloudRegion> Regions() => RegionsOf(_options);

    /// <summary>The regions a node with <paramref name="options"/> keeps fresh: its own first, then <see cref="GridIntensityOptions.Regions"/>.</summary>
    public static IReadOnlyList<CloudRegion> RegionsOf(CarbonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var regions = new List<CloudRegion>();
        if (!string.IsNullOrWhiteSpace(options.Region))
        {
            regions.Add(options.NodeRegion);
        }

        foreach (var text in options.GridIntensity.Regions)
        {
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0 && slash < text.Length - 1)
            {
                regions.Add(new CloudRegion(CloudProviders.Parse(text[..slash]), text[(slash + 1)..]));
            }
        }

        return regions;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var regions = Regions();
        if (regions.Count == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.GridIntensity.RefreshInterval, _time);
        do
        {
            await _chain.RefreshAllAsync(regions, stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
