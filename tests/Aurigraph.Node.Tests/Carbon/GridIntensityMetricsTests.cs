using System.Diagnostics.Metrics;
using Aurigraph.Node.Carbon;
using Microsoft.Extensions.Time.Testing;
using Polly.Timeout;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>The grid-intensity chain's instruments, read with a <see cref="MeterListener"/> on the chain's own meter.</summary>
public sealed class GridIntensityMetricsTests : IAsyncLifetime, IDisposable
{
    private static readonly CloudRegion Frankfurt = new(CloudProvider.Aws, "eu-central-1");
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private readonly HttpClient _http = new();
    private readonly FakeTimeProvider _time = new(Start);
    private FakeGridServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeGridServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task A_failure_after_the_retries_is_counted_once_by_provider_and_kind_and_every_series_starts_at_zero()
    {
        _server.ElectricityMaps = ctx => FakeGridServer.Status(ctx, 503);
        using var recorder = new Recorder();
        using var chain = Chain();

        Assert.Equal(GridIntensitySources.WattTime, (await chain.RefreshAsync(Frankfurt)).Source);

        var failures = recorder.Of(chain, "aurigraph.carbon.grid_provider_failures")
            .GroupBy(m => (m.Tags["provider"], m.Tags["kind"]))
            .ToDictionary(g => g.Key, g => g.Sum(m => m.Value));
        foreach (var provider in new[] { GridIntensitySources.ElectricityMaps, GridIntensitySources.WattTime })
        {
            Assert.All(GridIntensityMetrics.FailureKinds, kind => Assert.True(failures.ContainsKey((provider, kind)), $"no {provider}/{kind} series"));
        }
        Assert.Equal(1, failures[(GridIntensitySources.ElectricityMaps, "server_error")]); // 2 attempts, one failure
        Assert.Equal(1, failures.Values.Sum());
        Assert.Equal("{failure}", recorder.Instrument(chain, "aurigraph.carbon.grid_provider_failures").Unit);
    }

    [Fact]
    public async Task An_unconfigured_provider_has_no_failure_series()
    {
        using var recorder = new Recorder();
        using var chain = Chain(apiKey: null);

        await chain.RefreshAsync(Frankfurt);

        Assert.DoesNotContain(recorder.Of(chain, "aurigraph.carbon.grid_provider_failures"), m => (string)m.Tags["provider"]! == GridIntensitySources.ElectricityMaps);
        Assert.Contains(recorder.Of(chain, "aurigraph.carbon.grid_provider_failures"), m => (string)m.Tags["provider"]! == GridIntensitySources.WattTime);
    }

    [Theory]
    [InlineData(401, "auth")]
    [InlineData(403, "auth")]
    [InlineData(404, "client_error")]
    [InlineData(408, "timeout")]
    [InlineData(429, "rate_limited")]
    [InlineData(500, "server_error")]
    [InlineData(null, "unreadable")]
    public void Provider_answers_are_classified_by_status(int? status, string kind) =>
        Assert.Equal(kind, GridIntensityMetrics.Classify(new GridIntensityProviderException("x", status, transient: false)));

    [Fact]
    public void Timeouts_and_connection_failures_have_their_own_kinds()
    {
        Assert.Equal("timeout", GridIntensityMetrics.Classify(new TimeoutRejectedException()));
        Assert.Equal("timeout", GridIntensityMetrics.Classify(new TaskCanceledException()));
        Assert.Equal("unreachable", GridIntensityMetrics.Classify(new HttpRequestException("connection refused")));
    }

    [Fact]
    public async Task A_live_figure_reports_its_age_from_the_time_it_applies_to_and_no_fallback()
    {
        using var recorder = new Recorder();
        using var chain = Chain();
        Assert.Empty(recorder.Observe(chain, "aurigraph.carbon.grid_intensity_age")); // no zone refreshed yet

        await chain.RefreshAsync(Frankfurt); // Electricity Maps: 302 g/kWh at 10:00 for zone DE
        _time.Advance(TimeSpan.FromMinutes(30));

        var age = Assert.Single(recorder.Observe(chain, "aurigraph.carbon.grid_intensity_age"));
        Assert.Equal(1800, age.Value, 1e-9);
        Assert.Equal(("DE", GridIntensitySources.ElectricityMaps), ((string)age.Tags["zone"]!, (string)age.Tags["source"]!));
        Assert.Equal("s", recorder.Instrument(chain, "aurigraph.carbon.grid_intensity_age").Unit);
        var fallback = Assert.Single(recorder.Observe(chain, "aurigraph.carbon.grid_intensity_fallback"));
        Assert.Equal((0.0, "DE"), (fallback.Value, (string)fallback.Tags["zone"]!));
        Assert.Equal(2, Assert.Single(recorder.Observe(chain, "aurigraph.carbon.grid_live_providers")).Value);
    }

    [Fact]
    public async Task Past_MaxAge_without_an_answer_the_zone_is_on_the_static_fallback()
    {
        using var recorder = new Recorder();
        using var chain = Chain();
        await chain.RefreshAsync(Frankfurt);
        _server.ElectricityMaps = ctx => FakeGridServer.Status(ctx, 500);
        _server.WattTimeForecast = ctx => FakeGridServer.Status(ctx, 500);

        _time.Advance(TimeSpan.FromHours(23));
        await chain.RefreshAsync(Frankfurt);
        Assert.Equal(23 * 3600, Assert.Single(recorder.Observe(chain, "aurigraph.carbon.grid_intensity_age")).Value, 1e-9);
        Assert.Equal(0, Assert.Single(recorder.Observe(chain, "aurigraph.carbon.grid_intensity_fallback")).Value);

        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        await chain.RefreshAsync(Frankfurt);

        var age = Assert.Single(recorder.Observe(chain, "aurigraph.carbon.grid_intensity_age"));
        Assert.Equal(GridIntensitySources.StaticTable, (string)age.Tags["source"]!);
        Assert.Equal("DE", (string)age.Tags["zone"]!);
        Assert.Equal((_time.GetUtcNow() - GridRegionInfo.UnstatedYear).TotalSeconds, age.Value, 1e-6); // the EEA factor for Frankfurt has no stated year
        Assert.Equal(1, Assert.Single(recorder.Observe(chain, "aurigraph.carbon.grid_intensity_fallback")).Value);
        Assert.Equal(2, Assert.Single(recorder.Observe(chain, "aurigraph.carbon.grid_live_providers")).Value);
        var failures = recorder.Of(chain, "aurigraph.carbon.grid_provider_failures").Sum(m => m.Value);
        Assert.Equal(4, failures); // both providers, two refreshes
    }

    [Fact]
    public async Task A_zone_no_configured_provider_serves_is_on_the_table_with_no_live_provider()
    {
        using var recorder = new Recorder();
        using var chain = Chain(apiKey: null); // WattTime alone, and Taiwan has no WattTime region
        var taiwan = new CloudRegion(CloudProvider.Gcp, "asia-east1");

        await chain.RefreshAsync(taiwan);
        await chain.RefreshAsync(Frankfurt);

        var live = recorder.Observe(chain, "aurigraph.carbon.grid_live_providers").ToDictionary(m => (string)m.Tags["zone"]!, m => m.Value);
        Assert.Equal(new Dictionary<string, double> { ["TW"] = 0, ["DE"] = 1 }, live);
        var fallback = recorder.Observe(chain, "aurigraph.carbon.grid_intensity_fallback").ToDictionary(m => (string)m.Tags["zone"]!, m => m.Value);
        Assert.Equal(new Dictionary<string, double> { ["TW"] = 1, ["DE"] = 0 }, fallback);
        Assert.DoesNotContain(_server.Requests, r => r.Path.StartsWith("/em/", StringComparison.Ordinal));
    }

    private GridIntensityProviderChain Chain(string? apiKey = FakeGridServer.ApiKey) => new(
        [
            new ElectricityMapsProvider(_http, new ElectricityMapsOptions { BaseAddress = _server.ElectricityMapsBase, ApiKey = apiKey }),
            new WattTimeProvider(_http, new WattTimeOptions { BaseAddress = _server.WattTimeBase, Username = FakeGridServer.Username, Password = FakeGridServer.Password }, _time),
        ],
        StaticGridIntensityTable.LoadEmbedded(),
        new GridIntensityOptions { MaxRetryAttempts = 1, RetryBaseDelay = TimeSpan.Zero },
        _time);

    internal sealed record Recorded(Instrument Instrument, double Value, Dictionary<string, object?> Tags);

    /// <summary>Every measurement of the carbon meters in this process; <see cref="Of"/> keeps one chain's.</summary>
    internal sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<Recorded> _seen = [];

        public Recorder()
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == CarbonMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
            _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
            _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
            _listener.Start();
        }

        /// <summary>What the chain's instrument recorded so far.</summary>
        public List<Recorded> Of(GridIntensityProviderChain chain, string name) => Of(chain.Metrics.Meter, name);

        public List<Recorded> Of(Meter meter, string name) => Since(0, meter, name);

        /// <summary>One observation of the chain's observable instrument now.</summary>
        public List<Recorded> Observe(GridIntensityProviderChain chain, string name) => Observe(chain.Metrics.Meter, name);

        public List<Recorded> Observe(Meter meter, string name)
        {
            int start;
            lock (_seen)
            {
                start = _seen.Count;
            }
            _listener.RecordObservableInstruments();
            return Since(start, meter, name);
        }

        public Instrument Instrument(GridIntensityProviderChain chain, string name) =>
            Of(chain, name).Select(m => m.Instrument).FirstOrDefault() ?? Observe(chain, name).First().Instrument;

        public void Dispose() => _listener.Dispose();

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var dictionary = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var tag in tags)
            {
                dictionary[tag.Key] = tag.Value;
            }
            lock (_seen)
            {
                _seen.Add(new Recorded(instrument, value, dictionary));
            }
        }

        private List<Recorded> Since(int start, Meter meter, string name)
        {
            lock (_seen)
            {
                return [.. _seen.Skip(start).Where(m => ReferenceEquals(m.Instrument.Meter, meter) && m.Instrument.Name == name)];
            }
        }
    }
}
