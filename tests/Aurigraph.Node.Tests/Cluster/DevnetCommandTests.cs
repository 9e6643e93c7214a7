using System.Diagnostics;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Grpc.Net.Client;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>The devnet command itself, as an operator runs it.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class DevnetCommandTests
{
    private const string Chain = "aurigraph-devnet";

    [Fact]
    public async Task The_devnet_runs_on_when_a_node_exits_and_the_node_started_again_as_it_says_catches_up()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aurigraph-devnet-cmd-" + Guid.NewGuid().ToString("N")[..8]);
        var basePort = LocalCluster.FreePortBase();
        var node = Path.Combine(AppContext.BaseDirectory, "Aurigraph.Node.dll");
        var devnet = Start(node, "devnet", "--dir", dir, "--validators", "3", "--business", "0", "--slim", "0", "--base-port", basePort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var errors = new List<string>();
        var exitLine = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        devnet.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (errors)
                {
                    errors.Add(line);
                }
                if (line.StartsWith("devnet: node 3 exited", StringComparison.Ordinal))
                {
                    exitLine.TrySetResult(line);
                }
            }
        };
        devnet.OutputDataReceived += (_, _) => { };
        devnet.BeginErrorReadLine();
        devnet.BeginOutputReadLine();
        Process? again = null;
        try
        {
            string Api(int id) => $"http://127.0.0.1:{basePort + 100 + id}";
            await WaitAsync(async () => (await StatusAsync(Api(1)))?.Leader is > 0, "a leader");
            // Roles are written by name in the generated configurations.
            Assert.Contains("\"Role\": \"Validator\"", await File.ReadAllTextAsync(Path.Combine(dir, "node-1", "appsettings.json")), StringComparison.Ordinal);

            KillNode(Path.Combine(dir, "node-3", "appsettings.json"));
            var line = await exitLine.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(devnet.HasExited, "the devnet runs on");
            Assert.Contains("2 nodes run on", line, StringComparison.Ordinal);

            // The two left commit.
            using var sender = TransactionSigner.FromSeed(Convert.FromHexString((await File.ReadAllTextAsync(Path.Combine(dir, "keys", "dev-1.key"))).Trim()));
            using var recipient = TransactionSigner.Generate();
            using var channel = GrpcChannel.ForAddress(Api(1));
            var result = (await new TransactionService.TransactionServiceClient(channel).SubmitTransactionsAsync(
                new SubmitTransactionsRequest { Transactions = { sender.Transfer(Chain, 0, recipient.PublicKey, 7) } })).Results[0];
            Assert.Equal(TransactionState.Committed, result.State);

            // Started again with the command the devnet printed, node 3 catches up.
            var command = line[(line.IndexOf("Start it again with: dotnet ", StringComparison.Ordinal) + "Start it again with: dotnet ".Length)..].Split(' ');
            Assert.Equal(["run", "--config"], command[1..3]);
            again = Start(command[0], [.. command[1..]]);
            again.OutputDataReceived += (_, _) => { };
            again.ErrorDataReceived += (_, _) => { };
            again.BeginOutputReadLine();
            again.BeginErrorReadLine();
            await WaitAsync(async () => (await StatusAsync(Api(3)))?.Height >= result.Height, "node 3 caught up");
        }
        finally
        {
            again?.Kill();
            await StopAsync(devnet, dir);
        }
    }

    [Fact]
    public async Task With_restart_the_devnet_starts_a_killed_node_again_with_a_growing_delay_and_its_log_lines_carry_utc_timestamps()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aurigraph-devnet-restart-" + Guid.NewGuid().ToString("N")[..8]);
        var basePort = LocalCluster.FreePortBase();
        var node = Path.Combine(AppContext.BaseDirectory, "Aurigraph.Node.dll");
        var devnet = Start(node, "devnet", "--dir", dir, "--validators", "3", "--business", "0", "--slim", "0", "--restart", "--base-port", basePort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var errors = new List<string>();
        var output = new List<string>();
        var restarted = new[] { new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously) };
        var restarts = 0;
        devnet.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                return;
            }
            lock (errors)
            {
                errors.Add(line);
                if (line.StartsWith("devnet: node 3 exited", StringComparison.Ordinal) && restarts < restarted.Length)
                {
                    restarted[restarts++].TrySetResult(line);
                }
            }
        };
        devnet.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (output)
                {
                    output.Add(line);
                }
            }
        };
        devnet.BeginErrorReadLine();
        devnet.BeginOutputReadLine();
        try
        {
            string Api(int id) => $"http://127.0.0.1:{basePort + 100 + id}";
            var config = Path.Combine(dir, "node-3", "appsettings.json");
            await WaitAsync(async () => (await StatusAsync(Api(3)))?.Leader is > 0, "node 3 hears a leader");

            KillNode(config);
            var first = await restarted[0].Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Contains("starting it again in 1 s", first, StringComparison.Ordinal);
            await WaitAsync(async () => (await StatusAsync(Api(3)))?.Leader is > 0, "node 3 back with a leader");
            Assert.False(devnet.HasExited, "the devnet runs on");

            // Killed again within a minute: the delay doubles.
            KillNode(config);
            var second = await restarted[1].Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Contains("starting it again in 2 s", second, StringComparison.Ordinal);
            await WaitAsync(async () => (await StatusAsync(Api(3)))?.Leader is > 0, "node 3 back again");
            lock (errors)
            {
                Assert.Equal(2, errors.Count(l => l.StartsWith("devnet: node 3 started again (process ", StringComparison.Ordinal)));
            }

            // Every node log line: "[node-N] 2026-12-04T20:53:58.379Z info: <category>[<event>] <message>".
            lock (output)
            {
                var lines = output.Where(l => l.StartsWith("[node-", StringComparison.Ordinal)).ToList();
                Assert.True(lines.Count > 10, $"{lines.Count} node log lines");
                var stamp = new System.Text.RegularExpressions.Regex(@"^\[node-\d+\] (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (trce|dbug|info|warn|fail|crit): ");
                Assert.All(lines, l => Assert.Matches(stamp, l));
                var first3 = DateTime.ParseExact(stamp.Match(lines[0]).Groups[1].Value, "yyyy-MM-dd'T'HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(Math.Abs((DateTime.UtcNow - first3).TotalMinutes) < 10, $"the stamp {first3:o} is not UTC now");
            }
        }
        finally
        {
            await StopAsync(devnet, dir);
        }
    }

    /// <summary>Ends the devnet (and every node it started) and removes its folder.</summary>
    private static async Task StopAsync(Process devnet, string dir)
    {
        if (!devnet.HasExited)
        {
            devnet.Kill(entireProcessTree: true);
        }
        await devnet.WaitForExitAsync();
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Process Start(string dll, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        return Process.Start(start)!;
    }

    /// <summary>kill -9 of the node process whose command line names <paramref name="config"/>.</summary>
    private static void KillNode(string config)
    {
        foreach (var proc in Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)))
        {
            string cmdline;
            try
            {
                cmdline = File.ReadAllText($"/proc/{proc}/cmdline").Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            if (cmdline.Contains(" run --config " + config, StringComparison.Ordinal))
            {
                using var p = Process.GetProcessById(int.Parse(proc!, System.Globalization.CultureInfo.InvariantCulture));
                p.Kill();
                return;
            }
        }
        Assert.Fail($"no process runs {config}");
    }

    private static async Task<NodeStatus?> StatusAsync(string api)
    {
        try
        {
            using var channel = GrpcChannel.ForAddress(api);
            return await new NodeService.NodeServiceClient(channel).GetStatusAsync(new GetStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
        }
        catch (Grpc.Core.RpcException)
        {
            return null;
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"timed out waiting for {what}");
            await Task.Delay(100); // polling a condition against a deadline
        }
    }
}
