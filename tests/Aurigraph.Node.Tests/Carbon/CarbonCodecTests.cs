using System.Buffers.Binary;
using Aurigraph.Node.Carbon;

namespace Aurigraph.Node.Tests.Carbon;

public sealed class CarbonCodecTests
{
    private static List<CarbonRecord> Records() =>
    [
        CarbonTestData.MainRecord(7, 120, (1, 3), (3, 5)),
        CarbonTestData.LateRecord(5, 9, 2, 4),
    ];

    [Fact]
    public void A_section_round_trips_value_for_value_and_encodes_deterministically()
    {
        var records = Records();

        var bytes = CarbonCodec.EncodeSection(records);
        var decoded = CarbonCodec.DecodeSection(bytes);

        Assert.Equal(records.Count, decoded.Count);
        for (var i = 0; i < records.Count; i++)
        {
            Assert.Equal(records[i].Kind, decoded[i].Kind);
            Assert.Equal(records[i].Height, decoded[i].Height);
            Assert.Equal(records[i].TransactionCount, decoded[i].TransactionCount);
            Assert.Equal(records[i].Entries, decoded[i].Entries);
        }
        Assert.Equal(CarbonReadingStatus.Missing, decoded[0].Entries[1].Status);
        Assert.Null(decoded[0].Entries[1].Reading);
        Assert.Equal(bytes, CarbonCodec.EncodeSection(decoded));
        Assert.Equal(bytes, CarbonCodec.EncodeSection(Records()));
    }

    [Fact]
    public void Readings_round_trip_singly_and_in_batches()
    {
        var readings = new List<CarbonReading> { CarbonTestData.Reading(3, 1), CarbonTestData.Reading(4, 1, 9) };

        Assert.Equal(readings, CarbonCodec.DecodeReadings(CarbonCodec.EncodeReadings(readings)));
        Assert.Equal(readings[1], CarbonCodec.DecodeReading(CarbonCodec.EncodeReading(readings[1])));
    }

    [Fact]
    public void An_auditor_recomputes_the_estimate_bit_for_bit_from_the_decoded_reading_and_its_coefficients()
    {
        var reading = CarbonCodec.DecodeSection(CarbonCodec.EncodeSection(Records()))[0].Entries[0].Reading!;

        var recomputed = reading.Coefficients.ToModel().Estimate(reading.ToNodeReading(), reading.Grid.GramsPerKwh);

        Assert.Equal(reading.Estimate, recomputed);
        Assert.True(reading.Estimate.TotalGrams > 0);
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 3 }, "does not start with")]
    [InlineData(new byte[] { (byte)'A', (byte)'C', (byte)'R', 9, 0, 0 }, "version 9")]
    [InlineData(new byte[] { (byte)'A', (byte)'C', (byte)'R', 1, 1, 0 }, "truncated in record kind")]
    [InlineData(new byte[] { (byte)'A', (byte)'C', (byte)'R', 1, 1, 0, 7 }, "unknown record kind 7")]
    [InlineData(new byte[] { (byte)'A', (byte)'C', (byte)'R', 1, 0, 0, 0 }, "1 trailing bytes")]
    public void Garbage_is_refused_with_a_reason(byte[] bytes, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => CarbonCodec.DecodeSection(bytes));

        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("carbon section:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_of_a_valid_section_is_refused()
    {
        var bytes = CarbonCodec.EncodeSection(Records());
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.Throws<FormatException>(() => CarbonCodec.DecodeSection(bytes.AsSpan(0, length)));
        }
    }

    [Fact]
    public void Inconsistent_records_are_refused()
    {
        var valid = CarbonCodec.EncodeSection([CarbonTestData.MainRecord(7, 120, (1, 3))]);

        // Header: "ACR" 3 | i64 proposed-at | u16 count | kind | u64 height | u32 tx | u16 entries | u64 node ...
        var zeroTx = (byte[])valid.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(zeroTx.AsSpan(23), 0);
        Assert.Contains("transaction count 0", Assert.Throws<FormatException>(() => CarbonCodec.DecodeSection(zeroTx)).Message, StringComparison.Ordinal);

        var otherHeight = (byte[])valid.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(otherHeight.AsSpan(15), 8);
        Assert.Contains("carries a reading of height 7", Assert.Throws<FormatException>(() => CarbonCodec.DecodeSection(otherHeight)).Message, StringComparison.Ordinal);

        var lateInMain = (byte[])valid.Clone();
        lateInMain[37] = (byte)CarbonReadingStatus.Late;
        Assert.Contains("not allowed in a main record", Assert.Throws<FormatException>(() => CarbonCodec.DecodeSection(lateInMain)).Message, StringComparison.Ordinal);

        var negativeUtilisation = CarbonCodec.EncodeReading(CarbonTestData.Reading(1, 1));
        BinaryPrimitives.WriteDoubleLittleEndian(negativeUtilisation.AsSpan(44), -0.5);
        Assert.Contains("cpu utilisation is outside [0, 1]", Assert.Throws<FormatException>(() => CarbonCodec.DecodeReading(negativeUtilisation)).Message, StringComparison.Ordinal);
    }
}
