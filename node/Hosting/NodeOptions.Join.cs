namespace Aurigraph.Node.Hosting;

/// <summary>
/// How a new node joins a running cluster ("Aurigraph:Join"): it asks any member (<see cref="Seeds"/>) with the join
/// token; the leader adds it as a learner and answers with its address book and membership, which the node keeps in
/// its database. Its own configuration then lists only itself. Used once: a node that has joined (or has a log) starts
/// from what its database holds.
/// </summary>
public sealed class JoinSettings
{
    /// <summary>gRPC API addresses (http(s)://host:port) of members to ask, in order; empty: this node does not join.</summary>
    public List<string> Seeds { get; set; } = [];

    /// <summary>The cluster's join token (the members' <see cref="NodeOptions.JoinToken"/>). Set it from the environment or a secret.</summary>
    public string Token { get; set; } = "";

    /// <summary>How long to keep asking (the seeds in turn, following the leader) before start-up fails.</summary>
    public int TimeoutSeconds { get; set; } = 120;
}

public sealed partial class NodeOptions
{
    /// <summary>
    /// Bearer token a joining node presents (<c>JoinService.Join</c>). Empty: this member refuses joins. A join token
    /// only lets a node become a learner, as the node its certificate names; promotion and removal need the admin token.
    /// </summary>
    public string JoinToken { get; set; } = "";

    /// <summary>Joining a running cluster (only for a new node): see <see cref="JoinSettings"/>.</summary>
    public JoinSettings Join { get; set; } = new();

    /// <summary>Whether this node starts by joining (it has seeds to ask).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Joins => Join.Seeds.Count > 0;

    private void ValidateJoin(List<string> errors)
    {
        if (!Joins)
        {
            return;
        }
        for (var i = 0; i < Join.Seeds.Count; i++)
        {
            if (!Uri.TryCreate(Join.Seeds[i], UriKind.Absolute, out var seed) || (seed.Scheme != "http" && seed.Scheme != "https"))
            {
                errors.Add($"{Section}:Join:Seeds:{i} must be a member's gRPC API address, http(s)://host:port (got '{Join.Seeds[i]}')");
            }
        }
        if (string.IsNullOrEmpty(Join.Token))
        {
            errors.Add($"{Section}:Join:Token must be set to the cluster's join token (the members' {Section}:JoinToken) when {Section}:Join:Seeds is");
        }
        if (Join.TimeoutSeconds <= 0)
        {
            errors.Add($"{Section}:Join:TimeoutSeconds must be positive");
        }
    }
}
