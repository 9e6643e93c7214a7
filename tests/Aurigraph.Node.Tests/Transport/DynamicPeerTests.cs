using System.Net;
using Aurigraph.Node.Transport;
using Microsoft.Extensions.Logging;
using static Aurigraph.Node.Tests.Transport.TransportTestKit;

namespace Aurigraph.Node.Tests.Transport;

/// <summary>Peers added and removed while the transport runs (members joining and leaving).</summary>
public sealed class DynamicPeerTests
{
    [Fact]
    public async Task A_peer_added_at_runtime_is_dialed_and_accepted_and_one_removed_is_closed_and_refused()
    {
        var ports = FreePorts(2);
        var one = new Dictionary<ulong, IPEndPoint> { [1] = new(IPAddress.Loopback, ports[0]) };
        var two = new Dictionary<ulong, IPEndPoint> { [2] = new(IPAddress.Loopback, ports[1]) };
        var logA = new TestLogger();
        var logB = new TestLogger();
        await using var a = await StartAsync(1, one, FastOptions(), logA);
        await using var b = await StartAsync(2, two, FastOptions(), logB);
        Assert.Empty(a.Peers);

        // Neither knows the other: a frame to an unknown peer goes nowhere.
        a.Send(Heartbeat(1, 2, context: 1));
        Assert.True(logA.Contains(LogLevel.Warning, "2"), "the unknown destination is logged");

        Assert.True(a.AddPeer(2, two[2]));
        Assert.False(a.AddPeer(2, two[2]));   // once
        Assert.False(a.AddPeer(1, one[1]));   // never itself
        Assert.True(b.AddPeer(1, one[1]));
        Assert.Equal([2UL], a.Peers);

        a.Send(Heartbeat(1, 2, context: 2));
        Assert.Equal(2UL, (await b.NextRaftAsync()).Context);
        b.Send(Heartbeat(2, 1, context: 3));
        Assert.Equal(3UL, (await a.NextRaftAsync()).Context);

        // B removes A: A's connection into B is closed, and A's redials are refused at the handshake.
        Assert.True(b.RemovePeer(1));
        Assert.False(b.RemovePeer(1));
        using (var cts = new CancellationTokenSource(Deadline))
        {
            while (!logB.Contains(LogLevel.Warning, "node 1 is not a configured peer"))
            {
                a.Send(Heartbeat(1, 2, context: 4));
                await Task.Delay(50, cts.Token); // A keeps sending; each redial it makes must be refused
            }
        }
        Assert.Empty(b.Peers);
        // Nothing from A reached B after the removal.
        while (b.Incoming.TryRead(out var late))
        {
            Assert.NotEqual(4UL, late.Raft?.Context);
        }
    }

    [Fact]
    public async Task Peers_are_bounded_by_MaxPeers()
    {
        var ports = FreePorts(3);
        var self = new Dictionary<ulong, IPEndPoint> { [1] = new(IPAddress.Loopback, ports[0]) };
        await using var a = await StartAsync(1, self, FastOptions(o => o.MaxPeers = 1));
        Assert.True(a.AddPeer(2, new IPEndPoint(IPAddress.Loopback, ports[1])));
        var refused = Assert.Throws<InvalidOperationException>(() => a.AddPeer(3, new IPEndPoint(IPAddress.Loopback, ports[2])));
        Assert.Contains("MaxPeers (1)", refused.Message, StringComparison.Ordinal);

        var members = Members(ports);
        Assert.Throws<ArgumentException>(() => new PeerTransport(1, members[1], members, FastOptions(o => o.MaxPeers = 1), new TestLogger()));
    }
}
