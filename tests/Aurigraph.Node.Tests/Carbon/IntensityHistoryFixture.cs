using Aurigraph.Node.Carbon;
using Aurigraph.Node.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>
/// What the intensity-history tests share: a node database in a temporary folder, its history store, a fake clock at
/// 2026-11-23T10:05Z, the fake Electricity Maps / WattTime server, and ingesters over chains built on them.
/// </summary>
public abstract class IntensityHistoryFixture : IAsyncLifetime, IDisposable
{
    internal static readonly CloudRegion Frankfurt = new(CloudProvider.Aws, "eu-central-1");
    internal static readonly DateTimeOffset Ten = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-intensity-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<IDisposable> _owned = [];

    protected IntensityHistoryFixture()
    {
        Database = NodeDatabase.Open(_dir, "intensity-test", 1);
        Store = new IntensityHistoryStore(Database.Db, Database.Intensity, Database.SyncWrite);
        Metrics = new IntensityHistoryMetrics(Time);
    }

    internal NodeDatabase Database { get; }

    internal IntensityHistoryStore Store { get; }

    internal FakeTimeProvider Time { get; } = new(Ten.AddMinutes(5));

    internal IntensityHistoryMetrics Metrics { get; }

    internal FakeGridServer Server { get; private set; } = null!;

    internal HttpClient Http { get; } = new();

    public async Task InitializeAsync() => Server = await FakeGridServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
        Metrics.Dispose();
        Http.Dispose();
        Database.Dispose();
        Directory.Delete(_dir, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>An ingester for Frankfurt (zone DE) over a chain of the given providers (none: the static table alone).</summary>
    internal IntensityHistoryIngester Ingester(bool electricityMaps = true, bool wattTime = false, string? emissionFactorType = null, IntensityHistoryOptions? options = null)
    {
        var em = new ElectricityMapsProvider(Http, new ElectricityMapsOptions
        {
            BaseAddress = Server.ElectricityMapsBase,
            ApiKey = electricityMaps ? FakeGridServer.ApiKey : null,
            EmissionFactorType = emissionFactorType,
        });
        var wt = new WattTimeProvider(Http, new WattTimeOptions
        {
            BaseAddress = Server.WattTimeBase,
            Username = wattTime ? FakeGridServer.Username : null,
            Password = FakeGridServer.Password,
        }, Time);
        var chain = new GridIntensityProviderChain([em, wt], StaticGridIntensityTable.LoadEmbedded(), new GridIntensityOptions { MaxRetryAttempts = 1, RetryBaseDelay = TimeSpan.Zero }, Time);
        _owned.Add(wt);
        _owned.Add(chain);
        return new IntensityHistoryIngester([Frankfurt], chain, em, Store, options ?? new IntensityHistoryOptions(), Time, Metrics);
    }

    /// <summary>A record for an hour, observed at <paramref name="observedAt"/> (default: the hour's start).</summary>
    internal static IntensityHour Hour(DateTimeOffset hour, double grams = 300, DateTimeOffset? observedAt = null, string source = GridIntensitySources.ElectricityMaps) => new(
        hour,
        grams,
        source,
        IntensityLabels.TypeOf(source, null),
        observedAt ?? hour,
        source == GridIntensitySources.StaticTable ? "aws/eu-central-1" : "DE",
        source == GridIntensitySources.ElectricityMaps ? false : null,
        null,
        IntensityOrigin.Live,
        hour.AddMinutes(5),
        null);
}
