using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Security;
using Aurigraph.Node.Tests.Transport;
using Aurigraph.Node.Transactions;
using Aurigraph.Node.Transport;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>
/// The node processes end to end with security on: peers on mutual TLS refuse a client that only claims to be a
/// member, the HTTPS API serves gRPC and REST on one port, and admin calls may require a client certificate.
/// </summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed partial class SecureClusterTests
{
    private const string Chain = "aurigraph-devnet";
    private const string Token = "tls-admin-token";

    [Fact]
    public async Task Peer_port_refuses_a_client_that_only_claims_to_be_a_member_and_the_https_api_serves_grpc_rest_and_admin()
    {
        var environment = Enumerable.Range(1, 3).ToDictionary(
            i => (ulong)i,
            _ => new Dictionary<string, string>
            {
                ["AURIGRAPH__ADMINTOKEN"] = Token,
                ["AURIGRAPH__API__REQUIREADMINCLIENTCERTIFICATE"] = "true",
            });
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: environment, apiTls: true);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var victim = cluster.Ids.First(id => id != leader);
        var claimed = cluster.Ids.First(id => id != victim);
        var victimMember = cluster.Nodes.First(n => n.Member.Id == victim).Member;
        using var rest = new HttpClient(ClientChannels.CreateHandler(cluster.ClientTls)) { BaseAddress = new Uri(victimMember.RestAddress), Timeout = TimeSpan.FromSeconds(5) };

        // The finding: a TCP client sends a handshake claiming to be a member, then a frame. The node must close the
        // connection without answering with a handshake (it expects TLS and a member's certificate).
        await using (var raw = await RawPeer.ConnectAsync(IPEndPoint.Parse(victimMember.PeerAddress)))
        {
            await raw.SendAsync([.. TransportTestKit.HandshakeFrame(Chain, claimed), .. TransportTestKit.RaftFrame(TransportTestKit.Heartbeat(claimed, victim, context: 666))]);
            await raw.WaitForCloseAsync();
        }
        await cluster.PollAsync(async () => await RefusedAsync(rest) >= 1 ? "refused" : null, "the refusal counted in /metrics", TimeSpan.FromSeconds(15));

        // The cluster keeps committing, over TLS between peers, through the HTTPS gRPC API.
        using var alice = cluster.DevKey(1);
        using var bob = TransactionSigner.Generate();
        var request = new SubmitTransactionsRequest();
        request.Transactions.Add(alice.Transfer(Chain, 0, bob.PublicKey, 25));
        var result = Assert.Single((await cluster.Transactions(victim).SubmitTransactionsAsync(request, deadline: DateTime.UtcNow.AddSeconds(20))).Results);
        Assert.Equal(TransactionState.Committed, result.State);

        // REST on the same HTTPS port as gRPC (ALPN picks HTTP/1.1 for it).
        Assert.Equal(victimMember.ApiAddress, victimMember.RestAddress);
        using var health = await rest.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(new Version(1, 1), health.Version);

        // Admin: the token alone is not enough; with the cluster's client certificate the call goes through.
        var bearer = new Metadata { { "authorization", $"Bearer {Token}" } };
        var withoutCertificate = await Assert.ThrowsAsync<RpcException>(() => new AdminService.AdminServiceClient(cluster.Channel(victim)).GetMembershipAsync(new GetMembershipRequest(), bearer).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, withoutCertificate.StatusCode);
        Assert.Contains("client certificate", withoutCertificate.Status.Detail, StringComparison.Ordinal);
        var certificates = Devnet.CertificateDirectory(cluster.Directory);
        var adminTls = cluster.ClientTls with
        {
            CertificateFile = Path.Combine(certificates, DevelopmentCertificates.ClientCertificateFile),
            KeyFile = Path.Combine(certificates, DevelopmentCertificates.ClientKeyFile),
        };
        using var adminChannel = ClientChannels.Create(victimMember.ApiAddress, adminTls);
        var membership = await new AdminService.AdminServiceClient(adminChannel).GetMembershipAsync(new GetMembershipRequest(), bearer);
        Assert.Equal(3, membership.Voters.Count);
    }

    private static async Task<long> RefusedAsync(HttpClient rest)
    {
        var text = await rest.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        return RefusedCounter().Matches(text).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^aurigraph_transport_connections_refused_total(?:\{[^}]*\})? (\d+)", RegexOptions.Multiline)]
    private static partial Regex RefusedCounter();
}
