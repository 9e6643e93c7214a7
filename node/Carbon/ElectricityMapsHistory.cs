using System.Text.Json;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// What the intensity history asks Electricity Maps (API v3) besides the current figure, each in one attempt (retries are the caller's):
/// <c>/v3/power-breakdown/latest</c> for the hour's energy mix, and <c>/v3/carbon-intensity/history</c> and
/// <c>/v3/power-breakdown/history</c> (the last 24 hours, hourly) to fill in missed hours.
/// </summary>
/// <remarks>
/// <c>/power-breakdown</c> objects: <c>zone</c>, <c>datetime</c>, <c>powerConsumptionBreakdown</c> and
/// <c>powerProductionBreakdown</c> (MW by fuel: nuclear, geothermal, biomass, coal, wind, solar, hydro, gas, oil, unknown,
/// "hydro discharge", "battery discharge"; a fuel may be null), <c>powerImportBreakdown</c> / <c>powerExportBreakdown</c>
/// (MW by neighbouring zone), <c>powerConsumptionTotal</c>, <c>powerProductionTotal</c>, <c>powerImportTotal</c>,
/// <c>powerExportTotal</c> (MW), <c>fossilFreePercentage</c>, <c>renewablePercentage</c> (% of consumption),
/// <c>isEstimated</c>, <c>estimationMethod</c>. A <c>/history</c> answer is <c>{"zone": .., "history": [object, ...]}</c>.
/// </remarks>
public sealed class ElectricityMapsHistory(ElectricityMapsProvider provider)
{
    /// <summary>The most entries read from one <c>/history</c> answer (the API gives 24).</summary>
    public const int MaxHistoryEntries = 48;

    private readonly ElectricityMapsProvider _provider = provider ?? throw new ArgumentNullException(nameof(provider));

    /// <summary>Whether the provider has a key (nothing is asked without one).</summary>
    public bool IsConfigured => _provider.IsConfigured;

    /// <summary><c>GET /v3/power-breakdown/latest?zone=ZONE</c>.</summary>
    /// <exception cref="GridIntensityProviderException">An error status or an unreadable answer.</exception>
    /// <exception cref="HttpRequestException">The API could not be reached.</exception>
    public async Task<PowerBreakdown> PowerBreakdownLatestAsync(string zone, CancellationToken cancellationToken)
    {
        var body = await _provider.GetAsync("v3/power-breakdown/latest", zone, withEmissionFactor: false, cancellationToken).ConfigureAwait(false);
        return ParseBreakdown(body, zone);
    }

    /// <summary><c>GET /v3/power-breakdown/history?zone=ZONE</c>: the readable entries, in the answer's order.</summary>
    /// <exception cref="GridIntensityProviderException">An error status or an answer without a <c>history</c> list.</exception>
    /// <exception cref="HttpRequestException">The API could not be reached.</exception>
    public async Task<IReadOnlyList<PowerBreakdown>> PowerBreakdownHistoryAsync(string zone, CancellationToken cancellationToken)
    {
        var body = await _provider.GetAsync("v3/power-breakdown/history", zone, withEmissionFactor: false, cancellationToken).ConfigureAwait(false);
        return ParseBreakdownHistory(body, zone);
    }

    /// <summary><c>GET /v3/carbon-intensity/history?zone=ZONE</c> (with the configured emission factors): the readable entries.</summary>
    /// <exception cref="GridIntensityProviderException">An error status or an answer without a <c>history</c> list.</exception>
    /// <exception cref="HttpRequestException">The API could not be reached.</exception>
    public async Task<IReadOnlyList<ElectricityMapsFigure>> CarbonIntensityHistoryAsync(string zone, CancellationToken cancellationToken)
    {
        var body = await _provider.GetAsync("v3/carbon-intensity/history", zone, withEmissionFactor: true, cancellationToken).ConfigureAwait(false);
        return ParseIntensityHistory(body, zone);
    }

    /// <summary>Reads an answer of <c>/v3/power-breakdown/history</c>; entries that cannot be read are left out.</summary>
    public static IReadOnlyList<PowerBreakdown> ParseBreakdownHistory(string body, string zone) =>
        Read(body, zone, root => History(root, zone, e => ParseBreakdown(e, zone)));

    /// <summary>Reads an answer of <c>/v3/carbon-intensity/history</c>; entries that cannot be read are left out.</summary>
    public static IReadOnlyList<ElectricityMapsFigure> ParseIntensityHistory(string body, string zone) =>
        Read(body, zone, root => History(root, zone, e => ElectricityMapsProvider.ParseFigure(e, zone)));

    /// <summary>Reads an answer of <c>/v3/power-breakdown/latest</c>.</summary>
    /// <exception cref="GridIntensityProviderException">The body is not such an answer.</exception>
    public static PowerBreakdown ParseBreakdown(string body, string zone) => Read(body, zone, root => ParseBreakdown(root, zone));

    /// <summary>Reads one power-breakdown object.</summary>
    /// <exception cref="GridIntensityProviderException">The element has no datetime, or neither breakdown.</exception>
    public static PowerBreakdown ParseBreakdown(JsonElement root, string zone)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Unreadable(zone, "a power breakdown that is not an object");
        }
        var datetime = ElectricityMapsProvider.ReadTime(root, "datetime") ?? throw Unreadable(zone, "a power breakdown without datetime");
        var fuels = new List<string>();
        var consumption = Fuels(root, "powerConsumptionBreakdown", fuels);
        var production = Fuels(root, "powerProductionBreakdown", fuels);
        if (consumption is null && production is null)
        {
            throw Unreadable(zone, "a power breakdown without powerConsumptionBreakdown or powerProductionBreakdown");
        }
        var mix = fuels.Select(f => new FuelPower(f, consumption?.GetValueOrDefault(f), production?.GetValueOrDefault(f))).ToArray();
        return new PowerBreakdown(
            datetime,
            mix,
            Number(root, "powerConsumptionTotal"),
            Number(root, "powerProductionTotal"),
            Number(root, "powerImportTotal"),
            Number(root, "powerExportTotal"),
            Number(root, "fossilFreePercentage"),
            Number(root, "renewablePercentage"),
            ElectricityMapsProvider.ReadBool(root, "isEstimated"),
            ElectricityMapsProvider.ReadString(root, "estimationMethod") is { } method ? method[..Math.Min(method.Length, IntensityHistoryIngester.MaxTextLength)] : null);
    }

    private static T Read<T>(string body, string zone, Func<JsonElement, T> read)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return read(document.RootElement);
        }
        catch (JsonException e)
        {
            throw new GridIntensityProviderException($"Electricity Maps answered with malformed JSON for zone {zone}.", null, transient: false, e);
        }
    }

    private static List<T> History<T>(JsonElement root, string zone, Func<JsonElement, T> read)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("history", out var history) || history.ValueKind != JsonValueKind.Array)
        {
            throw Unreadable(zone, "a history answer without a history list");
        }
        var entries = new List<T>();
        foreach (var entry in history.EnumerateArray().Take(MaxHistoryEntries))
        {
            try
            {
                entries.Add(read(entry));
            }
            catch (GridIntensityProviderException)
            {
                // One unreadable hour does not spoil the others: it is simply not filled in.
            }
        }
        return entries;
    }

    /// <summary>MW by fuel of one breakdown object, adding fuels not seen yet to <paramref name="names"/>; null when the object is absent.</summary>
    private static Dictionary<string, double?>? Fuels(JsonElement root, string name, List<string> names)
    {
        if (!root.TryGetProperty(name, out var breakdown) || breakdown.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        var values = new Dictionary<string, double?>(StringComparer.Ordinal);
        foreach (var fuel in breakdown.EnumerateObject())
        {
            if (fuel.Name.Length is 0 or > IntensityHistoryCodec.MaxZoneBytes || values.ContainsKey(fuel.Name))
            {
                continue;
            }
            if (!names.Contains(fuel.Name))
            {
                if (names.Count >= IntensityHistoryCodec.MaxFuels)
                {
                    continue;
                }
                names.Add(fuel.Name);
            }
            values[fuel.Name] = fuel.Value.ValueKind == JsonValueKind.Number && fuel.Value.GetDouble() is var mw && double.IsFinite(mw) ? mw : null;
        }
        return values;
    }

    private static double? Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.GetDouble() is var number && double.IsFinite(number)
            ? number
            : null;

    private static GridIntensityProviderException Unreadable(string zone, string what) =>
        new($"Electricity Maps gave {what} for zone {zone}.", null, transient: false);
}
