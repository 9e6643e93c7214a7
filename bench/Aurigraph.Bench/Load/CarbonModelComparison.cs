using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Grpc.Core;

namespace Aurigraph.Bench.Load;

/// <summary>
/// The run's carbon figures under both energy models from the same committed readings: model 2 as recorded (with its
/// kWh by component), and model 1 — the CPU consumed only, written bytes charged a year up front, no embodied
/// emissions — recomputed from each reading's own measurement and coefficients.
/// </summary>
/// <param name="Heights">Heights with a record in the run.</param>
/// <param name="Readings">Readings summed.</param>
/// <param name="Transactions">Their transactions.</param>
/// <param name="Recorded">Sums of the recorded estimates (model 2 unless the nodes were configured otherwise).</param>
/// <param name="ModelOneGrams">gCO2e of the same readings under model 1's defaults.</param>
public sealed record CarbonModelComparison(ulong Heights, ulong Readings, ulong Transactions, CarbonSummary Recorded, double ModelOneGrams)
{
    /// <summary>Recorded gCO2e per transaction.</summary>
    public double GramsPerTransaction => Transactions == 0 ? double.NaN : Recorded.TotalGrams / Transactions;

    /// <summary>Model 1's gCO2e per transaction.</summary>
    public double ModelOneGramsPerTransaction => Transactions == 0 ? double.NaN : ModelOneGrams / Transactions;

    /// <summary>Reads every recorded height of <paramref name="from"/>..<paramref name="to"/> (blocks without transactions have none).</summary>
    public static async Task<CarbonModelComparison> ReadAsync(CarbonService.CarbonServiceClient client, ulong from, ulong to, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        var recorded = CarbonSummary.Zero;
        ulong heights = 0, readings = 0, transactions = 0;
        var modelOne = 0.0;
        for (var height = from; height <= to; height++)
        {
            BlockCarbon block;
            try
            {
                block = await client.GetBlockCarbonAsync(new GetBlockCarbonRequest { Height = height }, deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
                continue;
            }
            heights++;
            transactions += block.TransactionCount;
            foreach (var r in block.Readings.Where(r => r.Measurement is not null))
            {
                readings++;
                var input = Input(r.Measurement);
                var c = r.Coefficients;
                var recordedModel = Coefficients(c, c.ModelVersion == 0 ? 1 : (int)c.ModelVersion, c.EmbodiedEnabled).ToModel();
                recorded = recorded.Add(recordedModel.Estimate(input, r.Grid.GramsPerKwh));
                modelOne += Coefficients(c, 1, embodied: false).ToModel().Estimate(input, r.Grid.GramsPerKwh).TotalGrams;
            }
        }
        return new CarbonModelComparison(heights, readings, transactions, recorded, modelOne);
    }

    private static CarbonCoefficients Coefficients(CarbonCoefficientsInfo c, int version, bool embodied) => new(
        c.MinWattsPerVcpu, c.MaxWattsPerVcpu, c.Pue, c.MemoryKwhPerGbHour, c.NetworkKwhPerGb, c.CountReceivedBytes, c.StorageWhPerTbHour,
        c.StorageRetentionYears, c.ConsensusRoundKwh, embodied, c.ServerEmbodiedKgCo2E, c.ServerLifespanHours, c.HostVcpus, c.NodeVcpus, version);

    private static NodeReading Input(CarbonMeasurement m) => new()
    {
        CpuSeconds = m.CpuSeconds,
        CpuUtilization = m.CpuUtilization,
        MemoryGbSeconds = m.MemoryGbSeconds,
        BytesSent = (long)m.BytesSent,
        BytesReceived = (long)m.BytesReceived,
        IngressBytes = (long)m.IngressBytes,
        BytesStored = (long)m.BytesStored,
        StorageReplicas = Math.Max(1, (int)m.StorageReplicas),
        ConsensusRounds = (long)m.ConsensusRounds,
        Validators = (int)m.Validators,
        IntervalSeconds = m.WallSeconds,
        ProvisionedVcpus = m.ProvisionedVcpus,
        RetainedBytes = (long)m.RetainedBytes,
    };
}
