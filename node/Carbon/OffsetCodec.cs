namespace Aurigraph.Node.Carbon;

/// <summary>
/// The binary form of an <see cref="OffsetRetirement"/> in a carbon section (format 3) and in the offsets store:
/// <c>str registry | str serial | f64 tonnes | u16 vintage | str project | i32 retired-on (days since 0001-01-01) | str note</c>.
/// Decoding checks the form (lengths, numbers, dates); whether a record is acceptable is <see cref="OffsetRetirement.Problems"/>.
/// </summary>
public static class OffsetCodec
{
    /// <summary>The most offsets one carbon section carries.</summary>
    public const int MaxPerSection = 64;

    internal static void Write(CarbonWriter writer, OffsetRetirement offset)
    {
        ArgumentNullException.ThrowIfNull(offset);
        writer.Str(offset.Registry);
        writer.Str(offset.Serial);
        writer.F64(offset.Tonnes);
        writer.U16(checked((ushort)offset.Vintage));
        writer.Str(offset.Project);
        writer.I32(offset.RetiredOn.DayNumber);
        writer.Str(offset.Note);
    }

    internal static OffsetRetirement Read(ref CarbonReader reader)
    {
        var registry = reader.Str("offset registry");
        var serial = reader.Str("offset serial");
        var tonnes = reader.Quantity("offset tonnes");
        var vintage = reader.U16("offset vintage");
        var project = reader.Str("offset project");
        var day = reader.Count32("offset retired-on");
        if (day > DateOnly.MaxValue.DayNumber)
        {
            throw reader.Error($"offset retired-on day {day} is outside the calendar");
        }
        return new OffsetRetirement(registry, serial, tonnes, vintage, project, DateOnly.FromDayNumber(day), reader.Str("offset note"));
    }

    /// <summary>One stored offset: the retirement and the height that committed it.</summary>
    internal static byte[] EncodeStored(OffsetRetirement offset, ulong height)
    {
        var writer = new CarbonWriter(256);
        writer.U8(1);
        writer.U64(height);
        Write(writer, offset);
        return writer.ToArray();
    }

    /// <summary>Decodes what <see cref="EncodeStored"/> wrote.</summary>
    internal static (OffsetRetirement Offset, ulong Height) DecodeStored(ReadOnlySpan<byte> bytes)
    {
        var reader = new CarbonReader(bytes, "stored offset");
        reader.Version(1);
        var height = reader.U64("height");
        var offset = Read(ref reader);
        reader.End();
        return (offset, height);
    }
}
