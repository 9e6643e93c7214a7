namespace Aurigraph.Node.Carbon;

/// <summary>One grid carbon-intensity figure, with where it came from and when it was observed.</summary>
/// <param name="GramsPerKwh">Carbon intensity, gCO2e per kWh.</param>
/// <param name="Source">Which source gave it: see <see cref="GridIntensitySources"/>.</param>
/// <param name="ObservedAt">When the figure applies: the provider's timestamp, or the start of the static table's data year (the Unix epoch when its source states no year).</param>
/// <param name="Zone">The grid zone (Electricity Maps zone, WattTime region) or, for the static table, the cloud region key.</param>
/// <param name="Type">What kind of figure it is (lifecycle or direct average, marginal CO2 rate, yearly average); 0 when not
/// stated, read as what <see cref="Source"/> gives by default (see <see cref="Kind"/>). Carbon format 3.</param>
/// <param name="IsEstimated">Electricity Maps' <c>isEstimated</c>; <see langword="null"/> when the source does not say.</param>
/// <param name="EstimationMethod">Electricity Maps' <c>estimationMethod</c> (e.g. <c>TIME_SLICER_AVERAGE</c>); empty when none.</param>
public sealed record GridIntensity(
    double GramsPerKwh,
    string Source,
    DateTimeOffset ObservedAt,
    string Zone,
    IntensityType Type = 0,
    bool? IsEstimated = null,
    string EstimationMethod = "")
{
    /// <summary>The kind of figure: <see cref="Type"/>, or the source's default kind when it is not stated.</summary>
    public IntensityType Kind => Type != 0 ? Type : IntensityLabels.TypeOf(Source, null);
}

/// <summary>The values of <see cref="GridIntensity.Source"/>.</summary>
public static class GridIntensitySources
{
    /// <summary>Electricity Maps API v3, <c>/v3/carbon-intensity/latest</c>.</summary>
    public const string ElectricityMaps = "electricitymaps";

    /// <summary>WattTime API v3, <c>/v3/forecast</c> (current MOER).</summary>
    public const string WattTime = "watttime";

    /// <summary>The embedded static table of cloud regions (yearly averages).</summary>
    public const string StaticTable = "static";
}

/// <summary>A source of live grid-intensity figures.</summary>
public interface IGridIntensityProvider
{
    /// <summary>The provider's <see cref="GridIntensitySources"/> name.</summary>
    string Name { get; }

    /// <summary>Whether the provider has what it needs (keys, credentials) to be asked at all.</summary>
    bool IsConfigured { get; }

    /// <summary>This provider's zone for a region, or <see langword="null"/> when it has none.</summary>
    string? ZoneFor(GridRegionInfo region);

    /// <summary>Fetches the current figure for <paramref name="zone"/> in one attempt (retries are the caller's).</summary>
    /// <exception cref="GridIntensityProviderException">The provider answered with an error or with something unreadable.</exception>
    /// <exception cref="HttpRequestException">The provider could not be reached.</exception>
    Task<GridIntensity> FetchAsync(string zone, CancellationToken cancellationToken);
}

/// <summary>A provider answered with an error status or a body that could not be read.</summary>
public sealed class GridIntensityProviderException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GridIntensityProviderException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public GridIntensityProviderException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GridIntensityProviderException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="statusCode">The HTTP status, when there was one.</param>
    /// <param name="transient">Whether trying again may help (429, 5xx, unreadable body).</param>
    /// <param name="innerException">The cause.</param>
    public GridIntensityProviderException(string message, int? statusCode, bool transient, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        IsTransient = transient;
    }

    /// <summary>The HTTP status, when there was one.</summary>
    public int? StatusCode { get; }

    /// <summary>Whether trying again may help.</summary>
    public bool IsTransient { get; }
}
