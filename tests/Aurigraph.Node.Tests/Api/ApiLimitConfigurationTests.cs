using System.Diagnostics;
using Aurigraph.Node.Hosting;

namespace Aurigraph.Node.Tests.Api;

/// <summary>The API message limit is validated at start against the node's transaction limit.</summary>
public sealed class ApiLimitConfigurationTests
{
    [Fact]
    public async Task A_message_limit_below_the_largest_transaction_stops_the_node_at_start_naming_both_settings()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aurigraph-limits-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var (_, config) = Devnet.Prepare(new Devnet.Layout(dir, 1, 0, 0, 31_600)).Single();
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Aurigraph.Node.dll"));
            start.ArgumentList.Add("run");
            start.ArgumentList.Add("--config");
            start.ArgumentList.Add(config);
            start.Environment["AURIGRAPH__API__MAXMESSAGEBYTES"] = "65536"; // = MaxTransactionBytes, without room for the request's framing
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            var output = await stdout + await stderr;

            Assert.Equal(ExitCodes.BadConfiguration, process.ExitCode);
            Assert.Contains("Aurigraph:Api:MaxMessageBytes must be at least Aurigraph:MaxTransactionBytes + 32 = 65568", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
