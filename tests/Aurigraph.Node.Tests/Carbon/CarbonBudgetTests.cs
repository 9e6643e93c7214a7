using Aurigraph.Node.Carbon;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary><c>Aurigraph:Carbon:Budget</c>: binding, validation with the other carbon settings, and its gauge.</summary>
public sealed class CarbonBudgetTests
{
    private static CarbonOptions Bind(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(CarbonOptions.Section + ":Budget:" + s.Key, (string?)s.Value)))
            .Build();
        var options = new CarbonOptions();
        configuration.GetSection(CarbonOptions.Section).Bind(options);
        return options;
    }

    [Fact]
    public void No_budget_by_default_and_a_configured_one_is_valid()
    {
        Assert.Equal((0.0, 0.0), (new CarbonOptions().Budget.GramsPerDay, new CarbonOptions().Budget.GramsPerMonth));
        Assert.Empty(new CarbonOptions().Validate());

        var options = Bind(("GramsPerDay", "5000"), ("GramsPerMonth", "120000.5"));

        Assert.Equal((5000.0, 120000.5), (options.Budget.GramsPerDay, options.Budget.GramsPerMonth));
        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData("GramsPerDay", "-1")]
    [InlineData("GramsPerDay", "NaN")]
    [InlineData("GramsPerMonth", "-0.5")]
    [InlineData("GramsPerMonth", "Infinity")]
    public void A_negative_or_non_finite_budget_is_an_error_naming_its_key(string key, string value)
    {
        var errors = Bind((key, value)).Validate();

        var error = Assert.Single(errors);
        Assert.StartsWith($"Aurigraph:Carbon:Budget:{key} must be", error, StringComparison.Ordinal);
        Assert.Contains(value, error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_budget_is_checked_with_the_other_carbon_settings()
    {
        var options = Bind(("GramsPerDay", "-1"));
        options.Records.DeadlineBlocks = 0;

        var errors = options.Validate();
        var thrown = Assert.Throws<ArgumentException>(() => CarbonServices.CreateOffline(options));

        Assert.Equal(2, errors.Count);
        Assert.Contains("Aurigraph:Carbon:Budget:GramsPerDay", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("Aurigraph:Carbon:Records:DeadlineBlocks", thrown.Message, StringComparison.Ordinal);
        Assert.Contains(errors, e => e.StartsWith("Aurigraph:Carbon:Budget:GramsPerDay", StringComparison.Ordinal));
    }

    [Fact]
    public void The_gauge_exports_each_configured_period_and_nothing_for_none()
    {
        using var recorder = new GridIntensityMetricsTests.Recorder();
        using var none = new CarbonBudgetMetrics(Options.Create(new CarbonOptions()));
        using var daily = new CarbonBudgetMetrics(Options.Create(Bind(("GramsPerDay", "5000"))));
        using var both = new CarbonBudgetMetrics(Options.Create(Bind(("GramsPerDay", "5000"), ("GramsPerMonth", "120000"))));

        Assert.Empty(recorder.Observe(none.Meter, "aurigraph.carbon.budget"));
        var day = Assert.Single(recorder.Observe(daily.Meter, "aurigraph.carbon.budget"));
        Assert.Equal((5000.0, "day"), (day.Value, (string)day.Tags["period"]!));
        Assert.Equal("g", day.Instrument.Unit);
        var periods = recorder.Observe(both.Meter, "aurigraph.carbon.budget").ToDictionary(m => (string)m.Tags["period"]!, m => m.Value);
        Assert.Equal(new Dictionary<string, double> { ["day"] = 5000, ["month"] = 120000 }, periods);
    }

    [Fact]
    public void AddCarbonModel_registers_the_budget_gauge()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([KeyValuePair.Create("Aurigraph:Carbon:Budget:GramsPerMonth", (string?)"90000")])
            .Build();
        using var recorder = new GridIntensityMetricsTests.Recorder();
        using var services = new ServiceCollection().AddCarbonModel(configuration).BuildServiceProvider();

        var budget = services.GetRequiredService<CarbonBudgetMetrics>();

        var month = Assert.Single(recorder.Observe(budget.Meter, "aurigraph.carbon.budget"));
        Assert.Equal((90000.0, "month"), (month.Value, (string)month.Tags["period"]!));
    }
}
