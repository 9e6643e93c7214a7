using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Security;
using Aurigraph.Node.Transactions;
using Google.Protobuf;
using Grpc.Net.Client;

namespace Aurigraph.Node.Hosting;

/// <summary>The command-line client for people: keys, transfers, and looking at transactions, blocks and status.</summary>
internal static class ClientCommands
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation().WithFormatDefaultValues(true));

    public static int KeyGen(string? outFile)
    {
        using var signer = TransactionSigner.Generate();
        var seed = Convert.ToHexStringLower(signer.ExportSeed());
        if (outFile is not null)
        {
            File.WriteAllText(outFile, seed);
            Console.WriteLine($"private key written to {outFile}");
        }
        else
        {
            Console.WriteLine($"private key: {seed}");
        }
        Console.WriteLine($"public key (account id): {Convert.ToHexStringLower(signer.PublicKey)}");
        return 0;
    }

    public static async Task<int> TransferAsync(string node, ClientTls tls, string keyFile, string to, ulong amount, ulong? nonce, CancellationToken ct)
    {
        using var signer = TransactionSigner.FromSeed(Convert.FromHexString(File.ReadAllText(keyFile).Trim()));
        using var channel = ClientChannels.Create(node, tls);
        var status = await new NodeService.NodeServiceClient(channel).GetStatusAsync(new GetStatusRequest(), cancellationToken: ct).ConfigureAwait(false);
        var recipient = Convert.FromHexString(to);
        var tx = signer.Transfer(status.ChainId, nonce ?? await NextNonceAsync(channel, signer.PublicKey, ct).ConfigureAwait(false), recipient, amount);
        var request = new SubmitTransactionsRequest();
        request.Transactions.Add(tx);
        var response = await new TransactionService.TransactionServiceClient(channel).SubmitTransactionsAsync(request, cancellationToken: ct).ConfigureAwait(false);
        Console.WriteLine(Json.Format(response.Results[0]));
        return response.Results[0].State == TransactionState.Committed && response.Results[0].Receipt.Success ? 0 : 1;
    }

    /// <summary>The sender's next nonce, from a linearizable read of its account.</summary>
    private static async Task<ulong> NextNonceAsync(GrpcChannel channel, byte[] sender, CancellationToken ct)
    {
        var request = new GetAccountRequest { Account = Convert.ToHexStringLower(sender), Consistency = Api.V1.ReadConsistency.Linearizable };
        return (await new NodeService.NodeServiceClient(channel).GetAccountAsync(request, cancellationToken: ct).ConfigureAwait(false)).Nonce;
    }

    public static async Task<int> ShowAccountAsync(string node, ClientTls tls, string account, CancellationToken ct)
    {
        using var channel = ClientChannels.Create(node, tls);
        var request = new GetAccountRequest { Account = account, Consistency = Api.V1.ReadConsistency.Linearizable };
        Console.WriteLine(Json.Format(await new NodeService.NodeServiceClient(channel).GetAccountAsync(request, cancellationToken: ct).ConfigureAwait(false)));
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
        using var channel = ClientChannels.Create(node, tls);
        var result = await new TransactionService.TransactionServiceClient(channel).GetTransactionAsync(new GetTransactionRequest { TxId = id }, cancellationToken: ct).ConfigureAwait(false);
        Console.WriteLine(Json.Format(result));
        return 0;
    }

    public static async Task<int> ShowBlockAsync(string node, ClientTls tls, ulong height, CancellationToken ct)
    {
        using var channel = ClientChannels.Create(node, tls);
        var block = await new BlockService.BlockServiceClient(channel).GetBlockAsync(new GetBlockRequest { Height = height }, cancellationToken: ct).ConfigureAwait(false);
        Console.WriteLine(Json.Format(block));
        return 0;
    }

    public static async Task<int> ShowStatusAsync(string node, ClientTls tls, CancellationToken ct)
    {
        using var channel = ClientChannels.Create(node, tls);
        var status = await new NodeService.NodeServiceClient(channel).GetStatusAsync(new GetStatusRequest(), cancellationToken: ct).ConfigureAwait(false);
        Console.WriteLine(Json.Format(status));
        return 0;
    }
}
