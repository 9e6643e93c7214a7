using System.Buffers;
using Aurigraph.Consensus;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;
using Aurigraph.Node.Transport;
using Google.Protobuf;

namespace Aurigraph.Node.Fuzz;

/// <summary>
/// Small valid inputs for each target, made with the node's own encoders, so the fuzzer starts from what peers and
/// clients really send. Keys come from fixed seeds (Ed25519 signing is deterministic), so the files are the same on every run.
/// </summary>
internal static class Seeds
{
    private const string ChainId = "aurigraph-devnet";

    /// <summary>Writes <c>&lt;folder&gt;/&lt;target&gt;/seed-*</c> for every target; returns the number of files.</summary>
    public static int Write(string folder)
    {
        var count = 0;
        foreach (var (target, inputs) in All())
        {
            var directory = Path.Combine(folder, target);
            Directory.CreateDirectory(directory);
            foreach (var (name, bytes) in inputs)
            {
                File.WriteAllBytes(Path.Combine(directory, "seed-" + name), bytes);
                count++;
            }
        }
        return count;
    }

    private static IEnumerable<(string Target, IEnumerable<(string Name, byte[] Bytes)> Inputs)> All()
    {
        using var alice = TransactionSigner.FromSeed(Enumerable.Repeat((byte)1, 32).ToArray());
        using var bob = TransactionSigner.FromSeed(Enumerable.Repeat((byte)2, 32).ToArray());
        var transfer = alice.Transfer(ChainId, 0, bob.PublicKey, 25);
        var put = bob.Put(ChainId, 3, "colour"u8, "blue"u8);
        var transactions = new[] { Verified(transfer), Verified(put) };
        var section = CarbonCodec.EncodeSection([Record(7)]);
        var readings = CarbonCodec.EncodeReadings([Reading(7, 2)]);

        yield return ("transaction", [("transfer", transfer.Body.ToByteArray()), ("put", put.Body.ToByteArray())]);
        yield return ("block",
        [
            ("empty", BlockPayload.Encode([])),
            ("two-transactions", BlockPayload.Encode(transactions)),
            ("carbon", BlockPayload.Encode(transactions[..1], section)),
        ]);
        yield return ("frames",
        [
            ("handshake-append", Frames(Handshake(), Raft(Append(BlockPayload.Encode(transactions))))),
            ("handshake-heartbeat", Frames(Handshake(), Raft(new Message { Type = MessageType.Heartbeat, From = 1, To = 2, Term = 3, Commit = 9, Context = 4 }))),
            ("handshake-forward", Frames(Handshake(), Application(ConsensusHost.ForwardChannel, BlockPayload.Encode(transactions)))),
            ("handshake-readings", Frames(Handshake(), Application(CarbonPipeline.ReadingsChannel, readings))),
        ]);
        yield return ("json",
        [
            ("submit", Json(new SubmitTransactionsRequest { Transactions = { transfer, put } })),
            ("get-transaction", Json(new GetTransactionRequest { TxId = TransactionId.Of(transfer.Body.Span).ToString(), Consistency = Api.V1.ReadConsistency.Linearizable })),
            ("get-account", Json(new GetAccountRequest { Account = Convert.ToHexStringLower(alice.PublicKey) })),
            ("change-membership", Json(new ChangeMembershipRequest { Change = Api.V1.MembershipChangeType.AddLearner, NodeId = 4 })),
            ("carbon-stats", Json(new GetCarbonStatsRequest { From = 1, To = 100, LastHeights = 10 })),
        ]);
    }

    private static VerifiedTransaction Verified(SignedTransaction signed)
    {
        var (tx, rejection) = new TransactionVerifier(ChainId, 64 * 1024).Verify(signed.Body.Memory, signed.Signature.Memory);
        return tx ?? throw new InvalidOperationException("seed transaction refused: " + rejection!.Reason);
    }

    private static Message Append(byte[] block) => new()
    {
        Type = MessageType.Append,
        From = 1,
        To = 2,
        Term = 3,
        LogTerm = 3,
        Index = 10,
        Commit = 9,
        Entries = [new Entry(11, 3, EntryType.Normal, block), new Entry(12, 3, EntryType.NoOp, ReadOnlyMemory<byte>.Empty)],
    };

    private static byte[] Handshake()
    {
        var output = new ArrayBufferWriter<byte>();
        FrameCodec.WriteHandshake(output, new Handshake(FrameCodec.ProtocolVersion, "devnet", 1, TransportLane.Bulk));
        return output.WrittenSpan.ToArray();
    }

    private static byte[] Raft(Message message)
    {
        var output = new ArrayBufferWriter<byte>();
        if (!FrameCodec.TryWriteRaft(output, message, new ArrayBufferWriter<byte>(), 1 << 20, out _))
        {
            throw new InvalidOperationException("seed frame over the limit");
        }
        return output.WrittenSpan.ToArray();
    }

    private static byte[] Application(byte channel, byte[] payload)
    {
        var output = new ArrayBufferWriter<byte>();
        if (!FrameCodec.TryWriteApplication(output, channel, payload, 1 << 20, out _))
        {
            throw new InvalidOperationException("seed frame over the limit");
        }
        return output.WrittenSpan.ToArray();
    }

    private static byte[] Frames(params byte[][] frames) => [.. frames.SelectMany(f => f)];

    private static byte[] Json(IMessage message) => System.Text.Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(message));

    private static CarbonRecord Record(ulong height) => new(
        CarbonRecordKind.Main,
        height,
        2,
        [new CarbonRecordEntry(1, CarbonReadingStatus.Missing, null), new CarbonRecordEntry(2, CarbonReadingStatus.Present, Reading(height, 2))]);

    private static CarbonReading Reading(ulong height, ulong node)
    {
        var options = new CarbonOptions { Cloud = CloudProvider.Aws, Region = "us-east-1" };
        var grid = new GridIntensity(379.069, GridIntensitySources.StaticTable, new DateTimeOffset(2021, 1, 1, 0, 0, 0, TimeSpan.Zero), "aws/us-east-1");
        var usage = new MeterUsage(
            CpuMicros: 1_500,
            WallMicros: 4_000,
            ResidentBytes: 150_000_000,
            Vcpus: 2,
            CpuUtilization: 0.1875,
            BytesSent: 2_000,
            BytesReceived: 1_000,
            IngressBytes: 300,
            BytesStored: 5_000,
            ConsensusRounds: 1,
            Validators: 3,
            StorageReplicas: 1);
        var estimate = new EnergyModel(options).Estimate(CarbonReading.ToNodeReading(usage, options.Cloud, options.Region), grid);
        return new CarbonReading(height, node, usage, options.Cloud, options.Region, grid, CarbonCoefficients.From(options), estimate);
    }
}
