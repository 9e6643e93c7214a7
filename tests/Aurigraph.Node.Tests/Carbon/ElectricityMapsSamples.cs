using System.Globalization;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>
/// Answers in the documented shapes of Electricity Maps API v3 (static.electricitymap.org/api/docs): <c>/power-breakdown/latest</c>
/// with every field the API gives (breakdowns by fuel with nulls, import/export by zone, totals, percentages, estimation),
/// and the <c>{"zone", "history": [...]}</c> form of both <c>/history</c> endpoints.
/// </summary>
internal static class ElectricityMapsSamples
{
    public static string PowerBreakdown(string zone, string datetime, bool estimated = false) => $$"""
        {"zone":"{{zone}}","datetime":"{{datetime}}","updatedAt":"2026-11-23T10:41:07.112Z","createdAt":"2026-11-20T09:52:44.870Z",
         "powerConsumptionBreakdown":{"nuclear":0,"geothermal":24,"biomass":4312,"coal":9876,"wind":21044,"solar":3120,"hydro":1688,"gas":7321,"oil":402,"unknown":151,"hydro discharge":612,"battery discharge":14},
         "powerProductionBreakdown":{"nuclear":0,"geothermal":null,"biomass":4350,"coal":10127,"wind":22310,"solar":3208,"hydro":1502,"gas":6900,"oil":388,"unknown":160,"hydro discharge":540,"battery discharge":null},
         "powerImportBreakdown":{"FR":2410,"DK-DK1":1180,"CH":0},"powerExportBreakdown":{"NL":1560,"PL":820,"CH":910},
         "fossilFreePercentage":62,"renewablePercentage":61,"powerConsumptionTotal":48564,"powerProductionTotal":49485,
         "powerImportTotal":3590,"powerExportTotal":3290,"isEstimated":{{(estimated ? "true" : "false")}},"estimationMethod":{{(estimated ? "\"TIME_SLICER_AVERAGE\"" : "null")}}}
        """;

    public static string IntensityHistory(string zone, IEnumerable<(DateTimeOffset Hour, double Grams)> hours, string emissionFactorType = "lifecycle") =>
        $$"""{"zone":"{{zone}}","history":[{{string.Join(",", hours.Select(h => $$"""{"zone":"{{zone}}","carbonIntensity":{{Number(h.Grams)}},"datetime":"{{Time(h.Hour)}}","updatedAt":"{{Time(h.Hour.AddMinutes(47))}}","createdAt":"{{Time(h.Hour.AddDays(-3))}}","emissionFactorType":"{{emissionFactorType}}","isEstimated":false,"estimationMethod":null}"""))}}]}""";

    public static string PowerBreakdownHistory(string zone, IEnumerable<DateTimeOffset> hours) =>
        $$"""{"zone":"{{zone}}","history":[{{string.Join(",", hours.Select(h => PowerBreakdown(zone, Time(h))))}}]}""";

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);
}
