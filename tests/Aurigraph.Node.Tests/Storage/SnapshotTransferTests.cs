using Aurigraph.Node.Ledger;
using Aurigraph.Node.Snapshots;
using Aurigraph.Node.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Storage;

/// <summary>Chunked, resumable snapshot streaming between two nodes over a lossy in-memory link.</summary>
public sealed class SnapshotTransferTests : IDisposable
{
    private const string Chain = "transfer-test";
    private const ulong Sender = 1, Receiver = 2;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-transfer-" + Guid.NewGuid().ToString("N"));
    private readonly Queue<(ulong From, ulong To, byte[] Message)> _wire = new();
    private readonly List<(ulong From, StateSnapshotInfo Info, string Path, ulong RaftTerm)> _received = [];
    private readonly List<(ulong Peer, bool Ok)> _outcomes = [];
    private readonly SnapshotTransferOptions _options = new() { ChunkBytes = 4096, Window = 3, StallMilliseconds = 1_000, MaxStalls = 3 };
    private long _chunkBytesSent;

    public SnapshotTransferTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>Decides what the link does with a message: deliver it, drop it (null), or change it.</summary>
    private Func<ulong, byte[], byte[]?> Link { get; set; } = (_, m) => m;

    private SnapshotTransfer Node(ulong id, string folder) => new(
        Path.Combine(_dir, folder),
        _options,
        (to, message) =>
        {
            if (message[0] == 3)
            {
                _chunkBytesSent += message.Length - 25;
            }
            _wire.Enqueue((id, to, message));
        },
        (from, info, path, raftTerm) => _received.Add((from, info, path, raftTerm)),
        (peer, ok) => _outcomes.Add((peer, ok)),
        NullLogger.Instance);

    /// <summary>Delivers queued messages until the wire is empty.</summary>
    private void Pump(Dictionary<ulong, SnapshotTransfer> nodes, long nowMs)
    {
        while (_wire.TryDequeue(out var m))
        {
            if (Link(m.To, m.Message) is { } delivered && nodes.TryGetValue(m.To, out var node))
            {
                node.OnMessage(m.From, delivered, nowMs);
            }
        }
    }

    /// <summary>A real snapshot file of a ledger with <paramref name="accounts"/> accounts.</summary>
    private (StateSnapshotInfo Info, string Path) SnapshotFile(int accounts)
    {
        var genesis = new Genesis
        {
            ChainId = Chain,
            Accounts = [.. Enumerable.Range(1, accounts).Select(i => new GenesisAccount { PublicKey = Convert.ToHexString(BitConverter.GetBytes((long)i).Concat(new byte[24]).ToArray()), Balance = (ulong)i })],
        };
        var ledger = LedgerState.FromGenesis(genesis);
        using var db = NodeDatabase.Open(Path.Combine(_dir, "source-db"), Chain, 1);
        using (var batch = new WriteBatch())
        {
            new LedgerStore(db).AddGenesis(batch, ledger);
            db.Db.Write(batch, db.SyncWrite);
        }
        var view = db.Db.CreateSnapshot();
        var path = Path.Combine(_dir, "snap-40-3.snap");
        var info = StateSnapshotFile.Write(db, view, new StateSnapshotHeader(Chain, 40, 3, 0, new byte[32], ledger.StateRoot, [1, 2, 3], []), path);
        view.Dispose();
        return (info, path);
    }

    [Fact]
    public void A_snapshot_header_carries_the_address_book()
    {
        var ledger = LedgerState.FromGenesis(new Genesis { ChainId = Chain, Accounts = [] });
        using var db = NodeDatabase.Open(Path.Combine(_dir, "book-db"), Chain, 1);
        var member = new Aurigraph.Node.Hosting.MemberOptions { Id = 9, Role = Aurigraph.Node.Hosting.NodeRole.Slim, PeerAddress = "127.0.0.1:24009", ApiAddress = "http://127.0.0.1:24109", RestAddress = "http://127.0.0.1:24209", Cloud = "gcp" };
        var records = new[] { Aurigraph.Node.Hosting.MemberRecordCodec.Encode(member) };
        var path = Path.Combine(_dir, "snap-1-1.snap");
        using (var view = db.Db.CreateSnapshot())
        {
            StateSnapshotFile.Write(db, view, new StateSnapshotHeader(Chain, 1, 1, 0, new byte[32], ledger.StateRoot, [1, 2, 3], [9], records, [6, 8]), path);
        }
        var read = StateSnapshotFile.Verify(path).Header;
        var back = Aurigraph.Node.Hosting.MemberRecordCodec.Decode(Assert.Single(read.MemberRecords));
        Assert.True(Aurigraph.Node.Hosting.MemberRecordCodec.SameAs(member, back));
        Assert.Equal([9UL], read.Learners);
        Assert.Equal([6UL, 8UL], read.RemovedIds);
    }

    [Fact]
    public void A_snapshot_arrives_whole_in_many_chunks_and_both_ends_learn_it()
    {
        var (info, path) = SnapshotFile(accounts: 2_000);
        Assert.True(info.Bytes > 20 * _options.ChunkBytes, $"{info.Bytes} bytes");
        var nodes = new Dictionary<ulong, SnapshotTransfer> { [Sender] = Node(Sender, "s"), [Receiver] = Node(Receiver, "r") };

        nodes[Sender].Start(Receiver, info, path, raftTerm: 7, nowMs: 0);
        Pump(nodes, 0);

        var got = Assert.Single(_received);
        Assert.Equal(Sender, got.From);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(got.Path));
        Assert.Equal(info.Sha256, got.Info.Sha256);
        Assert.Equal(40UL, got.Info.Header.Index);
        Assert.Equal(7UL, got.RaftTerm);
        Assert.Equal([(Receiver, true)], _outcomes);
        Assert.Equal(info.Bytes, _chunkBytesSent);
        Assert.False(nodes[Sender].IsSending(Receiver));
    }

    [Fact]
    public void After_a_dropped_connection_the_transfer_resumes_where_the_bytes_stopped()
    {
        var (info, path) = SnapshotFile(accounts: 2_000);
        var nodes = new Dictionary<ulong, SnapshotTransfer> { [Sender] = Node(Sender, "s"), [Receiver] = Node(Receiver, "r") };
        // The connection drops once about a third of the file is across: everything in flight is lost.
        var delivered = 0L;
        var down = false;
        Link = (to, m) =>
        {
            if (to == Receiver && m[0] == 3)
            {
                down |= delivered > info.Bytes / 3;
                delivered += down ? 0 : m.Length - 25;
            }
            return down ? null : m;
        };

        nodes[Sender].Start(Receiver, info, path, raftTerm: 7, nowMs: 0);
        Pump(nodes, 0);
        Assert.Empty(_received);
        nodes[Sender].Tick(500);
        Pump(nodes, 500);
        Assert.Empty(_received); // no stall yet: nothing offered again

        // The link is back; the stalled sender offers again and the receiver says where it stands.
        down = false;
        Link = (_, m) => m;
        nodes[Sender].Tick(1_500);
        Pump(nodes, 1_500);

        var got = Assert.Single(_received);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(got.Path));
        Assert.Equal([(Receiver, true)], _outcomes);
        // Resumed, not restarted: the bytes sent twice are at most the window lost in flight.
        Assert.True(_chunkBytesSent <= info.Bytes + (_options.Window * _options.ChunkBytes), $"{_chunkBytesSent} bytes sent for a {info.Bytes}-byte file");
        Assert.True(_chunkBytesSent > info.Bytes, "the lost chunks were sent again");
    }

    [Fact]
    public void A_receiver_that_restarts_mid_transfer_resumes_from_its_staged_bytes()
    {
        var (info, path) = SnapshotFile(accounts: 2_000);
        var nodes = new Dictionary<ulong, SnapshotTransfer> { [Sender] = Node(Sender, "s"), [Receiver] = Node(Receiver, "r") };
        var chunks = 0;
        Link = (to, m) => to == Receiver && m[0] == 3 && ++chunks > 10 ? null : m;

        nodes[Sender].Start(Receiver, info, path, raftTerm: 7, nowMs: 0);
        Pump(nodes, 0);

        nodes[Receiver] = Node(Receiver, "r"); // the process restarted: same folder, no memory
        Link = (_, m) => m;
        nodes[Sender].Tick(2_000);
        Pump(nodes, 2_000);

        var got = Assert.Single(_received);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(got.Path));
        Assert.True(_chunkBytesSent < info.Bytes + (14 * _options.ChunkBytes), $"{_chunkBytesSent} bytes sent for a {info.Bytes}-byte file");
    }

    [Fact]
    public void A_chunk_damaged_on_the_way_fails_the_check_and_the_sender_hears_it()
    {
        var (info, path) = SnapshotFile(accounts: 500);
        var nodes = new Dictionary<ulong, SnapshotTransfer> { [Sender] = Node(Sender, "s"), [Receiver] = Node(Receiver, "r") };
        var chunks = 0;
        Link = (to, m) =>
        {
            if (to == Receiver && m[0] == 3 && ++chunks == 2)
            {
                var bad = (byte[])m.Clone();
                bad[100] ^= 0x01;
                return bad;
            }
            return m;
        };

        nodes[Sender].Start(Receiver, info, path, raftTerm: 7, nowMs: 0);
        Pump(nodes, 0);

        Assert.Empty(_received);
        Assert.Equal([(Receiver, false)], _outcomes);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "r")));
    }

    [Fact]
    public void A_sender_whose_receiver_never_answers_gives_up_and_reports_failure()
    {
        var (info, path) = SnapshotFile(accounts: 100);
        var nodes = new Dictionary<ulong, SnapshotTransfer> { [Sender] = Node(Sender, "s") }; // the receiver is gone

        nodes[Sender].Start(Receiver, info, path, raftTerm: 7, nowMs: 0);
        for (var t = 1_000L; t <= 5_000; t += 1_000)
        {
            nodes[Sender].Tick(t);
            Pump(nodes, t);
            Assert.Equal(t <= 3_000 ? 0 : 1, _outcomes.Count);
        }
        Assert.Equal([(Receiver, false)], _outcomes);
        Assert.False(nodes[Sender].IsSending(Receiver));
    }
}
