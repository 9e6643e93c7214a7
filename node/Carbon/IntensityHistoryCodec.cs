using System.Buffers.Binary;
using System.Text;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// Keys and values of the <c>intensity</c> column family. A key is <c>u8 zone length | zone (UTF-8) | u64 hour</c>
/// (hours since the Unix epoch, big-endian), so one zone's hours are contiguous and in time order. A value is version 1
/// of the fields below, little-endian, strings as u16 length + UTF-8, absent numbers as NaN; the store appends a CRC-32C.
/// </summary>
internal static class IntensityHistoryCodec
{
    /// <summary>The longest zone name, in UTF-8 bytes.</summary>
    public const int MaxZoneBytes = 64;

    /// <summary>The most fuels one breakdown keeps.</summary>
    public const int MaxFuels = 64;

    private const byte Version = 1;

    /// <summary>Whether a zone name can be a key: 1 to 64 bytes of letters, digits and <c>-_/.</c>.</summary>
    public static bool IsValidZone(string? zone) =>
        zone is { Length: > 0 and <= MaxZoneBytes } && zone.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '/' or '.');

    /// <summary>The key prefix shared by every hour of a zone.</summary>
    public static byte[] Prefix(string zone)
    {
        if (!IsValidZone(zone))
        {
            throw new ArgumentException($"'{zone}' is not a zone name (1 to {MaxZoneBytes} letters, digits, '-', '_', '/', '.')", nameof(zone));
        }
        var prefix = new byte[1 + zone.Length];
        prefix[0] = (byte)zone.Length;
        Encoding.ASCII.GetBytes(zone, prefix.AsSpan(1));
        return prefix;
    }

    /// <summary>The key of a zone's hour.</summary>
    public static byte[] Key(string zone, DateTimeOffset hour) => Key(Prefix(zone), HourNumber(hour));

    /// <summary>The key of hour number <paramref name="hour"/> under a zone's prefix.</summary>
    public static byte[] Key(byte[] prefix, ulong hour)
    {
        var key = new byte[prefix.Length + 8];
        prefix.CopyTo(key, 0);
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(prefix.Length), hour);
        return key;
    }

    /// <summary>Hours since the Unix epoch of the hour that holds <paramref name="time"/>.</summary>
    public static ulong HourNumber(DateTimeOffset time)
    {
        var seconds = Hours.Floor(time).ToUnixTimeSeconds();
        return seconds >= 0 ? (ulong)(seconds / 3600) : throw new ArgumentOutOfRangeException(nameof(time), time, "hours before 1970 are not stored");
    }

    /// <summary>The start of hour number <paramref name="hour"/>.</summary>
    public static DateTimeOffset HourStart(ulong hour) => DateTimeOffset.FromUnixTimeSeconds((long)hour * 3600);

    /// <summary>The zone prefix length of a key (its first byte + 1), or -1 when the key is not of this family's form.</summary>
    public static int PrefixLength(ReadOnlySpan<byte> key) => key.Length > 9 && key.Length == key[0] + 9 ? key[0] + 1 : -1;

    /// <summary>The hour number a key ends in.</summary>
    public static ulong HourOf(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt64BigEndian(key[^8..]);

    public static byte[] Encode(IntensityHour hour)
    {
        ArgumentNullException.ThrowIfNull(hour);
        var w = new CarbonWriter(128 + ((hour.Breakdown?.Fuels.Count ?? 0) * 32));
        w.U8(Version);
        w.F64(hour.GramsPerKwh);
        w.Str(hour.Source);
        w.U8((byte)hour.Type);
        w.I64(hour.ObservedAt.ToUnixTimeMilliseconds());
        w.Str(hour.FigureZone);
        w.U8(Tristate(hour.IsEstimated));
        w.Str(hour.EstimationMethod);
        w.U8((byte)hour.Origin);
        w.I64(hour.RecordedAt.ToUnixTimeMilliseconds());
        if (hour.Breakdown is not { } b)
        {
            w.U8(0);
            return w.ToArray();
        }
        w.U8(1);
        w.I64(b.Datetime.ToUnixTimeMilliseconds());
        foreach (var value in (double?[])[b.ConsumptionTotalMw, b.ProductionTotalMw, b.ImportTotalMw, b.ExportTotalMw, b.FossilFreePercentage, b.RenewablePercentage])
        {
            w.F64(value ?? double.NaN);
        }
        w.U8(Tristate(b.IsEstimated));
        w.Str(b.EstimationMethod);
        var fuels = b.Fuels.Count <= MaxFuels ? b.Fuels : [.. b.Fuels.Take(MaxFuels)];
        w.U16((ushort)fuels.Count);
        foreach (var fuel in fuels)
        {
            w.Str(fuel.Fuel);
            w.F64(fuel.ConsumptionMw ?? double.NaN);
            w.F64(fuel.ProductionMw ?? double.NaN);
        }
        return w.ToArray();
    }

    /// <exception cref="FormatException">The bytes are not a version-1 value.</exception>
    public static IntensityHour Decode(DateTimeOffset hour, ReadOnlySpan<byte> bytes)
    {
        var r = new CarbonReader(bytes, "stored intensity hour");
        r.Version(Version);
        var grams = r.Quantity("gCO2e/kWh");
        var source = r.Str("source");
        var type = (IntensityType)r.U8("type");
        if (!Enum.IsDefined(type))
        {
            throw r.Error($"type {(byte)type} is not an intensity type");
        }
        var observed = Time(r.I64("observed at"));
        var figureZone = r.Str("figure zone");
        var estimated = ReadTristate(ref r, "estimated");
        var method = Optional(r.Str("estimation method"));
        var origin = (IntensityOrigin)r.U8("origin");
        if (!Enum.IsDefined(origin))
        {
            throw r.Error($"origin {(byte)origin} is not an origin");
        }
        var recorded = Time(r.I64("recorded at"));
        var breakdown = r.Flag("breakdown") ? ReadBreakdown(ref r) : null;
        r.End();
        return new IntensityHour(hour, grams, source, type, observed, figureZone, estimated, method, origin, recorded, breakdown);
    }

    private static PowerBreakdown ReadBreakdown(ref CarbonReader r)
    {
        var datetime = Time(r.I64("breakdown datetime"));
        var consumption = Number(r.F64("consumption total"));
        var production = Number(r.F64("production total"));
        var imports = Number(r.F64("import total"));
        var exports = Number(r.F64("export total"));
        var fossilFree = Number(r.F64("fossil-free %"));
        var renewable = Number(r.F64("renewable %"));
        var estimated = ReadTristate(ref r, "breakdown estimated");
        var method = Optional(r.Str("breakdown estimation method"));
        var count = r.U16("fuels");
        if (count > MaxFuels)
        {
            throw r.Error($"{count} fuels; at most {MaxFuels}");
        }
        var fuels = new FuelPower[count];
        for (var i = 0; i < count; i++)
        {
            fuels[i] = new FuelPower(r.Str("fuel"), Number(r.F64("fuel consumption")), Number(r.F64("fuel production")));
        }
        return new PowerBreakdown(datetime, fuels, consumption, production, imports, exports, fossilFree, renewable, estimated, method);
    }

    private static byte Tristate(bool? value) => value switch
    {
        null => 0,
        false => 1,
        true => 2,
    };

    private static bool? ReadTristate(ref CarbonReader r, string field) => r.U8(field) switch
    {
        0 => null,
        1 => false,
        2 => true,
        var other => throw r.Error($"{field} is {other}, not 0, 1 or 2"),
    };

    private static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);

    private static double? Number(double value) => double.IsNaN(value) ? null : value;

    private static string? Optional(string value) => value.Length == 0 ? null : value;
}
