using System.CommandLine;
using Aurigraph.Node.Hosting;
using Spectre.Console;

namespace Aurigraph.Bench.Load;

/// <summary>`load`: drive a running cluster (or a devnet it starts) and report tx/s, latency and node resources.</summary>
public static class LoadCommand
{
    public static Command Create()
    {
        var targets = new Option<string?>("--targets") { Description = "Comma-separated gRPC addresses of the nodes to submit to (e.g. the devnet's http://127.0.0.1:7201,...). Omit with --devnet." };
        var devnet = new Option<int>("--devnet") { Description = "Start a devnet of this many validators for the run (0: use --targets).", DefaultValueFactory = _ => 0 };
        var bodyBytes = new Option<int>("--body-bytes") { DefaultValueFactory = _ => 128 };
        var senders = new Option<int>("--senders") { DefaultValueFactory = _ => 1024 };
        var batch = new Option<int>("--batch") { Description = "Transactions per call.", DefaultValueFactory = _ => 200 };
        var concurrency = new Option<int>("--concurrency") { Description = "Calls in flight.", DefaultValueFactory = _ => 16 };
        var duration = new Option<int>("--duration") { Description = "Timed seconds.", DefaultValueFactory = _ => 20 };
        var warmup = new Option<int>("--warmup") { Description = "Warm-up seconds (not counted).", DefaultValueFactory = _ => 3 };
        var transactions = new Option<int>("--transactions") { Description = "Transactions signed before the run.", DefaultValueFactory = _ => 300_000 };
        var signatures = new Option<string>("--signatures") { Description = "Signature mode of the devnet's nodes: ed25519 or none (with --targets: the mode the cluster runs in, for the report).", DefaultValueFactory = _ => "ed25519" };
        var peerTls = new Option<bool>("--peer-tls") { Description = "With --devnet: peers on mutual TLS (true, the default) or plaintext on loopback (false).", DefaultValueFactory = _ => true };
        var basePort = new Option<int>("--base-port") { Description = "With --devnet: the first port its nodes use.", DefaultValueFactory = _ => 27_100 };
        var wanClouds = new Option<string[]>("--wan-clouds") { Description = "With --devnet: spread the validators over these locations (cloud:region; 'programme' = the three programme regions) with WAN emulation between them.", AllowMultipleArgumentsPerToken = true };
        var rate = new Option<double>("--rate") { Description = "Offered transactions per second, open loop (0: closed loop).", DefaultValueFactory = _ => 0 };
        var leader = new Option<ulong>("--leader") { Description = "With --devnet: hand leadership to this validator before the run (0: leave it where the election put it).", DefaultValueFactory = _ => 0 };
        var placement = new Option<int>("--leader-placement") { Description = "With --devnet: turn carbon-aware leader placement on with this hold in seconds (checks every second; 0: off).", DefaultValueFactory = _ => 0 };
        var command = new Command("load", "Submit pre-signed transactions to a cluster and report committed tx/s, latency percentiles and node CPU / RSS.")
        {
            targets, devnet, bodyBytes, senders, batch, concurrency, duration, warmup, transactions, signatures, peerTls, basePort, rate, wanClouds, leader, placement,
        };
        command.SetAction(async (parse, ct) =>
        {
            var options = new LoadOptions
            {
                Targets = (parse.GetValue(targets) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                BodyBytes = parse.GetValue(bodyBytes),
                Senders = parse.GetValue(senders),
                BatchSize = parse.GetValue(batch),
                Concurrency = parse.GetValue(concurrency),
                Duration = TimeSpan.FromSeconds(parse.GetValue(duration)),
                Warmup = TimeSpan.FromSeconds(parse.GetValue(warmup)),
                Transactions = parse.GetValue(transactions),
                SignatureMode = parse.GetValue(signatures)!,
                PeerTls = parse.GetValue(peerTls),
                BasePort = parse.GetValue(basePort),
                RatePerSecond = parse.GetValue(rate),
                Leader = parse.GetValue(leader),
                PlacementHoldSeconds = parse.GetValue(placement),
                WanClouds = parse.GetValue(wanClouds) is { Length: > 0 } given ? (given is ["programme"] ? Devnet.ProgrammeClouds : [.. given.SelectMany(c => c.Split(',', StringSplitOptions.RemoveEmptyEntries))]) : [],
            };
            var (result, _) = await RunAsync(options, parse.GetValue(devnet), ct);
            return result.Committed > 0 ? 0 : 1;
        });
        return command;
    }

    /// <summary>Runs the load (starting a devnet first if asked), prints the figures and writes the report.</summary>
    public static async Task<(LoadResult Result, string Markdown)> RunAsync(LoadOptions options, int devnetValidators, CancellationToken cancellation)
    {
        // Ctrl-C, SIGTERM and SIGHUP end the run and stop the devnet's nodes, so none outlives the command.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var ct = stop.Token;
        using var signals = Aurigraph.Node.Hosting.ShutdownSignals.Cancel(stop);
        LocalDevnet? devnet = null;
        try
        {
            if (devnetValidators > 0)
            {
                AnsiConsole.MarkupLine($"[grey]starting a devnet of {devnetValidators} validators...[/]");
                if (options.SignatureMode is not ("ed25519" or "none"))
                {
                    throw new ArgumentException($"--signatures must be ed25519 or none, got '{options.SignatureMode}'");
                }
                var settings = new Dictionary<string, string>
                {
                    ["AURIGRAPH__SIGNATUREMODE"] = options.SignatureMode == "none" ? "None" : "Ed25519",
                    ["AURIGRAPH__CARBON__METERING"] = options.Metering ? "true" : "false",
                    ["AURIGRAPH__TRANSPORT__INSECURE"] = options.PeerTls ? "false" : "true",
                    ["AURIGRAPH__ADMINTOKEN"] = LeaderControl.Token,
                    // The devnet's nodes share this machine: each is provisioned its share of the processors, not all of them.
                    ["AURIGRAPH__CARBON__PROVISIONEDVCPUS"] = (Environment.ProcessorCount / (double)devnetValidators).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                };
                if (options.PlacementHoldSeconds > 0)
                {
                    settings["AURIGRAPH__LEADERPLACEMENT__ENABLED"] = "true";
                    settings["AURIGRAPH__LEADERPLACEMENT__CHECKINTERVALSECONDS"] = "1";
                    settings["AURIGRAPH__LEADERPLACEMENT__HOLDSECONDS"] = options.PlacementHoldSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                devnet = await LocalDevnet.StartAsync(devnetValidators, options.BasePort, settings, ct, options.WanClouds);
                options = options with { Targets = devnet.GrpcTargets };
                if (options.Leader != 0)
                {
                    await LeaderControl.TransferAsync(devnet.GrpcTargets, options.Leader, ct);
                    AnsiConsole.MarkupLine($"[grey]leadership handed to node {options.Leader}[/]");
                }
            }
            else if (options.Leader != 0 || options.PlacementHoldSeconds != 0)
            {
                throw new ArgumentException("--leader and --leader-placement need --devnet");
            }
            if (options.Targets.Count == 0)
            {
                throw new ArgumentException("give --targets or --devnet N");
            }
            var pids = devnet is not null ? devnet.Pids : NodeProbe.FindNodes();
            var carbonBefore = await CarbonProbe.ReadAsync(options.Targets, ct);
            var result = await LoadGenerator.RunAsync(options, () => pids, ct);
            result = result with { Carbon = await CarbonProbe.AfterAsync(carbonBefore, ct) };
            options = options with { LeaderAtEnd = await LeaderControl.LeaderAsync(options.Targets, ct) };
            var machine = MachineInfo.Read();
            var commit = RunReport.GitCommit();
            var markdown = RunReport.Markdown("Aurigraph load run", machine, commit, options, result);
            var (json, md) = RunReport.Write("load", new { machine, commit, options, result }, markdown);
            AnsiConsole.WriteLine();
            Console.WriteLine(markdown);
            AnsiConsole.MarkupLine($"[grey]report: {Markup.Escape(md)} and {Markup.Escape(json)}[/]");
            return (result, markdown);
        }
        finally
        {
            if (devnet is not null)
            {
                await devnet.DisposeAsync();
            }
        }
    }
}
