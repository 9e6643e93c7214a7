using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Tests.Cluster;
using Aurigraph.Node.Tests.Deployment;

namespace Aurigraph.Node.Tests.Clients;

/// <summary>
/// The TypeScript client (clients/typescript) against a real cluster: its own test suite (<c>npm test</c>, node:test)
/// runs with the cluster's addresses, chain id and a funded dev key in its environment, over plaintext and over TLS.
/// </summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed partial class TypeScriptClientTests
{
    private static string Package => Path.Combine(KubernetesManifests.Root, "clients", "typescript");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_client_test_suite_passes_against_a_real_cluster(bool apiTls)
    {
        Assert.True(Directory.Exists(Path.Combine(Package, "node_modules")),
            $"{Package}/node_modules is missing: run 'cd clients/typescript && npm ci' (.ci/run does)");
        var expected = TestsWritten();
        Assert.True(expected >= 17, $"found {expected} tests in clients/typescript/test"); // the suite's size when this test was written

        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, apiTls: apiTls);
        var status = await cluster.Status(1).GetStatusAsync(new GetStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");
        environment["AURIGRAPH_NODES"] = string.Join(',', cluster.Nodes.Select(n => n.Member.ApiAddress));
        environment["AURIGRAPH_REST"] = string.Join(',', cluster.Nodes.Select(n => n.Member.RestAddress));
        environment["AURIGRAPH_CHAIN_ID"] = status.ChainId;
        environment["AURIGRAPH_DEV_KEY"] = Path.Combine(cluster.Directory, "keys", "dev-1.key");
        environment.Remove("AURIGRAPH_CA_FILE");
        if (apiTls)
        {
            environment["AURIGRAPH_CA_FILE"] = cluster.CaFile;
            environment["NODE_EXTRA_CA_CERTS"] = cluster.CaFile; // fetch (the REST test) trusts the cluster CA
        }

        var (code, output, error) = KubernetesManifests.Run("npm", ["test"], "install Node.js and npm, then run 'npm ci' in clients/typescript (.ci/run does)",
            environment: environment, workingDirectory: Package);
        var report = $"npm test (api tls: {apiTls}) exited {code}\n{output}\n{error}\n--- cluster ---\n{cluster.Output()}";
        Assert.True(code == 0, report);
        var pass = Summary(output, "pass");
        Assert.True(pass >= expected, $"'# pass {pass}', expected at least {expected}\n{report}");
        Assert.True(Summary(output, "fail") == 0, report);
    }

    /// <summary>How many <c>test(...)</c> calls the suite's sources hold.</summary>
    private static int TestsWritten() =>
        Directory.GetFiles(Path.Combine(Package, "test"), "*.test.ts").Sum(f => TestCall().Count(File.ReadAllText(f)));

    /// <summary>The number on node:test's summary line <c># name N</c>; -1 when the line is missing.</summary>
    private static int Summary(string output, string name) =>
        Regex.Match(output, $@"^# {name} (\d+)$", RegexOptions.Multiline) is { Success: true } m
            ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
            : -1;

    [GeneratedRegex(@"^\s*test\('", RegexOptions.Multiline)]
    private static partial Regex TestCall();
}
