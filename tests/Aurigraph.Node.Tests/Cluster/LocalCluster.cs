using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Security;
using Aurigraph.Node.Transactions;
using Grpc.Net.Client;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>
/// A real cluster for tests: the devnet layout (3 validators, 1 business, 1 slim) on free loopback ports, each
/// node its own OS process running the built node executable, data under a temporary folder. Like the devnet, its
/// peers run mutual TLS with certificates of a cluster CA created for it (under certs/), so every cluster test
/// exercises the secure transport; the client API is HTTPS too when asked for.
/// </summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private readonly Dictionary<ulong, Process> _processes = [];
    private readonly Dictionary<ulong, GrpcChannel> _channels = [];
    private readonly List<string> _output = [];

    private LocalCluster(string directory, List<(MemberOptions Member, string ConfigPath)> nodes)
    {
        Directory = directory;
        Nodes = nodes;
    }

    public string Directory { get; }

    public List<(MemberOptions Member, string ConfigPath)> Nodes { get; }

    public IEnumerable<ulong> Ids => Nodes.Select(n => n.Member.Id);

    /// <summary>The cluster CA's certificate, what clients of an HTTPS API trust.</summary>
    public string CaFile => Path.Combine(Devnet.CertificateDirectory(Directory), DevelopmentCertificates.CaCertificateFile);

    /// <summary>How the test's clients reach the API: trusting the cluster CA (used only when the API is HTTPS).</summary>
    public ClientTls ClientTls => new(CaFile);

    /// <param name="startLater">Nodes not started now (a test starts them with <see cref="Start"/>).</param>
    /// <param name="apiTls">The client API over HTTPS with the node certificates (gRPC and REST on one port).</param>
    /// <param name="unlisted">Nodes no other node's configuration lists, whose own lists only themselves: they join with
    /// <see cref="NodeOptions.Join"/> (never started by this call).</param>
    public static async Task<LocalCluster> StartAsync(int validators = 3, int business = 1, int slim = 1, IReadOnlyDictionary<ulong, Dictionary<string, string>>? environment = null, IReadOnlyCollection<ulong>? startLater = null, bool apiTls = false, IReadOnlyCollection<ulong>? unlisted = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "aurigraph-test-" + Guid.NewGuid().ToString("N")[..8]);
        var nodes = Devnet.Prepare(new Devnet.Layout(dir, validators, business, slim, FreePortBase(), apiTls));
        if (unlisted is { Count: > 0 })
        {
            Unlist(nodes, unlisted);
            startLater = [.. startLater ?? [], .. unlisted];
        }
        var cluster = new LocalCluster(dir, nodes);
        try
        {
            foreach (var id in cluster.Ids.Where(i => startLater?.Contains(i) != true))
            {
                cluster.Start(id, environment?.GetValueOrDefault(id));
            }
            await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            // The caller never gets the cluster, so it cannot stop it: stop every process here.
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Rewrites the configurations so that <paramref name="unlisted"/> appear in none but their own, and each of theirs lists only itself.</summary>
    private static void Unlist(List<(MemberOptions Member, string ConfigPath)> nodes, IReadOnlyCollection<ulong> unlisted)
    {
        foreach (var (member, path) in nodes)
        {
            var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
            var members = config[NodeOptions.Section]!["Members"]!.AsArray();
            for (var i = members.Count - 1; i >= 0; i--)
            {
                var id = members[i]!["Id"]!.GetValue<ulong>();
                var keep = unlisted.Contains(member.Id) ? id == member.Id : !unlisted.Contains(id);
                if (!keep)
                {
                    members.RemoveAt(i);
                }
            }
            File.WriteAllText(path, config.ToJsonString(NodeServer.Indented));
        }
    }

    /// <summary>A base port whose derived peer, gRPC and REST ports are free right now.</summary>
    internal static int FreePortBase()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            // Below Linux's ephemeral range (32768-60999), so no outgoing connection can take a node's port
            // between this check and the node's bind.
            var basePort = Random.Shared.Next(20_000, 32_000);
            var ok = true;
            for (var i = 1; i <= 10 && ok; i++)
            {
                ok = IsFree(basePort + i) && IsFree(basePort + 100 + i) && IsFree(basePort + 200 + i);
            }
            if (ok)
            {
                return basePort;
            }
        }
        throw new InvalidOperationException("no free port range on loopback");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public bool HasExited(ulong id) => _processes[id].HasExited;

    /// <summary>The operating system's id of the node's process.</summary>
    public int ProcessId(ulong id) => _processes[id].Id;

    /// <summary>The nodes started and not exited.</summary>
    private IEnumerable<ulong> Running => Ids.Where(i => _processes.TryGetValue(i, out var p) && !p.HasExited);

    public int ExitCode(ulong id) => _processes[id].ExitCode;

    public Task WaitForExitAsync(ulong id, CancellationToken ct) => _processes[id].WaitForExitAsync(ct);

    public void Start(ulong id, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (member, config) = Nodes.First(n => n.Member.Id == id);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Aurigraph.Node.dll"));
        start.ArgumentList.Add("run");
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(config);
        var process = Process.Start(start)!;
        void Capture(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.Add($"[node-{id}] {line}");
                }
            }
        }
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes[id] = process;
    }

    /// <summary>Runs a client command of the node executable (e.g. <c>status --node ...</c>) to its end: exit code, standard output, standard error.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunCliAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Aurigraph.Node.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>kill -9: no shutdown, no flush.</summary>
    public void Kill(ulong id)
    {
        _processes[id].Kill(entireProcessTree: true);
        _processes[id].WaitForExit();
    }

    public async Task StopAsync(ulong id) => await Devnet.StopAllAsync([_processes[id]]).ConfigureAwait(false);

    public string Output()
    {
        lock (_output)
        {
            return string.Join('\n', _output.TakeLast(200));
        }
    }

    /// <summary>Every line node <paramref name="id"/> printed since the cluster started (all its runs).</summary>
    public List<string> LinesOf(ulong id)
    {
        var prefix = $"[node-{id}] ";
        lock (_output)
        {
            return [.. _output.Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => l[prefix.Length..])];
        }
    }

    public GrpcChannel Channel(ulong id)
    {
        if (!_channels.TryGetValue(id, out var channel))
        {
            channel = ClientChannels.Create(Nodes.First(n => n.Member.Id == id).Member.ApiAddress, ClientTls);
            _channels[id] = channel;
        }
        return channel;
    }

    public TransactionService.TransactionServiceClient Transactions(ulong id) => new(Channel(id));

    public NodeService.NodeServiceClient Status(ulong id) => new(Channel(id));

    public BlockService.BlockServiceClient Blocks(ulong id) => new(Channel(id));

    public CarbonService.CarbonServiceClient Carbon(ulong id) => new(Channel(id));

    public TransactionSigner DevKey(int n) =>
        TransactionSigner.FromSeed(Convert.FromHexString(File.ReadAllText(Path.Combine(Directory, "keys", $"dev-{n}.key")).Trim()));

    public async Task<NodeStatus?> TryStatusAsync(ulong id)
    {
        try
        {
            return await Status(id).GetStatusAsync(new GetStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(2)).ConfigureAwait(false);
        }
        catch (Grpc.Core.RpcException)
        {
            return null;
        }
    }

    /// <summary>
    /// Polls <paramref name="probe"/> until it returns a value or <paramref name="timeout"/> passes; the timeout names
    /// <paramref name="what"/> and carries the nodes' recent output.
    /// </summary>
    public async Task<T> PollAsync<T>(Func<Task<T?>> probe, string what, TimeSpan timeout)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(probe);
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (await probe().ConfigureAwait(false) is { } value)
            {
                return value;
            }
            await Task.Delay(100).ConfigureAwait(false); // polling interval against the deadline above, not synchronisation
        }
        throw new TimeoutException($"{what}: not within {timeout}\n{Output()}");
    }

    /// <summary>
    /// Waits until every running node (or every running one of <paramref name="among"/>: a node removed from the
    /// cluster hears no leader any more) agrees on one leader; returns it.
    /// </summary>
    public async Task<ulong> WaitForLeaderAsync(TimeSpan timeout, ulong? excluding = null, IReadOnlyCollection<ulong>? among = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            // All nodes at once: asked one after another, a loaded machine would add every answer's latency to the
            // moment a test reads (e.g. a failover time).
            var statuses = await Task.WhenAll(Running.Where(id => among is null || among.Contains(id)).Select(TryStatusAsync)).ConfigureAwait(false);
            if (statuses.All(s => s is not null))
            {
                var leaders = statuses.Select(s => s!.Leader).Distinct().ToList();
                if (leaders.Count == 1 && leaders[0] != 0 && leaders[0] != excluding)
                {
                    return leaders[0];
                }
            }
            await Task.Delay(50).ConfigureAwait(false); // polling interval, not synchronisation: the loop re-checks state
        }
        throw new TimeoutException($"no agreed leader within {timeout}\n{Output()}");
    }

    /// <summary>Waits until every running node has applied at least <paramref name="height"/>; returns their statuses.</summary>
    public async Task<List<NodeStatus>> WaitForHeightAsync(ulong height, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        List<NodeStatus> statuses = [];
        while (DateTime.UtcNow < deadline)
        {
            statuses = [];
            foreach (var id in Running)
            {
                if (await TryStatusAsync(id).ConfigureAwait(false) is { } s)
                {
                    statuses.Add(s);
                }
            }
            if (statuses.Count == Running.Count() && statuses.All(s => s.Height >= height))
            {
                return statuses;
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
        throw new TimeoutException($"not every node reached height {height}: {string.Join(", ", statuses.Select(s => $"{s.Id}@{s.Height}"))}\n{Output()}");
    }

    /// <summary>
    /// Waits until every running node has committed the carbon record of every block with transactions (none waiting,
    /// none missing unless <paramref name="allowMissing"/>) and all stand at one height: after it, no carbon-only block is on its way.
    /// </summary>
    public async Task<List<NodeStatus>> WaitForCarbonRecordsAsync(TimeSpan timeout, bool allowMissing = false)
    {
        var deadline = DateTime.UtcNow + timeout;
        var seen = "";
        while (DateTime.UtcNow < deadline)
        {
            var running = Running.ToList();
            var statuses = new List<NodeStatus>();
            var settled = true;
            foreach (var id in running)
            {
                try
                {
                    var stats = await Carbon(id).GetCarbonStatsAsync(new GetCarbonStatsRequest(), deadline: DateTime.UtcNow.AddSeconds(2)).ConfigureAwait(false);
                    settled &= stats.PendingHeights == 0 && (allowMissing || stats.MissingReadings == 0);
                    if (await TryStatusAsync(id).ConfigureAwait(false) is { } status)
                    {
                        statuses.Add(status);
                    }
                }
                catch (Grpc.Core.RpcException)
                {
                    settled = false;
                }
            }
            seen = string.Join(", ", statuses.Select(s => $"{s.Id}@{s.Height}"));
            if (settled && statuses.Count == running.Count && statuses.Select(s => s.Height).Distinct().Count() == 1)
            {
                return statuses;
            }
            await Task.Delay(50).ConfigureAwait(false); // polling interval, not synchronisation: the loop re-checks state
        }
        throw new TimeoutException($"carbon records did not settle within {timeout}: {seen}\n{Output()}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
        await Devnet.StopAllAsync(_processes.Values).ConfigureAwait(false);
        foreach (var p in _processes.Values)
        {
            p.Dispose();
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
