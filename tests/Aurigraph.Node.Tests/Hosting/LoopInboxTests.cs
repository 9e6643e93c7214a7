using Aurigraph.Node.Hosting;
using Aurigraph.Node.Transactions;
using Aurigraph.Node.Transport;

namespace Aurigraph.Node.Tests.Hosting;

public sealed class LoopInboxTests
{
    private static HostInput Peer(ulong from) => new(new PeerInput(from, null, 7, ReadOnlyMemory<byte>.Empty), null, Tick: false);

    [Fact]
    public async Task A_peer_input_waits_while_the_peer_capacity_is_taken_and_goes_in_once_the_loop_takes_one()
    {
        using var inbox = new LoopInbox(peerCapacity: 2);
        await inbox.WritePeerAsync(Peer(1), CancellationToken.None);
        await inbox.WritePeerAsync(Peer(2), CancellationToken.None);
        Assert.Equal(2, inbox.PeersWaiting);

        var third = inbox.WritePeerAsync(Peer(3), CancellationToken.None).AsTask();
        Assert.False(third.IsCompleted); // no room: the pump waits, and the transport's queue behind it fills

        Assert.True(inbox.TryRead(out var first));
        Assert.Equal(1UL, first.Peer.From);
        await third.WaitAsync(TimeSpan.FromSeconds(30)); // the slot it gave back lets the third in
        Assert.Equal(2, inbox.PeersWaiting);
        Assert.True(inbox.TryRead(out var second));
        Assert.True(inbox.TryRead(out var last));
        Assert.Equal((2UL, 3UL), (second.Peer.From, last.Peer.From));
        Assert.Equal(0, inbox.PeersWaiting);
        Assert.False(inbox.TryRead(out _));
    }

    [Fact]
    public async Task A_waiting_peer_input_gives_up_when_the_node_stops()
    {
        using var inbox = new LoopInbox(peerCapacity: 1);
        await inbox.WritePeerAsync(Peer(1), CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var waiting = inbox.WritePeerAsync(Peer(2), stop.Token).AsTask();
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(1, inbox.PeersWaiting);
    }

    [Fact]
    public void Ticks_that_find_one_waiting_do_not_queue_another()
    {
        using var inbox = new LoopInbox(peerCapacity: 4);
        inbox.Tick();
        inbox.Tick();
        inbox.Tick();
        Assert.True(inbox.TryRead(out var tick));
        Assert.True(tick.Tick);
        Assert.False(inbox.TryRead(out _));
        inbox.Tick(); // once taken, the next tick queues again
        Assert.True(inbox.TryRead(out var next));
        Assert.True(next.Tick);
    }

    [Fact]
    public void Submissions_and_commands_do_not_take_peer_slots()
    {
        using var inbox = new LoopInbox(peerCapacity: 1);
        var ran = false;
        inbox.Submit(new HostInput(default, Array.Empty<VerifiedTransaction>(), Tick: false));
        inbox.Command(() => ran = true);
        Assert.Equal(0, inbox.PeersWaiting);
        Assert.True(inbox.TryRead(out var submission));
        Assert.NotNull(submission.Transactions);
        Assert.True(inbox.TryRead(out var command));
        command.Command!();
        Assert.True(ran);
        Assert.Equal(0, inbox.PeersWaiting);
    }
}
