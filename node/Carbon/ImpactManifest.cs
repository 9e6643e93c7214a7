using System.Globalization;
using YamlDotNet.Serialization;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// The committed readings of a height range as a Green Software Foundation Impact Framework manifest (IF 1.x,
/// <c>if-run --manifest</c>): one child per member, one observation per reading with what it measured and the
/// coefficients it used, and a pipeline of IF's builtin plugins that computes energy model 2 and SCI from them. Anyone
/// with IF can recompute the figures without this code; the aggregate carbon and transactions are the range's.
/// </summary>
/// <remarks>
/// Observations carry no block time (records have none): each member's observations are laid end to end from a fixed
/// origin by their metering durations, which is what IF's time aggregation needs; <c>aurigraph/height</c> names the block.
/// The block's transactions are shared across its readings (<c>transactions</c>), so they add up to the range's R.
/// Aggregation is over time within each member (IF's component aggregation needs one time grid for all children);
/// the cluster's figures are the sum of the members' aggregates.
/// </remarks>
public static class ImpactManifest
{
    /// <summary>The most heights one manifest may span (one observation per member and height).</summary>
    public const ulong MaxHeights = 10_000;

    /// <summary>Where every member's timeline starts (observations are laid out from it by duration).</summary>
    public static readonly DateTimeOffset Origin = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The manifest of <paramref name="views"/> (heights <paramref name="from"/>..<paramref name="to"/>).</summary>
    /// <exception cref="ArgumentException">A reading was made with energy model 1, which this pipeline does not compute.</exception>
    public static string Write(IEnumerable<CarbonBlockView> views, ulong from, ulong to, string chainId)
    {
        ArgumentNullException.ThrowIfNull(views);
        var children = new SortedDictionary<string, List<Dictionary<string, object>>>(StringComparer.Ordinal);
        var clocks = new Dictionary<ulong, double>();
        foreach (var view in views)
        {
            var readings = view.Entries.Where(e => e.Reading is not null).Select(e => e.Reading!).ToList();
            foreach (var r in readings)
            {
                if (r.Coefficients.ModelVersion != 2)
                {
                    throw new ArgumentException($"height {view.Height} has a reading of energy model {r.Coefficients.ModelVersion}; the manifest computes model 2 (export a range recorded under it)");
                }
                var at = clocks.GetValueOrDefault(r.NodeId);
                var observation = Observation(r, view.TransactionCount / (double)readings.Count, at);
                clocks[r.NodeId] = at + (double)observation["duration"];
                var key = $"node-{r.NodeId.ToString(CultureInfo.InvariantCulture)}";
                if (!children.TryGetValue(key, out var list))
                {
                    children[key] = list = [];
                }
                list.Add(observation);
            }
        }
        var manifest = new Dictionary<string, object>
        {
            ["name"] = $"aurigraph {chainId} heights {from}-{to}",
            ["description"] = "Committed carbon readings of an Aurigraph cluster (energy model 2), one observation per member and block; "
                + "recompute with `if-run --manifest <file>`. carbon: gCO2e (E × I + M), location-based; carbon-market: E × the node's market-based factor + M; transactions: the block's, shared across its readings; "
                + "timestamps: each member's metering intervals laid end to end from 2000-01-01 (blocks carry no time). "
                + "Each member's aggregated figures are its readings' totals; the cluster's are their sum (IF's component "
                + "aggregation needs one time grid, which the members' metering intervals do not share).",
            ["tags"] = new Dictionary<string, object> { ["chain"] = chainId, ["model"] = "aurigraph energy model 2", ["from-height"] = from, ["to-height"] = to },
            ["aggregation"] = new Dictionary<string, object> { ["metrics"] = new[] { "carbon", "carbon-operational", "carbon-embodied", "carbon-market", "carbon-operational-market", "energy", "transactions" }, ["type"] = "time" },
            ["initialize"] = new Dictionary<string, object> { ["plugins"] = Plugins() },
            ["tree"] = new Dictionary<string, object>
            {
                ["children"] = children.ToDictionary(c => c.Key, c => (object)new Dictionary<string, object>
                {
                    ["pipeline"] = new Dictionary<string, object> { ["compute"] = Pipeline },
                    ["inputs"] = c.Value,
                }),
            },
        };
        return new SerializerBuilder().DisableAliases().Build().Serialize(manifest);
    }

    private static Dictionary<string, object> Observation(CarbonReading r, double transactions, double atSeconds)
    {
        var input = r.ToNodeReading();
        var c = r.Coefficients;
        var networkBytes = (double)input.BytesSent + input.IngressBytes + (c.CountReceivedBytes ? input.BytesReceived : 0);
        return new Dictionary<string, object>
        {
            ["timestamp"] = Origin.AddSeconds(atSeconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
            ["duration"] = input.IntervalSeconds,
            ["aurigraph/height"] = r.Height,
            ["aurigraph/node"] = r.NodeId,
            ["cloud/region"] = $"{CloudProviders.ToKey(r.Cloud)}/{r.Region}",
            ["cpu/utilization"] = Math.Clamp(input.CpuUtilization, 0.0, 1.0),
            ["vcpus/provisioned"] = input.ProvisionedVcpus,
            ["watts/min"] = c.MinWattsPerVcpu,
            ["watts/max"] = c.MaxWattsPerVcpu,
            ["memory/gb-seconds"] = input.MemoryGbSeconds,
            ["memory/kwh-per-gb-hour"] = c.MemoryKwhPerGbHour,
            ["network/bytes"] = networkBytes,
            ["network/kwh-per-gb"] = c.NetworkKwhPerGb,
            ["storage/retained-bytes"] = (double)input.RetainedBytes,
            ["storage/wh-per-tb-hour"] = c.StorageWhPerTbHour,
            ["storage/replicas"] = (double)input.StorageReplicas,
            ["consensus/rounds"] = (double)input.ConsensusRounds,
            ["consensus/validators"] = (double)input.Validators,
            ["consensus/kwh-per-round"] = c.ConsensusRoundKwh,
            ["pue"] = c.Pue,
            ["grid/carbon-intensity"] = r.Grid.GramsPerKwh,
            ["grid/source"] = r.Grid.Source,
            ["grid/market-carbon-intensity"] = r.MarketOrFallback.GramsPerKwh,
            ["grid/market-basis"] = MarketFactor.Label(r.MarketOrFallback.Basis),
            ["embodied/kgco2e"] = c.EmbodiedEnabled ? c.ServerEmbodiedKgCo2e : 0.0,
            ["embodied/lifespan-hours"] = c.ServerLifespanHours,
            ["embodied/node-vcpus"] = c.NodeVcpus,
            ["embodied/host-vcpus"] = c.HostVcpus,
            ["transactions"] = transactions,
        };
    }

    private static readonly string[] Pipeline =
    [
        "watt-range", "watt-extra", "watts", "cpu-watt-seconds", "cpu-energy",
        "memory-product", "memory-energy", "network-product", "network-energy",
        "storage-product", "storage-energy", "consensus-energy", "energy-it", "energy-facility",
        "carbon-operational", "embodied-product", "embodied-lifetime", "embodied-share", "carbon-embodied", "carbon", "sci",
        "carbon-operational-market", "carbon-market",
    ];

    private static Dictionary<string, object> Plugins() => new()
    {
        ["watt-range"] = Builtin("Subtract", Parameters(["watts/max", "watts/min"], "watt-range")),
        ["watt-extra"] = Builtin("Multiply", Parameters(["cpu/utilization", "watt-range"], "watt-extra")),
        ["watts"] = Builtin("Sum", Parameters(["watts/min", "watt-extra"], "watts")),
        ["cpu-watt-seconds"] = Builtin("Multiply", Parameters(["vcpus/provisioned", "duration", "watts"], "cpu-watt-seconds")),
        ["cpu-energy"] = Builtin("Divide", Quotient("cpu-watt-seconds", 3_600_000, "cpu/energy")),
        ["memory-product"] = Builtin("Multiply", Parameters(["memory/gb-seconds", "memory/kwh-per-gb-hour"], "memory-product")),
        ["memory-energy"] = Builtin("Divide", Quotient("memory-product", 3_600, "memory/energy")),
        ["network-product"] = Builtin("Multiply", Parameters(["network/bytes", "network/kwh-per-gb"], "network-product")),
        ["network-energy"] = Builtin("Divide", Quotient("network-product", 1e9, "network/energy")),
        ["storage-product"] = Builtin("Multiply", Parameters(["storage/retained-bytes", "storage/wh-per-tb-hour", "duration", "storage/replicas"], "storage-product")),
        ["storage-energy"] = Builtin("Divide", Quotient("storage-product", 3.6e18, "storage/energy")),
        ["consensus-energy"] = Builtin("Multiply", Parameters(["consensus/rounds", "consensus/validators", "consensus/kwh-per-round"], "consensus/energy")),
        ["energy-it"] = Builtin("Sum", Parameters(["cpu/energy", "memory/energy", "network/energy", "storage/energy", "consensus/energy"], "energy-it")),
        ["energy-facility"] = Summed(Builtin("Multiply", Parameters(["energy-it", "pue"], "energy")), "outputs", "energy", "kWh", "facility energy (IT energy × PUE), the E of SCI"),
        ["carbon-operational"] = Summed(Builtin("Multiply", Parameters(["energy", "grid/carbon-intensity"], "carbon-operational")), "outputs", "carbon-operational", "gCO2e", "E × I"),
        ["embodied-product"] = Builtin("Multiply", Parameters(["embodied/kgco2e", "duration", "embodied/node-vcpus"], "embodied-product")),
        ["embodied-lifetime"] = Builtin("Multiply", Parameters(["embodied/lifespan-hours", "embodied/host-vcpus"], "embodied-lifetime")),
        ["embodied-share"] = Builtin("Divide", new Dictionary<string, object> { ["numerator"] = "embodied-product", ["denominator"] = "embodied-lifetime", ["output"] = "embodied-share" }),
        // kg × s / (h × 3600 s/h) × 1000 g/kg = ÷ 3.6.
        ["carbon-embodied"] = Summed(Builtin("Divide", Quotient("embodied-share", 3.6, "carbon-embodied")), "outputs", "carbon-embodied", "gCO2e", "M"),
        ["carbon"] = Summed(Builtin("Sum", Parameters(["carbon-operational", "carbon-embodied"], "carbon")), "outputs", "carbon", "gCO2e", "E × I + M"),
        // SCI per observation: its carbon over its share of the block's transactions (IF's Sci plugin wants whole-second
        // durations; metering intervals are milliseconds).
        // Market-based (GHG Protocol Scope 2): the same E at the node's contractual factor, plus the same M.
        ["carbon-operational-market"] = Summed(Builtin("Multiply", Parameters(["energy", "grid/market-carbon-intensity"], "carbon-operational-market")), "outputs", "carbon-operational-market", "gCO2e", "E × market factor"),
        ["carbon-market"] = Summed(Builtin("Sum", Parameters(["carbon-operational-market", "carbon-embodied"], "carbon-market")), "outputs", "carbon-market", "gCO2e", "E × market factor + M (market-based)"),
        ["sci"] = Summed(Builtin("Divide", new Dictionary<string, object> { ["numerator"] = "carbon", ["denominator"] = "transactions", ["output"] = "sci" }), "inputs", "transactions", "transactions", "the reading's share of its block's committed transactions (R)"),
    };

    // The parameter's aggregation over time and over components is a sum (IF's default for a name it does not know is not).
    private static Dictionary<string, object> Summed(Dictionary<string, object> plugin, string side, string parameter, string unit, string description)
    {
        plugin["parameter-metadata"] = new Dictionary<string, object>
        {
            [side] = new Dictionary<string, object>
            {
                [parameter] = new Dictionary<string, object>
                {
                    ["unit"] = unit,
                    ["description"] = description,
                    ["aggregation-method"] = new Dictionary<string, object> { ["time"] = "sum", ["component"] = "sum" },
                },
            },
        };
        return plugin;
    }

    private static Dictionary<string, object> Builtin(string method, Dictionary<string, object> config) =>
        new() { ["method"] = method, ["path"] = "builtin", ["config"] = config };

    private static Dictionary<string, object> Parameters(string[] inputs, string output) =>
        new() { ["input-parameters"] = inputs, ["output-parameter"] = output };

    private static Dictionary<string, object> Quotient(string numerator, double denominator, string output) =>
        new() { ["numerator"] = numerator, ["denominator"] = denominator, ["output"] = output };
}
