using System.Buffers;
using System.Text;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;
using Aurigraph.Node.Transport;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Aurigraph.Node.Fuzz;

/// <summary>
/// The node's decoders of bytes from outside, each as a fuzz target taking one input. A target catches exactly the
/// exceptions its decoder documents as refusing bad input (<see cref="FormatException"/>, <see cref="InvalidDataException"/>,
/// <see cref="InvalidProtocolBufferException"/>); anything else escapes and is a finding. So does a broken invariant
/// (<see cref="FuzzInvariantException"/>): the same bytes decoding differently when split across buffer segments, or a
/// decoded carbon section that does not re-encode to its own bytes.
/// </summary>
/// <remarks>
/// The same source is compiled into the fuzzing harness and into the test project, which replays the committed corpus
/// (<c>tests/Aurigraph.Node.Fuzz/corpus/&lt;target&gt;/</c>) through these methods on every CI run.
/// </remarks>
internal static class FuzzTargets
{
    /// <summary>The target names, as the harness and the corpus folders spell them.</summary>
    public static readonly IReadOnlyDictionary<string, Action<ReadOnlyMemory<byte>>> All = new Dictionary<string, Action<ReadOnlyMemory<byte>>>(StringComparer.Ordinal)
    {
        ["frames"] = Frames,
        ["block"] = Block,
        ["transaction"] = Transaction,
        ["json"] = Json,
    };

    private static readonly NodeOptions Defaults = new();

    private static readonly int MaxFrameBytes = new TransportOptions().MaxFrameBytes;

    private static readonly TransactionVerifier Verifier = new(Defaults.ChainId, Defaults.MaxTransactionBytes);

    private static readonly byte[] NoSignature = new byte[TransactionVerifier.SignatureSize];

    // Segment sizes for the split copy of a frame input: small and uneven, so fields straddle segment boundaries.
    private static readonly int[] SegmentSizes = [1, 3, 2, 7, 5, 11, 4];

    private static readonly MessageDescriptor[] RequestMessages =
    [
        SubmitTransactionsRequest.Descriptor,
        GetTransactionRequest.Descriptor,
        GetAccountRequest.Descriptor,
        GetValueRequest.Descriptor,
        GetStatusRequest.Descriptor,
        GetBlockRequest.Descriptor,
        SubscribeBlocksRequest.Descriptor,
        GetTransactionCarbonRequest.Descriptor,
        GetBlockCarbonRequest.Descriptor,
        GetCarbonStatsRequest.Descriptor,
        GetCarbonReportRequest.Descriptor,
        ChangeMembershipRequest.Descriptor,
        GetMembershipRequest.Descriptor,
        TransferLeadershipRequest.Descriptor,
    ];

    /// <summary>
    /// A peer connection's byte stream: frames one after another, each decoded by kind as the transport and host do
    /// (handshake; Raft message; application payload, and on the forward and carbon-readings channels their payloads).
    /// The first frame is held to the handshake limit. The input is decoded twice, as one segment and split into small
    /// segments (as a pipe delivers it), and both must give the same result.
    /// </summary>
    public static void Frames(ReadOnlyMemory<byte> input)
    {
        var whole = DecodeFrames(new ReadOnlySequence<byte>(input));
        var split = DecodeFrames(Split(input));
        if (whole != split)
        {
            throw new FuzzInvariantException($"frames decode differently as one segment ({whole}) and split ({split})");
        }
    }

    /// <summary>
    /// A block payload as a follower applies it, or a forwarded batch as the leader admits it: framing, every
    /// transaction's format, the transactions root over the ids, and the carbon section (which must re-encode to its own bytes).
    /// </summary>
    public static void Block(ReadOnlyMemory<byte> input) => BlockHash(input);

    /// <summary>
    /// A transaction body as admission parses it (the signature is checked separately, on the parsed body), and as the
    /// ledger reads it in place: <see cref="TransactionBodyReader"/> must accept exactly what the protobuf parser
    /// accepts and read the same fields.
    /// </summary>
    public static void Transaction(ReadOnlyMemory<byte> input)
    {
        TransactionHash(input, NoSignature);
        ReaderAgreesWithParser(input.Span);
    }

    /// <summary>
    /// A REST request body: the node's own pass over the body bytes for each request message of the API (bytes fields in
    /// either base64 alphabet rewritten, enum values checked: <see cref="Api.JsonBodyInspector"/>), then the JSON text —
    /// rewritten where the pass rewrote it — parsed as that message, and what the node does with a parsed request before
    /// it touches state (transactions verified for format, transaction ids parsed).
    /// </summary>
    public static void Json(ReadOnlyMemory<byte> input)
    {
        var original = Encoding.UTF8.GetString(input.Span);
        foreach (var descriptor in RequestMessages)
        {
            var (rewritten, refused) = Api.JsonBodyInspector.Inspect(input.Span, descriptor);
            if (refused is not null)
            {
                continue; // answered 400 with the reason before the transcoder sees the body
            }
            var text = rewritten is null ? original : Encoding.UTF8.GetString(rewritten);
            IMessage message;
            try
            {
                message = JsonParser.Default.Parse(text, descriptor);
            }
            catch (InvalidProtocolBufferException)
            {
                continue;
            }
            catch (InvalidJsonException)
            {
                continue;
            }
            switch (message)
            {
                case SubmitTransactionsRequest submit:
                    foreach (var signed in submit.Transactions)
                    {
                        TransactionHash(signed.Body.Memory, signed.Signature.Memory);
                    }
                    break;
                case GetTransactionRequest get:
                    _ = TransactionId.TryParse(get.TxId, out _);
                    break;
                case GetTransactionCarbonRequest carbon:
                    _ = TransactionId.TryParse(carbon.TxId, out _);
                    break;
            }
        }
    }

    private static int DecodeFrames(ReadOnlySequence<byte> buffer)
    {
        var hash = new HashCode();
        var limit = FrameCodec.MaxHandshakeBytes;
        while (true)
        {
            var status = FrameCodec.TryReadFrame(ref buffer, limit, out var kind, out var body);
            hash.Add(status);
            if (status != FrameStatus.Complete)
            {
                hash.Add(FrameCodec.DeclaredLength(buffer));
                return hash.ToHashCode();
            }
            limit = MaxFrameBytes;
            hash.Add(kind);
            hash.Add(FrameCodec.WireBytes(body));
            switch (kind)
            {
                case FrameKind.Handshake:
                    hash.Add(FrameCodec.TryReadHandshake(body, out var handshake, out var error) ? handshake.GetHashCode() : error!.GetHashCode(StringComparison.Ordinal));
                    break;
                case FrameKind.Raft:
                    hash.Add(RaftHash(body));
                    break;
                case FrameKind.Application:
                    hash.Add(ApplicationHash(body));
                    break;
                default:
                    hash.Add(-1);
                    break;
            }
        }
    }

    private static int RaftHash(ReadOnlySequence<byte> body)
    {
        Consensus.Message message;
        try
        {
            message = FrameCodec.ReadRaft(body);
        }
        catch (InvalidDataException)
        {
            return -1;
        }
        var hash = new HashCode();
        hash.Add(message.Type);
        hash.Add(message.From);
        hash.Add(message.To);
        hash.Add(message.Term);
        hash.Add(message.Index);
        hash.Add(message.Commit);
        hash.Add(message.Context);
        foreach (var entry in message.Entries)
        {
            hash.Add(entry.Index);
            hash.Add(entry.Term);
            hash.Add(entry.Type);
            hash.AddBytes(entry.Data.Span);
        }
        return hash.ToHashCode();
    }

    private static int ApplicationHash(ReadOnlySequence<byte> body)
    {
        byte channel;
        ReadOnlyMemory<byte> payload;
        try
        {
            (channel, payload) = FrameCodec.ReadApplication(body);
        }
        catch (InvalidDataException)
        {
            return -1;
        }
        var hash = new HashCode();
        hash.Add(channel);
        hash.AddBytes(payload.Span);
        switch (channel)
        {
            case ConsensusHost.ForwardChannel:
                hash.Add(BlockHash(payload));
                break;
            case CarbonPipeline.ReadingsChannel:
                hash.Add(ReadingsHash(payload));
                break;
        }
        return hash.ToHashCode();
    }

    private static int BlockHash(ReadOnlyMemory<byte> payload)
    {
        BlockView view;
        try
        {
            view = BlockPayload.Read(payload);
        }
        catch (FormatException)
        {
            return -1;
        }
        var hash = new HashCode();
        var ids = new TransactionId[view.Transactions.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            var (body, signature) = view.Transactions[i];
            ids[i] = TransactionId.Of(body.Span);
            hash.Add(TransactionHash(body, signature));
        }
        hash.Add(view.TransactionsRoot.Span.SequenceEqual(LedgerState.TransactionsRoot(ids)));
        if (!view.Carbon.IsEmpty)
        {
            hash.Add(SectionHash(view.Carbon));
        }
        return hash.ToHashCode();
    }

    private static int SectionHash(ReadOnlyMemory<byte> section)
    {
        List<CarbonRecord> records;
        try
        {
            records = CarbonCodec.DecodeSection(section.Span);
        }
        catch (FormatException)
        {
            return -1;
        }
        var encoded = CarbonCodec.EncodeSection(records);
        RequireRoundTrip("carbon section", section.Span, encoded, () => CarbonCodec.EncodeSection(CarbonCodec.DecodeSection(encoded)));
        return records.Count;
    }

    private static int ReadingsHash(ReadOnlyMemory<byte> payload)
    {
        List<CarbonReading> readings;
        try
        {
            readings = CarbonCodec.DecodeReadings(payload.Span);
        }
        catch (FormatException)
        {
            return -1;
        }
        var encoded = CarbonCodec.EncodeReadings(readings);
        RequireRoundTrip("carbon readings", payload.Span, encoded, () => CarbonCodec.EncodeReadings(CarbonCodec.DecodeReadings(encoded)));
        return readings.Count;
    }

    private static int TransactionHash(ReadOnlyMemory<byte> body, ReadOnlyMemory<byte> signature)
    {
        var (tx, rejection) = Verifier.Verify(body, signature, checkSignature: false);
        if ((tx is null) == (rejection is null))
        {
            throw new FuzzInvariantException("the verifier must return exactly one of a transaction and a rejection");
        }
        if (tx is null)
        {
            return rejection!.Reason.GetHashCode(StringComparison.Ordinal);
        }
        // The signature check on a well-formed body: any 32 bytes as a key, any 64 bytes as a signature.
        return (TransactionVerifier.SignatureRejection(tx) ?? "valid").GetHashCode(StringComparison.Ordinal);
    }

    private static void ReaderAgreesWithParser(ReadOnlySpan<byte> body)
    {
        TransactionBody? parsed;
        try
        {
            parsed = TransactionBody.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException)
        {
            parsed = null;
        }
        var read = TransactionBodyReader.TryRead(body, out var fields);
        if (read != parsed is not null)
        {
            throw new FuzzInvariantException($"the body reader {(read ? "accepts" : "refuses")} a body protobuf {(read ? "refuses" : "accepts")}");
        }
        if (parsed is null)
        {
            return;
        }
        var same = parsed.Sender.Span.SequenceEqual(fields.Sender(body))
            && parsed.Nonce == fields.Nonce
            && parsed.ChainId == Encoding.UTF8.GetString(fields.ChainIdUtf8(body))
            && (int)parsed.OperationCase == (int)fields.Operation
            && (parsed.Transfer is { } t ? t.To.Span : default).SequenceEqual(fields.To(body))
            && (parsed.Transfer?.Amount ?? 0) == fields.Amount
            && (parsed.Put is { } pk ? pk.Key.Span : default).SequenceEqual(fields.PutKey(body))
            && (parsed.Put is { } pv ? pv.Value.Span : default).SequenceEqual(fields.PutValue(body));
        if (!same)
        {
            throw new FuzzInvariantException("the body reader reads other fields than protobuf parses");
        }
    }

    /// <summary>
    /// Input in the current carbon format re-encodes to its own bytes. Input in an older format re-encodes in the
    /// current one, and that form must then be stable: decoding and re-encoding it gives the same bytes again.
    /// </summary>
    private static void RequireRoundTrip(string what, ReadOnlySpan<byte> decoded, byte[] encoded, Func<byte[]> again)
    {
        var current = decoded.Length > 3 && decoded[3] == CarbonCodec.Version;
        if (current ? !decoded.SequenceEqual(encoded) : !encoded.AsSpan().SequenceEqual(again()))
        {
            throw new FuzzInvariantException($"{what} of {decoded.Length} bytes (format {(decoded.Length > 3 ? decoded[3] : 0)}) decoded, but re-encodes to {encoded.Length} different bytes");
        }
    }

    private static ReadOnlySequence<byte> Split(ReadOnlyMemory<byte> input)
    {
        if (input.Length <= 1)
        {
            return new ReadOnlySequence<byte>(input);
        }
        Segment? first = null;
        Segment? last = null;
        var at = 0;
        for (var i = 0; at < input.Length; i++)
        {
            var size = Math.Min(SegmentSizes[i % SegmentSizes.Length], input.Length - at);
            var segment = new Segment(input.Slice(at, size), at);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.Append(segment);
            }
            last = segment;
            at += size;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void Append(Segment next) => Next = next;
    }
}

/// <summary>A decoder broke one of its invariants on a fuzz input: a finding, like an unexpected exception.</summary>
internal sealed class FuzzInvariantException(string message) : Exception(message);
