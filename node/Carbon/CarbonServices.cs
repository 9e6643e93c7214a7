using Microsoft.Extensions.Options;

namespace Aurigraph.Node.Carbon;

/// <summary>What a node's carbon metering needs from the host: its settings, the energy model, the grid-intensity chain and the clock.</summary>
public sealed class CarbonServices
{
    /// <summary>Bundles the registered carbon services; the record settings are checked here.</summary>
    /// <exception cref="ArgumentException">A setting under <c>Aurigraph:Carbon</c> is out of range (see <see cref="CarbonOptions.Validate"/>).</exception>
    public CarbonServices(IOptions<CarbonOptions> options, EnergyModel model, GridIntensityProviderChain grid, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(time);
        Options = options.Value;
        var errors = Options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors));
        }
        Model = model;
        Grid = grid;
        Time = time;
        Coefficients = CarbonCoefficients.From(Options);
    }

    /// <summary>The node's carbon settings.</summary>
    public CarbonOptions Options { get; }

    /// <summary>The energy model built from <see cref="Options"/>.</summary>
    public EnergyModel Model { get; }

    /// <summary>The grid-intensity chain.</summary>
    public GridIntensityProviderChain Grid { get; }

    /// <summary>The clock for record deadlines.</summary>
    public TimeProvider Time { get; }

    /// <summary>The coefficients every reading of this node records.</summary>
    public CarbonCoefficients Coefficients { get; }

    /// <summary>
    /// Services for a node run without a host's registrations (in-process clusters): the given or default settings, and a
    /// grid-intensity chain of the embedded static table alone (no provider is called).
    /// </summary>
    public static CarbonServices CreateOffline(CarbonOptions? options = null)
    {
        var o = options ?? new CarbonOptions();
        var grid = new GridIntensityProviderChain([], StaticGridIntensityTable.LoadEmbedded(), o.GridIntensity, TimeProvider.System);
        return new CarbonServices(Microsoft.Extensions.Options.Options.Create(o), new EnergyModel(o), grid, TimeProvider.System);
    }
}
