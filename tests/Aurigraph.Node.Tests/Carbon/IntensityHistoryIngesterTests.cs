using System.Diagnostics.Metrics;
using Aurigraph.Node.Carbon;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>Hourly ingestion over a fake clock: one record per zone and hour, its type and details, back-fill, retention and the age gauge.</summary>
public sealed class IntensityHistoryIngesterTests : IntensityHistoryFixture
{
    private const string Zone = "DE";

    [Fact]
    public async Task Without_a_live_provider_the_static_figure_is_recorded_once_per_hour_with_its_type()
    {
        var ingester = Ingester(electricityMaps: false);
        Assert.Equal(Zone, Assert.Single(ingester.Zones).Zone);

        Assert.Equal(new IngestResult(1, 0, 0), await ingester.IngestAsync());
        Time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(0, (await ingester.IngestAsync()).Recorded);
        Time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(1, (await ingester.IngestAsync()).Recorded);

        var hours = Store.Range(Zone, Ten, Ten.AddHours(3));
        Assert.Equal([Ten, Ten.AddHours(1)], hours.Select(h => h.Hour));
        var table = StaticGridIntensityTable.LoadEmbedded().Lookup(new CloudRegion(CloudProvider.Aws, "eu-central-1"));
        Assert.All(hours, h =>
        {
            Assert.Equal(IntensityType.StaticYearlyAverage, h.Type);
            Assert.Equal(GridIntensitySources.StaticTable, h.Source);
            Assert.Equal(table.GramsPerKwh, h.GramsPerKwh);
            Assert.Equal("aws/eu-central-1", h.FigureZone);
            Assert.Equal(table.ObservedAt, h.ObservedAt);
            Assert.Null(h.IsEstimated);
            Assert.Null(h.Breakdown);
            Assert.Equal(IntensityOrigin.Live, h.Origin);
        });
        Assert.Equal(Ten.AddMinutes(5), hours[0].RecordedAt);
        Assert.Empty(Server.Requests);
    }

    [Fact]
    public async Task An_Electricity_Maps_hour_keeps_the_lifecycle_type_the_estimation_and_the_power_breakdown()
    {
        var ingester = Ingester();

        var result = await ingester.IngestAsync();

        Assert.Equal(1, result.Recorded);
        var hour = Store.Read(Zone, Ten)!;
        Assert.Equal(302, hour.GramsPerKwh);
        Assert.Equal(GridIntensitySources.ElectricityMaps, hour.Source);
        Assert.Equal(IntensityType.LifecycleAverage, hour.Type);
        Assert.True(hour.IsEstimated);
        Assert.Equal("TIME_SLICER_AVERAGE", hour.EstimationMethod);
        Assert.Equal(Ten, hour.ObservedAt);
        var mix = Assert.IsType<PowerBreakdown>(hour.Breakdown);
        Assert.Equal(12, mix.Fuels.Count);
        Assert.Equal(21044, mix.Fuels.Single(f => f.Fuel == "wind").ConsumptionMw);
        Assert.Null(mix.Fuels.Single(f => f.Fuel == "geothermal").ProductionMw);
        Assert.Equal(62, mix.FossilFreePercentage);
        var asked = Assert.Single(Server.Requests, r => r.Path == "/em/v3/power-breakdown/latest");
        Assert.Equal(FakeGridServer.ApiKey, asked.AuthToken);
        Assert.Equal("?zone=DE", asked.Query);
    }

    [Fact]
    public async Task Direct_emission_factors_are_labelled_direct_not_lifecycle()
    {
        Server.ElectricityMaps = ctx => FakeGridServer.Json(ctx, """
            {"zone":"DE","carbonIntensity":261,"datetime":"2026-11-23T10:00:00.000Z","updatedAt":"2026-11-23T10:40:00.000Z","emissionFactorType":"direct","isEstimated":false,"estimationMethod":null}
            """);
        var ingester = Ingester(emissionFactorType: "direct");

        await ingester.IngestAsync();

        var hour = Store.Read(Zone, Ten)!;
        Assert.Equal(IntensityType.DirectAverage, hour.Type);
        Assert.False(hour.IsEstimated);
        Assert.Null(hour.EstimationMethod);
        Assert.Contains("emissionFactorType=direct", Server.Requests.First(r => r.Path == "/em/v3/carbon-intensity/latest").Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_WattTime_figure_is_labelled_marginal_CO2_and_has_no_breakdown()
    {
        var ingester = Ingester(electricityMaps: false, wattTime: true);

        await ingester.IngestAsync();

        var hour = Store.Read(Zone, Ten)!;
        Assert.Equal(GridIntensitySources.WattTime, hour.Source);
        Assert.Equal(IntensityType.MarginalCo2, hour.Type);
        Assert.Equal(453.592, hour.GramsPerKwh, 1e-9);
        Assert.Null(hour.IsEstimated);
        Assert.Null(hour.Breakdown);
        Assert.Equal(0, Server.Count("/em/v3/power-breakdown/latest"));
    }

    [Fact]
    public async Task A_new_hour_asks_the_provider_again_though_the_cached_figure_is_younger_than_the_cache_duration()
    {
        var ingester = Ingester();
        await ingester.IngestAsync();
        Server.ElectricityMaps = ctx => FakeGridServer.Json(ctx, FakeGridServer.ElectricityMapsBody("DE", 280, "2026-11-23T11:00:00.000Z"));

        Time.Advance(TimeSpan.FromMinutes(56)); // 11:01: the 10:05 figure is 56 minutes old, but it is for 10:00
        await ingester.IngestAsync();

        Assert.Equal(2, Server.Count("/em/v3/carbon-intensity/latest"));
        Assert.Equal(280, Store.Read(Zone, Ten.AddHours(1))!.GramsPerKwh);
        Assert.Equal(302, Store.Read(Zone, Ten)!.GramsPerKwh);
    }

    [Fact]
    public async Task Missed_hours_are_filled_in_from_the_recent_history_and_recorded_hours_are_kept()
    {
        var ingester = Ingester();
        await ingester.IngestAsync(); // 10:05; the history has nothing yet
        var fourteen = Ten.AddHours(4);
        var past = Enumerable.Range(-1, 6).Select(i => Ten.AddHours(i)).ToList(); // 09:00 .. 14:00
        Server.ElectricityMaps = ctx => FakeGridServer.Json(ctx, FakeGridServer.ElectricityMapsBody("DE", 250, "2026-11-23T14:00:00.000Z"));
        Server.IntensityHistory = ctx => FakeGridServer.Json(ctx, ElectricityMapsSamples.IntensityHistory("DE", past.Select(h => (h, 100.0 + h.Hour))));
        Server.PowerBreakdownHistory = ctx => FakeGridServer.Json(ctx, ElectricityMapsSamples.PowerBreakdownHistory("DE", past));

        Time.Advance(TimeSpan.FromHours(4)); // 14:05: the node missed 11, 12 and 13
        var result = await ingester.IngestAsync();

        Assert.Equal(new IngestResult(1, 4, 0), result); // 09, 11, 12, 13 filled; 10 kept; 14 live
        var hours = Store.Range(Zone, Ten.AddHours(-1), fourteen.AddHours(1));
        Assert.Equal(past, hours.Select(h => h.Hour));
        Assert.Equal([IntensityOrigin.Backfill, IntensityOrigin.Live, IntensityOrigin.Backfill, IntensityOrigin.Backfill, IntensityOrigin.Backfill, IntensityOrigin.Live], hours.Select(h => h.Origin));
        Assert.Equal(302, hours[1].GramsPerKwh);
        var twelve = hours[3];
        Assert.Equal(112, twelve.GramsPerKwh);
        Assert.Equal(IntensityType.LifecycleAverage, twelve.Type);
        Assert.False(twelve.IsEstimated);
        Assert.Equal(Ten.AddHours(2), twelve.Breakdown!.Datetime);
        Assert.Equal(fourteen.AddMinutes(5), twelve.RecordedAt);

        // Nothing is missing any more: the rest of the hour asks nothing.
        var asked = Server.Requests.Count;
        Time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(new IngestResult(0, 0, 0), await ingester.IngestAsync());
        Assert.Equal(asked, Server.Requests.Count);
    }

    [Fact]
    public async Task A_failing_breakdown_leaves_the_hour_recorded_without_one()
    {
        Server.PowerBreakdown = ctx => FakeGridServer.Status(ctx, 503);
        var ingester = Ingester();

        await ingester.IngestAsync();

        var hour = Store.Read(Zone, Ten)!;
        Assert.Equal(GridIntensitySources.ElectricityMaps, hour.Source);
        Assert.Null(hour.Breakdown);
        Assert.Equal(2, Server.Count("/em/v3/power-breakdown/latest")); // first attempt and one retry
    }

    [Fact]
    public async Task Hours_past_the_retention_are_deleted_a_bounded_batch_per_pass()
    {
        var cutoff = Ten - TimeSpan.FromDays(90);
        for (var i = 1; i <= 6; i++)
        {
            Store.Put(Zone, Hour(cutoff.AddHours(-i)));
        }
        Store.Put(Zone, Hour(cutoff));
        Store.Put(Zone, Hour(Ten.AddHours(-1)));
        for (var i = 1; i <= 3; i++)
        {
            Store.Put("FR", Hour(cutoff.AddDays(-i)));
        }
        var ingester = Ingester(electricityMaps: false, options: new IntensityHistoryOptions { RetentionDays = 90, PruneBatch = 4 });

        var pruned = new List<int>();
        for (var pass = 0; pass < 4; pass++)
        {
            pruned.Add((await ingester.IngestAsync()).Pruned);
        }

        Assert.Equal([4, 4, 1, 0], pruned);
        Assert.Equal([cutoff, Ten.AddHours(-1), Ten], Store.Range(Zone, cutoff.AddDays(-1), Ten.AddHours(1)).Select(h => h.Hour));
        Assert.Empty(Store.Range("FR", cutoff.AddDays(-5), Ten));
    }

    [Fact]
    public async Task The_age_gauge_follows_the_latest_stored_hour_of_each_zone_and_survives_a_restart()
    {
        var ages = new List<(string Zone, double Seconds)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == Metrics.Meter && instrument.Meter.Name == "Aurigraph.Node.Carbon" && instrument.Name == "aurigraph.carbon.intensity_history.age" && instrument.Unit == "s")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) => ages.Add(((string)tags[0].Value!, value)));
        listener.Start();
        var ingester = Ingester(electricityMaps: false);

        listener.RecordObservableInstruments();
        Assert.Empty(ages); // nothing stored yet: no age to report

        await ingester.IngestAsync();
        listener.RecordObservableInstruments();
        Assert.Equal((Zone, 300.0), Assert.Single(ages));

        ages.Clear();
        Time.Advance(TimeSpan.FromHours(1)); // no pass ran: the latest hour is an hour older
        listener.RecordObservableInstruments();
        Assert.Equal((Zone, 3900.0), Assert.Single(ages));

        using var restarted = new IntensityHistoryMetrics(Time);
        _ = new IntensityHistoryIngester([Frankfurt], new GridIntensityProviderChain([], StaticGridIntensityTable.LoadEmbedded(), new GridIntensityOptions(), Time), new ElectricityMapsProvider(Http, new ElectricityMapsOptions()), Store, new IntensityHistoryOptions(), Time, restarted);
        Assert.Equal(3900.0, Assert.Single(restarted.ObserveAges()).Value);
    }

    [Fact]
    public void Regions_on_one_grid_zone_share_one_history_and_unmapped_regions_use_their_region_key()
    {
        var zones = IntensityHistoryIngester.ZonesOf(
            [new(CloudProvider.Aws, "us-east-1"), new(CloudProvider.Azure, "eastus"), new(CloudProvider.Gcp, "asia-east1"), new(CloudProvider.Aws, "mars-north-1")],
            StaticGridIntensityTable.LoadEmbedded());

        Assert.Equal(["US-MIDA-PJM", "TW", "aws/mars-north-1"], zones.Select(z => z.Zone));
        Assert.Equal(new CloudRegion(CloudProvider.Aws, "us-east-1"), zones[0].Region);
        Assert.Null(zones[2].ElectricityMapsZone);
    }

    [Fact]
    public async Task A_node_without_a_region_records_its_cloud_default_figure()
    {
        var regions = IntensityHistoryIngester.RegionsOf(new CarbonOptions { GridIntensity = new GridIntensityOptions { Regions = ["gcp/europe-west1"] } });
        Assert.Equal([new CloudRegion(CloudProvider.Other, ""), new CloudRegion(CloudProvider.Gcp, "europe-west1")], regions);
        var ingester = new IntensityHistoryIngester(regions, new GridIntensityProviderChain([], StaticGridIntensityTable.LoadEmbedded(), new GridIntensityOptions(), Time), new ElectricityMapsProvider(Http, new ElectricityMapsOptions()), Store, new IntensityHistoryOptions(), Time, Metrics);

        Assert.Equal(2, (await ingester.IngestAsync()).Recorded);

        Assert.Equal(["other/default", "BE"], ingester.Zones.Select(z => z.Zone));
        var table = StaticGridIntensityTable.LoadEmbedded();
        Assert.Equal(table.Lookup(new CloudRegion(CloudProvider.Other, "")).GramsPerKwh, Store.Read("other/default", Ten)!.GramsPerKwh);
        Assert.Equal(table.Lookup(new CloudRegion(CloudProvider.Gcp, "europe-west1")).GramsPerKwh, Store.Read("BE", Ten)!.GramsPerKwh);
    }

    [Fact]
    public void History_settings_out_of_range_are_configuration_errors_naming_their_key()
    {
        var errors = new CarbonOptions { History = new IntensityHistoryOptions { RetentionDays = 0, IngestInterval = TimeSpan.Zero, PruneBatch = 0 } }.Validate();

        Assert.Contains(errors, e => e.StartsWith("Aurigraph:Carbon:History:RetentionDays", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Aurigraph:Carbon:History:IngestInterval", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Aurigraph:Carbon:History:PruneBatch", StringComparison.Ordinal));
        Assert.Empty(new CarbonOptions().Validate());
    }
}
