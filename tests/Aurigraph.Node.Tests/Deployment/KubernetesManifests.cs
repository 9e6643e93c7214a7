using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Aurigraph.Node.Tests.Deployment;

/// <summary>
/// deploy/kubernetes rendered per cloud with kustomize (kubectl kustomize), read as YAML, and the tools the tests call:
/// kubectl, yamllint, node with deploy/kubernetes/tools' packages, sh. A missing tool fails the test with what to
/// install (.ci/run installs them).
/// </summary>
internal static partial class KubernetesManifests
{
    public static readonly string[] Clouds = ["aws", "azure", "gcp"];

    private static readonly ConcurrentDictionary<string, string> Rendered = new();

    public static string Root { get; } = FindRoot();

    public static string Deploy => Path.Combine(Root, "deploy", "kubernetes");

    /// <summary>The kustomize output of clouds/<paramref name="cloud"/>.</summary>
    public static string Render(string cloud) => Rendered.GetOrAdd(cloud, c =>
    {
        var (code, output, error) = Run("kubectl", ["kustomize", Path.Combine(Deploy, "clouds", c)],
            "kubectl (with kustomize) comes with the machine image; elsewhere install kubectl >= 1.27");
        Assert.True(code == 0, $"kubectl kustomize clouds/{c} failed: {error}");
        return output;
    });

    public static List<YamlMappingNode> Objects(string cloud)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(Render(cloud)));
        return [.. yaml.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>()];
    }

    public static IEnumerable<YamlMappingNode> OfKind(this IEnumerable<YamlMappingNode> objects, string kind) =>
        objects.Where(o => o.Str("kind") == kind);

    public static YamlMappingNode Named(this IEnumerable<YamlMappingNode> objects, string kind, string name) =>
        objects.OfKind(kind).Single(o => o.Map("metadata").Str("name") == name);

    public static YamlNode? Get(this YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static YamlMappingNode Map(this YamlMappingNode node, string key) =>
        node.Get(key) as YamlMappingNode ?? throw new KeyNotFoundException($"no mapping '{key}' in {node}");

    public static YamlSequenceNode Seq(this YamlMappingNode node, string key) =>
        node.Get(key) as YamlSequenceNode ?? new YamlSequenceNode();

    public static IEnumerable<YamlMappingNode> Items(this YamlMappingNode node, string key) =>
        node.Seq(key).Children.OfType<YamlMappingNode>();

    public static string? Str(this YamlMappingNode node, string key) => (node.Get(key) as YamlScalarNode)?.Value;

    /// <summary>A path of mapping keys, e.g. "spec.template.spec".</summary>
    public static YamlMappingNode At(this YamlMappingNode node, string path) =>
        path.Split('.').Aggregate(node, (n, key) => n.Map(key));

    public static int Int(this YamlMappingNode node, string key) =>
        int.Parse(node.Str(key) ?? throw new KeyNotFoundException(key), CultureInfo.InvariantCulture);

    /// <summary>A YAML node as JSON, scalars typed as YAML's core schema reads them (what the API server would get).</summary>
    public static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(ToJson)]),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } s => s.Value switch
        {
            null or "" or "~" or "null" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            var v when IntegerPattern().IsMatch(v) => JsonValue.Create(long.Parse(v, CultureInfo.InvariantCulture)),
            var v when FloatPattern().IsMatch(v) => JsonValue.Create(double.Parse(v, CultureInfo.InvariantCulture)),
            var v => JsonValue.Create(v),
        },
        YamlScalarNode s => JsonValue.Create(s.Value),
        _ => throw new InvalidDataException($"unexpected YAML node {node}"),
    };

    /// <summary>Runs a tool; a tool that is not installed fails the test naming how to get it.</summary>
    public static (int Code, string Output, string Error) Run(
        string tool, IEnumerable<string> arguments, string install, string? input = null,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        if (environment is not null)
        {
            start.Environment.Clear();
            foreach (var (key, value) in environment)
            {
                start.Environment[key] = value;
            }
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception ex)
        {
            Assert.Fail($"'{tool}' is needed for the deployment tests and could not be started ({ex.Message}): {install}");
            throw;
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(input ?? "");
            process.StandardInput.Close();
            process.WaitForExit();
            return (process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
        }
    }

    /// <summary>programme.env's settings (KEY=value lines, quotes removed).</summary>
    public static Dictionary<string, string> Programme() =>
        File.ReadAllLines(Path.Combine(Deploy, "programme.env"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1].Trim('"'));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Aurigraph.Node.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException($"no Aurigraph.Node.sln above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}
