using System.Net;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transactions;
using Aurigraph.Node.Transport;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using RocksDbSharp;

namespace Aurigraph.Bench.Node;

/// <summary>
/// What carbon metering adds per block, without the noise of whole-cluster runs: one op is everything the leader's
/// carbon pipeline does for one applied block — meter the round and make its own reading (<c>OnBlockApplied</c>,
/// <c>OnApplyRound</c>), store the records the block carries, take the two followers' readings (encoded as they send
/// them), and encode the record section for the next block — plus writing the carbon part of the apply batch. A follower
/// does the first part and one encode, so the leader's op bounds a node's per-block cost. Divide by the transactions per
/// block and compare with the node's CPU per transaction (the load report) to get metering's share.
/// </summary>
[MemoryDiagnoser]
public class CarbonPathBenchmarks
{
    private const string Chain = "bench-carbon";
    private string _dir = "";
    private NodeDatabase _db = null!;
    private PeerTransport _transport = null!;
    private CarbonPipeline _pipeline = null!;
    private TransactionId[] _ids = [];
    private ReceiptRecord[] _receipts = [];
    private byte[]?[] _senders = [];
    private CarbonOptions _options = null!;
    private CarbonCoefficients _coefficients = null!;
    private EnergyModel _model = null!;
    private ulong _height;
    private byte[] _section = [];

    /// <summary>Transactions in each block (the meter's shares and the record's counts use it; the carbon work does not grow with it).</summary>
    [Params(500)]
    public int Transactions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "aurigraph-bench-carbon-" + Guid.NewGuid().ToString("N")[..8]);
        _db = NodeDatabase.Open(_dir, Chain, 1);
        var log = new RaftLogStorage(_db);
        _transport = new PeerTransport(
            1,
            new IPEndPoint(IPAddress.Loopback, 0),
            new Dictionary<ulong, IPEndPoint> { [2] = new(IPAddress.Loopback, 9), [3] = new(IPAddress.Loopback, 9) },
            new TransportOptions { ClusterId = Chain },
            NullLogger<PeerTransport>.Instance);
        _options = new CarbonOptions { Cloud = CloudProvider.Aws, Region = "us-east-1" };
        var services = CarbonServices.CreateOffline(_options);
        _coefficients = CarbonCoefficients.From(_options);
        _model = new EnergyModel(_options);
        _pipeline = new CarbonPipeline(1, [1, 2, 3], [1, 2, 3], services, _db, _transport, log, 0, NullLogger.Instance);
        _pipeline.OnRound(leading: true, leader: 1);
        _ids = new TransactionId[Transactions];
        _receipts = Enumerable.Repeat(ReceiptRecord.Ok, Transactions).ToArray();
        _senders = new byte[]?[Transactions];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pipeline.Dispose();
        _db.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Description = "leader: one block's carbon path")]
    public int LeaderBlock()
    {
        var height = ++_height;
        using var batch = new WriteBatch();
        var block = new AppliedBlock(height, height, 1, new byte[32], new byte[32], new byte[32], new byte[32], _ids, _receipts, SenderList.FromArrays(_senders), StateWriteSet.Empty)
        {
            Carbon = _section,
        };
        _pipeline.OnBlockApplied(batch, block, batch.AsSpan().Length);
        _pipeline.OnApplyRound(batch);
        _pipeline.OnReadings(2, CarbonCodec.EncodeReadings([FollowerReading(height, 2)]));
        _pipeline.OnReadings(3, CarbonCodec.EncodeReadings([FollowerReading(height, 3)]));
        _section = _pipeline.TakeSection();
        _db.Db.Write(batch, _db.NoSyncWrite);
        return _section.Length;
    }

    private CarbonReading FollowerReading(ulong height, ulong node)
    {
        var usage = new MeterUsage(1_500, 4_000, 150_000_000, 2, 0.1875, 2_000, 1_000, 300, 5_000, 1, 3, 1);
        var grid = new GridIntensity(379.069, GridIntensitySources.StaticTable, new DateTimeOffset(2021, 1, 1, 0, 0, 0, TimeSpan.Zero), "aws/us-east-1");
        var estimate = _model.Estimate(CarbonReading.ToNodeReading(usage, _options.Cloud, _options.Region), grid);
        return new CarbonReading(height, node, usage, _options.Cloud, _options.Region, grid, _coefficients, estimate);
    }
}
