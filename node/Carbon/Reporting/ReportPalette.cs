using System.Globalization;

namespace Aurigraph.Node.Carbon.Reporting;

/// <summary>
/// The colours of the carbon pages, by what they mean: each is used for that meaning only, so that a reader (or a check of
/// a rendered page) can tell the elements apart by colour.
/// </summary>
public static class ReportPalette
{
    /// <summary>Bars of location-based emissions.</summary>
    public const string LocationBar = "#2e7d4f";

    /// <summary>Bars of market-based emissions.</summary>
    public const string MarketBar = "#4f7cb8";

    /// <summary>Background of the banner that says the figures are lower bounds (readings missing).</summary>
    public const string LowerBoundBanner = "#ffd36b";

    /// <summary>Bars of retired offsets.</summary>
    public const string OffsetBar = "#7b5ea7";

    /// <summary>The used part of a budget within it.</summary>
    public const string BudgetUsed = "#3b8f6a";

    /// <summary>The used part of a budget once it is exceeded.</summary>
    public const string BudgetExceeded = "#c0392b";

    /// <summary>Heatmap cells without any recorded hour (no data: a gap, not a low intensity).</summary>
    public const string HeatmapGap = "#b9b4d9";

    /// <summary>Energy of the processors.</summary>
    public const string CpuEnergy = "#2a6f97";

    /// <summary>Energy of the memory held.</summary>
    public const string MemoryEnergy = "#61a5c2";

    /// <summary>Energy of the network bytes.</summary>
    public const string NetworkEnergy = "#f4a261";

    /// <summary>Energy of the bytes kept on storage.</summary>
    public const string StorageEnergy = "#8d6e63";

    /// <summary>Energy of the consensus overhead.</summary>
    public const string ConsensusEnergy = "#b5838d";

    /// <summary>The data centre's overhead (facility energy above the IT energy, from the PUE).</summary>
    public const string FacilityOverheadEnergy = "#9aa5ad";

    /// <summary>Stops of the grid-intensity scale of the heatmap, gCO2e/kWh and colour (green, low, to dark red, high).</summary>
    internal static readonly (double GramsPerKwh, string Colour)[] IntensityScale =
    [
        (0, "#1a9850"),
        (150, "#91cf60"),
        (300, "#fee08b"),
        (450, "#fc8d59"),
        (600, "#d73027"),
        (800, "#7f0000"),
    ];

    /// <summary>The colour of an intensity on <see cref="IntensityScale"/>, interpolated between its stops.</summary>
    internal static string Intensity(double gramsPerKwh)
    {
        var scale = IntensityScale;
        if (gramsPerKwh <= scale[0].GramsPerKwh)
        {
            return scale[0].Colour;
        }
        for (var i = 1; i < scale.Length; i++)
        {
            if (gramsPerKwh <= scale[i].GramsPerKwh)
            {
                var t = (gramsPerKwh - scale[i - 1].GramsPerKwh) / (scale[i].GramsPerKwh - scale[i - 1].GramsPerKwh);
                return Mix(scale[i - 1].Colour, scale[i].Colour, t);
            }
        }
        return scale[^1].Colour;
    }

    /// <summary>Whether text on <paramref name="colour"/> reads better white than dark.</summary>
    internal static bool IsDark(string colour)
    {
        var (r, g, b) = Rgb(colour);
        return (0.299 * r) + (0.587 * g) + (0.114 * b) < 140;
    }

    private static string Mix(string from, string to, double t)
    {
        var (r1, g1, b1) = Rgb(from);
        var (r2, g2, b2) = Rgb(to);
        static int Lerp(int a, int b, double t) => (int)Math.Round(a + ((b - a) * t));
        return string.Create(CultureInfo.InvariantCulture, $"#{Lerp(r1, r2, t):x2}{Lerp(g1, g2, t):x2}{Lerp(b1, b2, t):x2}");
    }

    private static (int R, int G, int B) Rgb(string colour) => (
        Convert.ToInt32(colour.Substring(1, 2), 16),
        Convert.ToInt32(colour.Substring(3, 2), 16),
        Convert.ToInt32(colour.Substring(5, 2), 16));
}
