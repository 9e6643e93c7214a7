using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Security;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// A local cluster on 127.0.0.1: writes a genesis file with funded development accounts and one configuration
/// per node, starts each node as its own OS process, prints the endpoints, and stops them all on Ctrl-C.
/// </summary>
internal static class Devnet
{
    /// <param name="ApiTls">The client API over HTTPS with the node certificates, gRPC and REST on one port (base+100+id).</param>
    /// <param name="Clouds">Locations ("cloud:region") the members are spread over, each role round-robin (zones a, b,
    /// c in turn within a location); none: no locations.</param>
    /// <param name="Wan">WAN emulation between the locations (<see cref="WanSettings"/>).</param>
    public sealed record Layout(string Directory, int Validators, int Business, int Slim, int BasePort, bool ApiTls = false, IReadOnlyList<string>? Clouds = null, bool Wan = false, int? TickMilliseconds = null, int? ElectionTicks = null);

    /// <summary>
    /// The programme's end state on this machine: per cloud (AWS us-east-1, Azure eastus, GCP us-central1) 4 validators,
    /// 6 business and 12 slim nodes, 66 processes, WAN emulation on. Ticks of 250 ms and a 5 s election timeout: 66
    /// processes share the machine's cores, so a node's loop may wait its turn for hundreds of milliseconds, and the
    /// default 100 ms heartbeat with a 1–2 s election timeout would start elections on scheduling delay alone.
    /// </summary>
    public static Layout Programme(string directory, int basePort, bool apiTls = false) =>
        new(directory, 12, 18, 36, basePort, apiTls, ProgrammeClouds, Wan: true, TickMilliseconds: 250, ElectionTicks: 20);

    /// <summary>The programme's three regions, one per cloud.</summary>
    public static IReadOnlyList<string> ProgrammeClouds { get; } = ["aws:us-east-1", "azure:eastus", "gcp:us-central1"];

    /// <summary>The folder under the devnet's where the cluster CA and node certificates live.</summary>
    public static string CertificateDirectory(string devnetDirectory) => Path.Combine(Path.GetFullPath(devnetDirectory), "certs");

    /// <summary>
    /// Writes genesis, keys, the cluster CA with a certificate per node (<see cref="DevelopmentCertificates"/>, under
    /// certs/) and node configurations that run the peer transport on mutual TLS (keeping an existing genesis, keys and
    /// certificates); returns each node's config path.
    /// </summary>
    public static List<(MemberOptions Member, string ConfigPath)> Prepare(Layout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        if (layout.Clouds?.FirstOrDefault(c => c.Split(':') is not [{ Length: > 0 }, { Length: > 0 }]) is { } bad)
        {
            throw new ArgumentException($"a location must be \"cloud:region\", got '{bad}'", nameof(layout));
        }
        var dir = Path.GetFullPath(layout.Directory);
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "keys"));
        var genesisPath = Path.Combine(dir, "genesis.json");
        const string chainId = "aurigraph-devnet";
        if (!File.Exists(genesisPath))
        {
            var accounts = new List<GenesisAccount>();
            for (var i = 1; i <= 4; i++)
            {
                using var signer = TransactionSigner.Generate();
                File.WriteAllText(Path.Combine(dir, "keys", $"dev-{i}.key"), Convert.ToHexStringLower(signer.ExportSeed()));
                accounts.Add(new GenesisAccount { PublicKey = Convert.ToHexStringLower(signer.PublicKey), Balance = 1_000_000_000_000 });
            }
            new Genesis { ChainId = chainId, Accounts = accounts }.Save(genesisPath);
        }

        var members = new List<MemberOptions>();
        var id = 1UL;
        var clouds = layout.Clouds ?? [];
        void Add(int count, NodeRole role)
        {
            for (var i = 0; i < count; i++, id++)
            {
                var location = clouds.Count == 0 ? null : clouds[i % clouds.Count].Split(':', 2);
                members.Add(new MemberOptions
                {
                    Cloud = location?[0] ?? "",
                    Region = location?[1] ?? "",
                    Zone = location is null ? "" : ((char)('a' + (i / clouds.Count % 3))).ToString(),
                    Id = id,
                    Role = role,
                    PeerAddress = $"127.0.0.1:{layout.BasePort + (int)id}",
                    ApiAddress = layout.ApiTls ? $"https://127.0.0.1:{layout.BasePort + 100 + (int)id}" : $"http://127.0.0.1:{layout.BasePort + 100 + (int)id}",
                    RestAddress = layout.ApiTls ? $"https://127.0.0.1:{layout.BasePort + 100 + (int)id}" : $"http://127.0.0.1:{layout.BasePort + 200 + (int)id}",
                });
            }
        }
        Add(layout.Validators, NodeRole.Validator);
        Add(layout.Business, NodeRole.Business);
        Add(layout.Slim, NodeRole.Slim);

        var certs = CertificateDirectory(dir);
        DevelopmentCertificates.Ensure(certs, chainId, members.Select(m => m.Id), [], TimeSpan.FromDays(365));

        var result = new List<(MemberOptions, string)>();
        foreach (var member in members)
        {
            var nodeDir = Path.Combine(dir, $"node-{member.Id}");
            System.IO.Directory.CreateDirectory(nodeDir);
            var config = new Dictionary<string, object>
            {
                [NodeOptions.Section] = new NodeOptions
                {
                    NodeId = member.Id,
                    ChainId = chainId,
                    DataDir = Path.Combine(nodeDir, "data"),
                    GenesisFile = genesisPath,
                    Members = members,
                    Transport = new PeerTransportSettings { Wan = new WanSettings { Enabled = layout.Wan } },
                    TickMilliseconds = layout.TickMilliseconds ?? new NodeOptions().TickMilliseconds,
                    ElectionTicks = layout.ElectionTicks ?? new NodeOptions().ElectionTicks,
                    Tls = new TlsSettings
                    {
                        CaFile = Path.Combine(certs, DevelopmentCertificates.CaCertificateFile),
                        CertificateFile = Path.Combine(certs, DevelopmentCertificates.NodeCertificateFile(member.Id)),
                        KeyFile = Path.Combine(certs, DevelopmentCertificates.NodeKeyFile(member.Id)),
                    },
                },
                ["Logging"] = new Dictionary<string, object> { ["LogLevel"] = new Dictionary<string, string> { ["Default"] = "Information", ["Microsoft.AspNetCore"] = "Warning" } },
            };
            var path = Path.Combine(nodeDir, "appsettings.json");
            File.WriteAllText(path, JsonSerializer.Serialize(config, NodeServer.Indented));
            result.Add((member, path));
        }
        return result;
    }

    /// <summary>The longest wait before a node that exited is started again (<c>--restart</c>).</summary>
    public static readonly TimeSpan MaxRestartDelay = TimeSpan.FromSeconds(30);

    /// <summary>How long a restarted node must run for its restart delay to start again from one second.</summary>
    public static readonly TimeSpan StableRun = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Starts every node and supervises them until Ctrl-C. A node that exits is reported and the others run on; with
    /// <paramref name="restart"/> it is started again after a delay that doubles from 1 s up to <see cref="MaxRestartDelay"/>
    /// while it keeps exiting within <see cref="StableRun"/> (never after a configuration error, which a restart cannot mend).
    /// </summary>
    public static async Task<int> RunAsync(Layout layout, CancellationToken cancellation, bool restart = false)
    {
        // Ctrl-C, `kill` (SIGTERM) and a closed terminal (SIGHUP) all stop every node before the devnet exits,
        // so no node process outlives it.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var ct = stop.Token;
        using var signals = ShutdownSignals.Cancel(stop);
        var nodes = Prepare(layout);
        var processes = new Process[nodes.Count];
        try
        {
            for (var i = 0; i < nodes.Count; i++)
            {
                processes[i] = StartNode(nodes[i].Member, nodes[i].ConfigPath);
            }
            Console.WriteLine();
            PrintLayout(layout, nodes);
            Console.WriteLine(restart ? "Ctrl-C stops every node; a node that exits is started again" : "Ctrl-C stops every node");
            // A node that exits (killed by an operator or a test, or failed) is reported; the others run on. Without
            // --restart it can be started again by hand with the command printed; the devnet ends when every node has exited.
            var left = nodes.Count;
            await Task.WhenAll(nodes.Select((n, i) => Supervise(i))).ConfigureAwait(false);
            Console.Error.WriteLine("devnet: every node has exited");
            return 1;

            async Task Supervise(int i)
            {
                var (member, config) = nodes[i];
                var delay = TimeSpan.FromSeconds(1);
                var started = Stopwatch.GetTimestamp(); // Process.StartTime cannot be read once the process has gone
                while (true)
                {
                    var process = Volatile.Read(ref processes[i]);
                    await process.WaitForExitAsync(ct).ConfigureAwait(false);
                    var code = process.ExitCode;
                    if (!restart || code == ExitCodes.BadConfiguration)
                    {
                        var running = Interlocked.Decrement(ref left);
                        Console.Error.WriteLine($"devnet: node {member.Id} exited with code {code}; {running} nodes run on. Start it again with: dotnet {typeof(Devnet).Assembly.Location} run --config {config}");
                        return;
                    }
                    delay = Stopwatch.GetElapsedTime(started) >= StableRun ? TimeSpan.FromSeconds(1) : delay;
                    Console.Error.WriteLine($"devnet: node {member.Id} exited with code {code}; starting it again in {delay.TotalSeconds:0} s");
                    await Task.Delay(delay, ct).ConfigureAwait(false);
                    Volatile.Write(ref processes[i], StartNode(member, config));
                    started = Stopwatch.GetTimestamp();
                    Console.Error.WriteLine($"devnet: node {member.Id} started again (process {Volatile.Read(ref processes[i]).Id})");
                    delay = TimeSpan.FromTicks(Math.Min(MaxRestartDelay.Ticks, delay.Ticks * 2));
                }
            }
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
        finally
        {
            await StopAllAsync(processes.Where(p => p is not null)).ConfigureAwait(false);
        }
    }

    /// <summary>Writes everything <see cref="Prepare"/> does and prints it, without starting a node (for nodes run elsewhere, e.g. in containers).</summary>
    public static int PrepareOnly(Layout layout)
    {
        var nodes = Prepare(layout);
        PrintLayout(layout, nodes);
        foreach (var (member, config) in nodes)
        {
            Console.WriteLine($"node {member.Id}: {config}");
        }
        return 0;
    }

    private static void PrintLayout(Layout layout, List<(MemberOptions Member, string ConfigPath)> nodes)
    {
        Console.WriteLine($"devnet: {nodes.Count} nodes, data under {Path.GetFullPath(layout.Directory)}");
        Console.WriteLine($"{"id",-4}{"role",-10}{"peer",-18}{"gRPC",-24}REST (/api/v11, /healthz, /readyz, /metrics)");
        foreach (var (member, _) in nodes)
        {
            Console.WriteLine($"{member.Id,-4}{member.Role.ToString().ToLowerInvariant(),-10}{member.PeerAddress,-18}{member.ApiAddress,-24}{member.RestAddress}");
        }
        Console.WriteLine($"peers: mutual TLS, cluster CA and node certificates in {CertificateDirectory(layout.Directory)}");
        if (layout.ApiTls)
        {
            Console.WriteLine($"API: HTTPS (gRPC and REST on one port); clients: --ca {Path.Combine(CertificateDirectory(layout.Directory), DevelopmentCertificates.CaCertificateFile)}");
        }
        Console.WriteLine($"dev account keys: {Path.Combine(Path.GetFullPath(layout.Directory), "keys")}");
    }

    private static Process StartNode(MemberOptions member, string config)
    {
        var start = NodeProcessStart();
        start.ArgumentList.Add("run");
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(config);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start node {member.Id}");
        var prefix = $"[node-{member.Id}] ";
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.WriteLine(prefix + e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine(prefix + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>How to start this same program again: its apphost, or `dotnet Aurigraph.Node.dll`.</summary>
    public static ProcessStartInfo NodeProcessStart()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(host);
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(Devnet).Assembly.Location);
        }
        return start;
    }

    /// <summary>SIGTERM first (the node shuts down cleanly), then SIGKILL for any that are still running after 10 s.</summary>
    public static async Task StopAllAsync(IEnumerable<Process> processes)
    {
        var running = processes.Where(p => !p.HasExited).ToList();
        foreach (var p in running)
        {
            _ = Kill(p.Id, 15);
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        foreach (var p in running)
        {
            try
            {
                await p.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                p.Kill(entireProcessTree: true);
            }
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
