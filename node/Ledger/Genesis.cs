using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aurigraph.Node.Ledger;

/// <summary>The ledger's starting point: the chain id and the funded accounts. Every node must load the same file.</summary>
public sealed record Genesis
{
    [JsonPropertyName("chainId")]
    public required string ChainId { get; init; }

    [JsonPropertyName("accounts")]
    public IReadOnlyList<GenesisAccount> Accounts { get; init; } = [];

    public static Genesis Load(string path)
    {
        Genesis? genesis;
        try
        {
            genesis = JsonSerializer.Deserialize<Genesis>(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"genesis file {path} is not valid JSON: {ex.Message}", ex);
        }
        if (genesis is null || string.IsNullOrWhiteSpace(genesis.ChainId))
        {
            throw new InvalidDataException($"genesis file {path} has no chainId");
        }
        foreach (var account in genesis.Accounts)
        {
            if (account.PublicKey is null || account.PublicKey.Length != 64 || !account.PublicKey.All(Uri.IsHexDigit))
            {
                throw new InvalidDataException($"genesis file {path}: account publicKey must be 64 hex characters, got '{account.PublicKey}'");
            }
        }
        return genesis;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Indented));
}

public sealed record GenesisAccount
{
    [JsonPropertyName("publicKey")]
    public required string PublicKey { get; init; }

    [JsonPropertyName("balance")]
    public ulong Balance { get; init; }
}
