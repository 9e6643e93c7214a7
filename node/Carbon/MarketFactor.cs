using System.Globalization;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// How a node's market-based emission factor was obtained, in the order of the GHG Protocol Scope 2 Guidance (2015),
/// table 6.3: energy attribute certificates or direct contracts, supplier-specific rates, the residual mix, and where
/// none exists the location-based grid average.
/// </summary>
public enum MarketBasis : byte
{
    /// <summary>Energy attribute certificates (RECs, GOs, I-RECs) or a direct contract (PPA) cover the node's electricity.</summary>
    EnergyAttributeCertificates = 1,

    /// <summary>The electricity supplier's contractual emission rate.</summary>
    SupplierSpecific = 2,

    /// <summary>The residual mix of the grid (what remains after certificates claimed by others).</summary>
    ResidualMix = 3,

    /// <summary>No contractual instrument and no residual mix configured: the location-based figure stands in.</summary>
    LocationFallback = 4,
}

/// <summary>
/// A node's market-based (contractual) emission factor as carried in its reading (carbon format 3), so that the
/// market-based figure is recomputed from the record: <c>E × GramsPerKwh + M</c>.
/// </summary>
/// <param name="GramsPerKwh">gCO2e per kWh of the node's electricity under its contracts.</param>
/// <param name="Basis">How it was obtained.</param>
/// <param name="Source">What the operator stated as its source (certificate or contract reference, residual-mix publication).</param>
public sealed record MarketFactor(double GramsPerKwh, MarketBasis Basis, string Source)
{
    /// <summary>The statement used when the location-based figure stands in.</summary>
    public const string FallbackSource =
        "no contractual instrument or residual mix configured (Aurigraph:Carbon:Market): the location-based grid average is used, "
        + "the last step of the GHG Protocol Scope 2 Guidance hierarchy (table 6.3)";

    /// <summary>The factor of a node: the configured one, or the location-based <paramref name="grid"/> figure.</summary>
    public static MarketFactor For(MarketOptions options, GridIntensity grid)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(grid);
        return options.GramsPerKwh is { } grams
            ? new MarketFactor(grams, options.Basis, options.Source ?? "")
            : new MarketFactor(grid.GramsPerKwh, MarketBasis.LocationFallback, FallbackSource);
    }

    /// <summary>The API label of a basis: <c>energy_attribute_certificates</c>, <c>supplier_specific</c>, <c>residual_mix</c>, <c>location_fallback</c>.</summary>
    public static string Label(MarketBasis basis) => basis switch
    {
        MarketBasis.EnergyAttributeCertificates => "energy_attribute_certificates",
        MarketBasis.SupplierSpecific => "supplier_specific",
        MarketBasis.ResidualMix => "residual_mix",
        MarketBasis.LocationFallback => "location_fallback",
        _ => throw new ArgumentOutOfRangeException(nameof(basis), basis, "not a market basis"),
    };

    /// <summary>One line a report states for this factor.</summary>
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"{GramsPerKwh:0.###} gCO2e/kWh, {Label(Basis)}: {Source}");
}

/// <summary>
/// The node's market-based emission factor (<c>Aurigraph:Carbon:Market</c>). Unset, the market-based figure equals the
/// location-based one and says so.
/// </summary>
public sealed class MarketOptions
{
    /// <summary>gCO2e/kWh under the node's contracts (0 for electricity fully covered by certificates); unset: none.</summary>
    public double? GramsPerKwh { get; set; }

    /// <summary>How the factor was obtained (not <see cref="MarketBasis.LocationFallback"/>).</summary>
    public MarketBasis Basis { get; set; } = MarketBasis.ResidualMix;

    /// <summary>The factor's source: certificate or contract reference, or the residual-mix publication and year. Required with a factor.</summary>
    public string? Source { get; set; }

    /// <summary>Every problem with these settings, each naming its key; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        const string prefix = CarbonOptions.Section + ":Market:";
        var errors = new List<string>();
        if (GramsPerKwh is not { } grams)
        {
            return errors;
        }
        if (!double.IsFinite(grams) || grams < 0 || grams > 2000)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{prefix}GramsPerKwh must be between 0 and 2000 gCO2e/kWh (was {grams})"));
        }
        if (Basis is not (MarketBasis.EnergyAttributeCertificates or MarketBasis.SupplierSpecific or MarketBasis.ResidualMix))
        {
            errors.Add($"{prefix}Basis must be EnergyAttributeCertificates, SupplierSpecific or ResidualMix with a factor (was {Basis})");
        }
        if (string.IsNullOrWhiteSpace(Source) || Source.Length > 512)
        {
            errors.Add($"{prefix}Source must state where the factor comes from (1 to 512 characters)");
        }
        return errors;
    }
}
