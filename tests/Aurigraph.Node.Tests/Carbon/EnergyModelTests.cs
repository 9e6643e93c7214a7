using Aurigraph.Node.Carbon;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>Model 1 (consumed CPU, written bytes charged a year up front), which older readings recompute with; model 2 below.</summary>
public class EnergyModelTests
{
    private const double Tolerance = 1e-12;

    private static EnergyModelOptions V1() => new() { ModelVersion = 1 };

    /// <summary>One hour on AWS at 50 % utilisation, 4 GB held, 2 GB sent, 1 GB ingress, 1 GB stored twice.</summary>
    private static readonly NodeReading Reading = new()
    {
        CpuSeconds = 3600,
        CpuUtilization = 0.5,
        MemoryGbSeconds = 4 * 3600,
        BytesSent = 2_000_000_000,
        BytesReceived = 5_000_000_000,
        IngressBytes = 1_000_000_000,
        BytesStored = 1_000_000_000,
        StorageReplicas = 2,
        ConsensusRounds = 10,
        Validators = 4,
        IntervalSeconds = 3600,
        Cloud = CloudProvider.Aws,
        Region = "us-east-1",
    };

    [Fact]
    public void Components_match_hand_computed_figures()
    {
        var energy = new EnergyModel(V1()).EstimateEnergy(Reading);

        // CPU: 0.74 + 0.5 × (3.5 − 0.74) = 2.12 W; 3600 s × 2.12 W / 3600 / 1000 = 0.00212 kWh.
        Assert.Equal(0.00212, energy.CpuKwh, Tolerance);
        // Memory: 4 GB-hours × 0.000392 = 0.001568 kWh.
        Assert.Equal(0.001568, energy.MemoryKwh, Tolerance);
        // Network: (2 GB sent + 1 GB ingress; received not charged) × 0.001 = 0.003 kWh.
        Assert.Equal(0.003, energy.NetworkKwh, Tolerance);
        // Storage: 0.001 TB × 1.2 Wh/TB-h × 8760 h × 1 year × 2 replicas / 1000 = 0.021024 kWh.
        Assert.Equal(0.021024, energy.StorageKwh, Tolerance);
        // Consensus: default round energy is 0.
        Assert.Equal(0, energy.ConsensusKwh);
        Assert.Equal(0.027712, energy.ItKwh, Tolerance);
        Assert.Equal(1.135, energy.Pue);
        Assert.Equal(0.03145312, energy.TotalKwh, Tolerance);
    }

    [Fact]
    public void Emissions_are_facility_energy_times_intensity()
    {
        var estimate = new EnergyModel(V1(), new EmbodiedEmissionsOptions { Enabled = false }).Estimate(Reading, 379.069);

        // 0.03145312 kWh × 379.069 g/kWh = 11.92290274528 g.
        Assert.Equal(11.92290274528, estimate.OperationalGrams, 1e-9);
        Assert.Equal(0, estimate.EmbodiedGrams); // embodied emissions configured off
        Assert.Equal(estimate.OperationalGrams, estimate.TotalGrams);
        Assert.Equal(379.069, estimate.GramsPerKwh);
    }

    [Fact]
    public void Estimate_takes_a_grid_intensity_record()
    {
        var model = new EnergyModel(V1());
        var intensity = new GridIntensity(100, GridIntensitySources.StaticTable, DateTimeOffset.UnixEpoch, "aws/us-east-1");

        Assert.Equal(model.Estimate(Reading, 100), model.Estimate(Reading, intensity));
    }

    [Fact]
    public void Embodied_emissions_follow_the_sci_formula_when_enabled()
    {
        var model = new EnergyModel(V1(), new EmbodiedEmissionsOptions { Enabled = true });

        var estimate = model.Estimate(Reading, 379.069);

        // 1000 kg × 1000 g/kg × (3600 s / (35 040 h × 3600 s/h)) × (2 / 96 vCPUs) = 0.5945585996955859 g.
        Assert.Equal(0.594558599695586, estimate.EmbodiedGrams, 1e-12);
        Assert.Equal(estimate.OperationalGrams + estimate.EmbodiedGrams, estimate.TotalGrams);
    }

    [Theory]
    [InlineData(CloudProvider.Aws, 0.0, 0.74, 1.135)]
    [InlineData(CloudProvider.Aws, 1.0, 3.5, 1.135)]
    [InlineData(CloudProvider.Gcp, 0.0, 0.68, 1.1)]
    [InlineData(CloudProvider.Gcp, 1.0, 4.11, 1.1)]
    [InlineData(CloudProvider.Azure, 0.25, 1.44, 1.185)]
    [InlineData(CloudProvider.Azure, 1.5, 3.54, 1.185)]
    [InlineData(CloudProvider.Azure, -0.5, 0.74, 1.185)]
    [InlineData(CloudProvider.Other, 0.0, 0.72, 1.14)]
    [InlineData(CloudProvider.Other, 1.0, 3.7166666666666667, 1.14)]
    public void Cpu_watts_interpolate_between_idle_and_max_per_cloud(CloudProvider cloud, double utilization, double watts, double pue)
    {
        var model = new EnergyModel(V1());

        // 3 600 000 vCPU-seconds = 1000 vCPU-hours, so kWh equals watts.
        var energy = model.EstimateEnergy(new NodeReading { Cloud = cloud, CpuSeconds = 3_600_000, CpuUtilization = utilization });

        Assert.Equal(watts, energy.CpuKwh, 1e-9);
        Assert.Equal(pue, energy.Pue);
    }

    [Fact]
    public void Received_bytes_are_charged_only_when_configured()
    {
        var model = new EnergyModel(new EnergyModelOptions { ModelVersion = 1, CountReceivedBytes = true });

        // (2 + 1 + 5) GB × 0.001 kWh/GB.
        Assert.Equal(0.008, model.EstimateEnergy(Reading).NetworkKwh, Tolerance);
    }

    [Fact]
    public void Consensus_energy_is_rounds_times_validators_times_round_energy()
    {
        var model = new EnergyModel(new EnergyModelOptions { ModelVersion = 1, ConsensusRoundKwh = 1e-6 });

        // 10 rounds × 4 validators × 1e-6 kWh.
        Assert.Equal(4e-5, model.EstimateEnergy(Reading).ConsensusKwh, Tolerance);
    }

    [Fact]
    public void Storage_scales_with_retention_years()
    {
        var model = new EnergyModel(new EnergyModelOptions { ModelVersion = 1, StorageRetentionYears = 2.5 });

        Assert.Equal(0.021024 * 2.5, model.EstimateEnergy(Reading).StorageKwh, Tolerance);
    }

    [Fact]
    public void Configured_coefficients_replace_the_defaults()
    {
        var options = new EnergyModelOptions
        {
            ModelVersion = 1,
            Aws = new CloudPowerProfile { MinWattsPerVcpu = 1, MaxWattsPerVcpu = 3, Pue = 1.5 },
            MemoryKwhPerGbHour = 0.001,
            NetworkKwhPerGb = 0.01,
            StorageWhPerTbHour = 2.4,
        };

        var energy = new EnergyModel(options).EstimateEnergy(Reading);

        Assert.Equal(3600 * 2.0 / 3600 / 1000, energy.CpuKwh, Tolerance);
        Assert.Equal(0.004, energy.MemoryKwh, Tolerance);
        Assert.Equal(0.03, energy.NetworkKwh, Tolerance);
        Assert.Equal(0.042048, energy.StorageKwh, Tolerance);
        Assert.Equal(1.5, energy.Pue);
    }

    [Fact]
    public void The_model_is_deterministic_and_copies_its_options()
    {
        var options = V1();
        var model = new EnergyModel(options);
        var first = model.Estimate(Reading, 250);

        options.MemoryKwhPerGbHour = 1;
        options.Aws.Pue = 3;

        Assert.Equal(first, model.Estimate(Reading, 250));
        Assert.Equal(first, new EnergyModel(V1()).Estimate(Reading, 250));
    }

    [Fact]
    public void A_zero_reading_costs_nothing()
    {
        var estimate = new EnergyModel(V1(), new EmbodiedEmissionsOptions { Enabled = true }).Estimate(new NodeReading(), 500);

        Assert.Equal(0, estimate.TotalGrams);
        Assert.Equal(0, estimate.Energy.TotalKwh);
    }

    [Fact]
    public void Invalid_readings_are_rejected()
    {
        var model = new EnergyModel(V1());

        Assert.Throws<ArgumentOutOfRangeException>(() => model.EstimateEnergy(Reading with { CpuSeconds = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.EstimateEnergy(Reading with { BytesSent = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.EstimateEnergy(Reading with { MemoryGbSeconds = double.NaN }));
        Assert.Throws<ArgumentException>(() => model.EstimateEnergy(Reading with { CpuUtilization = double.NaN }));
        Assert.Throws<ArgumentException>(() => model.EstimateEnergy(Reading with { StorageReplicas = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Estimate(Reading, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Estimate(Reading, double.PositiveInfinity));
    }

    [Fact]
    public void Invalid_coefficients_are_rejected_naming_the_setting()
    {
        var pue = Assert.Throws<ArgumentException>(() => new EnergyModel(new EnergyModelOptions { ModelVersion = 1, Gcp = new CloudPowerProfile { MinWattsPerVcpu = 1, MaxWattsPerVcpu = 2, Pue = 0.9 } }));
        Assert.Contains("Aurigraph:Carbon:Energy:Gcp:Pue", pue.Message);

        var curve = Assert.Throws<ArgumentException>(() => new EnergyModel(new EnergyModelOptions { ModelVersion = 1, Aws = new CloudPowerProfile { MinWattsPerVcpu = 3, MaxWattsPerVcpu = 2, Pue = 1.1 } }));
        Assert.Contains("MaxWattsPerVcpu", curve.Message);

        Assert.Throws<ArgumentException>(() => new EnergyModel(new EnergyModelOptions { ModelVersion = 1, NetworkKwhPerGb = -0.001 }));
        Assert.Throws<ArgumentException>(() => new EnergyModel(V1(), new EmbodiedEmissionsOptions { HostVcpus = 0 }));
    }

    [Fact]
    public void Model_1_s_cpu_term_is_its_own_consumed_view()
    {
        var energy = new EnergyModel(V1()).EstimateEnergy(Reading);
        Assert.Equal(energy.CpuKwh, energy.CpuConsumedKwh);
    }
}

/// <summary>Model 2, the default: the provisioned processors and the retained bytes, for the time of the interval.</summary>
public class EnergyModelVersion2Tests
{
    private const double Tolerance = 1e-12;

    /// <summary>The model-1 example's hour, on 2 provisioned vCPUs, keeping 50 GB on a 2-replica volume.</summary>
    private static readonly NodeReading Reading = new()
    {
        CpuSeconds = 3600,
        CpuUtilization = 0.5,
        MemoryGbSeconds = 4 * 3600,
        BytesSent = 2_000_000_000,
        BytesReceived = 5_000_000_000,
        IngressBytes = 1_000_000_000,
        BytesStored = 1_000_000_000,
        RetainedBytes = 50_000_000_000,
        ProvisionedVcpus = 2,
        StorageReplicas = 2,
        ConsensusRounds = 10,
        Validators = 4,
        IntervalSeconds = 3600,
        Cloud = CloudProvider.Aws,
        Region = "us-east-1",
    };

    [Fact]
    public void The_worked_example_matches_hand_computed_figures()
    {
        var model = new EnergyModel(new EnergyModelOptions(), new EmbodiedEmissionsOptions());
        Assert.Equal(2, model.ModelVersion);
        Assert.True(model.EmbodiedEnabled); // SCI's M is counted by default
        var estimate = model.Estimate(Reading, 379.069);
        var energy = estimate.Energy;

        // CPU: 2 vCPUs × 1 h × 2.12 W = 4.24 Wh, whatever the process consumed (its consumed view stays 2.12 Wh).
        Assert.Equal(0.00424, energy.CpuKwh, Tolerance);
        Assert.Equal(0.00212, energy.CpuConsumedKwh, Tolerance);
        // Storage: 0.05 TB kept for 1 h × 1.2 Wh/TB-h × 2 replicas = 0.12 Wh; the bytes written are not charged again.
        Assert.Equal(0.00012, energy.StorageKwh, Tolerance);
        Assert.Equal(0.001568, energy.MemoryKwh, Tolerance);
        Assert.Equal(0.003, energy.NetworkKwh, Tolerance);
        Assert.Equal(0.008928, energy.ItKwh, Tolerance);
        Assert.Equal(0.01013328, energy.TotalKwh, Tolerance);
        // E × I = 0.01013328 × 379.069; M = 1000 kg × 1000 × (1 h / 35 040 h) × (2 / 96).
        Assert.Equal(3.84121231632, estimate.OperationalGrams, 1e-9);
        Assert.Equal(0.594558599695586, estimate.EmbodiedGrams, 1e-12);
    }

    [Fact]
    public void An_idle_hour_costs_the_provisioned_idle_power_and_the_bytes_kept()
    {
        var idle = Reading with { CpuSeconds = 0, CpuUtilization = 0, BytesSent = 0, BytesReceived = 0, IngressBytes = 0, BytesStored = 0, ConsensusRounds = 0 };
        var energy = new EnergyModel(new EnergyModelOptions()).EstimateEnergy(idle);

        // 2 vCPUs × 1 h × 0.74 W idle; model 1 would have charged nothing for the processor.
        Assert.Equal(0.00148, energy.CpuKwh, Tolerance);
        Assert.Equal(0, energy.CpuConsumedKwh);
        Assert.Equal(0.00012, energy.StorageKwh, Tolerance);
    }

    [Fact]
    public void Storage_follows_the_time_bytes_are_kept_not_the_bytes_written()
    {
        var model = new EnergyModel(new EnergyModelOptions());
        var half = model.EstimateEnergy(Reading with { IntervalSeconds = 1800, MemoryGbSeconds = 4 * 1800 });
        var more = model.EstimateEnergy(Reading with { BytesStored = 9_000_000_000 });

        Assert.Equal(0.00006, half.StorageKwh, Tolerance);
        Assert.Equal(model.EstimateEnergy(Reading).StorageKwh, more.StorageKwh);
    }

    [Fact]
    public void Only_model_versions_1_and_2_exist_and_negative_provisioning_is_refused()
    {
        var version = Assert.Throws<ArgumentException>(() => new EnergyModel(new EnergyModelOptions { ModelVersion = 3 }));
        Assert.Contains("Energy:ModelVersion", version.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new EnergyModel(new EnergyModelOptions()).EstimateEnergy(Reading with { ProvisionedVcpus = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EnergyModel(new EnergyModelOptions()).EstimateEnergy(Reading with { RetainedBytes = -1 }));
    }
}
