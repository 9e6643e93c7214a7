using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Aurigraph.Consensus;
using Aurigraph.Node.Security;
using Aurigraph.Node.Transport;
using Microsoft.Extensions.Logging;
using static Aurigraph.Node.Tests.Transport.TransportTestKit;

namespace Aurigraph.Node.Tests.Transport;

/// <summary>
/// Mutual TLS on the peer transport: only a connection whose certificate, issued by the cluster CA, proves node N may
/// deliver frames as node N or replace node N's connection.
/// </summary>
public sealed class PeerTlsTests : IDisposable
{
    private readonly TlsTestKit _tls = new(1, 2, 3);

    public void Dispose() => _tls.Dispose();

    [Fact]
    public async Task Members_with_certificates_of_the_cluster_ca_exchange_messages()
    {
        var members = Members(FreePorts(2));
        await using var a = await _tls.StartAsync(1, members, FastOptions());
        await using var b = await _tls.StartAsync(2, members, FastOptions());

        a.Send(Heartbeat(1, 2, context: 11));
        Assert.Equal(11UL, (await b.NextRaftAsync()).Context);
        b.SendApplication(1, 3, new byte[100_000]);
        var application = await a.NextAsync();
        Assert.Equal(2UL, application.From);
        Assert.Equal(100_000, application.Payload.Length);
        Assert.Equal(0, a.RefusedConnections);
        Assert.Equal(0, b.RefusedConnections);
    }

    [Fact]
    public async Task A_node_not_yet_a_peer_that_proves_its_id_is_taken_at_the_address_it_announces_when_the_host_admits_it()
    {
        var ports = FreePorts(3);
        var all = Members(ports);
        // Node 1 knows only node 2; node 3 (a member node 1 has not learned of yet) knows node 1.
        var admitted = new List<(ulong Id, IPEndPoint At)>();
        var refuse3 = false;
        var options = FastOptions(o => o.AdmitUnlisted = (id, at) =>
        {
            lock (admitted)
            {
                admitted.Add((id, at));
            }
            return !refuse3;
        });
        var logA = new TestLogger();
        await using var a = new PeerTransport(1, all[1], new Dictionary<ulong, IPEndPoint> { [1] = all[1], [2] = all[2] }, options, logA, _tls.Factory(1));
        await a.StartAsync(CancellationToken.None);
        await using var c = await _tls.StartAsync(3, new Dictionary<ulong, IPEndPoint> { [1] = all[1], [3] = all[3] }, FastOptions());

        c.Send(Heartbeat(3, 1, context: 5));
        Assert.Equal(5UL, (await a.NextRaftAsync()).Context);
        Assert.Contains(3UL, a.Peers);
        int asked;
        lock (admitted)
        {
            // Asked before it is added and again once it is a peer (a refusal meanwhile would take it out again).
            Assert.NotEmpty(admitted);
            Assert.All(admitted, a => Assert.Equal((3UL, all[3]), a));
            asked = admitted.Count;
        }
        // It can be answered: the lanes to it dial the announced address.
        a.Send(Heartbeat(1, 3, context: 6));
        Assert.Equal(6UL, (await c.NextRaftAsync()).Context);

        // Removed, and no longer admitted: its redials deliver nothing.
        refuse3 = true;
        Assert.True(a.RemovePeer(3));
        var deadline = DateTime.UtcNow + Deadline;
        while (!logA.Contains(LogLevel.Warning, "node 3 is not a configured peer"))
        {
            Assert.True(DateTime.UtcNow < deadline, "node 3's redial was not refused in time");
            c.Send(Heartbeat(3, 1, context: 7));
            await Task.Delay(50); // node 3 keeps sending; each redial it makes must be refused
        }
        Assert.DoesNotContain(3UL, a.Peers);
        lock (admitted)
        {
            Assert.True(admitted.Count > asked, "the host was asked again, and said no");
        }
    }

    /// <summary>No certificate, one from another CA, or node 3's certificate while claiming member 1.</summary>
    [Theory]
    [InlineData("none", "presented no certificate")]
    [InlineData("foreign", "not trusted")]
    [InlineData("node-3", "certificate proves node 3")]
    public async Task Peer_that_does_not_prove_the_id_it_claims_delivers_nothing_and_displaces_no_member(string certificate, string reason)
    {
        var members = Members(FreePorts(3));
        var logA = new TestLogger();
        var logB = new TestLogger();
        await using var a = await _tls.StartAsync(1, members, FastOptions(), logA);
        await using var b = await _tls.StartAsync(2, members, FastOptions(), logB);
        // The real member 1 is connected to 2 on both lanes.
        a.Send(Heartbeat(1, 2, context: 1));
        Assert.Equal(1UL, (await b.NextRaftAsync()).Context);
        a.SendApplication(2, 1, new byte[16]);
        Assert.Equal(1UL, (await b.NextAsync()).From);

        using var presented = certificate switch
        {
            "none" => null,
            "foreign" => ForeignCertificate(1),
            _ => _tls.NodeCertificate(3),
        };
        // The attack: claim member 1 on both lanes and forward a message as member 1.
        foreach (var lane in new[] { TransportLane.Control, TransportLane.Bulk })
        {
            await AttackAsync(members[2], presented, [.. HandshakeFrame("test-cluster", 1, lane), .. RaftFrame(Heartbeat(1, 2, context: 666))]);
        }

        await PollAsync(() => b.RefusedConnections >= 2, "both attempts refused");
        Assert.True(logB.Contains(LogLevel.Warning, reason), string.Join("\n", logB.Entries));
        // Member 1's connections still carry its messages, and nothing of the attacker's arrived before them.
        a.Send(Heartbeat(1, 2, context: 2));
        a.SendApplication(2, 2, new byte[16]);
        var seen = new List<PeerInput> { await b.NextAsync(), await b.NextAsync() };
        Assert.DoesNotContain(seen, input => input.Raft?.Context == 666);
        Assert.Contains(seen, input => input.Raft?.Context == 2);
        Assert.Contains(seen, input => input.Raft is null && input.Channel == 2);
        Assert.False(logA.Contains(LogLevel.Information, "Lost the"), string.Join("\n", logA.Entries));
        Assert.False(b.Incoming.TryPeek(out _));
    }

    [Fact]
    public async Task Connector_refuses_an_acceptor_whose_certificate_names_another_node()
    {
        var members = Members(FreePorts(2));
        var logA = new TestLogger();
        await using var a = await _tls.StartAsync(1, members, FastOptions(), logA);
        // Something listens on node 2's address with node 3's (valid) certificate.
        await using var impostor = await _tls.StartAsync(2, members, FastOptions(), certificateOf: 3);

        a.Send(Heartbeat(1, 2, context: 9));
        // Node 1 also refuses the impostor's own connections to it (their handshake claims node 2), so the refusal
        // counter alone does not show the connecting side's check: wait for that check's reason.
        await PollAsync(() => logA.Contains(LogLevel.Warning, "names node 3, not node 2"), "node 1 refusing the impostor it dialled");
        Assert.True(a.RefusedConnections >= 1);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await impostor.Incoming.ReadAsync(cts.Token));
    }

    [Fact]
    public async Task Connections_that_never_authenticate_hold_a_bounded_number_of_handshake_slots()
    {
        var members = Members(FreePorts(2));
        var options = FastOptions(o =>
        {
            o.MaxPendingHandshakesPerAddress = 2;
            o.HandshakeTimeout = TimeSpan.FromSeconds(2);
        });
        await using var b = await _tls.StartAsync(2, members, options);

        // Two silent connections take this address's slots; a third is closed at once, without waiting for a timeout.
        await using var first = await RawPeer.ConnectAsync(members[2]);
        await using var second = await RawPeer.ConnectAsync(members[2]);
        await using (var third = await RawPeer.ConnectAsync(members[2]))
        {
            Assert.Equal(0, await third.WaitForCloseAsync());
        }
        Assert.Equal(1, b.RefusedConnections);

        // The slots come back when the handshake timeout closes the silent ones; then a member connects.
        Assert.Equal(0, await first.WaitForCloseAsync());
        Assert.Equal(0, await second.WaitForCloseAsync());
        // A TLS handshake that fails closes its socket just before the slot is released: wait for the release, or the
        // member's first dial (from the same address) could still be refused and its one heartbeat dropped with it.
        await PollAsync(() => b.PendingHandshakes == 0, "the silent connections' slots released");
        await using var a = await _tls.StartAsync(1, members, options);
        a.Send(Heartbeat(1, 2, context: 4));
        Assert.Equal(4UL, (await b.NextRaftAsync()).Context);
    }

    [Fact]
    public async Task Rotated_certificate_files_are_used_by_new_connections_without_a_restart()
    {
        var members = Members(FreePorts(2));
        await using var a = await _tls.StartAsync(1, members, FastOptions());
        await using var b = await _tls.StartAsync(2, members, FastOptions());
        a.Send(Heartbeat(1, 2, context: 1));
        Assert.Equal(1UL, (await b.NextRaftAsync()).Context);

        using var client = _tls.NodeCertificate(1);
        var before = await ServerThumbprintAsync(members[2], client);
        using var original = _tls.NodeCertificate(2);
        Assert.Equal(original.Thumbprint, before);

        // Issue node 2 a new certificate from the same CA and replace its files in place.
        var files = _tls.Files(2);
        using (var ca = X509Certificate2.CreateFromPemFile(_tls.CaFile, Path.Combine(_tls.Directory, DevelopmentCertificates.CaKeyFile)))
        using (var renewed = DevelopmentCertificates.IssueNode(ca, TlsTestKit.ChainId, 2, [], TimeSpan.FromDays(2)))
        {
            DevelopmentCertificates.WritePem(renewed, files.CertificateFile, files.KeyFile);
            var after = await ServerThumbprintAsync(members[2], client);
            Assert.Equal(renewed.Thumbprint, after);
            Assert.NotEqual(before, after);
        }

        // Established connections carry on; a member's new connections (after a restart of node 1) succeed with it.
        a.Send(Heartbeat(1, 2, context: 2));
        Assert.Equal(2UL, (await b.NextRaftAsync()).Context);
        await a.DisposeAsync();
        await using var restarted = await _tls.StartAsync(1, members, FastOptions());
        restarted.Send(Heartbeat(1, 2, context: 3));
        Assert.Equal(3UL, (await b.NextRaftAsync()).Context);
        Assert.Equal(0, b.RefusedConnections);
    }

    [Fact]
    public void Reload_of_a_broken_file_keeps_the_previous_certificate()
    {
        var logger = new TestLogger();
        var credentials = new ReloadingCredentials(_tls.Files(1), TlsTestKit.ChainId, 1, logger, TimeSpan.Zero);
        var before = credentials.Current.Certificate.Thumbprint;
        File.WriteAllText(_tls.Files(1).CertificateFile, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
        File.SetLastWriteTimeUtc(_tls.Files(1).CertificateFile, DateTime.UtcNow.AddMinutes(1));

        Assert.Equal(before, credentials.Current.Certificate.Thumbprint);
        Assert.Equal(0, credentials.Reloads);
        Assert.True(logger.Contains(LogLevel.Warning, "keeping the previous certificate"), string.Join("\n", logger.Entries));
    }

    [Fact]
    public void Certificate_must_name_this_node_of_this_chain()
    {
        var wrongNode = Assert.Throws<InvalidDataException>(() => NodeCredentials.Load(_tls.Files(1), TlsTestKit.ChainId, 2));
        Assert.Contains("names node 1, but this is node 2", wrongNode.Message, StringComparison.Ordinal);
        var wrongChain = Assert.Throws<InvalidDataException>(() => NodeCredentials.Load(_tls.Files(1), "other-chain", 1));
        Assert.Contains("names no node of chain 'other-chain'", wrongChain.Message, StringComparison.Ordinal);

        using var node = _tls.NodeCertificate(3);
        Assert.True(PeerIdentity.TryGetNodeId(node, TlsTestKit.ChainId, out var id, out _));
        Assert.Equal(3UL, id);
        Assert.Contains("CN=aurigraph-node-3", node.Subject, StringComparison.Ordinal);
    }

    /// <summary>A node certificate for <paramref name="nodeId"/> from a CA the cluster does not trust.</summary>
    private static X509Certificate2 ForeignCertificate(ulong nodeId)
    {
        using var ca = DevelopmentCertificates.CreateAuthority(TlsTestKit.ChainId, TimeSpan.FromDays(1));
        return DevelopmentCertificates.IssueNode(ca, TlsTestKit.ChainId, nodeId, [], TimeSpan.FromDays(1));
    }

    /// <summary>Connects with <paramref name="certificate"/> and sends <paramref name="bytes"/>; waits until the node closes the connection.</summary>
    private static async Task AttackAsync(IPEndPoint endPoint, X509Certificate2? certificate, byte[] bytes)
    {
        RawTlsPeer peer;
        try
        {
            peer = await RawTlsPeer.ConnectAsync(endPoint, certificate);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            return; // refused during the TLS handshake itself
        }
        await using (peer)
        {
            await peer.TrySendAsync(bytes);
            Assert.Equal(0, await peer.WaitForCloseAsync());
        }
    }

    private static async Task<string> ServerThumbprintAsync(IPEndPoint endPoint, X509Certificate2 client)
    {
        await using var peer = await RawTlsPeer.ConnectAsync(endPoint, client);
        var presented = peer.ServerCertificate ?? throw new InvalidOperationException("no server certificate");
        using var certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        return certificate.Thumbprint;
    }

    private static async Task PollAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"{what}: not within {Deadline}");
            }
            await Task.Delay(10); // polling interval against the deadline above, not synchronisation
        }
    }
}
