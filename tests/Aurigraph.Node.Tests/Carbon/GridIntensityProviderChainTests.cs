using System.Diagnostics;
using Aurigraph.Node.Carbon;
using Microsoft.Extensions.Time.Testing;

namespace Aurigraph.Node.Tests.Carbon;

public sealed class GridIntensityProviderChainTests : IAsyncLifetime, IDisposable
{
    private static readonly CloudRegion Frankfurt = new(CloudProvider.Aws, "eu-central-1");
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private readonly CountingHandler _sent = new();
    private readonly HttpClient _http;
    private readonly FakeTimeProvider _time = new(Start);
    private readonly StaticGridIntensityTable _table = StaticGridIntensityTable.LoadEmbedded();
    private FakeGridServer _server = null!;

    public GridIntensityProviderChainTests() => _http = new HttpClient(_sent);

    public async Task InitializeAsync() => _server = await FakeGridServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Electricity_Maps_is_used_when_a_key_is_configured()
    {
        using var chain = Chain();

        var figure = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(new GridIntensity(302, GridIntensitySources.ElectricityMaps, Start, "DE", IntensityType.LifecycleAverage, true, "TIME_SLICER_AVERAGE"), figure);
        Assert.Equal(figure, chain.Current(Frankfurt));
        Assert.Equal(0, _server.Count("/wt/v3/forecast"));
    }

    [Fact]
    public async Task A_failing_Electricity_Maps_falls_back_to_WattTime_after_its_retries()
    {
        _server.ElectricityMaps = ctx => FakeGridServer.Status(ctx, 500);
        using var chain = Chain();

        var figure = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(GridIntensitySources.WattTime, figure.Source);
        Assert.Equal(453.592, figure.GramsPerKwh, 1e-9);
        Assert.Equal(3, _server.Count("/em/v3/carbon-intensity/latest"));
        Assert.Equal(figure, chain.Current(Frankfurt));
    }

    [Fact]
    public async Task A_rejected_key_is_not_retried()
    {
        _server.ElectricityMaps = ctx => FakeGridServer.Status(ctx, 401);
        using var chain = Chain();

        var figure = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(GridIntensitySources.WattTime, figure.Source);
        Assert.Equal(1, _server.Count("/em/v3/carbon-intensity/latest"));
    }

    [Fact]
    public async Task Rate_limiting_is_retried_with_back_off()
    {
        _server.ElectricityMaps = FakeGridServer.Sequence(
            ctx => FakeGridServer.Status(ctx, 429),
            ctx => FakeGridServer.Json(ctx, FakeGridServer.ElectricityMapsBody("DE", 280, "2026-11-23T10:00:00.000Z")));
        using var chain = Chain();

        var figure = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(280, figure.GramsPerKwh);
        Assert.Equal(GridIntensitySources.ElectricityMaps, figure.Source);
        Assert.Equal(2, _server.Count("/em/v3/carbon-intensity/latest"));
    }

    [Fact]
    public async Task Malformed_json_falls_back_to_WattTime()
    {
        _server.ElectricityMaps = ctx => FakeGridServer.Json(ctx, "{\"zone\":\"DE\",\"carbonIntens");
        using var chain = Chain();

        var figure = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(GridIntensitySources.WattTime, figure.Source);
    }

    [Fact]
    public async Task When_every_provider_fails_the_static_table_answers()
    {
        _server.ElectricityMaps = ctx => FakeGridServer.Status(ctx, 503);
        _server.WattTimeForecast = ctx => FakeGridServer.Status(ctx, 500);
        using var chain = Chain();

        var figure = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(new GridIntensity(311, GridIntensitySources.StaticTable, GridRegionInfo.UnstatedYear, "aws/eu-central-1"), figure);
        Assert.Equal(3, _server.Count("/em/v3/carbon-intensity/latest"));
        Assert.Equal(3, _server.Count("/wt/v3/forecast"));
    }

    [Fact]
    public async Task A_free_WattTime_account_outside_CAISO_NORTH_falls_to_the_static_table_at_once()
    {
        _server.ElectricityMaps = ctx => FakeGridServer.Status(ctx, 503);
        _server.WattTimeForecast = _server.FreeAccountForecast();
        using var chain = Chain();

        var figure = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(_table.Lookup(Frankfurt), figure);
        Assert.Equal(1, _server.Count("/wt/v3/forecast")); // 403 is not retried
    }

    [Fact]
    public async Task Unconfigured_providers_are_skipped()
    {
        using var chain = Chain(apiKey: null);

        var figure = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(GridIntensitySources.WattTime, figure.Source);
        Assert.Equal(0, _server.Count("/em/v3/carbon-intensity/latest"));
    }

    [Fact]
    public async Task A_region_without_a_WattTime_mapping_goes_from_Electricity_Maps_to_the_table()
    {
        _server.ElectricityMaps = ctx => FakeGridServer.Status(ctx, 500);
        using var chain = Chain();

        var figure = await chain.RefreshAsync(new CloudRegion(CloudProvider.Gcp, "asia-east1"));

        Assert.Equal(456, figure.GramsPerKwh);
        Assert.Equal(GridIntensitySources.StaticTable, figure.Source);
        Assert.Equal(0, _server.Count("/wt/login"));
    }

    [Fact]
    public async Task The_cache_serves_within_the_hour_and_refreshes_after_it()
    {
        using var chain = Chain();
        var first = await chain.RefreshAsync(Frankfurt);
        _server.ElectricityMaps = ctx => FakeGridServer.Json(ctx, FakeGridServer.ElectricityMapsBody("DE", 150, "2026-11-23T11:00:00.000Z"));

        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(first, await chain.RefreshAsync(Frankfurt));
        Assert.Equal(first, chain.Current(Frankfurt));
        Assert.Equal(1, _server.Count("/em/v3/carbon-intensity/latest"));

        _time.Advance(TimeSpan.FromMinutes(1));
        var second = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(150, second.GramsPerKwh);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 11, 0, 0, TimeSpan.Zero), second.ObservedAt);
        Assert.Equal(second, chain.Current(Frankfurt));
        Assert.Equal(2, _server.Count("/em/v3/carbon-intensity/latest"));
    }

    [Fact]
    public async Task Regions_on_the_same_grid_zone_share_one_cached_figure()
    {
        using var chain = Chain();

        var aws = await chain.RefreshAsync(new CloudRegion(CloudProvider.Aws, "us-east-1"));
        var azure = await chain.RefreshAsync(new CloudRegion(CloudProvider.Azure, "eastus"));

        Assert.Same(aws, azure);
        Assert.Equal(1, _server.Count("/em/v3/carbon-intensity/latest"));
        Assert.Equal("?zone=US-MIDA-PJM", _server.Requests[0].Query);
    }

    [Fact]
    public async Task A_stale_live_figure_is_kept_through_an_outage_until_MaxAge_then_the_table_answers()
    {
        using var chain = Chain();
        var live = await chain.RefreshAsync(Frankfurt);
        _server.ElectricityMaps = ctx => FakeGridServer.Status(ctx, 500);
        _server.WattTimeForecast = ctx => FakeGridServer.Status(ctx, 500);

        _time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(live, await chain.RefreshAsync(Frankfurt));

        _time.Advance(TimeSpan.FromHours(22) + TimeSpan.FromSeconds(1));
        var fallback = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(GridIntensitySources.StaticTable, fallback.Source);
        Assert.Equal(fallback, chain.Current(Frankfurt));
    }

    [Fact]
    public void Current_before_any_refresh_is_the_static_figure()
    {
        using var chain = Chain();

        Assert.Equal(_table.Lookup(Frankfurt), chain.Current(Frankfurt));
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task An_unlisted_region_never_calls_a_provider()
    {
        using var chain = Chain();

        var figure = await chain.RefreshAsync(new CloudRegion(CloudProvider.Azure, "moonbase"));

        Assert.Equal(351.2799615, figure.GramsPerKwh);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task A_provider_that_never_answers_times_out_and_the_chain_falls_back()
    {
        _server.ElectricityMaps = FakeGridServer.Hang();
        using var chain = Chain(TimeProvider.System, new GridIntensityOptions
        {
            AttemptTimeout = TimeSpan.FromMilliseconds(200),
            TotalTimeout = TimeSpan.FromSeconds(10),
            MaxRetryAttempts = 1,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        });
        var clock = Stopwatch.StartNew();

        var figure = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(GridIntensitySources.WattTime, figure.Source);
        // Counted where the requests leave: under load the fake server may not see an
        // attempt before the client's 200 ms attempt timeout cancels it.
        Assert.Equal(2, _sent.Count("/em/v3/carbon-intensity/latest"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task The_total_timeout_bounds_a_provider_across_its_retries()
    {
        _server.ElectricityMaps = FakeGridServer.Hang();
        _server.WattTimeForecast = FakeGridServer.Hang();
        using var chain = Chain(TimeProvider.System, new GridIntensityOptions
        {
            AttemptTimeout = TimeSpan.FromSeconds(30),
            TotalTimeout = TimeSpan.FromMilliseconds(300),
            MaxRetryAttempts = 3,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        });
        var clock = Stopwatch.StartNew();

        var figure = await chain.RefreshAsync(Frankfurt);

        Assert.Equal(GridIntensitySources.StaticTable, figure.Source);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Current_never_blocks_on_a_refresh_in_flight()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.ElectricityMaps = FakeGridServer.Hang(arrived);
        using var chain = Chain(TimeProvider.System, new GridIntensityOptions { AttemptTimeout = TimeSpan.FromMinutes(5), TotalTimeout = TimeSpan.FromMinutes(5) });
        using var stop = new CancellationTokenSource();

        var refresh = chain.RefreshAsync(Frankfurt, stop.Token);
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var clock = Stopwatch.StartNew();
        var figure = chain.Current(Frankfurt);
        clock.Stop();

        Assert.False(refresh.IsCompleted);
        Assert.Equal(_table.Lookup(Frankfurt), figure);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Current took {clock.Elapsed}");

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => refresh);
    }

    [Fact]
    public async Task RefreshAllAsync_refreshes_each_region_once()
    {
        using var chain = Chain();

        await chain.RefreshAllAsync([Frankfurt, Frankfurt, new CloudRegion(CloudProvider.Gcp, "europe-north1")]);

        Assert.Equal(2, _server.Count("/em/v3/carbon-intensity/latest"));
        Assert.Equal(GridIntensitySources.ElectricityMaps, chain.Current(CloudProvider.Gcp, "europe-north1").Source);
    }

    [Fact]
    public async Task The_refresher_refreshes_at_start_and_on_each_interval()
    {
        using var chain = Chain();
        var options = Microsoft.Extensions.Options.Options.Create(new CarbonOptions
        {
            Cloud = CloudProvider.Aws,
            Region = "eu-central-1",
            GridIntensity = new GridIntensityOptions { RefreshInterval = TimeSpan.FromMinutes(5) },
        });
        using var refresher = new GridIntensityRefresher(chain, options, _time);
        var refreshed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var count = 0;
        _server.ElectricityMaps = ctx =>
        {
            if (Interlocked.Increment(ref count) == 2)
            {
                refreshed.TrySetResult();
            }

            return FakeGridServer.Json(ctx, FakeGridServer.ElectricityMapsBody("DE", 302, "2026-11-23T10:00:00.000Z"));
        };

        await refresher.StartAsync(CancellationToken.None);
        await WaitUntil(() => chain.Current(Frankfurt).Source == GridIntensitySources.ElectricityMaps);

        // Five-minute ticks within the hour are served by the cache; the tick after the hour asks again.
        for (var minute = 5; minute <= 60; minute += 5)
        {
            _time.Advance(TimeSpan.FromMinutes(5));
        }

        await refreshed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await refresher.StopAsync(CancellationToken.None);
        Assert.Equal(2, Volatile.Read(ref count));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "condition not reached");
            await Task.Yield();
        }
    }

    private GridIntensityProviderChain Chain(string? apiKey = FakeGridServer.ApiKey) =>
        Chain(_time, new GridIntensityOptions { MaxRetryAttempts = 2, RetryBaseDelay = TimeSpan.Zero }, apiKey);

    private GridIntensityProviderChain Chain(TimeProvider time, GridIntensityOptions options, string? apiKey = FakeGridServer.ApiKey) => new(
        [
            new ElectricityMapsProvider(_http, new ElectricityMapsOptions { BaseAddress = _server.ElectricityMapsBase, ApiKey = apiKey }),
            new WattTimeProvider(_http, new WattTimeOptions { BaseAddress = _server.WattTimeBase, Username = FakeGridServer.Username, Password = FakeGridServer.Password }, time),
        ],
        _table,
        options,
        time);

    private sealed class CountingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _paths = new();

        public int Count(string path) => _paths.Count(p => p == path);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            _paths.Enqueue(request.RequestUri!.AbsolutePath);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
