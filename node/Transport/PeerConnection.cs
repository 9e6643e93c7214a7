using System.Buffers;
using System.IO.Pipelines;

namespace Aurigraph.Node.Transport;

/// <summary>
/// One peer connection: the stream from <see cref="IPeerStreamFactory"/> with a <see cref="PipeReader"/> and a
/// <see cref="PipeWriter"/> over it. <see cref="Abort"/> may be called from any thread and makes pending reads and
/// writes fail; <see cref="DisposeAsync"/> is for the task that owns the connection, once nothing else uses the pipes.
/// </summary>
internal sealed class PeerConnection : IAsyncDisposable
{
    private const int BufferBytes = 64 * 1024;
    private const int MinimumReadBytes = 4 * 1024;

    private int _aborted;
    private int _disposed;

    public PeerConnection(Stream stream, string remote)
    {
        Stream = stream;
        Remote = remote;
        Reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: BufferBytes, minimumReadSize: MinimumReadBytes, leaveOpen: true));
        Writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: BufferBytes, leaveOpen: true));
    }

    public Stream Stream { get; }

    public PipeReader Reader { get; }

    public PipeWriter Writer { get; }

    public string Remote { get; }

    /// <summary>Closes the socket under the pipes; idempotent and thread-safe.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            Stream.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // The socket goes first: completing a writer without an error flushes what it holds, which could block on a
        // peer that stopped reading.
        Abort();
        await Reader.CompleteAsync().ConfigureAwait(false);
        await Writer.CompleteAsync(new ConnectionClosedException()).ConfigureAwait(false);
    }

    /// <summary>Flushes <paramref name="writer"/>; a completed or cancelled flush means the connection is gone.</summary>
    public static async ValueTask FlushAsync(PipeWriter writer, CancellationToken cancellationToken)
    {
        var result = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCompleted || result.IsCanceled)
        {
            throw new IOException("The connection was closed while writing.");
        }
    }

    /// <summary>
    /// Reads exactly one frame of at most <paramref name="maxFrameBytes"/> and copies its body out; used for
    /// handshakes, before the connection's frame loop. <see cref="FrameStatus.Incomplete"/> means the stream ended first.
    /// </summary>
    public static async ValueTask<SingleFrame> ReadSingleFrameAsync(PipeReader reader, int maxFrameBytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var status = FrameCodec.TryReadFrame(ref buffer, maxFrameBytes, out var kind, out var body);
            switch (status)
            {
                case FrameStatus.Complete:
                    var frame = new SingleFrame(status, kind, body.ToArray(), FrameCodec.WireBytes(body));
                    reader.AdvanceTo(buffer.Start);
                    return frame;
                case FrameStatus.TooLarge:
                case FrameStatus.Malformed:
                    var declared = FrameCodec.DeclaredLength(result.Buffer);
                    reader.AdvanceTo(result.Buffer.Start);
                    return new SingleFrame(status, default, [], declared);
                default:
                    reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        return new SingleFrame(FrameStatus.Incomplete, default, [], result.Buffer.Length);
                    }
                    break;
            }
        }
    }
}

/// <summary>
/// One frame read on its own. <see cref="Bytes"/> is the wire size when complete, the declared length when too large
/// or malformed, and the bytes left unread when the stream ended.
/// </summary>
internal readonly record struct SingleFrame(FrameStatus Status, FrameKind Kind, byte[] Body, long Bytes);

/// <summary>Completes a connection's writer without flushing what it still holds.</summary>
internal sealed class ConnectionClosedException : IOException
{
    public ConnectionClosedException()
        : base("The peer connection was closed.")
    {
    }

    public ConnectionClosedException(string message)
        : base(message)
    {
    }

    public ConnectionClosedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
