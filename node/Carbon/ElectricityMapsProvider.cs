using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// Electricity Maps API v3: <c>GET {base}/v3/carbon-intensity/latest?zone=ZONE</c> with the header <c>auth-token: KEY</c>.
/// Reads <c>carbonIntensity</c> (gCO2eq/kWh) and <c>datetime</c> (the hour the figure applies to) from the answer.
/// </summary>
public sealed class ElectricityMapsProvider : IGridIntensityProvider
{
    private readonly HttpClient _http;
    private readonly ElectricityMapsOptions _options;

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
        var query = "v3/carbon-intensity/latest?zone=" + Uri.EscapeDataString(zone);
        if (!string.IsNullOrWhiteSpace(_options.EmissionFactorType))
        {
            query += "&emissionFactorType=" + Uri.EscapeDataString(_options.EmissionFactorType);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, ProviderHttp.Combine(_options.BaseAddress, query));
        request.Headers.TryAddWithoutValidation("auth-token", _options.ApiKey);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        ProviderHttp.EnsureSuccess(response, Name);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return Parse(body, zone);
    }

    /// <summary>Reads an answer of <c>/v3/carbon-intensity/latest</c>.</summary>
    /// <exception cref="GridIntensityProviderException">The body is not such an answer.</exception>
    public static GridIntensity Parse(string body, string zone)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (!root.TryGetProperty("carbonIntensity", out var intensity) || intensity.ValueKind != JsonValueKind.Number)
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
            var answeredZone = root.TryGetProperty("zone", out var z) && z.ValueKind == JsonValueKind.String ? z.GetString() ?? zone : zone;
            return new GridIntensity(grams, GridIntensitySources.ElectricityMaps, observedAt, answeredZone);
        }
        catch (JsonException e)
        {
            throw new GridIntensityProviderException($"Electricity Maps answered with malformed JSON for zone {zone}.", null, transient: false, e);
        }
    }

    private static DateTimeOffset? ReadTime(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : null;
}

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
