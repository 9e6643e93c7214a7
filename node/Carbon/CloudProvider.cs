namespace Aurigraph.Node.Carbon;

/// <summary>The cloud a node runs in; it selects the per-vCPU power curve, the PUE and the region table.</summary>
public enum CloudProvider
{
    /// <summary>Not one of the three clouds (on premises, a laptop, another provider): the mean of the three clouds' figures is used.</summary>
    Other = 0,

    /// <summary>Amazon Web Services.</summary>
    Aws,

    /// <summary>Microsoft Azure.</summary>
    Azure,

    /// <summary>Google Cloud Platform.</summary>
    Gcp,
}

/// <summary>A cloud region, such as <c>aws/us-east-1</c> or <c>azure/westeurope</c>.</summary>
/// <param name="Cloud">The cloud.</param>
/// <param name="Name">The cloud's own name for the region, compared without regard to case.</param>
public readonly record struct CloudRegion(CloudProvider Cloud, string Name)
{
    /// <summary>The key used by caches and the static table: <c>aws/us-east-1</c>.</summary>
    public string Key => string.Concat(CloudProviders.ToKey(Cloud), "/", Name.ToLowerInvariant());

    /// <inheritdoc />
    public override string ToString() => Key;
}

/// <summary>Text forms of <see cref="CloudProvider"/> used in configuration and in the static table.</summary>
public static class CloudProviders
{
    /// <summary>The lower-case key of a cloud: <c>aws</c>, <c>azure</c>, <c>gcp</c> or <c>other</c>.</summary>
    public static string ToKey(CloudProvider cloud) => cloud switch
    {
        CloudProvider.Aws => "aws",
        CloudProvider.Azure => "azure",
        CloudProvider.Gcp => "gcp",
        _ => "other",
    };

    /// <summary>Parses <c>aws</c>, <c>azure</c> or <c>gcp</c> (any case); anything else is <see cref="CloudProvider.Other"/>.</summary>
    public static CloudProvider Parse(string? text) => text?.Trim().ToUpperInvariant() switch
    {
        "AWS" => CloudProvider.Aws,
        "AZURE" => CloudProvider.Azure,
        "GCP" => CloudProvider.Gcp,
        _ => CloudProvider.Other,
    };
}
