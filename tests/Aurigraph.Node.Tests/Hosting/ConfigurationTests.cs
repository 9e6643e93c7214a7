using System.Diagnostics;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Hosting;
using Microsoft.Extensions.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Aurigraph.Node.Tests.Hosting;

public sealed class ConfigurationTests
{
    /// <summary>Each compose service's environment, with YAML anchors and merge keys resolved.</summary>
    private static Dictionary<string, Dictionary<string, string>> ComposeEnvironments()
    {
        using var reader = new StreamReader(Path.Combine(AppContext.BaseDirectory, "docker", "compose.yaml"));
        var yaml = new YamlStream();
        yaml.Load(new MergingParser(new Parser(reader)));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var services = (YamlMappingNode)root.Children[new YamlScalarNode("services")];
        return services.Children.ToDictionary(
            s => ((YamlScalarNode)s.Key).Value!,
            s => ((YamlMappingNode)((YamlMappingNode)s.Value).Children[new YamlScalarNode("environment")]).Children
                .ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value!));
    }

    /// <summary>Binds environment variables the way the node does: AURIGRAPH__X__Y is the key Aurigraph:X:Y.</summary>
    internal static NodeOptions Bind(IReadOnlyDictionary<string, string> environment)
    {
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(environment.Select(kv => KeyValuePair.Create(kv.Key.Replace("__", ":", StringComparison.Ordinal), (string?)kv.Value)))
            .Build();
        var options = new NodeOptions();
        config.GetSection(NodeOptions.Section).Bind(options);
        return options;
    }

    [Fact]
    public void Every_compose_service_configures_a_valid_node_of_the_cluster()
    {
        var services = ComposeEnvironments();

        Assert.Equal(5, services.Count);
        var nodes = services.ToDictionary(s => s.Key, s => Bind(s.Value));
        foreach (var (name, options) in nodes)
        {
            Assert.True(options.Validate().Count == 0, $"{name}: {string.Join("; ", options.Validate())}");
            Assert.Equal(5, options.Members.Count);
        }
        Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL], nodes.Values.Select(o => o.NodeId).Order());
        Assert.Equal(NodeRole.Validator, nodes["validator-azure"].Role);
        Assert.Equal(NodeRole.Business, nodes["business-aws"].Role);
        Assert.Equal(NodeRole.Slim, nodes["slim-gcp"].Role);
        Assert.Equal("aurigraph-devnet", nodes["slim-gcp"].ChainId);
    }

    [Fact]
    public void Every_compose_service_meters_the_cloud_and_region_it_is_labelled_with()
    {
        using var reader = new StreamReader(Path.Combine(AppContext.BaseDirectory, "docker", "compose.yaml"));
        var yaml = new YamlStream();
        yaml.Load(new MergingParser(new Parser(reader)));
        var services = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode).Children[new YamlScalarNode("services")];
        var environments = ComposeEnvironments();
        foreach (var (key, value) in services.Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            var labels = (YamlMappingNode)((YamlMappingNode)value).Children[new YamlScalarNode("labels")];
            var config = new ConfigurationBuilder()
                .AddInMemoryCollection(environments[name].Select(kv => KeyValuePair.Create(kv.Key.Replace("__", ":", StringComparison.Ordinal), (string?)kv.Value)))
                .Build();
            var carbon = new CarbonOptions();
            config.GetSection(CarbonOptions.Section).Bind(carbon);

            Assert.Equal(((YamlScalarNode)labels.Children[new YamlScalarNode("cloud")]).Value, CloudProviders.ToKey(carbon.Cloud));
            Assert.Equal(((YamlScalarNode)labels.Children[new YamlScalarNode("region")]).Value, carbon.Region);
            Assert.NotEqual(CloudProvider.Other, carbon.Cloud);
        }
    }

    [Fact]
    public void A_configuration_error_names_the_setting()
    {
        var environment = ComposeEnvironments()["validator-aws"];
        environment["AURIGRAPH__NODEID"] = "9";
        environment["AURIGRAPH__MEMBERS__1__PEERADDRESS"] = "not-an-endpoint";
        environment["AURIGRAPH__ELECTIONTICKS"] = "1";

        var errors = Bind(environment).Validate();

        Assert.Contains(errors, e => e.Contains("Aurigraph:NodeId 9 is not one of Aurigraph:Members", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Aurigraph:Members:1:PeerAddress", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Aurigraph:ElectionTicks", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(10, 1, true)]  // the defaults: a lease of 8 ticks, a heartbeat every tick
    [InlineData(10, 7, true)]
    [InlineData(10, 8, false)] // heartbeats 8 ticks apart outlast the 8-tick lease
    [InlineData(5, 4, false)]  // lease 4 ticks (margin 1)
    [InlineData(20, 15, true)] // lease 16 ticks (margin 4)
    public void Heartbeats_must_come_within_the_leaders_lease(int electionTicks, int heartbeatTicks, bool valid)
    {
        var environment = ComposeEnvironments()["validator-aws"];
        environment["AURIGRAPH__ELECTIONTICKS"] = electionTicks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["AURIGRAPH__HEARTBEATTICKS"] = heartbeatTicks.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var errors = Bind(environment).Validate().Where(e => e.Contains("Aurigraph:HeartbeatTicks", StringComparison.Ordinal)).ToList();

        if (valid)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.Contains(errors, e => e.Contains("lease", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_tick_defaults_are_etcds_heartbeat_and_election_timeout()
    {
        var options = new NodeOptions();

        Assert.Equal(100, options.TickMilliseconds * options.HeartbeatTicks);
        Assert.Equal(1_000, options.TickMilliseconds * options.ElectionTicks);
    }

    private static async Task<(int ExitCode, string Output)> RunNodeAsync(string config, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Aurigraph.Node.dll"));
        start.ArgumentList.Add("run");
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(config);
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public void The_programme_topology_is_66_valid_nodes_over_three_clouds_and_a_member_list_over_the_peer_bound_is_refused()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aurigraph-programme-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var nodes = Devnet.Prepare(Devnet.Programme(dir, 31_800));
            Assert.Equal(66, nodes.Count);
            foreach (var cloud in new[] { "aws", "azure", "gcp" })
            {
                var here = nodes.Select(n => n.Member).Where(m => m.Cloud == cloud).ToList();
                Assert.Equal([4, 6, 12], new[] { NodeRole.Validator, NodeRole.Business, NodeRole.Slim }.Select(r => here.Count(m => m.Role == r)));
            }
            var options = new NodeOptions();
            new ConfigurationBuilder().AddJsonFile(nodes[65].ConfigPath).Build().GetSection(NodeOptions.Section).Bind(options);
            Assert.Empty(options.Validate());
            Assert.Equal((250, 20), (options.TickMilliseconds, options.ElectionTicks));
            Assert.Equal(NodeRole.Slim, options.Self.Role);

            options.Members.AddRange(Enumerable.Range(100, 200).Select(i => new MemberOptions { Id = (ulong)i, Role = NodeRole.Slim, PeerAddress = $"127.0.0.1:{20_000 + i}", ApiAddress = $"http://127.0.0.1:{21_000 + i}", RestAddress = $"http://127.0.0.1:{22_000 + i}" }));
            Assert.Contains(options.Validate(), e => e.Contains("266 members; a node keeps lanes to at most 256 peers", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_devnet_over_clouds_spreads_each_role_round_robin_and_binds_back_with_emulation_on()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aurigraph-topology-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var nodes = Devnet.Prepare(new Devnet.Layout(dir, 4, 3, 0, 31_600, Clouds: Devnet.ProgrammeClouds, Wan: true));
            var members = nodes.Select(n => n.Member).ToList();
            Assert.Equal(["aws", "azure", "gcp", "aws", "aws", "azure", "gcp"], members.Select(m => m.Cloud));
            Assert.Equal(["a", "a", "a", "b", "a", "a", "a"], members.Select(m => m.Zone)); // the fourth validator is aws's second
            // What a node reads back from its file: every member's location, emulation on, and a valid configuration.
            var configuration = new ConfigurationBuilder().AddJsonFile(nodes[2].ConfigPath).Build();
            var options = new NodeOptions();
            configuration.GetSection(NodeOptions.Section).Bind(options);
            Assert.True(options.Transport.Wan.Enabled);
            Assert.Equal("gcp:us-central1", WanTopology.Location(options.Self));
            Assert.Equal(30, WanTopology.Link(options.Self, options.Members[0], options.Transport.Wan)!.Value.RttMilliseconds);
            Assert.DoesNotContain("\"Self\"", File.ReadAllText(nodes[2].ConfigPath), StringComparison.Ordinal);
            Assert.Throws<ArgumentException>(() => Devnet.Prepare(new Devnet.Layout(dir, 1, 0, 0, 31_700, Clouds: ["aws"])));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_node_process_with_a_bad_setting_or_a_foreign_data_folder_stops_at_start_and_says_why()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aurigraph-config-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var (_, config) = Devnet.Prepare(new Devnet.Layout(dir, 1, 0, 0, 31_500)).Single();

            var badSetting = await RunNodeAsync(config, new() { ["AURIGRAPH__ELECTIONTICKS"] = "0" });
            Assert.Equal(2, badSetting.ExitCode);
            Assert.Contains("Aurigraph:ElectionTicks", badSetting.Output, StringComparison.Ordinal);

            var badCarbon = await RunNodeAsync(config, new() { ["AURIGRAPH__CARBON__ENERGY__AWS__PUE"] = "0.5", ["AURIGRAPH__CARBON__RECORDS__DEADLINEBLOCKS"] = "0" });
            Assert.Equal(2, badCarbon.ExitCode);
            Assert.Contains("Aurigraph:Carbon:Energy:Aws:Pue must be at least 1", badCarbon.Output, StringComparison.Ordinal);
            Assert.Contains("Aurigraph:Carbon:Records:DeadlineBlocks", badCarbon.Output, StringComparison.Ordinal);

            var data = Path.Combine(dir, "node-1", "data");
            Directory.CreateDirectory(data);
            File.WriteAllText(Path.Combine(data, "photo.jpg"), "not a database");
            var foreign = await RunNodeAsync(config, []);
            Assert.Equal(3, foreign.ExitCode);
            Assert.Contains("holds no node database", foreign.Output, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(data, "photo.jpg")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
