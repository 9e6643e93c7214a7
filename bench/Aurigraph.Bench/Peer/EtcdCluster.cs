using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Aurigraph.Bench.Peer.Etcd;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Aurigraph.Bench.Peer;

/// <summary>
/// A local etcd cluster for a peer run: members on loopback with their own client and peer ports, bootstrapped
/// statically (--initial-cluster), data under one folder, etcd's default durability (every commit fsynced).
/// Stopping sends SIGTERM and waits, then kills; the data folder is removed. Members still running when the
/// process exits are killed by a process-exit hook, so a failed or interrupted run leaves no etcd behind.
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<EtcdCluster, byte> Live = new();
    private static int _exitHookInstalled;

    private readonly List<Member> _members = [];
    private readonly string _dataRoot;
    private int _stopped;

    private EtcdCluster(string dataRoot) => _dataRoot = dataRoot;

    public IReadOnlyList<string> ClientUrls => _members.Select(m => m.ClientUrl).ToArray();

    public string DataRoot => _dataRoot;

    /// <summary>The etcd binary on PATH, else /usr/bin/etcd; null when neither exists.</summary>
    public static string? FindBinary()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "etcd");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return File.Exists("/usr/bin/etcd") ? "/usr/bin/etcd" : null;
    }

    /// <summary>Finds etcd, installing Debian's etcd-server package (apt-get update + install) when it is missing.</summary>
    public static async Task<string> EnsureInstalledAsync(Action<string> log, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (FindBinary() is { } found)
        {
            return found;
        }
        log("etcd not found: installing Debian's etcd-server (apt-get update, apt-get install -y etcd-server)...");
        await RunToolAsync("apt-get", ["update"], ct).ConfigureAwait(false);
        await RunToolAsync("apt-get", ["install", "-y", "etcd-server"], ct).ConfigureAwait(false);
        return FindBinary() ?? throw new InvalidOperationException("apt-get installed etcd-server but no etcd binary is on PATH or at /usr/bin/etcd");
    }

    /// <summary>`etcd --version`, its lines joined with "; ".</summary>
    public static async Task<string> VersionAsync(string binary, CancellationToken ct)
    {
        var output = await RunToolAsync(binary, ["--version"], ct).ConfigureAwait(false);
        return string.Join("; ", output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    /// <summary>Starts <paramref name="members"/> members; on any failure every started member is killed and the data removed.</summary>
    public static async Task<EtcdCluster> StartAsync(string binary, int members, int portBase, string dataRoot, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(members, 1);
        for (var port = portBase; port < portBase + (2 * members); port++)
        {
            if (!PortFree(port))
            {
                throw new InvalidOperationException($"port {port} on 127.0.0.1 is in use: pick another --port-base");
            }
        }
        InstallExitHook();
        Directory.CreateDirectory(dataRoot);
        var cluster = new EtcdCluster(dataRoot);
        Live[cluster] = 0;
        try
        {
            var token = $"aurigraph-bench-{Guid.NewGuid():N}";
            var peers = Enumerable.Range(0, members).Select(i => $"m{i}=http://127.0.0.1:{portBase + (2 * i) + 1}");
            var initialCluster = string.Join(',', peers);
            for (var i = 0; i < members; i++)
            {
                ct.ThrowIfCancellationRequested();
                cluster._members.Add(Member.Start(binary, $"m{i}", portBase + (2 * i), portBase + (2 * i) + 1, dataRoot, initialCluster, token));
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Waits until every member answers Maintenance.Status naming the same leader and a KV.Put through every member
    /// commits (what `etcdctl endpoint health` establishes). Throws, with the member's log tail, if a member exits.
    /// </summary>
    public async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        string last = "no answer yet";
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            foreach (var m in _members)
            {
                if (m.Process.HasExited)
                {
                    throw new InvalidOperationException($"etcd member {m.Name} exited with code {m.Process.ExitCode}; its log ends:\n{m.LogTail()}");
                }
            }
            try
            {
                var statuses = new List<StatusResponse>();
                foreach (var m in _members)
                {
                    statuses.Add(await m.Maintenance.StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(1), cancellationToken: ct).ConfigureAwait(false));
                }
                var leaders = statuses.Select(s => s.Leader).Distinct().ToArray();
                if (leaders is [var leader] && leader != 0)
                {
                    foreach (var m in _members)
                    {
                        var put = new PutRequest { Key = ByteString.CopyFromUtf8($"bench/health/{m.Name}"), Value = ByteString.CopyFromUtf8("ok") };
                        await m.Kv.PutAsync(put, deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: ct).ConfigureAwait(false);
                    }
                    return;
                }
                last = $"members name leaders {string.Join(", ", leaders.Select(l => l.ToString("x", CultureInfo.InvariantCulture)))}";
            }
            catch (RpcException ex) when (!ct.IsCancellationRequested)
            {
                last = WorkloadDriver.Reason(ex);
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"etcd cluster not healthy after {timeout.TotalSeconds:F0} s ({last}); member m0's log ends:\n{_members[0].LogTail()}");
            }
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The client URL of the member every member names as leader.</summary>
    public async Task<string> LeaderClientUrlAsync(CancellationToken ct)
    {
        foreach (var m in _members)
        {
            var status = await m.Maintenance.StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: ct).ConfigureAwait(false);
            if (status.Header.MemberId == status.Leader)
            {
                return m.ClientUrl;
            }
        }
        throw new InvalidOperationException("no member reports itself leader");
    }

    /// <summary>Stops every member (SIGTERM, then kill after 10 s) and removes the data folder. Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        foreach (var m in _members)
        {
            m.Terminate();
        }
        foreach (var m in _members)
        {
            await m.WaitOrKillAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            m.Dispose();
        }
        Live.TryRemove(this, out _);
        DeleteData();
    }

    private void DeleteData()
    {
        try
        {
            if (Directory.Exists(_dataRoot))
            {
                Directory.Delete(_dataRoot, recursive: true);
            }
            // The default parent (bench/.peer-data) goes too once no run uses it.
            var parent = Path.GetDirectoryName(_dataRoot);
            if (parent is not null && Path.GetFileName(parent) == ".peer-data" && !Directory.EnumerateFileSystemEntries(parent).Any())
            {
                Directory.Delete(parent);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void InstallExitHook()
    {
        if (Interlocked.Exchange(ref _exitHookInstalled, 1) != 0)
        {
            return;
        }
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var cluster in Live.Keys)
            {
                foreach (var m in cluster._members)
                {
                    m.KillNow();
                }
                cluster.DeleteData();
            }
        };
    }

    private static bool PortFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Runs a tool to completion; returns its standard output, throws with its output when it fails.</summary>
    private static async Task<string> RunToolAsync(string file, string[] args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var output = await stdout.ConfigureAwait(false);
        var errors = await stderr.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with code {process.ExitCode}:\n{Tail(output + errors, 30)}");
        }
        return output;
    }

    private static string Tail(string text, int lines) =>
        string.Join('\n', text.Split('\n').TakeLast(lines));

    private sealed class Member : IDisposable
    {
        private readonly StreamWriter _log;
        private readonly string _logPath;
        private readonly GrpcChannel _channel;

        private Member(string name, string clientUrl, Process process, StreamWriter log, string logPath)
        {
            Name = name;
            ClientUrl = clientUrl;
            Process = process;
            _log = log;
            _logPath = logPath;
            _channel = GrpcChannel.ForAddress(clientUrl);
            Kv = new KV.KVClient(_channel);
            Maintenance = new Maintenance.MaintenanceClient(_channel);
        }

        public string Name { get; }

        public string ClientUrl { get; }

        public Process Process { get; }

        public KV.KVClient Kv { get; }

        public Maintenance.MaintenanceClient Maintenance { get; }

        public static Member Start(string binary, string name, int clientPort, int peerPort, string dataRoot, string initialCluster, string token)
        {
            var clientUrl = $"http://127.0.0.1:{clientPort}";
            var peerUrl = $"http://127.0.0.1:{peerPort}";
            var psi = new ProcessStartInfo(binary)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            string[] args =
            [
                "--name", name,
                "--data-dir", Path.Combine(dataRoot, name),
                "--listen-client-urls", clientUrl,
                "--advertise-client-urls", clientUrl,
                "--listen-peer-urls", peerUrl,
                "--initial-advertise-peer-urls", peerUrl,
                "--initial-cluster", initialCluster,
                "--initial-cluster-token", token,
                "--initial-cluster-state", "new",
                "--logger", "zap",
                "--log-outputs", "stderr",
            ];
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }
            // etcd reads ETCD_* variables as flags: none of the caller's may change the cluster under test.
            foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("ETCD_", StringComparison.Ordinal)).ToArray())
            {
                psi.Environment.Remove(key);
            }
            var logPath = Path.Combine(dataRoot, $"{name}.log");
            var log = new StreamWriter(logPath) { AutoFlush = true };
            log.WriteLine($"{binary} {string.Join(' ', args)}");
            var process = Process.Start(psi);
            if (process is null)
            {
                log.Dispose();
                throw new InvalidOperationException($"could not start {binary}");
            }
            void Write(object? _, DataReceivedEventArgs e)
            {
                if (e.Data is not null)
                {
                    lock (log)
                    {
                        try
                        {
                            log.WriteLine(e.Data);
                        }
                        catch (ObjectDisposedException)
                        {
                        }
                    }
                }
            }
            process.OutputDataReceived += Write;
            process.ErrorDataReceived += Write;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return new Member(name, clientUrl, process, log, logPath);
        }

        public void Terminate()
        {
            try
            {
                if (!Process.HasExited)
                {
                    using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
                    kill?.WaitForExit();
                }
            }
            catch (InvalidOperationException)
            {
            }
            catch (System.ComponentModel.Win32Exception)
            {
                KillNow();
            }
        }

        public async Task WaitOrKillAsync(TimeSpan grace)
        {
            using var timeout = new CancellationTokenSource(grace);
            try
            {
                await Process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                KillNow();
                await Process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        public void KillNow()
        {
            try
            {
                if (!Process.HasExited)
                {
                    Process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
            }
        }

        public string LogTail()
        {
            lock (_log)
            {
                _log.Flush();
            }
            try
            {
                using var stream = new FileStream(_logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                return Tail(reader.ReadToEnd().TrimEnd(), 20);
            }
            catch (IOException)
            {
                return "(log unreadable)";
            }
        }

        public void Dispose()
        {
            _channel.Dispose();
            Process.Dispose();
            lock (_log)
            {
                _log.Dispose();
            }
        }
    }
}
