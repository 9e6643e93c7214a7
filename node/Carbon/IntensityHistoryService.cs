using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// Unless <see cref="IntensityHistoryOptions.Enabled"/> is false, runs the <see cref="IntensityHistoryIngester"/> at start and then every <see cref="IntensityHistoryOptions.IngestInterval"/>
/// (on the injected <see cref="TimeProvider"/>'s timer). A failed pass is logged and counted; the next tick tries again.
/// </summary>
public sealed partial class IntensityHistoryService(
    IntensityHistoryIngester ingester,
    IntensityHistoryOptions options,
    TimeProvider time,
    IntensityHistoryMetrics metrics,
    ILogger<IntensityHistoryService>? logger = null) : BackgroundService
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(ingester);
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled || ingester.Zones.Count == 0)
        {
            return;
        }
        using var timer = new PeriodicTimer(options.IngestInterval, time);
        do
        {
            try
            {
                await ingester.IngestAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // A fault here must not stop the host (a background service's exception would): the history waits for the next tick.
                metrics.Failed();
                LogFailed(_logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(EventId = 4112, Level = LogLevel.Warning, Message = "Grid-intensity history pass failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
