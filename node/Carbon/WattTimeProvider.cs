using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// WattTime API v3. Logs in with <c>GET {base}/login</c> (HTTP Basic) for a bearer token (valid 30 minutes), then asks
/// <c>GET {base}/v3/forecast?region=R&amp;signal_type=co2_moer&amp;horizon_hours=0</c> and takes <c>data[0].value</c>,
/// the current marginal operating emissions rate in lbs CO2/MWh, as <c>value × 0.453592</c> gCO2/kWh, observed at
/// <c>data[0].point_time</c> (else <c>meta.generated_at</c>). An answer of 401 logs in again once.
/// <para>
/// WattTime serves <c>/v3/forecast</c> to subscribers only; an account without a subscription may ask for region
/// <c>CAISO_NORTH</c> alone (docs.watttime.org, API v3 introduction). For any other region such an account is refused;
/// a refusal (HTTP 403) is reported as a non-transient failure that says so, and the chain serves the next source. It does
/// not fall back to <c>/v3/signal-index</c>, which a free account may call: that gives a 0–100 percentile of the
/// region's recent MOER, not gCO2/kWh, so it cannot stand for an intensity.
/// </para>
/// </summary>
public sealed class WattTimeProvider : IGridIntensityProvider, IDisposable
{
    /// <summary>Grams per pound.</summary>
    public const double GramsPerPound = 453.592;

    /// <summary>1 lb/MWh in g/kWh: 453.592 g ÷ 1000 kWh.</summary>
    public const double GramsPerKwhPerPoundPerMwh = GramsPerPound / 1000;

    /// <summary>The one region whose <c>/v3/forecast</c> WattTime serves to an account without a subscription.</summary>
    public const string FreeRegion = "CAISO_NORTH";

    /// <summary>How long a login token is used before logging in again without waiting for a 401.</summary>
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(29);

    private readonly HttpClient _http;
    private readonly WattTimeOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _loginGate = new(1, 1);
    private volatile TokenState? _token;

    /// <summary>Creates the provider over an <see cref="HttpClient"/>.</summary>
    public WattTimeProvider(HttpClient http, WattTimeOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _http = http;
        _options = options;
        _time = timeProvider;
    }

    /// <inheritdoc />
    public string Name => GridIntensitySources.WattTime;

    /// <inheritdoc />
    public bool IsConfigured => !string.IsNullOrEmpty(_options.Username) && !string.IsNullOrEmpty(_options.Password);

    /// <summary>How many times this provider has logged in (for diagnostics).</summary>
    public int Logins { get; private set; }

    /// <inheritdoc />
    public string? ZoneFor(GridRegionInfo region)
    {
        ArgumentNullException.ThrowIfNull(region);
        return region.WattTimeRegion;
    }

    /// <inheritdoc />
    public async Task<GridIntensity> FetchAsync(string zone, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(zone);
        var token = await TokenAsync(null, cancellationToken).ConfigureAwait(false);
        using (var response = await SendForecastAsync(zone, token, cancellationToken).ConfigureAwait(false))
        {
            if (response.StatusCode != HttpStatusCode.Unauthorized)
            {
                return await ReadAsync(response, zone, cancellationToken).ConfigureAwait(false);
            }
        }

        token = await TokenAsync(token, cancellationToken).ConfigureAwait(false);
        using var retried = await SendForecastAsync(zone, token, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(retried, zone, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads an answer of <c>/v3/forecast</c>.</summary>
    /// <exception cref="GridIntensityProviderException">The body is not such an answer, or its units are not lbs CO2/MWh.</exception>
    public static GridIntensity Parse(string body, string zone)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array || data.GetArrayLength() == 0)
            {
                throw new GridIntensityProviderException($"WattTime gave no data points for region {zone}.", null, transient: false);
            }

            var first = data[0];
            if (!first.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.Number)
            {
                throw new GridIntensityProviderException($"WattTime gave no value for region {zone}.", null, transient: false);
            }

            JsonElement meta = default;
            var hasMeta = root.TryGetProperty("meta", out meta) && meta.ValueKind == JsonValueKind.Object;
            if (hasMeta && meta.TryGetProperty("units", out var units) && units.ValueKind == JsonValueKind.String
                && !string.Equals(units.GetString(), "lbs_co2_per_mwh", StringComparison.OrdinalIgnoreCase))
            {
                throw new GridIntensityProviderException($"WattTime gave units '{units.GetString()}' for region {zone}; lbs_co2_per_mwh was expected.", null, transient: false);
            }

            var poundsPerMwh = value.GetDouble();
            if (!double.IsFinite(poundsPerMwh) || poundsPerMwh < 0)
            {
                throw new GridIntensityProviderException($"WattTime gave an impossible value for region {zone}.", null, transient: false);
            }

            var observedAt = ReadTime(first, "point_time") ?? (hasMeta ? ReadTime(meta, "generated_at") : null)
                ?? throw new GridIntensityProviderException($"WattTime gave no point_time for region {zone}.", null, transient: false);
            var region = hasMeta && meta.TryGetProperty("region", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() ?? zone : zone;
            return new GridIntensity(poundsPerMwh * GramsPerKwhPerPoundPerMwh, GridIntensitySources.WattTime, observedAt, region, IntensityType.MarginalCo2);
        }
        catch (JsonException e)
        {
            throw new GridIntensityProviderException($"WattTime answered with malformed JSON for region {zone}.", null, transient: false, e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _loginGate.Dispose();

    private async Task<HttpResponseMessage> SendForecastAsync(string zone, string token, CancellationToken cancellationToken)
    {
        var query = "v3/forecast?region=" + Uri.EscapeDataString(zone) + "&signal_type=" + Uri.EscapeDataString(_options.SignalType) + "&horizon_hours=0";
        using var request = new HttpRequestMessage(HttpMethod.Get, ProviderHttp.Combine(_options.BaseAddress, query));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    private async Task<GridIntensity> ReadAsync(HttpResponseMessage response, string zone, CancellationToken cancellationToken)
    {
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            _token = null;
        }

        if (response.StatusCode == HttpStatusCode.Forbidden)
        {
            throw new GridIntensityProviderException(
                $"WattTime answered HTTP 403 for region {zone}: /v3/forecast is for subscribers, and an account without a subscription may ask only for {FreeRegion}.",
                (int)HttpStatusCode.Forbidden,
                transient: false);
        }

        ProviderHttp.EnsureSuccess(response, Name);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return Parse(body, zone);
    }

    /// <summary>A valid token: the cached one unless it is <paramref name="rejected"/> or old, else a new login.</summary>
    private async Task<string> TokenAsync(string? rejected, CancellationToken cancellationToken)
    {
        var current = _token;
        if (current is not null && current.Token != rejected && _time.GetUtcNow() - current.ObtainedAt < TokenLifetime)
        {
            return current.Token;
        }

        await _loginGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            current = _token;
            if (current is not null && current.Token != rejected && _time.GetUtcNow() - current.ObtainedAt < TokenLifetime)
            {
                return current.Token;
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, ProviderHttp.Combine(_options.BaseAddress, "login"));
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes(_options.Username + ":" + _options.Password));
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", credentials);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            ProviderHttp.EnsureSuccess(response, Name + " login");
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var token = ParseToken(body);
            Logins++;
            _token = new TokenState(token, _time.GetUtcNow());
            return token;
        }
        finally
        {
            _loginGate.Release();
        }
    }

    private static string ParseToken(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("token", out var token) && token.ValueKind == JsonValueKind.String && token.GetString() is { Length: > 0 } t
                ? t
                : throw new GridIntensityProviderException("WattTime login gave no token.", null, transient: false);
        }
        catch (JsonException e)
        {
            throw new GridIntensityProviderException("WattTime login answered with malformed JSON.", null, transient: false, e);
        }
    }

    private static DateTimeOffset? ReadTime(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : null;

    private sealed record TokenState(string Token, DateTimeOffset ObtainedAt);
}
