using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// Electricity Maps API v3: <c>GET {base}/v3/carbon-intensity/latest?zone=ZONE</c> with the header <c>auth-token: KEY</c>.
/// Reads <c>carbonIntensity</c> (gCO2eq/kWh) and <c>datetime</c> (the hour the figure applies to) from the answer, and keeps
/// the last answer's <c>emissionFactorType</c>, <c>isEstimated</c> and <c>estimationMethod</c> per zone for the intensity history.
/// </summary>
public sealed class ElectricityMapsProvider : IGridIntensityProvider
{
    /// <summary>The most zones whose last answer is kept.</summary>
    public const int MaxAnsweredZones = 256;

    private readonly HttpClient _http;
    private readonly ElectricityMapsOptions _options;
    private readonly ConcurrentDictionary<string, ElectricityMapsFigure> _answers = new(StringComparer.Ordinal);

    /// <summary>Creates the provider over an <see cref="HttpClient"/> (from IHttpClientFactory or a test's own).</summary>
    public ElectricityMapsProvider(HttpClient http, ElectricityMapsOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options;
    }

    /// <inheritdoc />
    public string Name => GridIntensitySources.ElectricityMaps;

    /// <inheritdoc />
    public bool IsConfigured => !string.IsNullOrWhiteSpace(_options.ApiKey);

    /// <inheritdoc />
    public string? ZoneFor(GridRegionInfo region)
    {
        ArgumentNullException.ThrowIfNull(region);
        return region.ElectricityMapsZone;
    }

    /// <inheritdoc />
    public async Task<GridIntensity> FetchAsync(string zone, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(zone);
        var body = await GetAsync("v3/carbon-intensity/latest", zone, withEmissionFactor: true, cancellationToken).ConfigureAwait(false);
        var figure = ParseFigure(body, zone);
        if (figure.EmissionFactorType is null)
        {
            // The answer did not say which factors it used: they are the ones asked for.
            figure = figure with { Intensity = figure.Intensity with { Type = IntensityLabels.TypeOf(Name, EmissionFactorType) } };
        }
        if (_answers.Count >= MaxAnsweredZones && !_answers.ContainsKey(zone))
        {
            _answers.Clear();
        }
        _answers[zone] = figure;
        return figure.Intensity;
    }

    /// <summary>The emission factors asked for: the configured <c>emissionFactorType</c>, else the API's default, <c>lifecycle</c>.</summary>
    public string EmissionFactorType => string.IsNullOrWhiteSpace(_options.EmissionFactorType) ? "lifecycle" : _options.EmissionFactorType;

    /// <summary>
    /// <c>GET {base}/{path}?zone=ZONE</c> (and the configured <c>emissionFactorType</c> when asked) with the key in <c>auth-token</c>,
    /// in one attempt; returns the body of a success.
    /// </summary>
    /// <exception cref="GridIntensityProviderException">The API answered with an error status.</exception>
    /// <exception cref="HttpRequestException">The API could not be reached.</exception>
    internal async Task<string> GetAsync(string path, string zone, bool withEmissionFactor, CancellationToken cancellationToken)
    {
        var query = path + "?zone=" + Uri.EscapeDataString(zone);
        if (withEmissionFactor && !string.IsNullOrWhiteSpace(_options.EmissionFactorType))
        {
            query += "&emissionFactorType=" + Uri.EscapeDataString(_options.EmissionFactorType);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, ProviderHttp.Combine(_options.BaseAddress, query));
        request.Headers.TryAddWithoutValidation("auth-token", _options.ApiKey);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        ProviderHttp.EnsureSuccess(response, Name);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The details of the last answer for the zone of <paramref name="intensity"/>, when <paramref name="intensity"/> is
    /// that answer's figure; <see langword="null"/> otherwise.
    /// </summary>
    public ElectricityMapsFigure? Answered(GridIntensity intensity)
    {
        ArgumentNullException.ThrowIfNull(intensity);
        foreach (var answer in _answers.Values)
        {
            if (answer.Intensity == intensity)
            {
                return answer;
            }
        }
        return null;
    }

    /// <summary>Reads an answer of <c>/v3/carbon-intensity/latest</c>.</summary>
    /// <exception cref="GridIntensityProviderException">The body is not such an answer.</exception>
    public static GridIntensity Parse(string body, string zone) => ParseFigure(body, zone).Intensity;

    /// <summary>Reads an answer of <c>/v3/carbon-intensity/latest</c> with its estimation details.</summary>
    /// <exception cref="GridIntensityProviderException">The body is not such an answer.</exception>
    public static ElectricityMapsFigure ParseFigure(string body, string zone)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return ParseFigure(document.RootElement, zone);
        }
        catch (JsonException e)
        {
            throw new GridIntensityProviderException($"Electricity Maps answered with malformed JSON for zone {zone}.", null, transient: false, e);
        }
    }

    /// <summary>Reads one carbon-intensity object (the answer of <c>/latest</c>, or an element of <c>/history</c>'s <c>history</c>).</summary>
    /// <exception cref="GridIntensityProviderException">The element is not such an object.</exception>
    public static ElectricityMapsFigure ParseFigure(JsonElement root, string zone)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("carbonIntensity", out var intensity) || intensity.ValueKind != JsonValueKind.Number)
        {
            throw new GridIntensityProviderException($"Electricity Maps gave no carbonIntensity for zone {zone}.", null, transient: false);
        }

        var grams = intensity.GetDouble();
        if (!double.IsFinite(grams) || grams < 0)
        {
            throw new GridIntensityProviderException($"Electricity Maps gave an impossible carbonIntensity for zone {zone}.", null, transient: false);
        }

        var observedAt = ReadTime(root, "datetime") ?? ReadTime(root, "updatedAt")
            ?? throw new GridIntensityProviderException($"Electricity Maps gave no datetime for zone {zone}.", null, transient: false);
        var answeredZone = ReadString(root, "zone") ?? zone;
        var factors = ReadString(root, "emissionFactorType");
        var estimated = ReadBool(root, "isEstimated");
        var method = ReadString(root, "estimationMethod");
        var type = IntensityLabels.TypeOf(GridIntensitySources.ElectricityMaps, factors);
        return new ElectricityMapsFigure(
            new GridIntensity(grams, GridIntensitySources.ElectricityMaps, observedAt, answeredZone, type, estimated, method ?? ""),
            factors,
            estimated,
            method);
    }

    /// <summary>A time field, read as UTC; <see langword="null"/> when absent or not a time.</summary>
    internal static DateTimeOffset? ReadTime(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : null;

    /// <summary>A non-empty string field; <see langword="null"/> when absent, null or empty.</summary>
    internal static string? ReadString(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    /// <summary>A boolean field; <see langword="null"/> when absent or null.</summary>
    internal static bool? ReadBool(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;
}

/// <summary>An Electricity Maps carbon-intensity figure with what the answer said about it.</summary>
/// <param name="Intensity">The figure.</param>
/// <param name="EmissionFactorType"><c>lifecycle</c> or <c>direct</c>, as the answer gave it.</param>
/// <param name="IsEstimated">The answer's <c>isEstimated</c>.</param>
/// <param name="EstimationMethod">The answer's <c>estimationMethod</c>, e.g. <c>TIME_SLICER_AVERAGE</c>.</param>
public sealed record ElectricityMapsFigure(GridIntensity Intensity, string? EmissionFactorType, bool? IsEstimated, string? EstimationMethod);

/// <summary>HTTP helpers shared by the providers.</summary>
internal static class ProviderHttp
{
    /// <summary>Appends a relative path and query to a base address, keeping any path the base already has.</summary>
    public static Uri Combine(Uri baseAddress, string relative) =>
        new(baseAddress.AbsoluteUri.TrimEnd('/') + "/" + relative.TrimStart('/'), UriKind.Absolute);

    /// <summary>Turns an error status into a <see cref="GridIntensityProviderException"/>: 408, 429 and 5xx are transient.</summary>
    public static void EnsureSuccess(HttpResponseMessage response, string provider)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var status = (int)response.StatusCode;
        var transient = response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || status >= 500;
        throw new GridIntensityProviderException(
            string.Create(CultureInfo.InvariantCulture, $"{provider} answered HTTP {status} ({response.ReasonPhrase})."),
            status,
            transient);
    }
}
