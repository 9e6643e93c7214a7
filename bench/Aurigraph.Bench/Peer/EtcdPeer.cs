using System.Globalization;
using Aurigraph.Bench.Load;

namespace Aurigraph.Bench.Peer;

/// <summary>
/// A peer run against etcd: make sure etcd is installed, start a local cluster, wait until it is healthy, run
/// each mode of the workload, stop the cluster and remove its data. Other commands call <see cref="RunAsync"/>
/// to put etcd's figures beside their own.
/// </summary>
public static class EtcdPeer
{
    public static async Task<IReadOnlyList<PeerRunResult>> RunAsync(PeerRunOptions options, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        // Ctrl-C, `kill` (SIGTERM) and a closed terminal (SIGHUP) cancel the run, and the cluster is stopped and
        // its data removed before the process exits.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var ct = stop.Token;
        using var signals = Aurigraph.Node.Hosting.ShutdownSignals.Cancel(stop, () => PeerConsole.Info("signal received: stopping the run"));
        static void Log(string line) => PeerConsole.Info(line);

        var binary = await EtcdCluster.EnsureInstalledAsync(Log, ct).ConfigureAwait(false);
        var version = await EtcdCluster.VersionAsync(binary, ct).ConfigureAwait(false);
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var dataRoot = Path.Combine(options.DataRoot ?? DefaultDataParent(), $"etcd-{stamp}-{Environment.ProcessId}");
        Log($"{binary}: {version}");
        Log($"starting {options.Members} etcd members on 127.0.0.1:{options.PortBase}..{options.PortBase + (2 * options.Members) - 1}, data under {dataRoot}");

        var cluster = await EtcdCluster.StartAsync(binary, options.Members, options.PortBase, dataRoot, ct).ConfigureAwait(false);
        await using (cluster.ConfigureAwait(false))
        {
            await cluster.WaitHealthyAsync(TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
            IReadOnlyList<string> targets = options.Target == PeerTarget.Leader
                ? [await cluster.LeaderClientUrlAsync(ct).ConfigureAwait(false)]
                : cluster.ClientUrls;
            Log($"cluster healthy; sending to {string.Join(", ", targets)}");
            var results = new List<PeerRunResult>();
            foreach (var mode in options.Modes)
            {
                results.Add(await EtcdWorkload.RunAsync(mode, options, targets, version, ct).ConfigureAwait(false));
            }
            Log("stopping the cluster and removing its data...");
            return results;
        }
    }

    /// <summary>bench/.peer-data in the repository (the project's own disk), or ./.peer-data outside one.</summary>
    public static string DefaultDataParent()
    {
        var results = RunReport.ResultsDirectory();
        var bench = Path.GetDirectoryName(results) ?? Directory.GetCurrentDirectory();
        return Path.Combine(bench, ".peer-data");
    }
}
