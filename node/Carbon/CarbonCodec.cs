using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// The compact, versioned binary forms of carbon data: a block's carbon section (records), a batch of readings sent to the
/// leader on the peer transport, and single readings. Little-endian, fixed-width integers, IEEE 754 doubles as their bits,
/// strings as u16 length + UTF-8. The same values always give the same bytes.
/// Decoding checks every length, enum, count and number and throws <see cref="FormatException"/> naming what and where.
/// </summary>
/// <remarks>
/// <code>
/// section  = "ACR" u8 version (3; 1 and 2 are read) | i64 proposed-at (Unix ms, version 3) | u16 count | record*
///            | u16 offsets | offset*                                                           (version 3)
/// offset   = see <see cref="OffsetCodec"/>
/// record   = u8 kind (1 main, 2 late) | u64 height | u32 transactions | u16 entries | entry*   (entries by ascending node id)
/// entry    = u64 node | u8 status (1 present, 2 missing, 3 late) | reading (present and late only)
///            | str reason (missing only, version 2: why the leader refused the reading; empty when none arrived)
/// readings = "ACM" u8 version (3; 1 and 2 are read) | u16 count | reading*  (peer channel 3)
/// reading  = u64 height | u64 node | usage | u8 cloud | str region | grid | coefficients | estimate
/// usage    = i64 cpu µs | i64 wall µs | i64 resident bytes | i32 vcpus | f64 utilisation | i64 sent | i64 received
///            | i64 ingress | i64 stored | i64 rounds | i32 validators | i32 storage replicas
///            | f64 provisioned vCPUs | i64 retained bytes                                     (version 2)
/// grid     = f64 gCO2e/kWh | str source | i64 observed-at (Unix ms) | str zone
/// coefficients = f64 min W | f64 max W | f64 PUE | f64 kWh/GB-h | f64 kWh/GB | u8 count received | f64 Wh/TB-h
///            | f64 retention years | f64 round kWh | u8 embodied | f64 TE kg | f64 lifespan h | f64 host vCPUs | f64 node vCPUs
///            | u8 model version                                                              (version 2; 1 before)
/// estimate = f64 cpu kWh | f64 memory kWh | f64 network kWh | f64 storage kWh | f64 consensus kWh | f64 PUE
///            | f64 gCO2e/kWh | f64 operational g | f64 embodied g | f64 consumed cpu kWh     (version 2)
///            | u8 intensity type (0 unstated) | u8 estimated (0 unknown, 1 no, 2 yes) | str estimation method
///            | u8 market (0 none, 1) [f64 market gCO2e/kWh | u8 basis | str market source]     (version 3)
/// </code>
/// The proposed-at time is the leader's clock when it cut the block (0: not stated, sections before version 3); calendar
/// periods are counted from it (see <see cref="CarbonPeriods"/>).
/// Version 1 readings decode with model version 1, no provisioned vCPUs or retained bytes, and their CPU kWh as the
/// consumed view: they recompute exactly as they were recorded.
/// </remarks>
public static class CarbonCodec
{
    /// <summary>Maximum UTF-8 bytes of a string field.</summary>
    public const int MaxStringBytes = 1024;

    /// <summary>Maximum entries of one record (validators).</summary>
    public const int MaxEntries = 1024;

    /// <summary>The format this node writes.</summary>
    public const byte Version = 3;

    /// <summary>The oldest format this node reads.</summary>
    public const byte FirstVersion = 1;

    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static ReadOnlySpan<byte> SectionMagic => "ACR"u8;

    private static ReadOnlySpan<byte> ReadingsMagic => "ACM"u8;

    /// <summary>Encodes records as a block's carbon section with no proposal time and no offsets.</summary>
    public static byte[] EncodeSection(IReadOnlyList<CarbonRecord> records) => EncodeSection(new CarbonSection(0, records, []));

    /// <summary>Encodes a block's carbon section.</summary>
    public static byte[] EncodeSection(CarbonSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var writer = new CarbonWriter((section.Records.Count * 1024) + (section.Offsets.Count * 256) + 16);
        writer.Bytes(SectionMagic);
        writer.U8(Version);
        writer.I64(section.ProposedAtMs);
        writer.U16(checked((ushort)section.Records.Count));
        foreach (var record in section.Records)
        {
            WriteRecord(writer, record);
        }
        writer.U16(checked((ushort)section.Offsets.Count));
        foreach (var offset in section.Offsets)
        {
            OffsetCodec.Write(writer, offset);
        }
        return writer.ToArray();
    }

    /// <summary>Decodes the records of a block's carbon section.</summary>
    /// <exception cref="FormatException">The bytes are not a well-formed carbon section of a version this node reads.</exception>
    public static List<CarbonRecord> DecodeSection(ReadOnlySpan<byte> bytes) => [.. ReadSection(bytes).Records];

    /// <summary>Decodes a block's carbon section: its proposal time, records and offsets.</summary>
    /// <exception cref="FormatException">The bytes are not a well-formed carbon section of a version this node reads.</exception>
    public static CarbonSection ReadSection(ReadOnlySpan<byte> bytes)
    {
        var reader = new CarbonReader(bytes, "carbon section");
        var version = reader.Magic(SectionMagic);
        long proposedAt = 0;
        if (version >= 3)
        {
            proposedAt = reader.I64("proposed-at");
            if (proposedAt < 0 || proposedAt > MaxUnixMs)
            {
                throw reader.Error($"proposed-at {proposedAt} ms is outside the representable dates");
            }
        }
        var count = reader.U16("record count");
        var records = new List<CarbonRecord>(Math.Min((int)count, 64));
        for (var i = 0; i < count; i++)
        {
            records.Add(ReadRecord(ref reader, version));
        }
        var offsets = new List<OffsetRetirement>();
        if (version >= 3)
        {
            var offsetCount = reader.U16("offset count");
            if (offsetCount > OffsetCodec.MaxPerSection)
            {
                throw reader.Error($"{offsetCount} offsets (at most {OffsetCodec.MaxPerSection} a section)");
            }
            for (var i = 0; i < offsetCount; i++)
            {
                offsets.Add(OffsetCodec.Read(ref reader));
            }
        }
        reader.End();
        return new CarbonSection(proposedAt, records, offsets);
    }

    /// <summary>The last millisecond of year 9999, the largest time a field may hold.</summary>
    internal const long MaxUnixMs = 253_402_300_799_999;

    /// <summary>Encodes readings for the leader (peer-transport application channel 3).</summary>
    public static byte[] EncodeReadings(IReadOnlyList<CarbonReading> readings) => EncodeList(ReadingsMagic, readings, 400, WriteReading);

    /// <summary>Decodes a batch of readings.</summary>
    /// <exception cref="FormatException">The bytes are not a well-formed reading batch of a version this node reads.</exception>
    public static List<CarbonReading> DecodeReadings(ReadOnlySpan<byte> bytes) => DecodeList(bytes, "carbon readings", ReadingsMagic, "reading count", ReadReading);

    private delegate T ItemReader<out T>(ref CarbonReader reader, byte version);

    private static byte[] EncodeList<T>(ReadOnlySpan<byte> magic, IReadOnlyList<T> items, int bytesPerItem, Action<CarbonWriter, T> write)
    {
        ArgumentNullException.ThrowIfNull(items);
        var writer = new CarbonWriter(items.Count * bytesPerItem);
        writer.Bytes(magic);
        writer.U8(Version);
        writer.U16(checked((ushort)items.Count));
        foreach (var item in items)
        {
            write(writer, item);
        }
        return writer.ToArray();
    }

    private static List<T> DecodeList<T>(ReadOnlySpan<byte> bytes, string what, ReadOnlySpan<byte> magic, string countName, ItemReader<T> read)
    {
        var reader = new CarbonReader(bytes, what);
        var version = reader.Magic(magic);
        var count = reader.U16(countName);
        var items = new List<T>(Math.Min((int)count, 64));
        for (var i = 0; i < count; i++)
        {
            items.Add(read(ref reader, version));
        }
        reader.End();
        return items;
    }

    /// <summary>One reading on its own, in format <see cref="Version"/> (as a node keeps it until it sees it committed).</summary>
    public static byte[] EncodeReading(CarbonReading reading)
    {
        var writer = new CarbonWriter(400);
        WriteReading(writer, reading);
        return writer.ToArray();
    }

    /// <summary>Decodes what <see cref="EncodeReading"/> wrote in format <paramref name="version"/> (the caller knows which).</summary>
    public static CarbonReading DecodeReading(ReadOnlySpan<byte> bytes, byte version = Version)
    {
        var reader = new CarbonReader(bytes, "carbon reading");
        var reading = ReadReading(ref reader, version);
        reader.End();
        return reading;
    }

    internal static void WriteRecord(CarbonWriter writer, CarbonRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        writer.U8((byte)record.Kind);
        writer.U64(record.Height);
        writer.U32(checked((uint)record.TransactionCount));
        writer.U16(checked((ushort)record.Entries.Count));
        foreach (var entry in record.Entries)
        {
            writer.U64(entry.NodeId);
            writer.U8((byte)entry.Status);
            if (entry.Status != CarbonReadingStatus.Missing)
            {
                WriteReading(writer, entry.Reading ?? throw new ArgumentException($"entry for node {entry.NodeId} is {entry.Status} without a reading"));
            }
            else
            {
                writer.Str(entry.Reason);
            }
        }
    }

    internal static CarbonRecord ReadRecord(ref CarbonReader reader, byte version)
    {
        var kindByte = reader.U8("record kind");
        if (kindByte is not ((byte)CarbonRecordKind.Main or (byte)CarbonRecordKind.Late))
        {
            throw reader.Error($"unknown record kind {kindByte}");
        }
        var kind = (CarbonRecordKind)kindByte;
        var height = reader.U64("record height");
        if (height == 0)
        {
            throw reader.Error("record height 0 (heights start at 1)");
        }
        var transactions = reader.U32("transaction count");
        if (transactions == 0 || transactions > int.MaxValue)
        {
            throw reader.Error($"record for height {height} has transaction count {transactions}");
        }
        var count = reader.U16("entry count");
        if (count == 0 || count > MaxEntries)
        {
            throw reader.Error($"record for height {height} has {count} entries");
        }
        var entries = new CarbonRecordEntry[count];
        ulong previous = 0;
        for (var i = 0; i < count; i++)
        {
            var node = reader.U64("entry node id");
            if (node == 0 || node <= previous)
            {
                throw reader.Error($"record for height {height}: node ids must be non-zero and ascending ({node} after {previous})");
            }
            previous = node;
            var statusByte = reader.U8("entry status");
            var status = (CarbonReadingStatus)statusByte;
            var allowed = kind == CarbonRecordKind.Main
                ? status is CarbonReadingStatus.Present or CarbonReadingStatus.Missing
                : status is CarbonReadingStatus.Late;
            if (!allowed)
            {
                throw reader.Error($"record for height {height}: status {statusByte} is not allowed in a {kind.ToString().ToLowerInvariant()} record");
            }
            CarbonReading? reading = null;
            var reason = "";
            if (status == CarbonReadingStatus.Missing)
            {
                reason = version >= 2 ? reader.Str("missing reason") : "";
            }
            else
            {
                reading = ReadReading(ref reader, version);
                if (reading.Height != height || reading.NodeId != node)
                {
                    throw reader.Error($"record for height {height}, node {node} carries a reading of height {reading.Height}, node {reading.NodeId}");
                }
            }
            entries[i] = new CarbonRecordEntry(node, status, reading, reason);
        }
        return new CarbonRecord(kind, height, (int)transactions, entries);
    }

    internal static void WriteReading(CarbonWriter writer, CarbonReading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        writer.U64(reading.Height);
        writer.U64(reading.NodeId);
        var u = reading.Usage;
        writer.I64(u.CpuMicros);
        writer.I64(u.WallMicros);
        writer.I64(u.ResidentBytes);
        writer.I32(u.Vcpus);
        writer.F64(u.CpuUtilization);
        writer.I64(u.BytesSent);
        writer.I64(u.BytesReceived);
        writer.I64(u.IngressBytes);
        writer.I64(u.BytesStored);
        writer.I64(u.ConsensusRounds);
        writer.I32(u.Validators);
        writer.I32(u.StorageReplicas);
        writer.F64(u.ProvisionedVcpus);
        writer.I64(u.RetainedBytes);
        writer.U8((byte)reading.Cloud);
        writer.Str(reading.Region);
        writer.F64(reading.Grid.GramsPerKwh);
        writer.Str(reading.Grid.Source);
        writer.I64(reading.Grid.ObservedAt.ToUnixTimeMilliseconds());
        writer.Str(reading.Grid.Zone);
        var c = reading.Coefficients;
        writer.F64(c.MinWattsPerVcpu);
        writer.F64(c.MaxWattsPerVcpu);
        writer.F64(c.Pue);
        writer.F64(c.MemoryKwhPerGbHour);
        writer.F64(c.NetworkKwhPerGb);
        writer.U8(c.CountReceivedBytes ? (byte)1 : (byte)0);
        writer.F64(c.StorageWhPerTbHour);
        writer.F64(c.StorageRetentionYears);
        writer.F64(c.ConsensusRoundKwh);
        writer.U8(c.EmbodiedEnabled ? (byte)1 : (byte)0);
        writer.F64(c.ServerEmbodiedKgCo2e);
        writer.F64(c.ServerLifespanHours);
        writer.F64(c.HostVcpus);
        writer.F64(c.NodeVcpus);
        writer.U8(checked((byte)c.ModelVersion));
        var e = reading.Estimate;
        writer.F64(e.Energy.CpuKwh);
        writer.F64(e.Energy.MemoryKwh);
        writer.F64(e.Energy.NetworkKwh);
        writer.F64(e.Energy.StorageKwh);
        writer.F64(e.Energy.ConsensusKwh);
        writer.F64(e.Energy.Pue);
        writer.F64(e.GramsPerKwh);
        writer.F64(e.OperationalGrams);
        writer.F64(e.EmbodiedGrams);
        writer.F64(e.Energy.CpuConsumedKwh);
        writer.U8((byte)reading.Grid.Type);
        writer.U8(reading.Grid.IsEstimated switch { null => 0, false => 1, true => 2 });
        writer.Str(reading.Grid.EstimationMethod);
        if (reading.Market is { } market)
        {
            writer.U8(1);
            writer.F64(market.GramsPerKwh);
            writer.U8((byte)market.Basis);
            writer.Str(market.Source);
        }
        else
        {
            writer.U8(0);
        }
    }

    internal static CarbonReading ReadReading(ref CarbonReader reader, byte version)
    {
        var height = reader.U64("reading height");
        var node = reader.U64("reading node id");
        if (height == 0 || node == 0)
        {
            throw reader.Error($"reading with height {height} and node {node} (both must be non-zero)");
        }
        var usage = new MeterUsage(
            reader.Count("cpu µs"),
            reader.Count("wall µs"),
            reader.Count("resident bytes"),
            reader.Count32("vcpus"),
            reader.Fraction("cpu utilisation"),
            reader.Count("bytes sent"),
            reader.Count("bytes received"),
            reader.Count("ingress bytes"),
            reader.Count("bytes stored"),
            reader.Count("consensus rounds"),
            reader.Count32("validators"),
            reader.Count32("storage replicas"),
            version >= 2 ? reader.Quantity("provisioned vCPUs") : 0,
            version >= 2 ? reader.Count("retained bytes") : 0);
        var cloudByte = reader.U8("cloud");
        if (cloudByte > (byte)CloudProvider.Gcp)
        {
            throw reader.Error($"unknown cloud {cloudByte}");
        }
        var region = reader.Str("region");
        var grams = reader.Quantity("grid gCO2e/kWh");
        var source = reader.Str("grid source");
        var observedMs = reader.I64("grid observed-at");
        if (observedMs < -62_135_596_800_000 || observedMs > MaxUnixMs)
        {
            throw reader.Error($"grid observed-at {observedMs} ms is outside the representable dates");
        }
        var zone = reader.Str("grid zone");
        var coefficients = new CarbonCoefficients(
            reader.Quantity("min watts"),
            reader.Quantity("max watts"),
            reader.Quantity("PUE"),
            reader.Quantity("memory kWh/GB-h"),
            reader.Quantity("network kWh/GB"),
            reader.Flag("count received bytes"),
            reader.Quantity("storage Wh/TB-h"),
            reader.Quantity("retention years"),
            reader.Quantity("round kWh"),
            reader.Flag("embodied enabled"),
            reader.Quantity("embodied kg"),
            reader.Quantity("lifespan hours"),
            reader.Quantity("host vCPUs"),
            reader.Quantity("node vCPUs"),
            version >= 2 ? reader.ModelVersion() : 1);
        var energy = new EnergyBreakdown(
            reader.Quantity("cpu kWh"),
            reader.Quantity("memory kWh"),
            reader.Quantity("network kWh"),
            reader.Quantity("storage kWh"),
            reader.Quantity("consensus kWh"),
            reader.Quantity("estimate PUE"),
            0);
        var estimate = new CarbonEstimate(energy, reader.Quantity("estimate gCO2e/kWh"), reader.Quantity("operational g"), reader.Quantity("embodied g"));
        // Model 1 charged only the CPU consumed: its CPU term is its consumed view.
        estimate = estimate with { Energy = energy with { CpuConsumedKwh = version >= 2 ? reader.Quantity("consumed cpu kWh") : energy.CpuKwh } };
        var grid = new GridIntensity(grams, source, DateTimeOffset.FromUnixTimeMilliseconds(observedMs), zone);
        MarketFactor? market = null;
        if (version >= 3)
        {
            (grid, market) = ReadVersion3(ref reader, grid);
        }
        return new CarbonReading(height, node, usage, (CloudProvider)cloudByte, region, grid, coefficients, estimate, market);
    }

    private static (GridIntensity Grid, MarketFactor? Market) ReadVersion3(ref CarbonReader reader, GridIntensity grid)
    {
        var type = reader.U8("intensity type");
        if (type > (byte)IntensityType.StaticYearlyAverage)
        {
            throw reader.Error($"unknown intensity type {type}");
        }
        var estimated = reader.U8("estimated") switch
        {
            0 => (bool?)null,
            1 => false,
            2 => true,
            var other => throw reader.Error($"estimated flag {other} (0, 1 or 2)"),
        };
        grid = grid with { Type = (IntensityType)type, IsEstimated = estimated, EstimationMethod = reader.Str("estimation method") };
        if (!reader.Flag("market factor"))
        {
            return (grid, null);
        }
        var grams = reader.Quantity("market gCO2e/kWh");
        var basis = reader.U8("market basis");
        if (basis is 0 or > (byte)MarketBasis.LocationFallback)
        {
            throw reader.Error($"unknown market basis {basis}");
        }
        return (grid, new MarketFactor(grams, (MarketBasis)basis, reader.Str("market source")));
    }
}
