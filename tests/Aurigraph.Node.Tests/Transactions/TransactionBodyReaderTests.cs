using System.Text;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;

using static Aurigraph.Node.Tests.Transactions.ProtoWire;

namespace Aurigraph.Node.Tests.Transactions;

/// <summary>
/// The in-place body reader against Google.Protobuf's parser: on structured bodies (known fields in any order and
/// repeated, oneof cases merged and replacing each other, unknown fields of every wire type, nested groups around the
/// recursion limit, non-minimal varints, invalid UTF-8 chain ids), on their mutations (truncated, bytes flipped,
/// inserted, deleted) and on random bytes, both accept the same inputs and read the same fields.
/// </summary>
public sealed class TransactionBodyReaderTests
{
    private static readonly Gen<byte[]> SmallBytes = Bytes(40);

    private static readonly Gen<ulong> Varints = Gen.OneOf(
        Gen.Choose(0, 300).Select(v => (ulong)v),
        Gen.Choose(int.MinValue, int.MaxValue).Select(v => (ulong)(uint)v << 3 | (ulong)(uint)v),
        Gen.Elements(ulong.MaxValue, 1UL << 63, (1UL << 32) - 1, 1UL << 32));

    /// <summary>One field as bytes: known fields of the body, operations with their own fields, unknown fields.</summary>
    private static Gen<byte[]> Field(int depth) => Gen.Frequency(
        (3, SmallBytes.Select(b => Tagged(10, b))),
        (3, Varints.SelectMany(v => Gen.Choose(0, 3).Select(pad => Concat(Varint(16), Varint(v, pad))))),
        (3, Gen.Elements("c", "chain", "", "\u00e9t\u00e9").Select(s => Tagged(26, Encoding.UTF8.GetBytes(s)))),
        (1, SmallBytes.Select(b => Tagged(26, b))),
        (3, depth > 0 ? Gen.Constant(Array.Empty<byte>()) : Gen.ListOf(Gen.Frequency((3, SmallBytes.Select(b => Tagged(10, b))), (3, Varints.Select(v => Concat(Varint(16), Varint(v)))), (2, SmallBytes.Select(b => Tagged(18, b))), (1, Unknown(1)))).Select(l => Tagged(82, Concat([.. l])))),
        (3, depth > 0 ? Gen.Constant(Array.Empty<byte>()) : Gen.ListOf(Gen.Frequency((3, SmallBytes.Select(b => Tagged(10, b))), (3, SmallBytes.Select(b => Tagged(18, b))), (1, Varints.Select(v => Concat(Varint(16), Varint(v)))), (1, Unknown(1)))).Select(l => Tagged(90, Concat([.. l])))),
        (2, Unknown(depth)));

    private static Gen<byte[]> Unknown(int depth) => ProtoWire.Unknown(4, 2000, Varints, SmallBytes, depth, maxDepth: 3);

    private static readonly Gen<byte[]> Structured = Gen.ListOf(Field(0)).Select(l => Concat([.. l]));

    private static readonly Gen<byte[]> Mutated = ProtoWire.Mutations(Structured);

    private static readonly Gen<byte[]> RandomBytes = Gen.Choose(0, 60).SelectMany(n => Gen.ArrayOf(Gen.Elements<byte>(0x0A, 0x10, 0x1A, 0x52, 0x5A, 0x08, 0x12, 0x03, 0x04, 0x0B, 0x0C, 0x80, 0xFF, 0x00, 0x01, 0x05, 0x06, 0x07), n));

    [Property(MaxTest = 3000)]
    public Property The_reader_agrees_with_protobuf_on_structured_bodies() => Prop.ForAll(Arb.From(Structured), Agree);

    [Property(MaxTest = 3000)]
    public Property The_reader_agrees_with_protobuf_on_mutated_bodies() => Prop.ForAll(Arb.From(Mutated), Agree);

    [Property(MaxTest = 3000)]
    public Property The_reader_agrees_with_protobuf_on_random_bytes() => Prop.ForAll(Arb.From(RandomBytes), Agree);

    [Theory]
    [InlineData(99)]
    [InlineData(100)]
    [InlineData(101)]
    public void Nested_groups_are_refused_past_the_recursion_limit_like_protobuf(int depth)
    {
        byte[] group = [];
        for (var i = 0; i < depth; i++)
        {
            group = Concat(Varint((5 << 3) | 3), group, Varint((5 << 3) | 4));
        }
        Agree(group);
        Agree(Tagged(82, group));
    }

    [Fact]
    public void Edge_cases_agree_with_protobuf()
    {
        byte[][] cases =
        [
            [],
            [0x00],                                     // tag 0
            [0x07, 0x00],                               // field 0 with a wire type
            [0x0E, 0x00],                               // wire type 6
            [0x0F],                                     // wire type 7
            [0x0C],                                     // an end-group tag at the top
            [0x52, 0x01, 0x0C],                         // an end-group tag in a transfer
            [0x2B, 0x34],                               // a group closed by another field's end tag
            [0x2B],                                     // an unclosed group
            [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // a 10-byte nonce
            [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F], // bits past 64 dropped
            [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // 11 bytes
            [0x8A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00], // a 10-byte tag for field 1
            [0x8A, 0x80, 0x80, 0x80, 0x10, 0x00],       // a tag with bits past 32 (truncated to field 1)
            [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],       // a negative length
            [0x0A, 0x80, 0x80, 0x80, 0x80, 0x08],       // a length of 2^31
            [0x0A, 0x02, 0x01],                         // a truncated sender
            [0x52, 0x02, 0x10, 0x01, 0x5A, 0x02, 0x0A, 0x00, 0x52, 0x02, 0x10, 0x05], // transfer, put, transfer
            [0x52, 0x02, 0x0A, 0x00, 0x52, 0x02, 0x10, 0x05], // a transfer merged from two occurrences
            [0x52, 0x03, 0x10, 0x01],                   // a transfer longer than the body
            [0x52, 0x01, 0x10, 0x05],                   // a varint crossing the transfer's end
            [0x1A, 0x02, 0xC3, 0x28],                   // an invalid UTF-8 chain id
        ];
        foreach (var bytes in cases)
        {
            Agree(bytes);
        }
    }

    [Theory]
    [InlineData("chain")]
    [InlineData("")]
    [InlineData("\uFFFD")]
    [InlineData("a\uD800b")]
    public void Chain_ids_compare_as_protobuf_strings(string chainId)
    {
        var bytes = TransactionBodyReader.ChainIdBytes(chainId);
        byte[][] fields = [Encoding.UTF8.GetBytes(chainId), [0xC3, 0x28], [0xEF, 0xBF, 0xBD], [0xED, 0xA0, 0x80], [0x61, 0xFF, 0x62], Encoding.UTF8.GetBytes("chain")];
        foreach (var field in fields)
        {
            var body = Tagged(26, field);
            Agree(body);
            if (TransactionBodyReader.TryRead(body, out var read))
            {
                var parsed = TransactionBody.Parser.ParseFrom(body);
                Assert.Equal(parsed.ChainId == chainId, TransactionBodyReader.ChainIdEquals(read, body, chainId, bytes));
            }
        }
    }

    private static bool Agree(byte[] bytes)
    {
        TransactionBody? parsed;
        try
        {
            parsed = TransactionBody.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            parsed = null;
        }
        var ok = TransactionBodyReader.TryRead(bytes, out var read);
        Assert.True(ok == parsed is not null, $"reader {(ok ? "accepts" : "refuses")}, protobuf {(parsed is null ? "refuses" : "accepts")}: {Convert.ToHexString(bytes)}");
        if (parsed is null)
        {
            return true;
        }
        Assert.Equal(parsed.Sender.ToByteArray(), read.Sender(bytes).ToArray());
        Assert.Equal(parsed.Nonce, read.Nonce);
        Assert.Equal(parsed.ChainId, Encoding.UTF8.GetString(read.ChainIdUtf8(bytes)));
        Assert.Equal((int)parsed.OperationCase, (int)read.Operation);
        Assert.Equal(parsed.Transfer?.To.ToByteArray() ?? [], read.To(bytes).ToArray());
        Assert.Equal(parsed.Transfer?.Amount ?? 0, read.Amount);
        Assert.Equal(parsed.Put?.Key.ToByteArray() ?? [], read.PutKey(bytes).ToArray());
        Assert.Equal(parsed.Put?.Value.ToByteArray() ?? [], read.PutValue(bytes).ToArray());
        return true;
    }
}
