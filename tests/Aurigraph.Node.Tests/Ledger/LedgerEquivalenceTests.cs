using System.Buffers.Binary;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;

namespace Aurigraph.Node.Tests.Ledger;

/// <summary>
/// The ledger applies blocks exactly as its earlier implementation did (<see cref="ReferenceLedger"/>: protobuf
/// objects, a write per change): on random chains of random blocks — transfers, puts over existing records, replayed
/// and future nonces, overdrafts, overflowing recipients, transfers to self and to new accounts, zero amounts, bodies
/// without an operation, merged and reordered bodies with unknown fields, malformed bytes, foreign chains, senders and
/// recipients that are not 32 bytes — both give the same ids, receipts, senders, state roots, block hashes, final
/// value of every written record and final records, sequentially and in parallel.
/// </summary>
public sealed class LedgerEquivalenceTests
{
    private const string Chain = "equivalence-chain";
    private const int Accounts = 10;

    /// <summary>One generated operation, turned into a body with the sender's running nonce.</summary>
    public sealed record Op(int Kind, int Sender, int Target, ulong Amount, int NonceSkew, int Key, byte Value);

    private static readonly Gen<Op> OpGen =
        from kind in Gen.Frequency(
            (8, Gen.Constant(0)), (4, Gen.Constant(1)), (1, Gen.Constant(2)), (1, Gen.Constant(3)), (1, Gen.Constant(4)),
            (1, Gen.Constant(5)), (1, Gen.Constant(6)), (1, Gen.Constant(7)), (1, Gen.Constant(8)), (2, Gen.Constant(9)), (1, Gen.Constant(10)))
        from sender in Gen.Choose(0, Accounts - 1)
        from target in Gen.Choose(0, Accounts + 1)
        from amount in Gen.Choose(1, 400).Select(a => (ulong)a)
        from skew in Gen.Frequency((8, Gen.Constant(0)), (1, Gen.Constant(-1)), (1, Gen.Constant(1)))
        from key in Gen.Choose(0, 4)
        from value in Gen.Choose(0, 255).Select(v => (byte)v)
        select new Op(kind, sender, target, amount, skew, key, value);

    private static readonly Arbitrary<(ulong[] Balances, Op[][] Blocks)> Chains = Arb.From(
        from balances in Gen.ArrayOf(Gen.Choose(0, 1000).Select(b => (ulong)b), Accounts)
        from blocks in Gen.NonEmptyListOf(Gen.ListOf(OpGen).Select(l => l.ToArray())).Select(l => l.ToArray())
        select (balances, blocks));

    [Property(MaxTest = 300)]
    public Property Applying_matches_the_reference_ledger_sequentially_and_in_parallel() => Prop.ForAll(Chains, chain =>
    {
        var records = InitialRecords(chain.Balances);
        var reference = new ReferenceLedger(Chain);
        reference.Load(records, 0, new byte[32]);
        var sequential = new LedgerState(Chain);
        sequential.Load(records, 0, new byte[32]);
        var parallel = new LedgerState(Chain) { ParallelApplyThreshold = 1, MaxApplyParallelism = 4 };
        parallel.Load(records, 0, new byte[32]);
        var nonces = new ulong[Accounts + 1];
        ulong index = 1;
        foreach (var ops in chain.Blocks)
        {
            var payload = BlockPayload.Encode(ops.Select(op => Raw(Body(op, nonces))).ToList());
            var expected = reference.Apply(index, 2, payload, allowParallel: false);
            foreach (var (state, allowParallel) in new[] { (sequential, false), (parallel, true) })
            {
                var actual = state.Apply(index, 2, payload, allowParallel);
                Assert.Equal(expected.Height, actual.Height);
                Assert.Equal(expected.TransactionIds, actual.TransactionIds);
                Assert.Equal(expected.Receipts, actual.Receipts);
                Assert.Equal(expected.Senders.Length, actual.Senders.Count);
                for (var i = 0; i < expected.Senders.Length; i++)
                {
                    Assert.Equal(expected.Senders[i], actual.Senders[i]);
                    Assert.Equal(expected.Senders[i] is not null, actual.Senders.TryGet(i, out var span));
                    Assert.Equal(expected.Senders[i] ?? [], span.ToArray());
                }
                Assert.Equal(expected.StateRoot, actual.StateRoot);
                Assert.Equal(expected.Hash, actual.Hash);
                // Each record once, with the value the reference's last write to it left.
                Assert.Equal(LastWrites(expected.StateWrites), Writes(actual.StateWrites));
                Assert.Equal(0, actual.Carbon.Length);
            }
            index++;
        }
        var final = Records(reference.Records());
        Assert.Equal(final, Records(sequential.Records()));
        Assert.Equal(final, Records(parallel.Records()));
        Assert.Equal(reference.StateRoot, sequential.StateRoot);
        Assert.Equal(reference.AccountCount, sequential.AccountCount);
    });

    [Fact]
    public void The_span_view_of_the_writes_is_the_list_view()
    {
        var records = InitialRecords(Enumerable.Repeat(500UL, Accounts).ToArray());
        var state = new LedgerState(Chain);
        state.Load(records, 0, new byte[32]);
        var nonces = new ulong[Accounts + 1];
        var ops = new[] { new Op(0, 1, 2, 5, 0, 0, 0), new Op(1, 1, 0, 0, 0, 3, 9), new Op(6, 2, 11, 7, 0, 0, 0) };
        var block = state.Apply(1, 1, BlockPayload.Encode(ops.Select(op => Raw(Body(op, nonces))).ToList()));
        var spans = new List<(string, string)>();
        block.StateWrites.ForEach(spans, static (list, key, value) => list.Add((Convert.ToHexString(key), Convert.ToHexString(value))));
        Assert.Equal(block.StateWrites.Select(w => (Convert.ToHexString(w.Key), Convert.ToHexString(w.Value!))), spans);
        // Sender 1 (written twice, listed once), recipient 2, the 31-byte account and its new recipient, and the put.
        Assert.Equal(5, block.StateWrites.Count);
    }

    private static List<KeyValuePair<byte[], byte[]>> InitialRecords(ulong[] balances)
    {
        var records = balances.Select((b, i) => new KeyValuePair<byte[], byte[]>([(byte)'a', .. Key(i)], AccountValue(b, 0))).ToList();
        records.Add(new([(byte)'a', .. OddKey(0)], AccountValue(300, 0)));               // an account id that is not 32 bytes
        records.Add(new([(byte)'a', .. Key(Accounts)], AccountValue(ulong.MaxValue - 3, 0))); // a recipient near overflow
        for (var k = 0; k < 3; k++)
        {
            records.Add(new([(byte)'k', .. Key(k), (byte)k], [(byte)(0x40 + k)]));           // records puts overwrite
        }
        return records;
    }

    private static byte[] Body(Op op, ulong[] nonces)
    {
        var senderIndex = op.Sender;
        var nonce = (ulong)Math.Max(0, (long)nonces[senderIndex] + op.NonceSkew);
        var consume = op.NonceSkew == 0;
        var to = Key(op.Target);
        byte[] bytes;
        switch (op.Kind)
        {
            case 1:
                bytes = new TransactionBody { ChainId = Chain, Sender = Bytes(Key(senderIndex)), Nonce = nonce, Put = new Put { Key = Bytes([(byte)op.Key]), Value = Bytes([op.Value]) } }.ToByteArray();
                break;
            case 2:
                bytes = Transfer(Key(senderIndex), nonce, Key(senderIndex), op.Amount);
                break;
            case 3:
                return op.Value % 2 == 0 ? [0xFF, 0xFF, 0xFF, op.Value] : [0x0A, 0x05, op.Value]; // not a body
            case 4:
                return new TransactionBody { ChainId = "other", Sender = Bytes(Key(senderIndex)), Nonce = nonce, Transfer = new Transfer { To = Bytes(to), Amount = 1 } }.ToByteArray();
            case 5:
                bytes = new TransactionBody { ChainId = Chain, Sender = Bytes(Key(senderIndex)), Nonce = nonce }.ToByteArray(); // no operation
                consume = false;
                break;
            case 6:
                // The odd-length account pays someone, or someone pays it.
                bytes = op.Value % 2 == 0 ? Transfer(OddKey(0), nonces[Accounts], to, op.Amount) : Transfer(Key(senderIndex), nonce, OddKey(op.Key % 2), op.Amount);
                if (op.Value % 2 == 0)
                {
                    nonces[Accounts]++;
                    return bytes;
                }
                break;
            case 7:
                bytes = Transfer(Key(senderIndex), nonce, Key(Accounts), op.Amount); // overflows the recipient
                break;
            case 8:
                bytes = new TransactionBody { ChainId = Chain, Sender = Bytes(OddKey(0)), Nonce = nonces[Accounts], Put = new Put { Key = Bytes([1]), Value = Bytes([2]) } }.ToByteArray();
                nonces[Accounts]++;
                return bytes;
            case 9:
                {
                    // A put, then a transfer merged over it (the oneof's last case wins), fields out of order, unknown fields.
                    var first = new TransactionBody { Nonce = 999, Put = new Put { Key = Bytes([7]), Value = Bytes([7]) } }.ToByteArray();
                    var second = new TransactionBody { Transfer = new Transfer { To = Bytes(to) } }.ToByteArray();
                    var third = new TransactionBody { Transfer = new Transfer { Amount = op.Amount }, ChainId = Chain, Sender = Bytes(Key(senderIndex)), Nonce = nonce }.ToByteArray();
                    bytes = [.. first, 0x78, 0x05, .. second, 0x7D, 1, 2, 3, 4, .. third, 0x83, 0x01, 0x08, 0x01, 0x84, 0x01];
                    break;
                }
            case 10:
                bytes = Transfer(Key(senderIndex), nonce, Key(Accounts + 1 + op.Key), 0); // a new account of zero balance
                break;
            default:
                bytes = Transfer(Key(senderIndex), nonce, to, op.Amount);
                break;
        }
        if (consume)
        {
            nonces[senderIndex]++;
        }
        return bytes;
    }

    private static byte[] Transfer(byte[] sender, ulong nonce, byte[] to, ulong amount) =>
        new TransactionBody { ChainId = Chain, Sender = Bytes(sender), Nonce = nonce, Transfer = new Transfer { To = Bytes(to), Amount = amount } }.ToByteArray();

    private static ByteString Bytes(byte[] bytes) => ByteString.CopyFrom(bytes);

    private static VerifiedTransaction Raw(byte[] bytes) =>
        new(TransactionId.Of(bytes), 0, ReadOnlyMemory<byte>.Empty, bytes, new byte[TransactionVerifier.SignatureSize]);

    private static byte[] Key(int i)
    {
        var key = new byte[32];
        key[0] = 0x5A;
        key[31] = (byte)i;
        return key;
    }

    private static byte[] OddKey(int i) => [.. Key(100 + i).AsSpan(0, 31)];

    private static byte[] AccountValue(ulong balance, ulong nonce)
    {
        var value = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(value, balance);
        BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(8), nonce);
        return value;
    }

    private static SortedDictionary<string, string> Records(IEnumerable<KeyValuePair<byte[], byte[]>> records) =>
        new(records.ToDictionary(r => Convert.ToHexString(r.Key), r => Convert.ToHexString(r.Value)));

    private static SortedDictionary<string, string?> LastWrites(IEnumerable<KeyValuePair<byte[], byte[]?>> writes)
    {
        var last = new SortedDictionary<string, string?>();
        foreach (var (key, value) in writes)
        {
            last[Convert.ToHexString(key)] = value is null ? null : Convert.ToHexString(value);
        }
        return last;
    }

    private static SortedDictionary<string, string?> Writes(StateWriteSet writes)
    {
        var all = new SortedDictionary<string, string?>();
        foreach (var (key, value) in writes)
        {
            all.Add(Convert.ToHexString(key), value is null ? null : Convert.ToHexString(value)); // throws on a record written twice
        }
        return all;
    }
}
