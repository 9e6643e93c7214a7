using System.CommandLine;
using Aurigraph.Node.Security;

namespace Aurigraph.Node.Hosting;

/// <summary>The executable's commands: run a node, run a local devnet, and the client commands.</summary>
internal static class NodeProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        NativeMemory.LimitArenas(2);
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        var nodeUrl = new Option<string>("--node") { Description = "A node's gRPC address (http:// or https://).", DefaultValueFactory = _ => "http://127.0.0.1:7201" };
        var caFile = new Option<string?>("--ca") { Description = "For an https node: the CA certificate (PEM) to trust for it instead of the system store, e.g. devnet/certs/ca.pem (or set AURIGRAPH_CA_FILE)." };
        var clientCert = new Option<string?>("--client-cert") { Description = "Client certificate (PEM) for admin calls to a node that requires one, e.g. devnet/certs/client.pem." };
        var clientKey = new Option<string?>("--client-key") { Description = "The client certificate's private key (PEM), e.g. devnet/certs/client.key." };
        ClientTls Tls(ParseResult parse) => new(
            parse.GetValue(caFile) ?? Environment.GetEnvironmentVariable("AURIGRAPH_CA_FILE"),
            parse.GetValue(clientCert),
            parse.GetValue(clientKey));

        var config = new Option<string?>("--config") { Description = "A JSON configuration file (the 'Aurigraph' section); environment variables (AURIGRAPH__...) and --Aurigraph:Key=value arguments override it." };
        var run = new Command("run", "Run one node.") { config };
        run.TreatUnmatchedTokensAsErrors = false;
        run.SetAction((parse, ct) => NodeServer.RunAsync(parse.GetValue(config), [.. parse.UnmatchedTokens], ct));

        var dir = new Option<string>("--dir") { Description = "Folder for genesis, keys and each node's data.", DefaultValueFactory = _ => "devnet" };
        var validators = new Option<int>("--validators") { DefaultValueFactory = _ => 3 };
        var business = new Option<int>("--business") { DefaultValueFactory = _ => 1 };
        var slim = new Option<int>("--slim") { DefaultValueFactory = _ => 1 };
        var basePort = new Option<int>("--base-port") { Description = "Peer ports are base+id, gRPC ports base+100+id, REST ports base+200+id.", DefaultValueFactory = _ => 7100 };
        var apiTls = new Option<bool>("--api-tls") { Description = "Serve the client API over HTTPS (node certificates; gRPC and REST on one port per node); clients pass --ca <dir>/certs/ca.pem." };
        var clouds = new Option<string[]>("--clouds") { Description = "Spread each role's members over these locations (cloud:region, round-robin, zones a/b/c); 'programme' = aws:us-east-1 azure:eastus gcp:us-central1.", AllowMultipleArgumentsPerToken = true };
        var wan = new Option<bool>("--wan") { Description = "Emulate the latency between the --clouds locations on loopback (Aurigraph:Transport:Wan)." };
        var topology = new Option<string?>("--topology") { Description = "'programme': the programme's end state, 4 validators, 6 business and 12 slim nodes in each of AWS us-east-1, Azure eastus and GCP us-central1 (66 processes, WAN emulation, 250 ms ticks, 5 s election timeout); replaces the role counts and --clouds." };
        var prepare = new Option<bool>("--prepare") { Description = "Only write the genesis, keys, certificates and node configurations, print them, and exit without starting a node." };
        var restart = new Option<bool>("--restart") { Description = "Start a node that exits again (after 1 s, doubling up to 30 s while it keeps exiting within a minute); without it the devnet reports the exit and runs on." };
        var devnet = new Command("devnet", "Start a local cluster on 127.0.0.1 (3 validators, 1 business, 1 slim by default) as separate processes, peers on mutual TLS.") { dir, validators, business, slim, basePort, apiTls, clouds, wan, topology, prepare, restart };
        devnet.SetAction((parse, _) =>
        {
            if (parse.GetValue(topology) is { } named)
            {
                if (named != "programme")
                {
                    Console.Error.WriteLine($"devnet: unknown --topology '{named}' (known: programme)");
                    return Task.FromResult(ExitCodes.BadConfiguration);
                }
                var programme = Devnet.Programme(parse.GetValue(dir)!, parse.GetValue(basePort), parse.GetValue(apiTls));
                return parse.GetValue(prepare) ? Task.FromResult(Devnet.PrepareOnly(programme)) : Devnet.RunAsync(programme, cts.Token, parse.GetValue(restart));
            }
            var locations = parse.GetValue(clouds) is { Length: > 0 } given ? (given is ["programme"] ? Devnet.ProgrammeClouds : [.. given.SelectMany(c => c.Split(',', StringSplitOptions.RemoveEmptyEntries))]) : null;
            var layout = new Devnet.Layout(parse.GetValue(dir)!, parse.GetValue(validators), parse.GetValue(business), parse.GetValue(slim), parse.GetValue(basePort), parse.GetValue(apiTls), locations, parse.GetValue(wan));
            return parse.GetValue(prepare) ? Task.FromResult(Devnet.PrepareOnly(layout)) : Devnet.RunAsync(layout, cts.Token, parse.GetValue(restart));
        });

        var certsDir = new Option<string>("--dir") { Description = "Folder for the PEM files.", DefaultValueFactory = _ => "certs" };
        var chainId = new Option<string>("--chain-id") { Description = "The chain the node certificates are for (Aurigraph:ChainId).", DefaultValueFactory = _ => "aurigraph-devnet" };
        var nodeIds = new Option<ulong[]>("--nodes") { Description = "Node ids to issue certificates for, e.g. --nodes 1 2 3.", Required = true, AllowMultipleArgumentsPerToken = true };
        var hosts = new Option<string[]>("--host") { Description = "IP address or DNS name to put in every node certificate for HTTPS API clients (repeatable; loopback is always in).", AllowMultipleArgumentsPerToken = true };
        var days = new Option<int>("--days") { Description = "Validity in days.", DefaultValueFactory = _ => 365 };
        var force = new Option<bool>("--force") { Description = "Replace existing files, the CA included (every node then needs its new certificate)." };
        var certs = new Command("certs", "Create a development cluster CA and node certificates (ca.pem, node-<id>.pem/.key, client.pem/.key); existing files are kept.") { certsDir, chainId, nodeIds, hosts, days, force };
        certs.SetAction(parse => CertificateCommand.Run(parse.GetValue(certsDir)!, parse.GetValue(chainId)!, parse.GetValue(nodeIds)!, parse.GetValue(hosts) ?? [], parse.GetValue(days), parse.GetValue(force)));

        var outFile = new Option<string?>("--out") { Description = "Write the private key (hex seed) to this file." };
        var keygen = new Command("keygen", "Generate an Ed25519 key pair.") { outFile };
        keygen.SetAction(parse => ClientCommands.KeyGen(parse.GetValue(outFile)));

        var keyFile = new Option<string>("--key") { Description = "File holding the sender's private key (hex seed).", Required = true };
        var to = new Option<string>("--to") { Description = "Recipient account (hex public key).", Required = true };
        var amount = new Option<ulong>("--amount") { Required = true };
        var nonce = new Option<ulong?>("--nonce") { Description = "Sender nonce; found from the chain when omitted." };
        var nodeUrls = new Option<string[]>("--node") { Description = "A node's gRPC address (http:// or https://); repeat it to fail over along several, in order.", DefaultValueFactory = _ => ["http://127.0.0.1:7201"] };
        var transfer = new Command("transfer", "Sign and submit a transfer, and wait for its commit (retrying the same signed transaction, failing over along the --node list).") { nodeUrls, caFile, clientCert, clientKey, keyFile, to, amount, nonce };
        transfer.SetAction(Client((parse, ct) => ClientCommands.TransferAsync(parse.GetValue(nodeUrls)!, Tls(parse), parse.GetValue(keyFile)!, parse.GetValue(to)!, parse.GetValue(amount), parse.GetValue(nonce), ct)));

        var txId = new Argument<string>("tx-id");
        var tx = new Command("tx", "Show a transaction by id.") { nodeUrl, caFile, clientCert, clientKey, txId };
        tx.SetAction(Client((parse, ct) => ClientCommands.ShowTransactionAsync(parse.GetValue(nodeUrl)!, Tls(parse), parse.GetValue(txId)!, ct)));

        var height = new Argument<ulong>("height");
        var block = new Command("block", "Show a block by height.") { nodeUrl, caFile, clientCert, clientKey, height };
        block.SetAction(Client((parse, ct) => ClientCommands.ShowBlockAsync(parse.GetValue(nodeUrl)!, Tls(parse), parse.GetValue(height), ct)));

        var status = new Command("status", "Show a node's status.") { nodeUrl, caFile, clientCert, clientKey };
        status.SetAction(Client((parse, ct) => ClientCommands.ShowStatusAsync(parse.GetValue(nodeUrl)!, Tls(parse), ct)));

        var accountId = new Argument<string>("account") { Description = "Account (hex public key)." };
        var account = new Command("account", "Show an account's balance and next nonce (linearizable read).") { nodeUrl, caFile, clientCert, clientKey, accountId };
        account.SetAction(Client((parse, ct) => ClientCommands.ShowAccountAsync(parse.GetValue(nodeUrl)!, Tls(parse), parse.GetValue(accountId)!, ct)));

        var token = new Option<string>("--token") { Description = "The admin token (or set AURIGRAPH_ADMIN_TOKEN)." };
        var target = new Option<ulong>("--to") { Description = "Voter to hand leadership to; the most caught-up one when omitted." };
        var transferLeadership = new Command("transfer-leadership", "Hand leadership to another voter (admin; send it to the leader).") { nodeUrl, caFile, clientCert, clientKey, token, target };
        transferLeadership.SetAction(Client((parse, ct) => ClientCommands.TransferLeadershipAsync(
            parse.GetValue(nodeUrl)!, Tls(parse), parse.GetValue(token) ?? Environment.GetEnvironmentVariable("AURIGRAPH_ADMIN_TOKEN") ?? "", parse.GetValue(target), ct)));

        var change = new Option<string?>("--change") { Description = "add-learner, promote or remove; omit to show the membership." };
        var memberId = new Option<ulong>("--id") { Description = "The node the change is about." };
        var membership = new Command("membership", "Show or change the cluster's membership, one node at a time (admin; send changes to the leader).") { nodeUrl, caFile, clientCert, clientKey, token, change, memberId };
        membership.SetAction(Client((parse, ct) => ClientCommands.MembershipAsync(
            parse.GetValue(nodeUrl)!, Tls(parse), parse.GetValue(token) ?? Environment.GetEnvironmentVariable("AURIGRAPH_ADMIN_TOKEN") ?? "", parse.GetValue(change), parse.GetValue(memberId), ct)));

        var restUrl = new Option<string>("--rest") { Description = "The leader's REST address (http:// or https://), where its /metrics is.", DefaultValueFactory = _ => "http://127.0.0.1:7301" };
        var timeouts = new Command("timeouts", "Read the round trips the leader measured to its peers and print the heartbeat and election settings they call for (etcd's tuning rule).") { restUrl, caFile };
        timeouts.SetAction(Client((parse, ct) => TimeoutsCommand.RunAsync(parse.GetValue(restUrl)!, Tls(parse), ct)));

        // A client command that cannot reach its node, or gets an error status, says so in one line (exit 1).
        static Func<ParseResult, CancellationToken, Task<int>> Client(Func<ParseResult, CancellationToken, Task<int>> call) =>
            async (parse, ct) =>
            {
                try
                {
                    return await call(parse, ct).ConfigureAwait(false);
                }
                catch (AurigraphException ex)
                {
                    await Console.Error.WriteLineAsync($"error: {ex.Code}: {ex.Reason}").ConfigureAwait(false);
                    return 1;
                }
                catch (Grpc.Core.RpcException ex)
                {
                    await Console.Error.WriteLineAsync($"error: {ex.StatusCode}: {ex.Status.Detail}").ConfigureAwait(false);
                    return 1;
                }
                catch (Exception ex) when (ex is HttpRequestException or System.Security.Authentication.AuthenticationException or IOException or UriFormatException or InvalidDataException or FormatException)
                {
                    await Console.Error.WriteLineAsync($"error: {ex.Message}{(ex.InnerException is { } inner ? " (" + inner.Message + ")" : "")}").ConfigureAwait(false);
                    return 1;
                }
            };

        var root = new RootCommand("Aurigraph node: a HyperRAFT++ consensus node with carbon metering.") { run, devnet, certs, keygen, transfer, tx, block, status, account, transferLeadership, membership, timeouts };
        return await root.Parse(args).InvokeAsync(cancellationToken: cts.Token).ConfigureAwait(false);
    }
}
