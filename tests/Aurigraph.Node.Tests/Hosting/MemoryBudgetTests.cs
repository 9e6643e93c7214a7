using Aurigraph.Node.Hosting;
using Aurigraph.Node.Storage;
using Microsoft.Extensions.Configuration;

namespace Aurigraph.Node.Tests.Hosting;

/// <summary>One memory budget sizes every bounded cache, memtable and queue; explicit bounds win but must fit it.</summary>
public sealed class MemoryBudgetTests
{
    private const long MiB = 1L << 20;

    private static NodeOptions Bind(params (string Key, string Value)[] settings)
    {
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create($"{NodeOptions.Section}:{s.Key}", (string?)s.Value)))
            .Build();
        var options = new NodeOptions();
        config.GetSection(NodeOptions.Section).Bind(options);
        options.DeriveUnsetMemoryBounds(config.GetSection(NodeOptions.Section));
        return options;
    }

    private static IReadOnlyList<string> MemoryErrors(NodeOptions options) => options.Memory.Validate(options.ExplicitMemorySettings);

    [Fact]
    public void The_default_budget_derives_every_share_and_leaves_the_runtime_its_minimum()
    {
        var options = new NodeOptions();
        var plan = options.Memory;

        Assert.Equal(256 * MiB, plan.BudgetBytes);
        Assert.Equal(32 * MiB, plan.MemtableBytes);
        Assert.Equal(8 * MiB, plan.WriteBufferBytes);
        Assert.Equal(8 * MiB, plan.BlockCacheBytes);
        Assert.Equal(16 * MiB, options.MempoolMaxBytes);
        Assert.Equal(64 * MiB, options.IngressBytes);
        Assert.Equal(8 * MiB, options.LogCacheBytes);
        Assert.Equal(8 * MiB, plan.StateCacheBytes);
        Assert.Equal(104 * MiB, plan.RuntimeBytes);
        Assert.Empty(MemoryErrors(options));
        Assert.Empty(options.ExplicitMemorySettings);
        // The database's default is the default budget's share.
        Assert.Equal(NodeDatabase.DefaultMemory, plan.Storage);
        // The default ingress bound still admits a request of the default largest size.
        Assert.Empty(new NodeLimits().Validate(options));
    }

    [Theory]
    [InlineData(256)]
    [InlineData(512)]
    [InlineData(4096)]
    public void A_derived_plan_scales_with_its_budget_and_fits_it(int megabytes)
    {
        var plan = MemoryBudget.Derive(megabytes);

        Assert.Equal(megabytes * MiB / 16, plan.MempoolBytes);
        Assert.True(plan.SharesBytes + MemoryBudget.MinimumRuntimeBytes <= plan.BudgetBytes);
        Assert.Empty(plan.Validate([]));
    }

    [Fact]
    public void A_budget_too_small_for_the_runtime_is_refused_with_the_minimum()
    {
        var error = Assert.Single(MemoryErrors(Bind(("MemoryBudgetMegabytes", "128"))));

        Assert.Contains("Aurigraph:MemoryBudgetMegabytes = 128 is too small", error, StringComparison.Ordinal);
        Assert.Contains($"give at least {MemoryBudget.MinimumMegabytes}", error, StringComparison.Ordinal);
        Assert.Empty(MemoryBudget.Derive(MemoryBudget.MinimumMegabytes).Validate([]));
        Assert.NotEmpty(MemoryBudget.Derive(MemoryBudget.MinimumMegabytes - 1).Validate([]));
    }

    [Fact]
    public void A_budget_of_zero_is_refused()
    {
        Assert.Contains("must be positive", Assert.Single(MemoryErrors(Bind(("MemoryBudgetMegabytes", "0")))), StringComparison.Ordinal);
    }

    [Fact]
    public void An_explicit_bound_replaces_its_share_and_the_others_stay_derived()
    {
        var options = Bind(("MempoolMaxBytes", (24 * MiB).ToString(System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Equal(24 * MiB, options.MempoolMaxBytes);
        Assert.Equal(24 * MiB, options.Memory.MempoolBytes);
        Assert.Equal(8 * MiB, options.LogCacheBytes);
        Assert.Equal(["MempoolMaxBytes"], options.ExplicitMemorySettings);
        Assert.Empty(MemoryErrors(options));
    }

    [Fact]
    public void Explicit_bounds_whose_sum_breaks_the_budget_are_refused_naming_them()
    {
        var options = Bind(("MempoolMaxBytes", (64 * MiB).ToString(System.Globalization.CultureInfo.InvariantCulture)), ("LogCacheBytes", (16 * MiB).ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var error = Assert.Single(options.Validate(), e => e.Contains("MemoryBudgetMegabytes", StringComparison.Ordinal));

        Assert.Contains("Aurigraph:MempoolMaxBytes, Aurigraph:LogCacheBytes with Aurigraph:MemoryBudgetMegabytes = 256 do not fit", error, StringComparison.Ordinal);
        Assert.Contains("lower them or raise Aurigraph:MemoryBudgetMegabytes", error, StringComparison.Ordinal);
        // The same bounds fit a larger budget.
        options.MemoryBudgetMegabytes = 512;
        Assert.Empty(MemoryErrors(options));
    }

    [Fact]
    public void Derived_bounds_are_not_written_to_a_configuration_file_so_a_new_budget_changes_them()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new NodeOptions { NodeId = 1, Members = [new MemberOptions { Id = 1 }] });

        Assert.DoesNotContain("MempoolMaxBytes", json, StringComparison.Ordinal);
        Assert.Contains("\"MemoryBudgetMegabytes\":256", json, StringComparison.Ordinal);
    }
}
