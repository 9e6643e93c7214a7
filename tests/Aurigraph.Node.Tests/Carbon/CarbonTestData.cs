using Aurigraph.Node.Carbon;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>Readings built the way a node builds them: a metered usage, the energy model's estimate at a grid figure.</summary>
internal static class CarbonTestData
{
    public static readonly CarbonOptions Options = new() { Cloud = CloudProvider.Aws, Region = "us-east-1" };

    public static readonly GridIntensity Grid = new(379.069, GridIntensitySources.StaticTable, new DateTimeOffset(2021, 1, 1, 0, 0, 0, TimeSpan.Zero), "aws/us-east-1");

    /// <summary>A reading whose figures grow with <paramref name="scale"/>, so that different readings have different estimates.</summary>
    public static CarbonReading Reading(ulong height, ulong node, long scale = 1, GridIntensity? grid = null)
    {
        var usage = new MeterUsage(
            CpuMicros: 1_500 * scale,
            WallMicros: 4_000 * scale,
            ResidentBytes: 150_000_000,
            Vcpus: 2,
            CpuUtilization: 0.1875,
            BytesSent: 2_000 * scale,
            BytesReceived: 1_000 * scale,
            IngressBytes: 300 * scale,
            BytesStored: 5_000 * scale,
            ConsensusRounds: 1,
            Validators: 3,
            StorageReplicas: 1,
            ProvisionedVcpus: 2,
            RetainedBytes: 40_000_000 + (1_000 * scale));
        var g = grid ?? Grid;
        var estimate = new EnergyModel(Options).Estimate(CarbonReading.ToNodeReading(usage, Options.Cloud, Options.Region), g);
        return new CarbonReading(height, node, usage, Options.Cloud, Options.Region, g, CarbonCoefficients.From(Options), estimate);
    }

    public static CarbonRecord MainRecord(ulong height, int transactions, params (ulong Node, long Scale)[] present)
    {
        var entries = new List<CarbonRecordEntry>();
        foreach (var node in new ulong[] { 1, 2, 3 })
        {
            var found = present.Where(p => p.Node == node).ToList();
            entries.Add(found.Count > 0
                ? new CarbonRecordEntry(node, CarbonReadingStatus.Present, Reading(height, node, found[0].Scale))
                : new CarbonRecordEntry(node, CarbonReadingStatus.Missing, null));
        }
        return new CarbonRecord(CarbonRecordKind.Main, height, transactions, entries);
    }

    public static CarbonRecord LateRecord(ulong height, int transactions, ulong node, long scale) =>
        new(CarbonRecordKind.Late, height, transactions, [new CarbonRecordEntry(node, CarbonReadingStatus.Late, Reading(height, node, scale))]);
}
