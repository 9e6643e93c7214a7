namespace Aurigraph.Node.Carbon;

/// <summary>Energy of one <see cref="NodeReading"/> by component, in kWh, before and after PUE.</summary>
/// <param name="CpuKwh">Processor energy.</param>
/// <param name="MemoryKwh">Memory energy.</param>
/// <param name="NetworkKwh">Network energy.</param>
/// <param name="StorageKwh">Storage energy.</param>
/// <param name="ConsensusKwh">Fixed per-round consensus energy.</param>
/// <param name="Pue">The power usage effectiveness applied.</param>
/// <param name="CpuConsumedKwh">The marginal view of the processor: only the CPU-seconds consumed, on the same power
/// curve (model 1's CPU term). Not part of <see cref="ItKwh"/> in model 2, where <paramref name="CpuKwh"/> is the
/// provisioned processors' energy; equal to <paramref name="CpuKwh"/> in model 1.</param>
public sealed record EnergyBreakdown(
    double CpuKwh,
    double MemoryKwh,
    double NetworkKwh,
    double StorageKwh,
    double ConsensusKwh,
    double Pue,
    double CpuConsumedKwh)
{
    /// <summary>IT energy: the sum of the five components, added in the order cpu, memory, network, storage, consensus.</summary>
    public double ItKwh => CpuKwh + MemoryKwh + NetworkKwh + StorageKwh + ConsensusKwh;

    /// <summary>Facility energy: <see cref="ItKwh"/> × <see cref="Pue"/>. This is the E of the SCI formula.</summary>
    public double TotalKwh => ItKwh * Pue;
}

/// <summary>Energy and emissions of one <see cref="NodeReading"/>.</summary>
/// <param name="Energy">Energy by component.</param>
/// <param name="GramsPerKwh">The grid intensity used (I).</param>
/// <param name="OperationalGrams">E × I, gCO2e.</param>
/// <param name="EmbodiedGrams">M, gCO2e (0 when embodied emissions are off).</param>
public sealed record CarbonEstimate(
    EnergyBreakdown Energy,
    double GramsPerKwh,
    double OperationalGrams,
    double EmbodiedGrams)
{
    /// <summary>E × I + M, gCO2e.</summary>
    public double TotalGrams => OperationalGrams + EmbodiedGrams;
}
