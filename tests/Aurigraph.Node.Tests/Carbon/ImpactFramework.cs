using System.Globalization;
using Aurigraph.Node.Tests.Deployment;
using YamlDotNet.RepresentationModel;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>Runs the Green Software Foundation's if-run (pinned in tools/impact-framework) on a manifest and reads its output.</summary>
internal static class ImpactFramework
{
    /// <summary>Computes <paramref name="manifest"/>; fails the test unless if-run reports success. Returns the output's root.</summary>
    public static YamlMappingNode Run(string manifest, string folder)
    {
        var input = Path.Combine(folder, "manifest.yml");
        File.WriteAllText(input, manifest);
        var tools = Path.Combine(KubernetesManifests.Root, "tools", "impact-framework");
        var (code, output, error) = KubernetesManifests.Run(
            Path.Combine(tools, "node_modules", ".bin", "if-run"),
            ["--manifest", input, "--output", Path.Combine(folder, "out")],
            "run 'npm ci' in tools/impact-framework (.ci/run does)",
            workingDirectory: tools);
        Assert.True(code == 0, $"if-run failed ({code}): {output}\n{error}");
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(folder, "out.yaml")))
        {
            yaml.Load(reader);
        }
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var status = ((YamlScalarNode)Map(root, "execution").Children[new YamlScalarNode("status")]).Value;
        Assert.True(status == "success", $"if-run: {status}\n{File.ReadAllText(Path.Combine(folder, "out.yaml"))[..2000]}");
        return root;
    }

    /// <summary>The sum over the tree's children (members) of their aggregated <paramref name="metric"/>.</summary>
    public static double MemberTotal(YamlMappingNode root, string metric) =>
        Children(root).Sum(c => Number(Map(c.Value, "aggregated"), metric));

    /// <summary>The tree's children, by name.</summary>
    public static IEnumerable<KeyValuePair<YamlNode, YamlNode>> Children(YamlMappingNode root) => Map(Map(root, "tree"), "children").Children;

    public static YamlMappingNode Map(YamlNode node, string key) => (YamlMappingNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)];

    public static double Number(YamlNode node, string key) =>
        double.Parse(((YamlScalarNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)]).Value!, CultureInfo.InvariantCulture);
}
