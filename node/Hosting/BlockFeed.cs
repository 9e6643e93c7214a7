using System.Threading.Channels;
using Aurigraph.Node.Api.V1;

namespace Aurigraph.Node.Hosting;

/// <summary>Fans committed blocks out to live subscribers. A subscriber that falls too far behind is cut off, never waited for.</summary>
internal sealed class BlockFeed
{
    private readonly Lock _gate = new();
    private readonly List<Channel<Block>> _subscribers = [];

    private volatile int _count;

    /// <summary>Whether anyone listens; the loop builds the API form of a block only when someone does.</summary>
    public bool HasSubscribers => _count > 0;

    public ChannelReader<Block> Subscribe(int capacity = 1024)
    {
        var channel = Channel.CreateBounded<Block>(new BoundedChannelOptions(capacity) { SingleWriter = true, SingleReader = true });
        lock (_gate)
        {
            _subscribers.Add(channel);
            _count = _subscribers.Count;
        }
        return channel.Reader;
    }

    public void Unsubscribe(ChannelReader<Block> reader)
    {
        lock (_gate)
        {
            _subscribers.RemoveAll(c => c.Reader == reader);
            _count = _subscribers.Count;
        }
    }

    public void Publish(Block block)
    {
        lock (_gate)
        {
            for (var i = _subscribers.Count - 1; i >= 0; i--)
            {
                if (!_subscribers[i].Writer.TryWrite(block))
                {
                    _subscribers[i].Writer.TryComplete(new InvalidOperationException("subscriber fell behind; resubscribe from its last height"));
                    _subscribers.RemoveAt(i);
                    _count = _subscribers.Count;
                }
            }
        }
    }
}
