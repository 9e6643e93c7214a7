using System.Threading.Channels;
using Aurigraph.Consensus;

namespace Aurigraph.Node.Transport;

/// <summary>One message waiting for a lane's connection: a Raft message, or an application payload on a channel.</summary>
internal readonly record struct OutboundItem(Message? Raft, byte Channel, ReadOnlyMemory<byte> Payload, long Bytes, long EnqueuedAt);

/// <summary>
/// The bounded queue of one lane to one peer. Any thread enqueues without blocking; when the lane is over its message
/// count or byte budget the new message is refused (the caller counts the drop). A single sender loop dequeues.
/// </summary>
internal sealed class OutboundLane
{
    private readonly Channel<OutboundItem> _queue;
    private readonly long _maxBytes;
    private long _queuedBytes;
    private PeerConnection? _connection;

    public OutboundLane(ulong peerId, TransportLane lane, int capacity, long maxBytes)
    {
        PeerId = peerId;
        Lane = lane;
        _maxBytes = maxBytes;
        _queue = Channel.CreateBounded<OutboundItem>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
    }

    public ulong PeerId { get; }

    /// <summary>WAN emulation: the delay every frame of this lane takes (null: none). Used by the lane's sender loop only.</summary>
    public WanDelay? Wan { get; init; }

    public TransportLane Lane { get; }

    /// <summary>The live connection, if any; kept so that shutdown can close it.</summary>
    public PeerConnection? Connection
    {
        get => Volatile.Read(ref _connection);
        set => Volatile.Write(ref _connection, value);
    }

    public bool TryEnqueue(in OutboundItem item)
    {
        if (item.Bytes > 0)
        {
            var total = Interlocked.Add(ref _queuedBytes, item.Bytes);
            // One message always fits an otherwise empty queue, so a block larger than the budget still travels.
            if (total > _maxBytes && total != item.Bytes)
            {
                Interlocked.Add(ref _queuedBytes, -item.Bytes);
                return false;
            }
        }
        if (_queue.Writer.TryWrite(item))
        {
            return true;
        }
        if (item.Bytes > 0)
        {
            Interlocked.Add(ref _queuedBytes, -item.Bytes);
        }
        return false;
    }

    public bool TryDequeue(out OutboundItem item)
    {
        if (!_queue.Reader.TryRead(out item))
        {
            return false;
        }
        if (item.Bytes > 0)
        {
            Interlocked.Add(ref _queuedBytes, -item.Bytes);
        }
        return true;
    }

    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) => _queue.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Drops the messages queued before <paramref name="timestamp"/>; returns how many. Sender loop only.</summary>
    public int DiscardQueuedBefore(long timestamp)
    {
        var discarded = 0;
        while (_queue.Reader.TryPeek(out var head) && head.EnqueuedAt < timestamp && TryDequeue(out _))
        {
            discarded++;
        }
        return discarded;
    }

    /// <summary>Refuses further messages; the sender loop sees the end of the queue.</summary>
    public void Complete() => _queue.Writer.TryComplete();
}
