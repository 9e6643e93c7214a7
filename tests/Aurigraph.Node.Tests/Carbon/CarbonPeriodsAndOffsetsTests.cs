using Aurigraph.Node.Carbon;
using Aurigraph.Node.Storage;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>Carbon format 3: block times, calendar hours, market factors and offset records, through the codec and the ledger.</summary>
public sealed class CarbonPeriodsAndOffsetsTests : IDisposable
{
    private const string Chain = "carbon-periods";
    private static readonly long Noon = new DateTimeOffset(2026, 12, 3, 12, 10, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-periods-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static OffsetRetirement Offset(string serial, double tonnes = 1.5) =>
        new("Gold Standard", serial, tonnes, 2024, "Cookstoves <Ghana> & co", new DateOnly(2026, 12, 1), "retired for node 1");

    [Fact]
    public void A_format_3_section_round_trips_its_time_offsets_and_readings_market_factors()
    {
        var reading = CarbonTestData.Reading(3, 1) with
        {
            Grid = CarbonTestData.Grid with { Type = IntensityType.LifecycleAverage, IsEstimated = true, EstimationMethod = "TIME_SLICER_AVERAGE" },
            Market = new MarketFactor(120.5, MarketBasis.SupplierSpecific, "supplier contract 2026"),
        };
        var record = new CarbonRecord(CarbonRecordKind.Main, 3, 4, [new CarbonRecordEntry(1, CarbonReadingStatus.Present, reading)]);
        var section = new CarbonSection(Noon, [record], [Offset("GS1-1-GH-123-1-100")]);

        var decoded = CarbonCodec.ReadSection(CarbonCodec.EncodeSection(section));

        Assert.Equal(Noon, decoded.ProposedAtMs);
        Assert.Equal(section.Offsets, decoded.Offsets);
        var back = Assert.Single(decoded.Records).Entries[0].Reading!;
        Assert.Equal(reading, back);
        Assert.Equal((reading.Estimate.Energy.TotalKwh * 120.5) + reading.Estimate.EmbodiedGrams, back.MarketGrams);
        Assert.NotEqual(back.Estimate.TotalGrams, back.MarketGrams);
    }

    [Fact]
    public void Records_count_at_their_block_hour_never_earlier_and_late_readings_at_the_hour_they_fill()
    {
        using var db = NodeDatabase.Open(Path.Combine(_dir, "a"), Chain, 1);
        var ledger = new CarbonLedger(db.Db, db.Carbon);
        ledger.Load();
        var hour = CarbonPeriods.HourOf(Noon);
        Apply(db, ledger, 1, 3, Array.Empty<byte>());
        Apply(db, ledger, 2, 5, new CarbonSection(Noon, [CarbonTestData.MainRecord(1, 3, (1, 1), (2, 2))], []));
        // The next leader's clock is two hours behind: its record still counts at the latest hour, not before it.
        Apply(db, ledger, 3, 0, new CarbonSection(Noon - (2 * CarbonHour.MillisecondsPerHour), [CarbonTestData.MainRecord(2, 5, (1, 3))], []));
        var main = ledger.ReadView(1)!.Summary.Add(ledger.ReadView(2)!.Summary);
        var noon = Assert.Single(ledger.Periods.ReadHours(hour - 5, hour + 5));
        // Entries for nodes 1..3: height 1 misses node 3, height 2 nodes 2 and 3.
        Assert.Equal((hour, 2UL, 8UL, 3UL, 3UL), (noon.Hour, noon.Heights, noon.Transactions, noon.PresentReadings, noon.MissingReadings));
        Assert.Equal(main.TotalGrams, noon.Summary.TotalGrams);

        // An hour later a late reading fills height 2: it counts at noon, where its record is.
        Apply(db, ledger, 4, 0, new CarbonSection(Noon + CarbonHour.MillisecondsPerHour, [CarbonTestData.LateRecord(2, 5, 2, 4)], []));
        noon = Assert.Single(ledger.Periods.ReadHours(hour, hour + 1));
        Assert.Equal((4UL, 2UL), (noon.PresentReadings, noon.MissingReadings));
        Assert.Equal(ledger.ReadView(1)!.Summary.Add(ledger.ReadView(2)!.Summary).TotalGrams, noon.Summary.TotalGrams);
        Assert.Equal(ledger.ReadTotals().Summary.TotalGrams, noon.Summary.TotalGrams);
        Assert.Equal(1, ledger.Periods.HeldHours); // noon: the latest hour with a main record, and that of the open views

        // Reopened, the ledger holds the same figures.
        var reopened = new CarbonLedger(db.Db, db.Carbon);
        reopened.Load();
        Assert.Equal(noon, Assert.Single(reopened.Periods.ReadHours(0, long.MaxValue)));
    }

    [Fact]
    public void Offsets_are_recorded_once_refused_alike_when_malformed_or_repeated_and_kept_apart_from_the_footprint()
    {
        using var db = NodeDatabase.Open(Path.Combine(_dir, "b"), Chain, 1);
        var ledger = new CarbonLedger(db.Db, db.Carbon);
        ledger.Load();
        var future = Offset("GS-FUTURE") with { RetiredOn = new DateOnly(2027, 1, 1) };
        var unknown = Offset("X-1") with { Registry = "Acme Credits" };
        var result = Apply(db, ledger, 1, 0, new CarbonSection(Noon, [], [Offset("GS-1"), Offset("GS-1", 9), future, unknown, Offset("GS-2", 2.5)]));

        Assert.Equal(["GS-1", "GS-2"], result.Offsets!.Recorded.Select(r => r.Offset.Serial));
        Assert.Equal(3, result.Offsets.Refused.Count);
        Assert.Contains("already recorded", result.Offsets.Refused[0].Reason, StringComparison.Ordinal);
        Assert.Contains("no later than", result.Offsets.Refused[1].Reason, StringComparison.Ordinal);
        Assert.Contains("not one of", result.Offsets.Refused[2].Reason, StringComparison.Ordinal);
        Assert.Equal(4.0, ledger.Offsets.Tonnes);
        Assert.Equal(0, ledger.ReadTotals().Summary.TotalGrams); // offsets never touch the measured footprint

        var reopened = new CarbonLedger(db.Db, db.Carbon);
        reopened.Load();
        Assert.Equal((2, 4.0), (reopened.Offsets.Count, reopened.Offsets.Tonnes));
        Assert.Equal([1UL, 1UL], reopened.Offsets.ReadAll().Select(r => r.Height));
        Assert.True(reopened.Offsets.Contains(Offset("GS-2")));
    }

    private static CarbonApplyResult Apply(NodeDatabase db, CarbonLedger ledger, ulong height, int transactions, object section)
    {
        using var batch = new WriteBatch();
        var bytes = section switch
        {
            CarbonSection s => CarbonCodec.EncodeSection(s),
            byte[] b => b,
            _ => [],
        };
        var result = ledger.Apply(batch, height, transactions, bytes);
        db.Db.Write(batch);
        return result;
    }
}
