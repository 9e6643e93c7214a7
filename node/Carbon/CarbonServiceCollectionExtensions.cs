using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aurigraph.Node.Carbon;

/// <summary>Registers the energy model and the grid-intensity chain with a host.</summary>
public static class CarbonServiceCollectionExtensions
{
    /// <summary>Name of the <see cref="HttpClient"/> used for Electricity Maps.</summary>
    public const string ElectricityMapsClient = "Aurigraph.Carbon.ElectricityMaps";

    /// <summary>Name of the <see cref="HttpClient"/> used for WattTime.</summary>
    public const string WattTimeClient = "Aurigraph.Carbon.WattTime";

    /// <summary>
    /// Binds <see cref="CarbonOptions"/> from <c>Aurigraph:Carbon</c> and registers <see cref="EnergyModel"/>,
    /// <see cref="StaticGridIntensityTable"/>, both providers, <see cref="GridIntensityProviderChain"/> and the
    /// <see cref="GridIntensityRefresher"/> hosted service, the <see cref="CarbonServices"/> bundle the node's carbon metering takes,
    /// and <see cref="CarbonBudgetMetrics"/> (resolve it once to export the budget).
    /// </summary>
    public static IServiceCollection AddCarbonModel(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<CarbonOptions>().Bind(configuration.GetSection(CarbonOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(ElectricityMapsClient);
        services.AddHttpClient(WattTimeClient);
        services.AddSingleton(sp => new EnergyModel(sp.GetRequiredService<IOptions<CarbonOptions>>().Value));
        services.AddSingleton(_ => StaticGridIntensityTable.LoadEmbedded());
        services.AddSingleton(sp => new ElectricityMapsProvider(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(ElectricityMapsClient),
            sp.GetRequiredService<IOptions<CarbonOptions>>().Value.ElectricityMaps));
        services.AddSingleton(sp => new WattTimeProvider(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(WattTimeClient),
            sp.GetRequiredService<IOptions<CarbonOptions>>().Value.WattTime,
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new GridIntensityProviderChain(
            [sp.GetRequiredService<ElectricityMapsProvider>(), sp.GetRequiredService<WattTimeProvider>()],
            sp.GetRequiredService<StaticGridIntensityTable>(),
            sp.GetRequiredService<IOptions<CarbonOptions>>().Value.GridIntensity,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<GridIntensityProviderChain>>()));
        services.AddSingleton<CarbonServices>();
        services.AddSingleton<CarbonBudgetMetrics>();
        services.AddHostedService<GridIntensityRefresher>();
        return services;
    }

    /// <summary>
    /// Registers the hourly intensity history over <paramref name="store"/>: <see cref="IntensityHistoryMetrics"/>, the
    /// <see cref="IntensityHistoryIngester"/> for the regions <see cref="GridIntensityRefresher"/> keeps fresh, and (unless
    /// <c>Aurigraph:Carbon:History:Enabled</c> is false) the <see cref="IntensityHistoryService"/>. Call after
    /// <see cref="AddCarbonModel"/> and after the hosted service that owns the store's database, so that it stops first.
    /// </summary>
    public static IServiceCollection AddIntensityHistory(this IServiceCollection services, Func<IServiceProvider, IntensityHistoryStore> store)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(store);
        services.AddSingleton(sp => new IntensityHistoryMetrics(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<CarbonOptions>>().Value;
            return new IntensityHistoryIngester(
                IntensityHistoryIngester.RegionsOf(options),
                sp.GetRequiredService<GridIntensityProviderChain>(),
                sp.GetRequiredService<ElectricityMapsProvider>(),
                store(sp),
                options.History,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<IntensityHistoryMetrics>(),
                sp.GetService<ILogger<IntensityHistoryIngester>>());
        });
        services.AddHostedService(sp =>
        {
            var options = sp.GetRequiredService<IOptions<CarbonOptions>>().Value.History;
            return new IntensityHistoryService(
                sp.GetRequiredService<IntensityHistoryIngester>(),
                options,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<IntensityHistoryMetrics>(),
                sp.GetService<ILogger<IntensityHistoryService>>());
        });
        return services;
    }
}
