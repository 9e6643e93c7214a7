using System.Text;
using Aurigraph.Node.Carbon;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Aurigraph.Node.Tests.Carbon;

public class StaticGridIntensityTableTests
{
    [Fact]
    public void The_embedded_table_covers_at_least_ten_regions_of_all_three_clouds_with_source_and_stated_year()
    {
        var table = StaticGridIntensityTable.LoadEmbedded();

        Assert.True(table.Regions.Count >= 10);
        foreach (var cloud in new[] { CloudProvider.Aws, CloudProvider.Azure, CloudProvider.Gcp })
        {
            Assert.True(table.Regions.Count(r => r.Region.Cloud == cloud) >= 3, $"{cloud} has fewer than 3 regions");
        }

        Assert.All(table.Regions, r =>
        {
            Assert.InRange(r.GramsPerKwh, 1, 1000);
            Assert.StartsWith("CCF 6ae5ee8c: ", r.Source, StringComparison.Ordinal);
            if (r.Year is { } year)
            {
                Assert.InRange(year, 2015, 2030);
            }
            else
            {
                Assert.Contains("states no", r.Source, StringComparison.Ordinal); // a year is never guessed
            }
            Assert.False(string.IsNullOrWhiteSpace(r.ElectricityMapsZone));
            Assert.InRange(r.Pue, 1.0, 1.5);
        });
    }

    [Theory]
    [InlineData(CloudProvider.Aws, "us-east-1", 379.069, 2020, "US-MIDA-PJM", "PJM_DC", 1.135)]
    [InlineData(CloudProvider.Aws, "us-west-2", 322.167, 2020, "US-NW-BPAT", "BPA", 1.135)]
    [InlineData(CloudProvider.Aws, "eu-west-1", 278.6, null, "IE", "IE", 1.135)]
    [InlineData(CloudProvider.Aws, "eu-central-1", 311, null, "DE", "DE", 1.135)]
    [InlineData(CloudProvider.Aws, "ap-southeast-1", 408, 2021, "SG", "SGP", 1.135)]
    [InlineData(CloudProvider.Azure, "eastus", 379.069, 2020, "US-MIDA-PJM", "PJM_DC", 1.185)]
    [InlineData(CloudProvider.Azure, "westeurope", 328.4, null, "NL", "NL", 1.185)]
    [InlineData(CloudProvider.Azure, "northeurope", 278.6, null, "IE", "IE", 1.185)]
    [InlineData(CloudProvider.Azure, "southeastasia", 408, 2021, "SG", "SGP", 1.185)]
    [InlineData(CloudProvider.Gcp, "us-central1", 456, null, "US-MIDW-MISO", null, 1.1)]
    [InlineData(CloudProvider.Gcp, "us-east4", 309, null, "US-MIDA-PJM", "PJM_DC", 1.1)]
    [InlineData(CloudProvider.Gcp, "europe-west1", 110, null, "BE", "BE", 1.1)]
    [InlineData(CloudProvider.Gcp, "europe-west3", 269, null, "DE", "DE", 1.1)]
    [InlineData(CloudProvider.Gcp, "EUROPE-NORTH1", 127, null, "FI", "FI", 1.1)]
    [InlineData(CloudProvider.Gcp, "asia-east1", 456, null, "TW", null, 1.1)]
    public void Rows_carry_CCFs_factor_in_grams_its_stated_year_zones_and_pue(CloudProvider cloud, string region, double grams, int? year, string zone, string? wattTime, double pue)
    {
        var info = StaticGridIntensityTable.LoadEmbedded().Find(new CloudRegion(cloud, region));

        Assert.NotNull(info);
        Assert.Equal(grams, info.GramsPerKwh);
        Assert.Equal(year, info.Year);
        Assert.Equal(zone, info.ElectricityMapsZone);
        Assert.Equal(wattTime, info.WattTimeRegion);
        Assert.Equal(pue, info.Pue);
    }

    [Fact]
    public void The_table_pue_matches_the_energy_model_defaults()
    {
        var table = StaticGridIntensityTable.LoadEmbedded();
        var energy = new EnergyModelOptions();

        foreach (var cloud in new[] { CloudProvider.Aws, CloudProvider.Azure, CloudProvider.Gcp, CloudProvider.Other })
        {
            Assert.Equal(energy.For(cloud).Pue, table.PueOf(cloud));
        }
    }

    [Fact]
    public void Lookup_stamps_the_figure_with_source_and_data_year()
    {
        var figure = StaticGridIntensityTable.LoadEmbedded().Lookup(new CloudRegion(CloudProvider.Aws, "us-east-1"));

        Assert.Equal(new GridIntensity(379.069, GridIntensitySources.StaticTable, new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), "aws/us-east-1"), figure);
    }

    [Fact]
    public void Lookup_stamps_a_figure_whose_source_states_no_year_with_the_epoch()
    {
        var figure = StaticGridIntensityTable.LoadEmbedded().Lookup(new CloudRegion(CloudProvider.Gcp, "europe-west1"));

        Assert.Equal(new GridIntensity(110, GridIntensitySources.StaticTable, DateTimeOffset.UnixEpoch, "gcp/europe-west1"), figure);
    }

    [Fact]
    public void A_year_is_a_number_or_null()
    {
        using var stated = new MemoryStream(Encoding.UTF8.GetBytes("""
            {"clouds":{"other":{"pue":1.0,"defaultGramsPerKwh":1,"defaultSource":"s","defaultYear":null}},
             "regions":[{"cloud":"aws","region":"r","location":"l","gramsPerKwh":2,"source":"s","year":2020}]}
            """));
        using var text = new MemoryStream(Encoding.UTF8.GetBytes("""
            {"clouds":{"other":{"pue":1.0,"defaultGramsPerKwh":1,"defaultSource":"s","defaultYear":"2020"}},"regions":[]}
            """));

        var table = StaticGridIntensityTable.Load(stated);

        Assert.Equal(2020, table.Find(new CloudRegion(CloudProvider.Aws, "r"))!.Year);
        Assert.Null(table.Resolve(new CloudRegion(CloudProvider.Other, "x")).Year);
        Assert.Throws<InvalidDataException>(() => StaticGridIntensityTable.Load(text));
    }

    [Fact]
    public void An_unlisted_region_gets_its_clouds_default()
    {
        var table = StaticGridIntensityTable.LoadEmbedded();

        var aws = table.Lookup(new CloudRegion(CloudProvider.Aws, "mars-north-1"));
        var other = table.Lookup(new CloudRegion(CloudProvider.Other, "basement"));

        Assert.Equal(392.78188, aws.GramsPerKwh);
        Assert.Equal("aws/mars-north-1", aws.Zone);
        Assert.Equal(GridIntensitySources.StaticTable, aws.Source);
        Assert.Equal(351.2799615, table.Lookup(new CloudRegion(CloudProvider.Azure, "moonbase")).GramsPerKwh);
        Assert.Equal(317.1470588, table.Lookup(new CloudRegion(CloudProvider.Gcp, "mars1")).GramsPerKwh);
        Assert.Equal(353.7363001, other.GramsPerKwh);
    }

    [Fact]
    public void A_malformed_table_is_rejected()
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("""{"clouds":{},"regions":[{"cloud":"aws"}]}"""));

        Assert.Throws<InvalidDataException>(() => StaticGridIntensityTable.Load(stream));
    }

    [Fact]
    public void Options_bind_from_the_aurigraph_carbon_section_keeping_unset_defaults()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Aurigraph:Carbon:Cloud"] = "Gcp",
            ["Aurigraph:Carbon:Region"] = "europe-west1",
            ["Aurigraph:Carbon:Energy:Gcp:MaxWattsPerVcpu"] = "5",
            ["Aurigraph:Carbon:Energy:ConsensusRoundKwh"] = "0.000001",
            ["Aurigraph:Carbon:Embodied:Enabled"] = "true",
            ["Aurigraph:Carbon:GridIntensity:CacheDuration"] = "00:30:00",
            ["Aurigraph:Carbon:GridIntensity:Regions:0"] = "aws/us-east-1",
            ["Aurigraph:Carbon:ElectricityMaps:ApiKey"] = "k",
            ["Aurigraph:Carbon:WattTime:BaseAddress"] = "http://127.0.0.1:1/",
        }).Build();

        var options = configuration.GetSection(CarbonOptions.Section).Get<CarbonOptions>()!;

        Assert.Equal(CloudProvider.Gcp, options.Cloud);
        Assert.Equal(new CloudRegion(CloudProvider.Gcp, "europe-west1"), options.NodeRegion);
        Assert.Equal(5, options.Energy.Gcp.MaxWattsPerVcpu);
        Assert.Equal(0.68, options.Energy.Gcp.MinWattsPerVcpu);
        Assert.Equal(1.1, options.Energy.Gcp.Pue);
        Assert.Equal(0.000392, options.Energy.MemoryKwhPerGbHour);
        Assert.Equal(1e-6, options.Energy.ConsensusRoundKwh);
        Assert.True(options.Embodied.Enabled);
        Assert.Equal(35_040, options.Embodied.ServerLifespanHours);
        Assert.Equal(TimeSpan.FromMinutes(30), options.GridIntensity.CacheDuration);
        Assert.Equal(TimeSpan.FromHours(24), options.GridIntensity.MaxAge);
        Assert.Equal(["aws/us-east-1"], options.GridIntensity.Regions);
        Assert.Equal("k", options.ElectricityMaps.ApiKey);
        Assert.Equal(new Uri("https://api.electricitymap.org"), options.ElectricityMaps.BaseAddress);
        Assert.Equal(new Uri("http://127.0.0.1:1/"), options.WattTime.BaseAddress);
    }

    [Fact]
    public void AddCarbonModel_wires_the_model_the_chain_and_the_refresher()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Aurigraph:Carbon:Cloud"] = "Azure",
            ["Aurigraph:Carbon:Region"] = "northeurope",
            ["Aurigraph:Carbon:GridIntensity:Regions:0"] = "gcp/asia-east1",
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddCarbonModel(configuration).BuildServiceProvider();

        var chain = services.GetRequiredService<GridIntensityProviderChain>();
        var model = services.GetRequiredService<EnergyModel>();
        var refresher = Assert.Single(services.GetServices<IHostedService>().OfType<GridIntensityRefresher>());

        Assert.Equal(278.6, chain.Current(CloudProvider.Azure, "northeurope").GramsPerKwh);
        Assert.True(model.EmbodiedEnabled); // SCI counts M: on unless configured off
        Assert.Equal(2, model.ModelVersion);
        Assert.Equal(
            [new CloudRegion(CloudProvider.Azure, "northeurope"), new CloudRegion(CloudProvider.Gcp, "asia-east1")],
            refresher.Regions());
    }
}
