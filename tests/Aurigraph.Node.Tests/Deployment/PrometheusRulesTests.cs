using System.Text.RegularExpressions;
using Aurigraph.Node.Carbon;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using YamlDotNet.RepresentationModel;
using static Aurigraph.Node.Tests.Deployment.KubernetesManifests;

namespace Aurigraph.Node.Tests.Deployment;

/// <summary>
/// deploy/prometheus: the carbon alert rules checked and unit-tested by promtool (Prometheus's own tool, out of Debian's
/// prometheus package: deploy/prometheus/tools/install-promtool.sh, which .ci/run runs), linted by yamllint, and read
/// for what every alert must carry.
/// </summary>
public sealed class PrometheusRulesTests
{
    private const string Install = "run deploy/prometheus/tools/install-promtool.sh (.ci/run does)";
    private const string RulesFile = "aurigraph-carbon-alerts.yml";
    private const string TestsFile = "aurigraph-carbon-alerts.test.yml";

    private static readonly string[] AlertNames =
    [
        "AurigraphCarbonDailyBudgetBurn", "AurigraphCarbonGridIntensityHigh", "AurigraphCarbonGridIntensityOnStaticFallback",
        "AurigraphCarbonGridIntensityStale", "AurigraphCarbonGridProviderFailing", "AurigraphCarbonIntensityHistoryStale",
        "AurigraphCarbonMonthlyBudgetBurn",
    ];

    private static readonly string[] Severities = ["info", "warning", "critical"];

    private static string Folder => Path.Combine(Root, "deploy", "prometheus");

    private static string Promtool =>
        Path.Combine(Folder, "tools", "bin", "promtool") is var local && File.Exists(local) ? local : "promtool";

    [Fact]
    public void Promtool_checks_the_rules()
    {
        var (code, output, error) = Run(Promtool, ["check", "rules", RulesFile], Install, workingDirectory: Folder);

        Assert.True(code == 0, $"promtool check rules {RulesFile}: {output}{error}");
        Assert.Contains($"SUCCESS: {Alerts().Count} rules found", output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_rule_unit_tests_pass()
    {
        var (code, output, error) = Run(Promtool, ["test", "rules", TestsFile], Install, workingDirectory: Folder);

        Assert.True(code == 0, $"promtool test rules {TestsFile}: {output}{error}");
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Promtool_refuses_a_broken_expression_and_the_unit_tests_catch_a_changed_threshold()
    {
        var work = Directory.CreateTempSubdirectory("aurigraph-rules-").FullName;
        try
        {
            var rules = File.ReadAllText(Path.Combine(Folder, RulesFile));
            File.Copy(Path.Combine(Folder, TestsFile), Path.Combine(work, TestsFile));

            File.WriteAllText(Path.Combine(work, RulesFile), rules.Replace("[15m])) > 0", "[15m])) >", StringComparison.Ordinal));
            var (code, output, error) = Run(Promtool, ["check", "rules", RulesFile], Install, workingDirectory: work);
            Assert.True(code != 0, $"promtool accepted a broken expression: {output}");
            Assert.Contains("AurigraphCarbonGridProviderFailing", output + error, StringComparison.Ordinal);

            // The high-intensity case (600 g/kWh) no longer fires at a 700 g/kWh threshold.
            File.WriteAllText(Path.Combine(work, RulesFile), rules.Replace("grams_per_kWh > 500", "grams_per_kWh > 700", StringComparison.Ordinal));
            (code, output, error) = Run(Promtool, ["test", "rules", TestsFile], Install, workingDirectory: work);
            Assert.True(code != 0, $"the unit tests passed against a changed threshold: {output}");
            Assert.Contains("AurigraphCarbonGridIntensityHigh", output + error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void Every_alert_has_a_severity_a_summary_a_description_and_a_firing_and_a_silent_test()
    {
        var alerts = Alerts();
        Assert.Equal(AlertNames, alerts.Select(a => a.Str("alert")!).Order(StringComparer.Ordinal));

        var cases = Load(TestsFile).Items("tests").SelectMany(t => t.Items("alert_rule_test")).ToList();
        foreach (var alert in alerts)
        {
            var name = alert.Str("alert")!;
            Assert.Contains(alert.Map("labels").Str("severity"), Severities);
            Assert.False(string.IsNullOrWhiteSpace(alert.Map("annotations").Str("summary")), $"{name} has no summary");
            Assert.False(string.IsNullOrWhiteSpace(alert.Map("annotations").Str("description")), $"{name} has no description");
            var ofAlert = cases.Where(c => c.Str("alertname") == name).ToList();
            Assert.True(ofAlert.Any(c => c.Seq("exp_alerts").Children.Count > 0), $"{name} has no test where it fires");
            Assert.True(ofAlert.Any(c => c.Seq("exp_alerts").Children.Count == 0), $"{name} has no test where it stays silent");
        }
    }

    [Fact]
    public void The_rules_and_their_tests_are_yamllint_clean()
    {
        var (code, output, error) = Run("yamllint", ["--strict", "-c", ".yamllint", "."], "apt-get install -y yamllint (.ci/run does)", workingDirectory: Folder);

        Assert.True(code == 0, $"yamllint deploy/prometheus: {output}{error}");
    }

    [Fact]
    public async Task The_grid_and_budget_metrics_the_rules_use_are_exported_under_those_names()
    {
        // Exported by other parts: the emission counter and the intensity gauge (CarbonMetrics, checked on a running cluster
        // by CarbonApiTests) and the intensity history's age (kept by the history of grid figures).
        string[] elsewhere = ["aurigraph_carbon_emissions_grams_total", "aurigraph_carbon_grid_intensity_grams_per_kWh", "aurigraph_carbon_intensity_history_age_seconds"];
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(CarbonMetrics.MeterName).AddPrometheusExporter());
        await using var app = builder.Build();
        app.MapPrometheusScrapingEndpoint();
        await app.StartAsync();
        using var chain = new GridIntensityProviderChain(
            [new FailingProvider()], StaticGridIntensityTable.LoadEmbedded(), new GridIntensityOptions { MaxRetryAttempts = 0 }, TimeProvider.System);
        using var budget = new CarbonBudgetMetrics(Microsoft.Extensions.Options.Options.Create(
            new CarbonOptions { Budget = { GramsPerDay = 4321.5, GramsPerMonth = 130000 } }));
        await chain.RefreshAsync(new CloudRegion(CloudProvider.Aws, "eu-central-1"));

        using var http = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
        var metrics = await http.GetStringAsync("/metrics");

        var exported = Regex.Matches(metrics, "^(aurigraph_[A-Za-z0-9_]+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet();
        var used = Regex.Matches(File.ReadAllText(Path.Combine(Folder, RulesFile)), "aurigraph_[A-Za-z0-9_]+").Select(m => m.Value).ToHashSet();
        Assert.All(used.Except(elsewhere), name => Assert.True(exported.Contains(name), $"the rules use {name}, which is not exported"));
        Assert.Matches(@"aurigraph_carbon_budget_grams\{[^}]*period=""day""[^}]*\} 4321\.5", metrics);
        Assert.Matches(@"aurigraph_carbon_grid_provider_failures_total\{[^}]*kind=""server_error""[^}]*provider=""test""[^}]*\} 1", metrics);
        Assert.Matches(@"aurigraph_carbon_grid_intensity_fallback\{[^}]*zone=""DE""[^}]*\} 1", metrics);
        Assert.Matches(@"aurigraph_carbon_grid_live_providers\{[^}]*zone=""DE""[^}]*\} 1", metrics);
        Assert.Matches(@"aurigraph_carbon_grid_intensity_age_seconds\{[^}]*source=""static""[^}]*zone=""DE""[^}]*\} [0-9.eE+]+", metrics);
    }

    /// <summary>A configured provider for every zone that is always down (HTTP 503).</summary>
    private sealed class FailingProvider : IGridIntensityProvider
    {
        public string Name => "test";

        public bool IsConfigured => true;

        public string? ZoneFor(GridRegionInfo region) => region.ElectricityMapsZone;

        public Task<GridIntensity> FetchAsync(string zone, CancellationToken cancellationToken) =>
            throw new GridIntensityProviderException("down", 503, transient: true);
    }

    private static List<YamlMappingNode> Alerts() =>
        [.. Load(RulesFile).Items("groups").SelectMany(g => g.Items("rules")).Where(r => r.Str("alert") is not null)];

    private static YamlMappingNode Load(string file)
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Folder, file));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }
}
