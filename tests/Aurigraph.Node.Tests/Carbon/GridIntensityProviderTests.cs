using System.Text;
using Aurigraph.Node.Carbon;
using Microsoft.Extensions.Time.Testing;

namespace Aurigraph.Node.Tests.Carbon;

public sealed class GridIntensityProviderTests : IAsyncLifetime, IDisposable
{
    private readonly HttpClient _http = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
    private FakeGridServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeGridServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task ElectricityMaps_sends_the_key_and_zone_and_reads_the_documented_shape()
    {
        var provider = new ElectricityMapsProvider(_http, new ElectricityMapsOptions { BaseAddress = _server.ElectricityMapsBase, ApiKey = FakeGridServer.ApiKey });

        var figure = await provider.FetchAsync("DE", CancellationToken.None);

        Assert.Equal(new GridIntensity(302, GridIntensitySources.ElectricityMaps, new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero), "DE", IntensityType.LifecycleAverage, true, "TIME_SLICER_AVERAGE"), figure);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("?zone=DE", request.Query);
        Assert.Equal(FakeGridServer.ApiKey, request.AuthToken);
    }

    [Fact]
    public async Task ElectricityMaps_passes_the_emission_factor_type_when_set()
    {
        var provider = new ElectricityMapsProvider(_http, new ElectricityMapsOptions { BaseAddress = _server.ElectricityMapsBase, ApiKey = "k", EmissionFactorType = "direct" });

        await provider.FetchAsync("US-MIDA-PJM", CancellationToken.None);

        Assert.Equal("?zone=US-MIDA-PJM&emissionFactorType=direct", Assert.Single(_server.Requests).Query);
    }

    [Theory]
    [InlineData(401, false)]
    [InlineData(404, false)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(503, true)]
    public async Task ElectricityMaps_errors_say_whether_a_retry_may_help(int status, bool transient)
    {
        _server.ElectricityMaps = ctx => FakeGridServer.Json(ctx, """{"error":"nope"}""", status);
        var provider = new ElectricityMapsProvider(_http, new ElectricityMapsOptions { BaseAddress = _server.ElectricityMapsBase, ApiKey = "k" });

        var error = await Assert.ThrowsAsync<GridIntensityProviderException>(() => provider.FetchAsync("DE", CancellationToken.None));

        Assert.Equal(status, error.StatusCode);
        Assert.Equal(transient, error.IsTransient);
    }

    [Theory]
    [InlineData("{\"zone\":\"DE\",\"carbonIntensity\":30")]
    [InlineData("<html>gateway</html>")]
    [InlineData("{\"zone\":\"DE\",\"carbonIntensity\":null,\"datetime\":\"2026-11-23T10:00:00.000Z\"}")]
    [InlineData("{\"zone\":\"DE\",\"carbonIntensity\":302}")]
    public async Task ElectricityMaps_unreadable_answers_are_provider_errors(string body)
    {
        _server.ElectricityMaps = ctx => FakeGridServer.Json(ctx, body);
        var provider = new ElectricityMapsProvider(_http, new ElectricityMapsOptions { BaseAddress = _server.ElectricityMapsBase, ApiKey = "k" });

        var error = await Assert.ThrowsAsync<GridIntensityProviderException>(() => provider.FetchAsync("DE", CancellationToken.None));

        Assert.False(error.IsTransient);
    }

    [Fact]
    public async Task WattTime_logs_in_with_basic_auth_and_converts_pounds_per_MWh_to_grams_per_kWh()
    {
        using var provider = WattTime();

        var figure = await provider.FetchAsync("DE", CancellationToken.None);

        // 1000 lbs/MWh × 453.592 g/lb ÷ 1000 kWh/MWh = 453.592 g/kWh.
        Assert.Equal(453.592, figure.GramsPerKwh, 1e-9);
        Assert.Equal(GridIntensitySources.WattTime, figure.Source);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 10, 5, 0, TimeSpan.Zero), figure.ObservedAt);
        Assert.Equal("DE", figure.Zone);

        var requests = _server.Requests;
        Assert.Equal("/wt/login", requests[0].Path);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("aurigraph:s3cret")), requests[0].Authorization);
        Assert.Equal("/wt/v3/forecast", requests[1].Path);
        Assert.Equal("?region=DE&signal_type=co2_moer&horizon_hours=0", requests[1].Query);
        Assert.Equal("Bearer token-1", requests[1].Authorization);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0.453592)]
    [InlineData(850.5, 385.779996)]
    public void WattTime_unit_conversion(double poundsPerMwh, double gramsPerKwh)
    {
        var figure = WattTimeProvider.Parse(FakeGridServer.WattTimeBody("CAISO_NORTH", poundsPerMwh, "2026-11-23T10:05:00+00:00"), "CAISO_NORTH");

        Assert.Equal(gramsPerKwh, figure.GramsPerKwh, 1e-9);
    }

    [Fact]
    public async Task WattTime_reuses_its_token_and_logs_in_again_after_thirty_minutes()
    {
        using var provider = WattTime();

        await provider.FetchAsync("DE", CancellationToken.None);
        await provider.FetchAsync("DE", CancellationToken.None);
        Assert.Equal(1, provider.Logins);

        _time.Advance(TimeSpan.FromMinutes(30));
        await provider.FetchAsync("DE", CancellationToken.None);
        Assert.Equal(2, provider.Logins);
        Assert.Equal("Bearer token-2", _server.Requests[^1].Authorization);
    }

    [Fact]
    public async Task WattTime_logs_in_again_once_on_401()
    {
        using var provider = WattTime();
        await provider.FetchAsync("DE", CancellationToken.None);
        var forecast = _server.WattTimeForecast;
        _server.WattTimeForecast = FakeGridServer.Sequence(ctx => FakeGridServer.Status(ctx, 401), forecast);

        var figure = await provider.FetchAsync("DE", CancellationToken.None);

        Assert.Equal(453.592, figure.GramsPerKwh, 1e-9);
        Assert.Equal(2, provider.Logins);
        Assert.Equal(3, _server.Count("/wt/v3/forecast"));
    }

    [Fact]
    public async Task WattTime_gives_up_when_401_persists()
    {
        using var provider = WattTime();
        _server.WattTimeForecast = ctx => FakeGridServer.Status(ctx, 401);

        var error = await Assert.ThrowsAsync<GridIntensityProviderException>(() => provider.FetchAsync("DE", CancellationToken.None));

        Assert.Equal(401, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Equal(2, provider.Logins);
    }

    [Fact]
    public async Task A_free_WattTime_account_is_refused_outside_CAISO_NORTH_and_the_error_says_why()
    {
        using var provider = WattTime();
        _server.WattTimeForecast = _server.FreeAccountForecast();

        var error = await Assert.ThrowsAsync<GridIntensityProviderException>(() => provider.FetchAsync("PJM_DC", CancellationToken.None));
        var preview = await provider.FetchAsync(WattTimeProvider.FreeRegion, CancellationToken.None);

        Assert.Equal(403, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Contains("subscribers", error.Message, StringComparison.Ordinal);
        Assert.Contains(WattTimeProvider.FreeRegion, error.Message, StringComparison.Ordinal);
        Assert.Equal(1, provider.Logins); // a 403 is not a stale token: no second login
        Assert.Equal(650 * 0.453592, preview.GramsPerKwh, 1e-9);
        Assert.Equal(WattTimeProvider.FreeRegion, preview.Zone);
    }

    [Fact]
    public async Task WattTime_bad_credentials_fail_the_login()
    {
        using var provider = new WattTimeProvider(_http, new WattTimeOptions { BaseAddress = _server.WattTimeBase, Username = "x", Password = "y" }, _time);

        var error = await Assert.ThrowsAsync<GridIntensityProviderException>(() => provider.FetchAsync("DE", CancellationToken.None));

        Assert.Equal(401, error.StatusCode);
        Assert.Equal(0, _server.Count("/wt/v3/forecast"));
    }

    [Theory]
    [InlineData("""{"data":[{"point_time":"2026-11-23T10:05:00+00:00","value":42}],"meta":{"region":"CAISO_NORTH","units":"percent"}}""")]
    [InlineData("""{"data":[],"meta":{"region":"CAISO_NORTH","units":"lbs_co2_per_mwh"}}""")]
    [InlineData("""{"data":[{"point_time":"2026-11-23T10:05:00+00:00"}]}""")]
    [InlineData("""{"data":[{"point_time":"2026-11-23T10:05""")]
    public async Task WattTime_unreadable_answers_are_provider_errors(string body)
    {
        using var provider = WattTime();
        _server.WattTimeForecast = ctx => FakeGridServer.Json(ctx, body);

        var error = await Assert.ThrowsAsync<GridIntensityProviderException>(() => provider.FetchAsync("CAISO_NORTH", CancellationToken.None));

        Assert.False(error.IsTransient);
    }

    [Fact]
    public void WattTime_falls_back_to_generated_at_when_point_time_is_missing()
    {
        var figure = WattTimeProvider.Parse("""{"data":[{"value":100}],"meta":{"region":"PJM_DC","units":"lbs_co2_per_mwh","generated_at":"2026-11-23T09:55:00+00:00"}}""", "PJM_DC");

        Assert.Equal(new DateTimeOffset(2026, 11, 23, 9, 55, 0, TimeSpan.Zero), figure.ObservedAt);
        Assert.Equal("PJM_DC", figure.Zone);
    }

    [Fact]
    public void Providers_are_configured_only_with_credentials()
    {
        Assert.False(new ElectricityMapsProvider(_http, new ElectricityMapsOptions()).IsConfigured);
        Assert.True(new ElectricityMapsProvider(_http, new ElectricityMapsOptions { ApiKey = "k" }).IsConfigured);
        using var anonymous = new WattTimeProvider(_http, new WattTimeOptions { Username = "u" }, _time);
        Assert.False(anonymous.IsConfigured);
    }

    private WattTimeProvider WattTime() => new(
        _http,
        new WattTimeOptions { BaseAddress = _server.WattTimeBase, Username = FakeGridServer.Username, Password = FakeGridServer.Password },
        _time);
}
