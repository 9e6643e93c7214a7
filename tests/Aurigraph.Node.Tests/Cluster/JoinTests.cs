using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Security;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>
/// Members without editing every file: new nodes that no configuration lists join through a follower with the join
/// token and their certificate, every member learns their addresses from the log, and a member restarted from its
/// data folder still knows them — while a client writes and nothing acknowledged is lost.
/// </summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class JoinTests
{
    private const string AdminToken = "join-tests-admin";
    private const string JoinToken = "join-tests-join";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Unlisted_nodes_join_through_a_follower_every_member_learns_them_from_the_log_and_a_restarted_member_still_knows_them()
    {
        // Validators 1-3 and business node 4 list only nodes 1-4; business node 5 and slim node 6 list only themselves.
        var members = new Dictionary<string, string> { ["AURIGRAPH__ADMINTOKEN"] = AdminToken, ["AURIGRAPH__JOINTOKEN"] = JoinToken };
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 2, slim: 1, environment: Enumerable.Range(1, 4).ToDictionary(id => (ulong)id, _ => members), unlisted: [5, 6]);
        var leader = await cluster.WaitForLeaderAsync(Deadline, among: [1, 2, 3]);
        var follower = new ulong[] { 1, 2, 3 }.First(id => id != leader);
        var seed = cluster.Nodes.First(n => n.Member.Id == follower).Member.ApiAddress;

        using var writes = new TransferWriter(cluster, through: 4, devKey: 2);
        await writes.WritesAsync(5, Deadline);

        // Refused joins change nothing: a wrong token, and a certificate that names another node than the record.
        var join = new JoinService.JoinServiceClient(cluster.Channel(follower));
        var certificates = Devnet.CertificateDirectory(cluster.Directory);
        var record5 = Aurigraph.Node.Api.Members.ToRecord(cluster.Nodes.First(n => n.Member.Id == 5).Member);
        var wrongToken = await Assert.ThrowsAsync<RpcException>(() => join.JoinAsync(
            new JoinRequest { Member = record5, CertificatePem = File.ReadAllText(Path.Combine(certificates, DevelopmentCertificates.NodeCertificateFile(5))) },
            new Metadata { { "authorization", "Bearer not-the-token" } }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, wrongToken.StatusCode);
        var otherNode = await Assert.ThrowsAsync<RpcException>(() => join.JoinAsync(
            new JoinRequest { Member = record5, CertificatePem = File.ReadAllText(Path.Combine(certificates, DevelopmentCertificates.NodeCertificateFile(6))) },
            new Metadata { { "authorization", $"Bearer {JoinToken}" } }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, otherNode.StatusCode);
        Assert.Contains("names node 6, not node 5", otherNode.Status.Detail, StringComparison.Ordinal);
        // Node 5's certificate is public: without its key's signature over the record, it proves nothing.
        var unsigned = await Assert.ThrowsAsync<RpcException>(() => join.JoinAsync(
            new JoinRequest { Member = record5, CertificatePem = File.ReadAllText(Path.Combine(certificates, DevelopmentCertificates.NodeCertificateFile(5))), Signature = Google.Protobuf.ByteString.CopyFrom(new byte[64]) },
            new Metadata { { "authorization", $"Bearer {JoinToken}" } }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, unsigned.StatusCode);
        Assert.Contains("not signed with the certificate's key", unsigned.Status.Detail, StringComparison.Ordinal);
        var before = await Admin(cluster, leader).GetMembershipAsync(new GetMembershipRequest(), Bearer());
        Assert.Equal([4UL], before.Learners.Order());

        // The new nodes ask the follower, which names the leader; the leader adds each as a learner.
        var joiner = new Dictionary<string, string> { ["AURIGRAPH__JOIN__SEEDS__0"] = seed, ["AURIGRAPH__JOIN__TOKEN"] = JoinToken };
        cluster.Start(5, joiner);
        cluster.Start(6, joiner);
        await writes.WritesAsync(10, Deadline);
        leader = await cluster.WaitForLeaderAsync(Deadline, among: [1, 2, 3]);
        var height = (await cluster.Status(leader).GetStatusAsync(new GetStatusRequest())).Height;
        foreach (var node in new ulong[] { 5, 6 })
        {
            await cluster.PollAsync(async () => (await cluster.TryStatusAsync(node))?.Height >= height ? "" : null, $"joined node {node} caught up", Deadline);
            Assert.Contains(cluster.LinesOf(node), l => l.Contains($"node {node}: joined through leader {leader}", StringComparison.Ordinal));
        }

        // Every member knows where they are from the log: each lists them with their roles, which no configuration gave.
        foreach (var node in new ulong[] { 1, 2, 3, 4 })
        {
            var membership = await Admin(cluster, node).GetMembershipAsync(new GetMembershipRequest(), Bearer());
            Assert.Equal([4UL, 5UL, 6UL], membership.Learners.Order());
            var peers = (await cluster.Status(node).GetStatusAsync(new GetStatusRequest())).Peers;
            Assert.Equal("business", peers.Single(p => p.Id == 5).Role);
            Assert.Equal("slim", peers.Single(p => p.Id == 6).Role);
        }

        // A follower restarted from its data folder (its configuration still lists only 1-4) keeps them: the book is in its database.
        var restarted = new ulong[] { 1, 2, 3 }.First(id => id != leader);
        await cluster.StopAsync(restarted);
        cluster.Start(restarted, members);
        await writes.WritesAsync(5, Deadline);

        // Scale in: the joined slim node leaves; every member closes its lanes to it and the writes go on without it.
        leader = await cluster.WaitForLeaderAsync(Deadline, among: [1, 2, 3]);
        var removed = await Admin(cluster, leader).ChangeMembershipAsync(new ChangeMembershipRequest { Change = MembershipChangeType.RemoveNode, NodeId = 6 }, Bearer(), DateTime.UtcNow.AddSeconds(20));
        Assert.DoesNotContain(6UL, removed.Learners);
        var removedAt = (await cluster.Status(leader).GetStatusAsync(new GetStatusRequest())).Height;
        await writes.WritesAsync(5, Deadline);
        var total = await writes.StopAsync();
        foreach (var node in new ulong[] { 1, 2, 3, 4 })
        {
            await cluster.PollAsync(async () => { await Task.Yield(); return cluster.LinesOf(node).Any(l => l.Contains($"node {node}: peer lanes closed to node 6", StringComparison.Ordinal)) ? "" : null; }, $"node {node} closing its lanes to node 6", Deadline);
        }
        var restartedPeers = (await cluster.PollAsync(() => cluster.TryStatusAsync(restarted), $"node {restarted} answering", Deadline)).Peers;
        Assert.Equal("business", restartedPeers.Single(p => p.Id == 5).Role);
        Assert.DoesNotContain(restartedPeers, p => p.Id == 6);
        Assert.Equal(4, restartedPeers.Count); // 1-5 without itself: node 6 is gone from its membership too

        var account = await cluster.Status(1).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexString(writes.Recipient.PublicKey), Consistency = Aurigraph.Node.Api.V1.ReadConsistency.Linearizable });
        Assert.Equal(total, account.Balance);
        foreach (var node in new ulong[] { 1, 2, 3, 4, 5 })
        {
            await cluster.PollAsync(async () => (await cluster.TryStatusAsync(node))?.Height >= account.Height ? "" : null, $"node {node} at height {account.Height}", Deadline);
        }
        var left = await cluster.TryStatusAsync(6);

        // The removed node cannot join again on its own, even with the token, its certificate and its key.
        var record6 = Aurigraph.Node.Api.Members.ToRecord(cluster.Nodes.First(n => n.Member.Id == 6).Member);
        using var key6 = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(
            Path.Combine(certificates, DevelopmentCertificates.NodeCertificateFile(6)), Path.Combine(certificates, DevelopmentCertificates.NodeKeyFile(6)));
        var rejoin = await Assert.ThrowsAsync<RpcException>(() => new JoinService.JoinServiceClient(cluster.Channel(leader)).JoinAsync(
            new JoinRequest
            {
                Member = record6,
                CertificatePem = key6.ExportCertificatePem(),
                Signature = Google.Protobuf.ByteString.CopyFrom(JoinSignature.Sign(key6, JoinSignature.Payload("aurigraph-devnet", Aurigraph.Node.Api.Members.FromRecord(record6)))),
            },
            new Metadata { { "authorization", $"Bearer {JoinToken}" } }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, rejoin.StatusCode);
        Assert.Contains("node 6 was removed", rejoin.Status.Detail, StringComparison.Ordinal);
        Assert.True(left is null || left.Height < account.Height, $"node 6 removed at height {removedAt} is at {left?.Height}, the cluster at {account.Height}");
        var roots = new HashSet<string>();
        foreach (var node in new ulong[] { 1, 2, 3, 4, 5 })
        {
            var block = await cluster.Blocks(node).GetBlockAsync(new GetBlockRequest { Height = account.Height });
            roots.Add(Convert.ToHexString(block.Header.StateRoot.Span));
        }
        Assert.Single(roots);
    }

    private static Metadata Bearer() => new() { { "authorization", $"Bearer {AdminToken}" } };

    private static AdminService.AdminServiceClient Admin(LocalCluster cluster, ulong id) => new(cluster.Channel(id));
}
