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
    private static NodeOptions Bind(IReadOnlyDictionary<string, string> environment)
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
}
