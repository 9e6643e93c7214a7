using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// Exports the configured carbon budget (meter "Aurigraph.Node.Carbon"): <c>aurigraph_carbon_budget_grams{period}</c>, with
/// <c>period</c> <c>day</c> or <c>month</c>, only for the periods that have one. The amount used is
/// <c>aurigraph_carbon_emissions_grams_total</c>, the cluster's committed emissions; deploy/prometheus/aurigraph-carbon-alerts.yml
/// compares its rate with these.
/// </summary>
public sealed class CarbonBudgetMetrics : IDisposable
{
    private readonly Meter _meter = new(CarbonMetrics.MeterName);

    /// <summary>Creates the gauge over <see cref="CarbonOptions.Budget"/>.</summary>
    public CarbonBudgetMetrics(IOptions<CarbonOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var budget = options.Value.Budget ?? new CarbonBudgetOptions();
        var periods = new List<Measurement<double>>();
        if (budget.GramsPerDay > 0)
        {
            periods.Add(new Measurement<double>(budget.GramsPerDay, new KeyValuePair<string, object?>("period", "day")));
        }
        if (budget.GramsPerMonth > 0)
        {
            periods.Add(new Measurement<double>(budget.GramsPerMonth, new KeyValuePair<string, object?>("period", "month")));
        }
        _meter.CreateObservableGauge("aurigraph.carbon.budget", () => periods, "g",
            "The configured carbon budget of the cluster's committed emissions (Aurigraph:Carbon:Budget), gCO2e per period (day, month)");
    }

    /// <summary>The meter (tests listen to this instance only).</summary>
    internal Meter Meter => _meter;

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
