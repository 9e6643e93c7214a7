using Aurigraph.Node.Api.V1;
using Google.Protobuf;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// The command-line client for people: keys, transfers, and looking at transactions, blocks and status (through
/// <see cref="AurigraphClient"/>), and the admin calls.
/// </summary>
internal static class ClientCommands
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation().WithFormatDefaultValues(true));

    public static int KeyGen(string? outFile)
    {
        using var key = AurigraphKey.Generate();
        if (outFile is not null)
        {
            key.Save(outFile);
            Console.WriteLine($"private key written to {outFile}");
        }
        else
        {
            Console.WriteLine($"private key: {key.ExportSeedHex()}");
        }
        Console.WriteLine($"public key (account id): {key.PublicKeyHex}");
        return 0;
    }

    /// <summary>A client of <paramref name="nodes"/>, in order (the first that answers serves; a submission fails over along them).</summary>
    private static AurigraphClient Connect(IReadOnlyList<string> nodes, ClientTls tls, int attempts)
    {
        var options = new AurigraphClientOptions { Tls = tls, Retry = new AurigraphRetryPolicy { MaxAttempts = attempts } };
        foreach (var node in nodes)
        {
            options.Nodes.Add(node);
        }
        return new AurigraphClient(options);
    }

    private static AurigraphClient Connect(string node, ClientTls tls) => Connect([node], tls, attempts: 3);

    public static async Task<int> TransferAsync(IReadOnlyList<string> nodes, ClientTls tls, string keyFile, string to, ulong amount, ulong? nonce, CancellationToken ct)
    {
        using var key = AurigraphKey.Load(keyFile);
        using var client = Connect(nodes, tls, attempts: 10);
        var chainId = await client.GetChainIdAsync(ct).ConfigureAwait(false);
        var tx = key.Transfer(chainId, nonce ?? await client.NextNonceAsync(key.PublicKeyHex, ct).ConfigureAwait(false), Convert.FromHexString(to), amount);
        TransactionResult result;
        try
        {
            result = await client.SubmitAndWaitAsync(tx.Transaction, ct).ConfigureAwait(false);
        }
        catch (TransactionRejectedException ex) when (ex.Results.Count == 1)
        {
            result = ex.Results[0];
        }
        Console.WriteLine(Json.Format(result));
        return result.State == TransactionState.Committed && result.Receipt.Success ? 0 : 1;
    }

    public static async Task<int> ShowAccountAsync(string node, ClientTls tls, string account, CancellationToken ct)
    {
        using var client = Connect(node, tls);
        Console.WriteLine(Json.Format(await client.GetAccountAsync(account, Api.V1.ReadConsistency.Linearizable, ct).ConfigureAwait(false)));
        return 0;
    }

    public static async Task<int> TransferLeadershipAsync(string node, ClientTls tls, string token, ulong target, CancellationToken ct)
    {
        using var channel = ClientChannels.Create(node, tls);
        var headers = new Grpc.Core.Metadata { { "authorization", $"Bearer {token}" } };
        var response = await new AdminService.AdminServiceClient(channel)
            .TransferLeadershipAsync(new TransferLeadershipRequest { Target = target }, headers, cancellationToken: ct).ConfigureAwait(false);
        Console.WriteLine(Json.Format(response));
        return 0;
    }

    /// <summary>Shows the membership (no change given) or proposes one change: add-learner, promote or remove.</summary>
    public static async Task<int> MembershipAsync(string node, ClientTls tls, string token, string? change, ulong nodeId, CancellationToken ct)
    {
        using var channel = ClientChannels.Create(node, tls);
        var headers = new Grpc.Core.Metadata { { "authorization", $"Bearer {token}" } };
        var admin = new AdminService.AdminServiceClient(channel);
        if (string.IsNullOrEmpty(change))
        {
            Console.WriteLine(Json.Format(await admin.GetMembershipAsync(new GetMembershipRequest(), headers, cancellationToken: ct).ConfigureAwait(false)));
            return 0;
        }
        var type = change switch
        {
            "add-learner" => MembershipChangeType.AddLearner,
            "promote" => MembershipChangeType.PromoteLearner,
            "remove" => MembershipChangeType.RemoveNode,
            _ => MembershipChangeType.Unspecified,
        };
        if (type == MembershipChangeType.Unspecified || nodeId == 0)
        {
            await Console.Error.WriteLineAsync("membership: --change must be add-learner, promote or remove, with --id <node id>").ConfigureAwait(false);
            return 2;
        }
        var response = await admin.ChangeMembershipAsync(new ChangeMembershipRequest { Change = type, NodeId = nodeId }, headers, cancellationToken: ct).ConfigureAwait(false);
        Console.WriteLine(Json.Format(response));
        return 0;
    }

    public static async Task<int> ShowTransactionAsync(string node, ClientTls tls, string id, CancellationToken ct)
    {
        using var client = Connect(node, tls);
        Console.WriteLine(Json.Format(await client.GetTransactionAsync(id, Api.V1.ReadConsistency.Local, ct).ConfigureAwait(false)));
        return 0;
    }

    public static async Task<int> ShowBlockAsync(string node, ClientTls tls, ulong height, CancellationToken ct)
    {
        using var client = Connect(node, tls);
        Console.WriteLine(Json.Format(await client.GetBlockAsync(height, ct).ConfigureAwait(false)));
        return 0;
    }

    public static async Task<int> ShowStatusAsync(string node, ClientTls tls, CancellationToken ct)
    {
        using var client = Connect(node, tls);
        Console.WriteLine(Json.Format(await client.GetStatusAsync(ct).ConfigureAwait(false)));
        return 0;
    }
}
