using System.Buffers.Binary;
using Aurigraph.Node.Carbon;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>
/// Carbon format and model 2 end to end in the pure parts: the meter's provisioned and retained figures and start-up,
/// format 1 records still read and recompute, the leader's checks and refusal reasons, and the SCI disclosure.
/// </summary>
public sealed class CarbonModelTwoTests
{
    private sealed class StartedProcess : IProcessMeterSource
    {
        public long Wall { get; set; }

        public long Cpu { get; set; }

        public int Vcpus => 4;

        public ProcessSample Sample() => new(Wall, Cpu, 100_000_000);

        // The process started 2.5 s of wall and 2.4 s of CPU before the meter.
        public ProcessSample Start => new(Wall - 2_500_000, Cpu - 2_400_000, 0);
    }

    [Fact]
    public void The_first_interval_starts_at_the_process_start_and_carries_the_provisioned_vcpus_and_retained_bytes()
    {
        var process = new StartedProcess { Wall = 10_000_000, Cpu = 5_000_000 };
        var meter = new CarbonMeter(process, 1, [1UL, 2UL, 3UL], 1, new MeterCounters(0, 0, 0, 1_000), provisionedVcpus: 0.5);
        process.Wall += 500_000;
        process.Cpu += 100_000;

        var usage = Assert.Single(meter.Close([new MeteredBlock(1, 1, 10)], new MeterCounters(0, 0, 0, 77_000_000))).Usage;

        Assert.Equal(2_500_000 + 500_000, usage.WallMicros); // start-up is metered, not lost
        Assert.Equal(2_400_000 + 100_000, usage.CpuMicros);
        Assert.Equal(0.5, usage.ProvisionedVcpus);
        Assert.Equal(77_000_000, usage.RetainedBytes);
        // Utilisation against the provisioned share: 2.5 s of CPU in 3 s on 0.5 vCPU is more than it has: clamped.
        Assert.Equal(1.0, usage.CpuUtilization);
    }

    /// <summary>A reading in format 1: the format-2 bytes without the fields format 2 added.</summary>
    private static byte[] FormatOne(CarbonReading reading)
    {
        var v2 = CarbonCodec.EncodeReading(reading);
        var usageEnd = 16 + 84;
        var at = usageEnd + 16 + 1;                                       // past the format-2 usage fields, and the cloud
        at += 2 + BinaryPrimitives.ReadUInt16LittleEndian(v2.AsSpan(at)); // region
        at += 8;
        at += 2 + BinaryPrimitives.ReadUInt16LittleEndian(v2.AsSpan(at)); // grid source
        at += 8;
        at += 2 + BinaryPrimitives.ReadUInt16LittleEndian(v2.AsSpan(at)); // grid zone
        var coefficientsEnd = at + 98;
        var estimateEnd = coefficientsEnd + 1 + 72;
        return [.. v2.AsSpan(0, usageEnd), .. v2.AsSpan(usageEnd + 16, coefficientsEnd - usageEnd - 16), .. v2.AsSpan(coefficientsEnd + 1, 72)];
    }

    [Fact]
    public void A_format_1_reading_reads_as_model_1_and_recomputes_exactly_as_recorded()
    {
        var options = new CarbonOptions { Cloud = CloudProvider.Aws, Region = "us-east-1", Energy = new EnergyModelOptions { ModelVersion = 1 }, Embodied = new EmbodiedEmissionsOptions { Enabled = false } };
        var usage = CarbonTestData.Reading(7, 2).Usage with { ProvisionedVcpus = 0, RetainedBytes = 0 };
        var estimate = new EnergyModel(options).Estimate(CarbonReading.ToNodeReading(usage, options.Cloud, options.Region), CarbonTestData.Grid);
        var recorded = new CarbonReading(7, 2, usage, options.Cloud, options.Region, CarbonTestData.Grid, CarbonCoefficients.From(options), estimate);

        var read = CarbonCodec.DecodeReading(FormatOne(recorded), CarbonCodec.FirstVersion);

        Assert.Equal(1, read.Coefficients.ModelVersion);
        Assert.Equal(0, read.Usage.ProvisionedVcpus);
        Assert.Equal(read.Estimate.Energy.CpuKwh, read.Estimate.Energy.CpuConsumedKwh);
        Assert.Equal(read.Estimate, read.Coefficients.ToModel().Estimate(read.ToNodeReading(), read.Grid.GramsPerKwh));
        Assert.Null(CarbonReadingChecks.Check(read)); // an honest model-1 reading passes the leader's checks
        Assert.Throws<FormatException>(() => CarbonCodec.DecodeReading(FormatOne(recorded))); // read as format 2, it is short
    }

    [Fact]
    public void The_leader_refuses_a_reading_whose_estimate_its_inputs_do_not_give_and_records_why()
    {
        var honest = CarbonTestData.Reading(10, 2);
        Assert.Null(CarbonReadingChecks.Check(honest));
        var inflated = honest with { Estimate = honest.Estimate with { OperationalGrams = honest.Estimate.OperationalGrams / 10 } };
        Assert.Contains("is not what its inputs and coefficients give", CarbonReadingChecks.Check(inflated), StringComparison.Ordinal);
        Assert.Contains("PUE", CarbonReadingChecks.Check(honest with { Coefficients = honest.Coefficients with { Pue = 0.5 } }), StringComparison.Ordinal);
        Assert.Contains("grid gCO2e/kWh", CarbonReadingChecks.Check(honest with { Grid = honest.Grid with { GramsPerKwh = 5_000 } }), StringComparison.Ordinal);
        Assert.Contains("processors can spend", CarbonReadingChecks.Check(honest with { Usage = honest.Usage with { CpuMicros = honest.Usage.WallMicros * 3 + 100_000 } }), StringComparison.Ordinal);

        var collector = new CarbonRecordCollector(new CarbonLedgerStateStub(10, 5), [1, 2], new CarbonRecordOptions());
        Assert.Equal(CollectOutcome.Collected, collector.Add(CarbonTestData.Reading(10, 1), 10, 0));
        Assert.Equal(CollectOutcome.Refused, collector.Add(inflated, 10, 0));
        // Every member answered (one refused): the record is due at once, the refused one missing with the reason.
        var record = Assert.Single(collector.TakeDue(10, 0));
        var entry = record.Entries.Single(e => e.NodeId == 2);
        Assert.Equal(CarbonReadingStatus.Missing, entry.Status);
        Assert.Contains("is not what its inputs", entry.Reason, StringComparison.Ordinal);
        var roundTrip = CarbonCodec.DecodeSection(CarbonCodec.EncodeSection([record]));
        Assert.Equal(entry.Reason, roundTrip[0].Entries.Single(e => e.NodeId == 2).Reason);
    }

    [Fact]
    public void A_report_conforms_only_with_every_reading_present_embodied_counted_and_one_intensity_type()
    {
        var good = new[] { CarbonTestData.Reading(1, 1), CarbonTestData.Reading(1, 2) };
        var conforming = SciDisclosure.Of(good, missing: 0);
        Assert.True(conforming.Conforms, string.Join("; ", conforming.Issues));
        Assert.Equal([2], conforming.ModelVersions);
        Assert.True(conforming.EmbodiedIncluded);

        var noEmbodied = good[1] with { Coefficients = good[1].Coefficients with { EmbodiedEnabled = false } };
        var marginal = good[1] with { Grid = good[1].Grid with { Source = GridIntensitySources.WattTime } };
        var issues = SciDisclosure.Of([good[0], noEmbodied, marginal], missing: 2).Issues;
        Assert.Contains(issues, i => i.Contains("lower bounds", StringComparison.Ordinal));
        Assert.Contains(issues, i => i.Contains("M is incomplete", StringComparison.Ordinal));
        Assert.Contains(issues, i => i.Contains("mix intensity types", StringComparison.Ordinal));
    }

    /// <summary>The committed state the collector reads: one height pending with its transactions, nothing missing.</summary>
    private sealed class CarbonLedgerStateStub(ulong height, int transactions) : ICarbonRecordState
    {
        public IReadOnlyDictionary<ulong, int> Pending { get; } = new SortedDictionary<ulong, int> { [height] = transactions };

        public bool IsMissing(ulong h, ulong node, out int count)
        {
            count = 0;
            return false;
        }
    }
}
