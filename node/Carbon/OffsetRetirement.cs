using System.Globalization;

namespace Aurigraph.Node.Carbon;

/// <summary>
/// A retirement of carbon credits, as an operator states it and the log commits it. It is kept beside the measured
/// footprint and never subtracted from it.
/// </summary>
/// <param name="Registry">The registry that retired the credits: <c>Gold Standard</c>, <c>Verra</c>, <c>Climate Action Reserve</c>, <c>American Carbon Registry</c>, <c>Puro.earth</c> or <c>Isometric</c>.</param>
/// <param name="Serial">The registry's serial number or serial range of the retired credits (unique within the registry).</param>
/// <param name="Tonnes">tCO2e the credits stand for (more than 0, at most <see cref="MaxTonnes"/>).</param>
/// <param name="Vintage">The year of the reductions or removals.</param>
/// <param name="Project">The project, as the registry names it (may be empty).</param>
/// <param name="RetiredOn">The day the registry records the retirement.</param>
/// <param name="Note">Beneficiary, reason, certificate reference (may be empty).</param>
public sealed record OffsetRetirement(string Registry, string Serial, double Tonnes, int Vintage, string Project, DateOnly RetiredOn, string Note)
{
    /// <summary>The registries an offset may name (compared without case).</summary>
    public static readonly IReadOnlyList<string> Registries = ["Gold Standard", "Verra", "Climate Action Reserve", "American Carbon Registry", "Puro.earth", "Isometric"];

    /// <summary>The most tonnes one record may state.</summary>
    public const double MaxTonnes = 10_000_000;

    /// <summary>The longest serial, project or note, in characters.</summary>
    public const int MaxTextLength = 256;

    /// <summary>The earliest vintage accepted (the Kyoto Protocol's base year).</summary>
    public const int FirstVintage = 1990;

    /// <summary>The registry's name as listed in <see cref="Registries"/>, or <see langword="null"/> when it is not one of them.</summary>
    public static string? CanonicalRegistry(string? registry) =>
        Registries.FirstOrDefault(r => string.Equals(r, registry?.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>The key that makes a retirement unique: registry and serial (registries' serials are unique within them).</summary>
    public string Key => string.Concat(Registry, "\n", Serial);

    /// <summary>
    /// Every problem with this record, empty when it is well-formed. The rule is fixed, so every node judges a committed
    /// record alike; <paramref name="latestRetirement"/> bounds the retirement day (the day of the block that carries it, +1 for clocks).
    /// </summary>
    public IReadOnlyList<string> Problems(DateOnly latestRetirement)
    {
        var problems = new List<string>();
        if (CanonicalRegistry(Registry) != Registry)
        {
            problems.Add($"registry '{Registry}' is not one of {string.Join(", ", Registries)}");
        }
        if (string.IsNullOrWhiteSpace(Serial) || Serial.Length > MaxTextLength || Serial.Trim() != Serial)
        {
            problems.Add($"serial must be 1 to {MaxTextLength} characters without surrounding spaces");
        }
        if (!double.IsFinite(Tonnes) || Tonnes <= 0 || Tonnes > MaxTonnes)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"tonnes must be more than 0 and at most {MaxTonnes} (was {Tonnes})"));
        }
        if (Vintage < FirstVintage || Vintage > RetiredOn.Year)
        {
            problems.Add($"vintage {Vintage} must be from {FirstVintage} to the retirement year {RetiredOn.Year}");
        }
        if (RetiredOn > latestRetirement || RetiredOn.Year < FirstVintage)
        {
            problems.Add($"retired on {RetiredOn:yyyy-MM-dd}: a retirement must have happened (no later than {latestRetirement:yyyy-MM-dd}) and be from {FirstVintage} on");
        }
        if (Project.Length > MaxTextLength || Note.Length > MaxTextLength)
        {
            problems.Add($"project and note are at most {MaxTextLength} characters");
        }
        return problems;
    }
}
