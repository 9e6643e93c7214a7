namespace Aurigraph.Node.Carbon;

/// <summary>
/// The leader's checks of a member's reading before it goes into a record: every coefficient within the range its
/// published source allows, the grid intensity within what any grid emits, CPU time within what the processors could
/// spend in the wall time, and the estimate exactly what the reading's own inputs and coefficients give. A reading
/// that fails is refused: its entry is recorded missing with the reason, and a later reading that passes may fill it.
/// Pure and deterministic (the same reading gives the same answer on every leader).
/// </summary>
public static class CarbonReadingChecks
{
    /// <summary>The highest grid intensity taken, gCO2e/kWh: above any grid's hourly figure (lignite plants emit about 1,100–1,200).</summary>
    public const double MaxGramsPerKwh = 2000;

    /// <summary>The longest metering interval taken: a day (an idle node closes one at its next block).</summary>
    public const long MaxWallMicros = 86_400L * 1_000_000 * 31;

    // CPU may exceed wall × processors by a little: the two clocks are sampled one after the other.
    private const double CpuSlack = 1.05;
    private const long CpuSlackMicros = 50_000;

    /// <summary>Why <paramref name="reading"/> is refused, or null when it passes.</summary>
    public static string? Check(CarbonReading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        var c = reading.Coefficients;
        var u = reading.Usage;
        return Outside(c.MinWattsPerVcpu, 0, 20, "min watts per vCPU")
            ?? Outside(c.MaxWattsPerVcpu, c.MinWattsPerVcpu, 50, "max watts per vCPU")
            ?? Outside(c.Pue, 1, 3, "PUE")
            ?? Outside(c.MemoryKwhPerGbHour, 0, 0.01, "memory kWh per GB-hour")
            ?? Outside(c.NetworkKwhPerGb, 0, 1, "network kWh per GB")
            ?? Outside(c.StorageWhPerTbHour, 0, 100, "storage Wh per TB-hour")
            ?? Outside(c.StorageRetentionYears, 0, 100, "storage retention years")
            ?? Outside(c.ConsensusRoundKwh, 0, 1, "consensus kWh per round")
            ?? Outside(c.ServerEmbodiedKgCo2e, 0, 100_000, "embodied kgCO2e per server")
            ?? Outside(c.ServerLifespanHours, 1, 1_000_000, "server lifespan hours")
            ?? Outside(c.HostVcpus, 1, 10_000, "host vCPUs")
            ?? Outside(c.NodeVcpus, 0, c.HostVcpus, "node vCPUs")
            ?? Outside(reading.Grid.GramsPerKwh, 0, MaxGramsPerKwh, "grid gCO2e/kWh")
            ?? Outside(reading.Market?.GramsPerKwh ?? 0, 0, MaxGramsPerKwh, "market gCO2e/kWh")
            ?? Outside(u.WallMicros, 0, MaxWallMicros, "wall µs")
            ?? Outside(u.Vcpus, 1, 4096, "vCPUs")
            ?? Outside(u.ProvisionedVcpus, c.ModelVersion >= 2 ? double.Epsilon : 0, 4096, "provisioned vCPUs")
            ?? Cpu(u)
            ?? Recomputed(reading);
    }

    private static string? Outside(double value, double min, double max, string what) =>
        double.IsFinite(value) && value >= min && value <= max ? null : $"{what} {value} is outside [{min}, {max}]";

    private static string? Cpu(MeterUsage u)
    {
        var most = (u.WallMicros * (double)u.Vcpus * CpuSlack) + CpuSlackMicros;
        return u.CpuMicros <= most ? null : $"{u.CpuMicros} CPU µs in {u.WallMicros} wall µs is more than {u.Vcpus} processors can spend";
    }

    private static string? Recomputed(CarbonReading reading)
    {
        CarbonEstimate expected;
        try
        {
            expected = reading.Coefficients.ToModel().Estimate(reading.ToNodeReading(), reading.Grid.GramsPerKwh);
        }
        catch (ArgumentException ex)
        {
            return $"its inputs do not make an estimate: {ex.Message}";
        }
        return expected == reading.Estimate
            ? null
            : $"its estimate ({reading.Estimate.TotalGrams:R} g) is not what its inputs and coefficients give ({expected.TotalGrams:R} g)";
    }
}
