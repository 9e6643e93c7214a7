using System.Buffers;
using Aurigraph.Consensus;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transactions;
using Aurigraph.Node.Transport;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;

namespace Aurigraph.Bench.Node;

/// <summary>Adds operations per second, the figure the node's targets are stated in.</summary>
public sealed class OpsConfig : ManualConfig
{
    public OpsConfig() => AddColumn(StatisticColumn.OperationsPerSecond);
}

/// <summary>A fixed set of signed transfers from many senders, built once (signing is the client's cost).</summary>
internal sealed class SignedSet : IDisposable
{
    public const string Chain = "bench-chain";
    private readonly List<TransactionSigner> _senders = [];

    public SignedSet(int count, int senders, bool puts = false)
    {
        for (var i = 0; i < senders; i++)
        {
            _senders.Add(TransactionSigner.Generate());
        }
        using var recipient = TransactionSigner.Generate();
        var value = new byte[48]; // with key, sender, nonce and chain id: a body of about 128 bytes
        Transactions = [.. Enumerable.Range(0, count).AsParallel().AsOrdered().Select(i => puts
            ? _senders[i % senders].Put(Chain, (ulong)(i / senders), BitConverter.GetBytes(i), value)
            : _senders[i % senders].Transfer(Chain, (ulong)(i / senders), recipient.PublicKey, 1))];
        Genesis = new Genesis
        {
            ChainId = Chain,
            Accounts = [.. _senders.Select(s => new GenesisAccount { PublicKey = Convert.ToHexStringLower(s.PublicKey), Balance = 1_000_000_000 })],
        };
    }

    public SignedTransaction[] Transactions { get; }

    public Genesis Genesis { get; }

    public void Dispose()
    {
        foreach (var s in _senders)
        {
            s.Dispose();
        }
    }
}

/// <summary>
/// Admission costs per transaction: protobuf decode plus TxId (SHA-256 of the body), Ed25519 verification on one
/// core, and a batch verified on every core (the figure the ed25519-mode throughput target is measured against).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(OpsConfig))]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class TransactionBenchmarks
{
    public const int Batch = 1024;
    private SignedSet _set = null!;
    private TransactionVerifier _verifier = null!;

    [GlobalSetup]
    public void Setup()
    {
        _set = new SignedSet(Batch, 64);
        _verifier = new TransactionVerifier(SignedSet.Chain, 64 * 1024);
    }

    [GlobalCleanup]
    public void Cleanup() => _set.Dispose();

    [Benchmark(OperationsPerInvoke = Batch)]
    public int DecodeAndTxId()
    {
        var sum = 0;
        foreach (var tx in _set.Transactions)
        {
            var body = TransactionBody.Parser.ParseFrom(tx.Body.Span);
            sum += TransactionId.Of(tx.Body.Span).GetHashCode() ^ (int)body.Nonce;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int VerifyOneCore()
    {
        var ok = 0;
        foreach (var tx in _set.Transactions)
        {
            ok += _verifier.Verify(tx.Body.Memory, tx.Signature.Memory).Transaction is null ? 0 : 1;
        }
        return Check(ok);
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int VerifyBatchAllCores()
    {
        var ok = 0;
        Parallel.For(0, Batch, () => 0, (i, _, local) => local + (_verifier.Verify(_set.Transactions[i].Body.Memory, _set.Transactions[i].Signature.Memory).Transaction is null ? 0 : 1), local => Interlocked.Add(ref ok, local));
        return Check(ok);
    }

    private static int Check(int ok) => ok == Batch ? ok : throw new InvalidOperationException($"{Batch - ok} signatures failed");
}

/// <summary>Building a block's payload from admitted transactions, and applying it to the ledger (state root included).</summary>
[MemoryDiagnoser]
[Config(typeof(OpsConfig))]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class BlockBenchmarks
{
    private SignedSet _set = null!;
    private List<VerifiedTransaction> _verified = null!;
    private byte[] _payload = [];

    [Params(1_000, 10_000)]
    public int Transactions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _set = new SignedSet(Transactions, 256);
        var verifier = new TransactionVerifier(SignedSet.Chain, 64 * 1024);
        _verified = [.. _set.Transactions.Select(t => verifier.Verify(t.Body.Memory, t.Signature.Memory).Transaction!)];
        _payload = BlockPayload.Encode(_verified);
    }

    [GlobalCleanup]
    public void Cleanup() => _set.Dispose();

    /// <summary>One operation = one transaction placed into a block payload.</summary>
    [Benchmark(OperationsPerInvoke = 10_000)]
    public int BuildPayload()
    {
        var total = 0;
        for (var done = 0; done < 10_000; done += Transactions)
        {
            total += BlockPayload.Encode(_verified).Length;
        }
        return total;
    }

    /// <summary>One operation = one transaction applied (transfer, receipt, state root of the block).</summary>
    [Benchmark(OperationsPerInvoke = 10_000)]
    public ulong ApplyBlock()
    {
        ulong height = 0;
        for (var done = 0; done < 10_000; done += Transactions)
        {
            var ledger = LedgerState.FromGenesis(_set.Genesis);
            height += ledger.Apply(1, 1, _payload).Height;
        }
        return height;
    }
}

/// <summary>
/// The raft log's group commit on the real RocksDB: one synced write batch per Append, whatever it carries.
/// One operation = one entry made durable.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(OpsConfig))]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class StorageBenchmarks
{
    private string _dir = "";
    private NodeDatabase _db = null!;
    private RaftLogStorage _log = null!;
    private byte[] _payload = [];
    private Entry[] _batch = [];

    [Params(1024, 64 * 1024, 1024 * 1024)]
    public int EntryBytes { get; set; }

    [Params(1, 16)]
    public int EntriesPerWrite { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "aurigraph-bench-" + Guid.NewGuid().ToString("N"));
        _db = NodeDatabase.Open(_dir, "bench", 1);
        _log = new RaftLogStorage(_db, cacheMaxBytes: 64L << 20);
        _payload = new byte[EntryBytes];
        Random.Shared.NextBytes(_payload);
        _batch = new Entry[EntriesPerWrite];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _db.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = 16)]
    public ulong AppendSynced()
    {
        for (var written = 0; written < 16; written += EntriesPerWrite)
        {
            var next = _log.LastIndex + 1;
            for (var i = 0; i < _batch.Length; i++)
            {
                _batch[i] = new Entry(next + (ulong)i, 1, EntryType.Normal, _payload);
            }
            _log.Append(new HardState(1, 1, next), _batch);
        }
        return _log.LastIndex;
    }
}

/// <summary>Peer-transport frames: an append carrying one block, written and read back (payload bytes pass untouched).</summary>
[MemoryDiagnoser]
[Config(typeof(OpsConfig))]
[SimpleJob(warmupCount: 3, iterationCount: 10)]
public class FrameBenchmarks
{
    private readonly ArrayBufferWriter<byte> _scratch = new();
    private ArrayBufferWriter<byte> _output = null!;
    private Message _message = null!;
    private ReadOnlySequence<byte> _frame;

    [Params(128, 64 * 1024, 1024 * 1024)]
    public int EntryBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var payload = new byte[EntryBytes];
        _message = new Message
        {
            Type = MessageType.Append, From = 1, To = 2, Term = 3, Index = 41, LogTerm = 3, Commit = 40,
            Entries = [new Entry(42, 3, EntryType.Normal, payload)],
        };
        _output = new ArrayBufferWriter<byte>(EntryBytes + 256);
        FrameCodec.TryWriteRaft(_output, _message, _scratch, int.MaxValue, out _);
        _frame = new ReadOnlySequence<byte>(_output.WrittenMemory.ToArray());
    }

    [Benchmark]
    public long Encode()
    {
        _output.ResetWrittenCount();
        FrameCodec.TryWriteRaft(_output, _message, _scratch, int.MaxValue, out var bytes);
        return bytes;
    }

    [Benchmark]
    public ulong Decode()
    {
        var buffer = _frame;
        if (FrameCodec.TryReadFrame(ref buffer, int.MaxValue, out _, out var body) != FrameStatus.Complete)
        {
            throw new InvalidOperationException("frame did not decode");
        }
        return FrameCodec.ReadRaft(body).Entries[0].Index;
    }
}
