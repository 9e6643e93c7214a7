using System.Diagnostics;
using Aurigraph.Node.Hosting;

namespace Aurigraph.Bench.Load;

/// <summary>A devnet of node processes for a benchmark run: logs go to files, not the terminal; stopped on dispose.</summary>
public sealed class LocalDevnet : IAsyncDisposable
{
    private readonly List<Process> _processes = [];

    private LocalDevnet(string directory) => Directory = directory;

    public string Directory { get; }

    public IReadOnlyList<string> GrpcTargets { get; private set; } = [];

    public IReadOnlyList<int> Pids => [.. _processes.Select(p => p.Id)];

    public static async Task<LocalDevnet> StartAsync(int validators, int basePort, IReadOnlyDictionary<string, string> settings, CancellationToken ct, IReadOnlyList<string>? wanClouds = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "aurigraph-bench-devnet-" + Guid.NewGuid().ToString("N")[..8]);
        var devnet = new LocalDevnet(dir);
        try
        {
            var nodes = Devnet.Prepare(new Devnet.Layout(dir, validators, 0, 0, basePort, Clouds: wanClouds is { Count: > 0 } ? wanClouds : null, Wan: wanClouds is { Count: > 0 }));
            // A port another cluster holds would make our node exit while that cluster answers in its place.
            foreach (var (member, _) in nodes)
            {
                foreach (var address in new[] { member.PeerAddress, new Uri(member.ApiAddress).Authority, new Uri(member.RestAddress).Authority })
                {
                    var endpoint = System.Net.IPEndPoint.Parse(address);
                    using var probe = new System.Net.Sockets.TcpListener(endpoint);
                    try
                    {
                        probe.Start();
                    }
                    catch (System.Net.Sockets.SocketException ex)
                    {
                        throw new InvalidOperationException($"port {endpoint.Port} is taken ({ex.SocketErrorCode}): another cluster runs on this machine; give --base-port", ex);
                    }
                    probe.Stop();
                }
            }
            foreach (var (member, config) in nodes)
            {
                var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Aurigraph.Node.dll"));
                start.ArgumentList.Add("run");
                start.ArgumentList.Add("--config");
                start.ArgumentList.Add(config);
                start.Environment["Logging__LogLevel__Default"] = "Warning";
                foreach (var (key, value) in settings)
                {
                    start.Environment[key] = value;
                }
                var process = Process.Start(start)!;
                var log = new StreamWriter(Path.Combine(dir, $"node-{member.Id}.log")) { AutoFlush = true };
                process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
                process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                devnet._processes.Add(process);
            }
            devnet.GrpcTargets = [.. nodes.Select(n => n.Member.ApiAddress)];
            await devnet.WaitForLeaderAsync(nodes.Select(n => n.Member.ApiAddress).ToList(), ct);
            return devnet;
        }
        catch
        {
            await devnet.DisposeAsync();
            throw;
        }
    }

    private async Task WaitForLeaderAsync(List<string> targets, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (true)
        {
            timeout.Token.ThrowIfCancellationRequested();
            if (_processes.FirstOrDefault(p => p.HasExited) is { } dead)
            {
                throw new InvalidOperationException($"a node exited with code {dead.ExitCode}; see the logs under {Directory}");
            }
            var leaders = new HashSet<ulong>();
            foreach (var target in targets)
            {
                try
                {
                    using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(target);
                    var status = await new Aurigraph.Node.Api.V1.NodeService.NodeServiceClient(channel).GetStatusAsync(new(), deadline: DateTime.UtcNow.AddSeconds(1), cancellationToken: timeout.Token);
                    leaders.Add(status.Leader);
                }
                catch (Grpc.Core.RpcException)
                {
                    leaders.Add(0);
                }
            }
            if (leaders.Count == 1 && !leaders.Contains(0))
            {
                return;
            }
            await Task.Delay(200, timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Devnet.StopAllAsync(_processes);
        foreach (var p in _processes)
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
