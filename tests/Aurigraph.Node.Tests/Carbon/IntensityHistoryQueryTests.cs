using Aurigraph.Node.Carbon;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>Queries of the stored history (gaps, staleness, refused ranges), its storage format, and reading Electricity Maps' power breakdown.</summary>
public sealed class IntensityHistoryQueryTests : IntensityHistoryFixture
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromHours(24);

    private IntensityHistoryQuery Query => new(Store, MaxAge, Time);

    [Fact]
    public void Every_hour_of_the_range_is_listed_with_gaps_and_stale_figures_flagged()
    {
        Time.Advance(TimeSpan.FromHours(3).Add(TimeSpan.FromMinutes(25))); // 13:30
        Store.Put("DE", Hour(Ten.AddHours(-1), 338, new DateTimeOffset(2021, 1, 1, 0, 0, 0, TimeSpan.Zero), GridIntensitySources.StaticTable));
        Store.Put("DE", Hour(Ten, 302));
        Store.Put("DE", Hour(Ten.AddHours(2), 290, Ten.AddHours(2).AddDays(-2)));        // held two days: stale
        Store.Put("DE", Hour(Ten.AddHours(3), 280, Ten.AddHours(3) - MaxAge));           // exactly MaxAge old: not stale
        Store.Put("FR", Hour(Ten.AddHours(1), 40));                                      // another zone: not listed

        var answer = Query.Run("DE", "2026-11-23T09:00:00Z", "2026-11-23T14:00:00Z");

        Assert.Equal([Ten.AddHours(-1), Ten, Ten.AddHours(1), Ten.AddHours(2), Ten.AddHours(3)], answer.Hours.Select(h => h.Hour));
        Assert.Equal([false, false, true, false, false], answer.Hours.Select(h => h.Gap));
        Assert.Equal([true, false, false, true, false], answer.Hours.Select(h => h.Stale));
        Assert.Equal((1, 2), (answer.Gaps, answer.StaleHours));
        Assert.Equal(TimeSpan.FromDays(2), answer.Hours[3].Age);
        Assert.Equal(IntensityType.StaticYearlyAverage, answer.Hours[0].Record!.Type);
        Assert.Null(answer.Hours[2].Record);
    }

    [Fact]
    public void Times_are_rounded_to_whole_hours_and_hours_not_yet_begun_are_not_listed()
    {
        Store.Put("DE", Hour(Ten));

        var answer = Query.Run("DE", "2026-11-23T08:30:00+01:00", "2026-11-23T20:00:00Z"); // 07:30Z, rounded down to 07:00Z

        Assert.Equal(Ten.AddHours(-3), answer.From);
        Assert.Equal(Ten.AddHours(10), answer.To);
        Assert.Equal(4, answer.Hours.Count); // 07, 08, 09, 10: it is 10:05
        Assert.Equal(3, answer.Gaps);

        var defaults = Query.Run("DE", null, null);
        Assert.Equal(24, defaults.Hours.Count);
        Assert.Equal(Ten, defaults.Hours[^1].Hour);
        Assert.False(defaults.Hours[^1].Gap);

        var longest = Query.Run("DE", "2026-10-23T11:00:00Z", "2026-11-23T11:00:00Z");
        Assert.Equal(744, longest.Hours.Count);
    }

    [Theory]
    [InlineData("", null, null, "zone must be")]
    [InlineData("DE;DROP", null, null, "zone must be")]
    [InlineData("DE", "yesterday", null, "from must be an ISO-8601 time")]
    [InlineData("DE", "2026-13-01", null, "from must be an ISO-8601 time")]
    [InlineData("DE", null, "11/23/2026", "to must be an ISO-8601 time")]
    [InlineData("DE", "2026-11-23T10:00:00Z", "2026-11-23T09:00:00Z", "must be after from")]
    [InlineData("DE", "2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z", "must be after from")]
    [InlineData("DE", "2026-10-23T10:00:00Z", "2026-11-23T11:00:00Z", "at most 744 hours")]
    [InlineData("DE", "1969-12-31T00:00:00Z", "1970-01-01T05:00:00Z", "before 1970")]
    public void Bad_zones_times_and_ranges_are_refused_with_a_reason(string zone, string? from, string? to, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => Query.Run(zone, from, to));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stored_hour_reads_back_field_for_field_and_a_damaged_value_is_reported()
    {
        var breakdown = ElectricityMapsHistory.ParseBreakdown(ElectricityMapsSamples.PowerBreakdown("DE", "2026-11-23T10:00:00.000Z", estimated: true), "DE");
        var stored = Hour(Ten) with { IsEstimated = true, EstimationMethod = "TIME_SLICER_AVERAGE", Origin = IntensityOrigin.Backfill, Breakdown = breakdown };
        Store.Put("DE", stored);

        Assert.Equivalent(stored, Store.Read("DE", Ten.AddMinutes(59)), strict: true);
        Assert.Null(Store.Read("DE", Ten.AddHours(1)));
        Assert.Equal(Ten, Store.LatestHour("DE"));
        Assert.Null(Store.LatestHour("D"));

        var key = IntensityHistoryCodec.Key("DE", Ten);
        var raw = Database.Db.Get(key, Database.Intensity);
        raw[5] ^= 0x40;
        Database.Db.Put(key, raw, Database.Intensity);
        var error = Assert.Throws<CorruptRecordException>(() => Store.Read("DE", Ten));
        Assert.Contains("CRC32C", error.Message, StringComparison.Ordinal);
        Assert.Throws<CorruptRecordException>(() => Query.Run("DE", null, null));
    }

    [Fact]
    public void Keys_of_one_zone_are_contiguous_and_ordered_by_hour()
    {
        var keys = new[] { ("DE", Ten.AddHours(1)), ("DE-X", Ten), ("DE", Ten), ("D", Ten.AddYears(1)) }
            .Select(k => IntensityHistoryCodec.Key(k.Item1, k.Item2))
            .Order(Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)))
            .Select(k => (System.Text.Encoding.ASCII.GetString(k, 1, k[0]), IntensityHistoryCodec.HourStart(IntensityHistoryCodec.HourOf(k))));

        Assert.Equal([("D", Ten.AddYears(1)), ("DE", Ten), ("DE", Ten.AddHours(1)), ("DE-X", Ten)], keys);
    }

    [Fact]
    public void A_realistic_power_breakdown_answer_is_read_fuel_by_fuel()
    {
        var mix = ElectricityMapsHistory.ParseBreakdown(ElectricityMapsSamples.PowerBreakdown("DE", "2026-11-23T10:00:00.000Z"), "DE");

        Assert.Equal(Ten, mix.Datetime);
        Assert.Equal(["nuclear", "geothermal", "biomass", "coal", "wind", "solar", "hydro", "gas", "oil", "unknown", "hydro discharge", "battery discharge"], mix.Fuels.Select(f => f.Fuel));
        Assert.Equal(new FuelPower("coal", 9876, 10127), mix.Fuels[3]);
        Assert.Equal(new FuelPower("geothermal", 24, null), mix.Fuels[1]);
        Assert.Equal(new FuelPower("battery discharge", 14, null), mix.Fuels[11]);
        Assert.Equal([48564.0, 49485.0, 3590.0, 3290.0, 62.0, 61.0], new[] { mix.ConsumptionTotalMw, mix.ProductionTotalMw, mix.ImportTotalMw, mix.ExportTotalMw, mix.FossilFreePercentage, mix.RenewablePercentage }.Select(v => v!.Value));
        Assert.False(mix.IsEstimated);
        Assert.Null(mix.EstimationMethod);
    }

    [Fact]
    public void History_answers_keep_their_readable_entries_and_unreadable_answers_are_provider_errors()
    {
        var body = $$"""{"zone":"DE","history":[{{ElectricityMapsSamples.PowerBreakdown("DE", "2026-11-23T09:00:00.000Z")}},{"datetime":"2026-11-23T10:00:00.000Z"},{{ElectricityMapsSamples.PowerBreakdown("DE", "2026-11-23T10:00:00.000Z")}}]}""";
        Assert.Equal([Ten.AddHours(-1), Ten], ElectricityMapsHistory.ParseBreakdownHistory(body, "DE").Select(b => b.Datetime));

        var intensities = ElectricityMapsHistory.ParseIntensityHistory(ElectricityMapsSamples.IntensityHistory("DE", [(Ten, 301.5)], "direct"), "DE");
        var figure = Assert.Single(intensities);
        Assert.Equal(new GridIntensity(301.5, GridIntensitySources.ElectricityMaps, Ten, "DE", IntensityType.DirectAverage, false), figure.Intensity);
        Assert.Equal("direct", figure.EmissionFactorType);
        Assert.False(figure.IsEstimated);
        Assert.Null(figure.EstimationMethod);

        Assert.Throws<GridIntensityProviderException>(() => ElectricityMapsHistory.ParseBreakdown("""{"zone":"DE","datetime":"2026-11-23T10:00:00.000Z"}""", "DE"));
        Assert.Throws<GridIntensityProviderException>(() => ElectricityMapsHistory.ParseBreakdown("""{"zone":"DE","powerConsumptionBreakdown":{}}""", "DE"));
        Assert.Throws<GridIntensityProviderException>(() => ElectricityMapsHistory.ParseBreakdownHistory("""{"zone":"DE"}""", "DE"));
        Assert.Throws<GridIntensityProviderException>(() => ElectricityMapsHistory.ParseIntensityHistory("""{"zone":"DE","history":[""", "DE"));
    }

    [Fact]
    public void A_node_database_from_before_the_history_opens_and_gains_its_family()
    {
        var path = Path.Combine(Path.GetTempPath(), "aurigraph-intensity-old-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using (var db = NodeDatabase.Open(path, "intensity-test", 1))
            {
                db.Db.DropColumnFamily(NodeDatabase.IntensityFamily);
            }
            Assert.True(RocksDb.TryListColumnFamilies(new DbOptions(), path, out var before));
            Assert.DoesNotContain(NodeDatabase.IntensityFamily, before);

            using var reopened = NodeDatabase.Open(path, "intensity-test", 1);
            var store = new IntensityHistoryStore(reopened.Db, reopened.Intensity, reopened.SyncWrite);
            store.Put("DE", Hour(Ten));
            Assert.Equal(300, store.Read("DE", Ten)!.GramsPerKwh);
        }
        finally
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
