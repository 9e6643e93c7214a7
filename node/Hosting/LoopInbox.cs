using System.Diagnostics;
using System.Threading.Channels;

namespace Aurigraph.Node.Hosting;

/// <summary>
/// The consensus loop's one input queue. The queue itself is a channel; what bounds it is each producer's allowance:
/// <list type="bullet">
/// <item>peer inputs: at most <see cref="PeerCapacity"/> wait here; the peer pump waits for room, so the transport's
/// own bounded queue fills and TCP pushes back on the sending peer;</item>
/// <item>submissions: bounded upstream by the <see cref="Transactions.IngressGate"/>, which counts a call's
/// transactions from acceptance until the loop takes them (or they are answered without reaching it);</item>
/// <item>ticks: at most one waits (a tick only wakes the loop; the loop counts elapsed time itself);</item>
/// <item>commands: client reads are bounded by the read limit, the rest are internal and few.</item>
/// </list>
/// Every input is stamped with the time it arrived (<see cref="HostInput.Arrived"/>), so the loop handles it at that
/// moment of its tick count, however long the loop was busy before it got to it.
/// </summary>
internal sealed class LoopInbox : IDisposable
{
    private readonly Channel<HostInput> _channel = Channel.CreateUnbounded<HostInput>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _peerSlots;
    private int _tickWaiting;
    private readonly TimeProvider _time;

    public LoopInbox(int peerCapacity, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfLessThan(peerCapacity, 1);
        PeerCapacity = peerCapacity;
        _peerSlots = new SemaphoreSlim(peerCapacity, peerCapacity);
    }

    /// <summary>Peer inputs that may wait for the loop at once.</summary>
    public int PeerCapacity { get; }

    /// <summary>Peer inputs waiting now.</summary>
    public int PeersWaiting => PeerCapacity - _peerSlots.CurrentCount;

    /// <summary>Queues a peer input, waiting while <see cref="PeerCapacity"/> of them are already queued.</summary>
    public async ValueTask WritePeerAsync(HostInput input, CancellationToken ct)
    {
        Debug.Assert(!input.Tick && input.Transactions is null && input.Command is null, "only peer inputs take a peer slot");
        input = input with { Arrived = _time.GetTimestamp() }; // when the pump took it, before any wait for room
        await _peerSlots.WaitAsync(ct).ConfigureAwait(false);
        if (!_channel.Writer.TryWrite(input))
        {
            _peerSlots.Release(); // completed: the loop is stopping
        }
    }

    /// <summary>Queues admitted transactions (bounded by the ingress gate, not here).</summary>
    public void Submit(HostInput input)
    {
        Debug.Assert(input.Transactions is not null, "a submission carries transactions");
        _channel.Writer.TryWrite(input with { Arrived = _time.GetTimestamp() });
    }

    /// <summary>Wakes the loop for its ticks, unless a tick already waits.</summary>
    public void Tick()
    {
        if (Interlocked.Exchange(ref _tickWaiting, 1) == 0 && !_channel.Writer.TryWrite(new HostInput(default, null, Tick: true) { Arrived = _time.GetTimestamp() }))
        {
            Volatile.Write(ref _tickWaiting, 0);
        }
    }

    /// <summary>Queues work for the loop.</summary>
    public void Command(Action action) => _channel.Writer.TryWrite(new HostInput(default, null, Tick: false) { Command = action, Arrived = _time.GetTimestamp() });

    public ValueTask<bool> WaitToReadAsync(CancellationToken ct) => _channel.Reader.WaitToReadAsync(ct);

    /// <summary>Takes the next input and gives back the allowance it held.</summary>
    public bool TryRead(out HostInput input)
    {
        if (!_channel.Reader.TryRead(out input))
        {
            return false;
        }
        if (input.Tick)
        {
            Volatile.Write(ref _tickWaiting, 0);
        }
        else if (input.Transactions is null && input.Command is null)
        {
            _peerSlots.Release();
        }
        return true;
    }

    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>Call once the loop and the peer pump have stopped.</summary>
    public void Dispose() => _peerSlots.Dispose();
}
