using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;

using static Aurigraph.Node.Tests.Transactions.ProtoWire;

namespace Aurigraph.Node.Tests.Transactions;

/// <summary>
/// A submission read as slices against Google.Protobuf's parser of <c>SubmitTransactionsRequest</c>: on structured
/// requests (elements with bodies and signatures repeated and in any order, unknown fields of every wire type at both
/// levels, groups), on their mutations and on random bytes, both accept the same inputs and read the same transactions.
/// </summary>
public sealed class SubmissionBatchTests
{
    private static readonly Gen<byte[]> SmallBytes = Bytes(24);

    private static Gen<byte[]> Unknown(int depth) => ProtoWire.Unknown(3, 600, Gen.Choose(0, 100_000).Select(v => (ulong)v), SmallBytes, depth, maxDepth: 2);

    private static readonly Gen<byte[]> Element = Gen.ListOf(Gen.Frequency(
        (3, SmallBytes.Select(b => Tagged(10, b))),
        (3, SmallBytes.Select(b => Tagged(18, b))),
        (1, Unknown(1)))).Select(l => Tagged(10, Concat([.. l])));

    private static readonly Gen<byte[]> Structured = Gen.ListOf(Gen.Frequency((5, Element), (1, Unknown(0)), (1, Gen.Choose(0, 9).Select(v => Concat(Varint(8), Varint((ulong)v)))))).Select(l => Concat([.. l]));

    private static readonly Gen<byte[]> Mutated = ProtoWire.Mutations(Structured);

    private static readonly Gen<byte[]> RandomBytes = Gen.Choose(0, 60).SelectMany(n => Gen.ArrayOf(Gen.Elements<byte>(0x0A, 0x12, 0x08, 0x03, 0x04, 0x0B, 0x0C, 0x80, 0xFF, 0x00, 0x01, 0x02, 0x05, 0x06, 0x07), n));

    [Property(MaxTest = 2000)]
    public Property The_batch_agrees_with_protobuf_on_structured_requests() => Prop.ForAll(Arb.From(Structured), Agree);

    [Property(MaxTest = 2000)]
    public Property The_batch_agrees_with_protobuf_on_mutated_requests() => Prop.ForAll(Arb.From(Mutated), Agree);

    [Property(MaxTest = 2000)]
    public Property The_batch_agrees_with_protobuf_on_random_bytes() => Prop.ForAll(Arb.From(RandomBytes), Agree);

    [Fact]
    public void A_batch_from_a_message_holds_slices_of_its_byte_strings_and_encodes_to_the_same_bytes()
    {
        var request = new SubmitTransactionsRequest();
        request.Transactions.Add(new SignedTransaction { Body = ByteString.CopyFrom(1, 2, 3), Signature = ByteString.CopyFrom(9, 9) });
        request.Transactions.Add(new SignedTransaction { Body = ByteString.CopyFrom(4) });
        var batch = SubmissionBatch.From(request.Transactions);
        Assert.Equal(2, batch.Count);
        Assert.Equal(6, batch.Bytes);
        Assert.True(batch.Body(0).Span.SequenceEqual(request.Transactions[0].Body.Span));
        Assert.Equal(request.ToByteArray(), batch.ToByteArray());
        var parsed = SubmissionBatch.TryParse(batch.ToByteArray())!;
        Assert.Equal([4], parsed.Body(1).ToArray());
        Assert.True(parsed.Signature(1).IsEmpty);
    }

    private static bool Agree(byte[] bytes)
    {
        SubmitTransactionsRequest? parsed;
        try
        {
            parsed = SubmitTransactionsRequest.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            parsed = null;
        }
        var batch = SubmissionBatch.TryParse(bytes);
        Assert.True(batch is not null == parsed is not null, $"batch {(batch is null ? "refuses" : "accepts")}, protobuf {(parsed is null ? "refuses" : "accepts")}: {Convert.ToHexString(bytes)}");
        if (parsed is null)
        {
            return true;
        }
        Assert.Equal(parsed.Transactions.Count, batch!.Count);
        Assert.Equal(parsed.Transactions.Sum(t => (long)t.Body.Length + t.Signature.Length), batch.Bytes);
        for (var i = 0; i < batch.Count; i++)
        {
            Assert.Equal(parsed.Transactions[i].Body.ToByteArray(), batch.Body(i).ToArray());
            Assert.Equal(parsed.Transactions[i].Signature.ToByteArray(), batch.Signature(i).ToArray());
        }
        return true;
    }
}
