using System.Buffers.Binary;
using Microsoft.Extensions.Logging;

namespace Aurigraph.Node.Snapshots;

/// <summary>Tuning of snapshot streaming.</summary>
public sealed class SnapshotTransferOptions
{
    /// <summary>Bytes per chunk message.</summary>
    public int ChunkBytes { get; set; } = 1 << 20;

    /// <summary>Chunks sent ahead of the receiver's acknowledgement.</summary>
    public int Window { get; set; } = 4;

    /// <summary>Without progress for this long, the sender offers again (the receiver answers where to resume).</summary>
    public long StallMilliseconds { get; set; } = 3_000;

    /// <summary>Offers without progress in a row before the sender gives up and reports failure.</summary>
    public int MaxStalls { get; set; } = 5;
}

/// <summary>
/// Streams snapshot files between nodes in chunks, resumable after a dropped connection, over one application channel of
/// the peer transport. A node is sender and receiver at once (one transfer per peer each way). Thread-safe: messages may
/// arrive on the transport's thread while <see cref="Tick"/> runs on another.
/// </summary>
/// <remarks>
/// <code>
/// OFFER  1 | u64 index | u64 term | u64 size | sha256(32) | u64 sender's raft term   sender → receiver: a file is available
/// ACK    2 | u64 index | u64 term | u64 offset                  receiver → sender: bytes held so far (after a chunk)
/// CHUNK  3 | u64 index | u64 term | u64 offset | bytes          sender → receiver
/// DONE   4 | u64 index | u64 term                               receiver → sender: complete and verified
/// REFUSE 5 | u64 index | u64 term | reason (UTF-8)              receiver → sender: the file failed verification
/// RESYNC 6 | u64 index | u64 term | u64 offset                  receiver → sender: continue from this offset
/// </code>
/// The receiver stages into <c>incoming-{index}-{term}-{sha prefix}.part</c> under its folder and accepts a chunk only at
/// its staged length; anything else gets a RESYNC with that length. So after a dropped connection the sender's next
/// OFFER (sent when it sees no progress for <see cref="SnapshotTransferOptions.StallMilliseconds"/>) resumes where the
/// bytes stopped, even across a receiver restart. At the end the receiver checks the whole file (structure and SHA-256,
/// which must equal the offer's) before it hands the file on.
/// </remarks>
public sealed partial class SnapshotTransfer
{
    private const byte Offer = 1, Ack = 2, Chunk = 3, Done = 4, Refuse = 5, Resync = 6;

    private readonly string _folder;
    private readonly SnapshotTransferOptions _options;
    private readonly Action<ulong, byte[]> _send;
    private readonly Action<ulong, StateSnapshotInfo, string, ulong> _received;
    private readonly Action<ulong, bool> _sent;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, Outgoing> _outgoing = [];
    private readonly Dictionary<ulong, Incoming> _incoming = [];

    /// <param name="folder">Where incoming files are staged and kept.</param>
    /// <param name="options">Chunk size, window, stall handling.</param>
    /// <param name="send">Sends a message to a peer on the snapshot channel.</param>
    /// <param name="received">A complete, verified file arrived from a peer: (from, its description, its path, the sender's raft term when it last offered it).</param>
    /// <param name="sent">A transfer to a peer ended: (peer, whether the receiver confirmed it).</param>
    /// <param name="logger">Progress and failures.</param>
    public SnapshotTransfer(string folder, SnapshotTransferOptions options, Action<ulong, byte[]> send, Action<ulong, StateSnapshotInfo, string, ulong> received, Action<ulong, bool> sent, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _folder = folder;
        _options = options;
        _send = send;
        _received = received;
        _sent = sent;
        _logger = logger;
        Directory.CreateDirectory(folder);
    }

    /// <summary>Whether a transfer to <paramref name="peer"/> is under way.</summary>
    public bool IsSending(ulong peer)
    {
        lock (_gate)
        {
            return _outgoing.ContainsKey(peer);
        }
    }

    /// <summary>
    /// Starts sending <paramref name="path"/> (described by <paramref name="info"/>) to <paramref name="peer"/>, replacing any
    /// transfer to it; <paramref name="raftTerm"/> is this node's term, handed to the receiver with the file.
    /// </summary>
    public void Start(ulong peer, StateSnapshotInfo info, string path, ulong raftTerm, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(info);
        lock (_gate)
        {
            if (_outgoing.Remove(peer, out var previous))
            {
                previous.Dispose();
            }
            _outgoing[peer] = new Outgoing(info, path, raftTerm, nowMs);
        }
        LogStart(_logger, peer, info.Header.Index, info.Header.Term, info.Bytes);
        _send(peer, OfferMessage(info, raftTerm));
    }

    /// <summary>Abandons a transfer to <paramref name="peer"/> without reporting it.</summary>
    public void Cancel(ulong peer)
    {
        lock (_gate)
        {
            if (_outgoing.Remove(peer, out var previous))
            {
                previous.Dispose();
            }
        }
    }

    /// <summary>Offers again to receivers that made no progress for a while; gives up (reports failure) after too many.</summary>
    public void Tick(long nowMs)
    {
        List<(ulong Peer, byte[]? Offer)>? actions = null;
        lock (_gate)
        {
            foreach (var (peer, o) in _outgoing)
            {
                if (nowMs - o.ProgressMs < _options.StallMilliseconds)
                {
                    continue;
                }
                o.Stalls++;
                o.ProgressMs = nowMs;
                (actions ??= []).Add((peer, o.Stalls > _options.MaxStalls ? null : OfferMessage(o.Info, o.RaftTerm)));
            }
            foreach (var (peer, offer) in actions ?? [])
            {
                if (offer is null && _outgoing.Remove(peer, out var abandoned))
                {
                    abandoned.Dispose();
                }
            }
        }
        foreach (var (peer, offer) in actions ?? [])
        {
            if (offer is null)
            {
                LogGaveUp(_logger, peer, _options.MaxStalls);
                _sent(peer, false);
            }
            else
            {
                _send(peer, offer);
            }
        }
    }

    /// <summary>Handles a message from <paramref name="from"/> on the snapshot channel.</summary>
    public void OnMessage(ulong from, ReadOnlyMemory<byte> payload, long nowMs)
    {
        var span = payload.Span;
        if (span.Length < 17)
        {
            LogMalformed(_logger, from, span.Length);
            return;
        }
        var kind = span[0];
        var index = BinaryPrimitives.ReadUInt64BigEndian(span[1..]);
        var term = BinaryPrimitives.ReadUInt64BigEndian(span[9..]);
        var rest = payload[17..];
        switch (kind)
        {
            case Offer when rest.Length == 8 + 32 + 8:
                OnOffer(from, index, term, BinaryPrimitives.ReadInt64BigEndian(rest.Span), rest.Span[8..40].ToArray(), BinaryPrimitives.ReadUInt64BigEndian(rest.Span[40..]));
                break;
            case Chunk when rest.Length >= 8:
                OnChunk(from, index, term, BinaryPrimitives.ReadInt64BigEndian(rest.Span), rest[8..]);
                break;
            case Ack or Resync when rest.Length == 8:
                OnProgress(from, index, term, BinaryPrimitives.ReadInt64BigEndian(rest.Span), kind == Resync, nowMs);
                break;
            case Done or Refuse:
                OnEnd(from, index, term, kind == Done, System.Text.Encoding.UTF8.GetString(rest.Span));
                break;
            default:
                LogMalformed(_logger, from, span.Length);
                break;
        }
    }

    // ---- receiver ----

    private void OnOffer(ulong from, ulong index, ulong term, long size, byte[] sha, ulong raftTerm)
    {
        long have;
        lock (_gate)
        {
            if (!_incoming.TryGetValue(from, out var staged) || staged.Index != index || staged.Term != term || !staged.Sha.AsSpan().SequenceEqual(sha))
            {
                if (staged is not null)
                {
                    staged.Dispose();
                    File.Delete(staged.Path); // superseded by a newer snapshot
                }
                staged = new Incoming(index, term, size, sha, Path.Combine(_folder, $"incoming-{index}-{term}-{Convert.ToHexStringLower(sha, 0, 8)}.part"));
                _incoming[from] = staged;
            }
            staged.RaftTerm = raftTerm;
            have = staged.Length;
        }
        _send(from, Position(Resync, index, term, have));
    }

    private void OnChunk(ulong from, ulong index, ulong term, long offset, ReadOnlyMemory<byte> data)
    {
        Incoming? complete = null;
        long have;
        lock (_gate)
        {
            if (!_incoming.TryGetValue(from, out var staged) || staged.Index != index || staged.Term != term)
            {
                return; // no offer for it (e.g. this node restarted): the sender's next offer sets it up
            }
            if (offset != staged.Length || offset + data.Length > staged.Size)
            {
                have = staged.Length;
                _send(from, Position(Resync, index, term, have));
                return;
            }
            staged.Append(data.Span);
            have = staged.Length;
            if (have == staged.Size)
            {
                _incoming.Remove(from);
                complete = staged;
            }
        }
        if (complete is null)
        {
            _send(from, Position(Ack, index, term, have));
            return;
        }
        Finish(from, complete);
    }

    private void Finish(ulong from, Incoming staged)
    {
        staged.Dispose();
        StateSnapshotInfo info;
        try
        {
            info = StateSnapshotFile.Verify(staged.Path);
            if (!info.Sha256.AsSpan().SequenceEqual(staged.Sha) || info.Header.Index != staged.Index || info.Header.Term != staged.Term)
            {
                throw new InvalidDataException("the file is not the one offered");
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            LogRefused(_logger, from, staged.Index, ex.Message);
            File.Delete(staged.Path);
            _send(from, End(Refuse, staged.Index, staged.Term, ex.Message));
            return;
        }
        var final = Path.Combine(_folder, $"received-{staged.Index}-{staged.Term}.snap");
        File.Move(staged.Path, final, overwrite: true);
        LogReceived(_logger, from, staged.Index, staged.Term, info.Bytes);
        _received(from, info, final, staged.RaftTerm); // before DONE: the receiver's host knows the file before the sender hears of it
        _send(from, End(Done, staged.Index, staged.Term, ""));
    }

    // ---- sender ----

    private void OnProgress(ulong from, ulong index, ulong term, long offset, bool resync, long nowMs)
    {
        var chunks = new List<byte[]>();
        lock (_gate)
        {
            if (!_outgoing.TryGetValue(from, out var o) || o.Info.Header.Index != index || o.Info.Header.Term != term || offset < 0 || offset > o.Info.Bytes)
            {
                return;
            }
            if (resync)
            {
                o.Acked = offset;
                o.Next = offset;
            }
            else if (offset > o.Acked)
            {
                o.Acked = offset;
            }
            else
            {
                return;
            }
            o.ProgressMs = nowMs;
            o.Stalls = 0;
            var window = (long)_options.Window * _options.ChunkBytes;
            while (o.Next < o.Info.Bytes && o.Next - o.Acked < window)
            {
                var length = (int)Math.Min(_options.ChunkBytes, o.Info.Bytes - o.Next);
                var message = new byte[17 + 8 + length];
                message[0] = Chunk;
                BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(1), index);
                BinaryPrimitives.WriteUInt64BigEndian(message.AsSpan(9), term);
                BinaryPrimitives.WriteInt64BigEndian(message.AsSpan(17), o.Next);
                o.Read(message.AsSpan(25), o.Next);
                chunks.Add(message);
                o.Next += length;
            }
        }
        foreach (var chunk in chunks)
        {
            _send(from, chunk);
        }
    }

    private void OnEnd(ulong from, ulong index, ulong term, bool done, string reason)
    {
        lock (_gate)
        {
            if (!_outgoing.TryGetValue(from, out var o) || o.Info.Header.Index != index || o.Info.Header.Term != term)
            {
                return;
            }
            _outgoing.Remove(from);
            o.Dispose();
        }
        if (!done)
        {
            LogPeerRefused(_logger, from, index, reason);
        }
        _sent(from, done);
    }

    private static byte[] OfferMessage(StateSnapshotInfo info, ulong raftTerm)
    {
        var m = new byte[17 + 8 + 32 + 8];
        m[0] = Offer;
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(1), info.Header.Index);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(9), info.Header.Term);
        BinaryPrimitives.WriteInt64BigEndian(m.AsSpan(17), info.Bytes);
        info.Sha256.CopyTo(m, 25);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(57), raftTerm);
        return m;
    }

    private static byte[] Position(byte kind, ulong index, ulong term, long offset)
    {
        var m = new byte[25];
        m[0] = kind;
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(1), index);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(9), term);
        BinaryPrimitives.WriteInt64BigEndian(m.AsSpan(17), offset);
        return m;
    }

    private static byte[] End(byte kind, ulong index, ulong term, string reason)
    {
        var text = System.Text.Encoding.UTF8.GetBytes(reason);
        var m = new byte[17 + Math.Min(text.Length, 512)];
        m[0] = kind;
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(1), index);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(9), term);
        text.AsSpan(0, m.Length - 17).CopyTo(m.AsSpan(17));
        return m;
    }

    private sealed class Outgoing(StateSnapshotInfo info, string path, ulong raftTerm, long nowMs) : IDisposable
    {
        public ulong RaftTerm { get; } = raftTerm;

        private Microsoft.Win32.SafeHandles.SafeFileHandle? _file;

        public StateSnapshotInfo Info { get; } = info;

        public long Acked { get; set; } = -1;

        public long Next { get; set; }

        public long ProgressMs { get; set; } = nowMs;

        public int Stalls { get; set; }

        public void Read(Span<byte> destination, long offset)
        {
            _file ??= File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var done = 0;
            while (done < destination.Length)
            {
                var n = RandomAccess.Read(_file, destination[done..], offset + done);
                if (n == 0)
                {
                    throw new IOException($"snapshot file '{path}' ended early at {offset + done}");
                }
                done += n;
            }
        }

        public void Dispose() => _file?.Dispose();
    }

    private sealed class Incoming : IDisposable
    {
        private readonly FileStream _file;

        public Incoming(ulong index, ulong term, long size, byte[] sha, string path)
        {
            Index = index;
            Term = term;
            Size = size;
            Sha = sha;
            Path = path;
            _file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
            if (_file.Length > size)
            {
                _file.SetLength(0);
            }
            _file.Seek(0, SeekOrigin.End);
            Length = _file.Length;
        }

        public ulong Index { get; }

        public ulong Term { get; }

        public long Size { get; }

        public byte[] Sha { get; }

        public string Path { get; }

        public long Length { get; private set; }

        public ulong RaftTerm { get; set; }

        public void Append(ReadOnlySpan<byte> data)
        {
            _file.Write(data);
            Length += data.Length;
            if (Length == Size)
            {
                _file.Flush(flushToDisk: true);
            }
        }

        public void Dispose() => _file.Dispose();
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Sending snapshot {Index} (term {Term}, {Bytes} bytes) to node {Peer}")]
    private static partial void LogStart(ILogger logger, ulong peer, ulong index, ulong term, long bytes);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Snapshot transfer to node {Peer} made no progress after {Stalls} offers; giving up")]
    private static partial void LogGaveUp(ILogger logger, ulong peer, int stalls);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Malformed snapshot message from node {Peer} ({Bytes} bytes)")]
    private static partial void LogMalformed(ILogger logger, ulong peer, int bytes);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Snapshot {Index} from node {Peer} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, ulong peer, ulong index, string reason);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "Received snapshot {Index} (term {Term}, {Bytes} bytes) from node {Peer}")]
    private static partial void LogReceived(ILogger logger, ulong peer, ulong index, ulong term, long bytes);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Warning, Message = "Node {Peer} refused snapshot {Index}: {Reason}")]
    private static partial void LogPeerRefused(ILogger logger, ulong peer, ulong index, string reason);
}
