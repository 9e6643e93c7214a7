using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Google.Protobuf;

namespace Aurigraph.Node.Tests.Ledger;

/// <summary>
/// Parallel apply must be indistinguishable from sequential apply: on random chains of random blocks — transfers,
/// puts, replayed and future nonces, overdrafts, transfers to self, malformed bodies, foreign chain ids, over a small
/// set of accounts and keys so that groups collide often — both give the same receipts, ids, state roots, block
/// hashes, final records and final value of every written key.
/// </summary>
public sealed class ParallelApplyPropertyTests
{
    private const string Chain = "prop-chain";
    private const int Accounts = 12;

    /// <summary>One generated operation; turned into a transaction body with the sender's running nonce.</summary>
    public sealed record Op(int Kind, int Sender, int Target, ulong Amount, int NonceSkew, int Key, byte Value);

    private static readonly Gen<Op> OpGen =
        from kind in Gen.Frequency((6, Gen.Constant(0)), (3, Gen.Constant(1)), (1, Gen.Constant(2)), (1, Gen.Constant(3)))
        from sender in Gen.Choose(0, Accounts - 1)
        from target in Gen.Choose(0, Accounts)
        from amount in Gen.Choose(1, 400).Select(a => (ulong)a)
        from skew in Gen.Frequency((8, Gen.Constant(0)), (1, Gen.Constant(-1)), (1, Gen.Constant(1)))
        from key in Gen.Choose(0, 5)
        from value in Gen.Choose(0, 255).Select(v => (byte)v)
        select new Op(kind, sender, target, amount, skew, key, value);

    private static readonly Arbitrary<(ulong[] Balances, Op[][] Blocks)> Chains = Arb.From(
        from balances in Gen.ArrayOf(Gen.Choose(0, 1000).Select(b => (ulong)b), Accounts)
        from blocks in Gen.NonEmptyListOf(Gen.ListOf(OpGen).Select(l => l.ToArray())).Select(l => l.ToArray())
        select (balances, blocks));

    [Property(MaxTest = 300)]
    public Property Parallel_apply_gives_the_same_result_as_sequential_apply() => Prop.ForAll(Chains, chain =>
    {
        var sequential = NewState(chain.Balances);
        var parallel = NewState(chain.Balances);
        parallel.ParallelApplyThreshold = 1;
        parallel.MaxApplyParallelism = 4;
        var nonces = new ulong[Accounts];
        ulong index = 1;
        foreach (var ops in chain.Blocks)
        {
            var payload = BlockPayload.Encode(ops.Select(op => Transaction(op, nonces)).ToList());
            var s = sequential.Apply(index, 1, payload, allowParallel: false);
            var p = parallel.Apply(index, 1, payload, allowParallel: true);
            index++;

            Assert.Equal(s.TransactionIds, p.TransactionIds);
            Assert.Equal(s.Receipts, p.Receipts);
            Assert.Equal(s.Senders, p.Senders);
            Assert.Equal(s.StateRoot, p.StateRoot);
            Assert.Equal(s.Hash, p.Hash);
            Assert.Equal(LastWrites(s), LastWrites(p));
        }
        Assert.Equal(Records(sequential), Records(parallel));
        Assert.Equal(sequential.StateRoot, parallel.StateRoot);

        // The incremental root equals a root rebuilt from the records: the merged deltas add up.
        var reloaded = new LedgerState(Chain);
        reloaded.Load(parallel.Records().ToList(), parallel.Height, parallel.LastBlockHash);
        Assert.Equal(parallel.StateRoot, reloaded.StateRoot);
    });

    [Fact]
    public void Independent_transfers_in_a_large_block_are_applied_in_parallel_groups_with_the_sequential_result()
    {
        // 512 senders each paying a distinct recipient: 512 groups; then the same block with one shared recipient.
        var balances = Enumerable.Repeat(100UL, 1024).ToArray();
        foreach (var sharedRecipient in new[] { false, true })
        {
            var sequential = new LedgerState(Chain);
            var parallel = new LedgerState(Chain) { ParallelApplyThreshold = 1, MaxApplyParallelism = 4 };
            var records = Enumerable.Range(0, 1024).Select(i => new KeyValuePair<byte[], byte[]>(AccountRecordKey(i), AccountValue(balances[i], 0))).ToList();
            sequential.Load(records, 0, new byte[32]);
            parallel.Load(records, 0, new byte[32]);
            var txs = Enumerable.Range(0, 512).Select(i => Verified(new TransactionBody
            {
                ChainId = Chain,
                Sender = ByteString.CopyFrom(Key(i)),
                Nonce = 0,
                Transfer = new Transfer { To = ByteString.CopyFrom(Key(sharedRecipient ? 1000 : 512 + i)), Amount = 7 },
            })).ToList();
            var payload = BlockPayload.Encode(txs);
            var s = sequential.Apply(1, 1, payload, allowParallel: false);
            var p = parallel.Apply(1, 1, payload, allowParallel: true);
            Assert.All(p.Receipts, r => Assert.True(r.Success));
            Assert.Equal(s.StateRoot, p.StateRoot);
            Assert.Equal(Records(sequential), Records(parallel));
            Assert.Equal((93UL, 1UL), parallel.Account(Key(3)));
            Assert.Equal(sharedRecipient ? (100UL + (512 * 7), 0UL) : (107UL, 0UL), parallel.Account(Key(sharedRecipient ? 1000 : 515)));
        }
    }

    private static LedgerState NewState(ulong[] balances)
    {
        var state = new LedgerState(Chain);
        state.Load(balances.Select((b, i) => new KeyValuePair<byte[], byte[]>(AccountRecordKey(i), AccountValue(b, 0))).ToList(), 0, new byte[32]);
        return state;
    }

    private static VerifiedTransaction Transaction(Op op, ulong[] nonces)
    {
        if (op.Kind == 3)
        {
            // Not a transaction body at all (bytes that do not parse), or one for another chain.
            var junk = op.Value % 2 == 0 ? new byte[] { 0xFF, 0xFF, 0xFF, op.Value } : new TransactionBody { ChainId = "other", Sender = ByteString.CopyFrom(Key(op.Sender)), Put = new Put { Key = ByteString.CopyFromUtf8("x"), Value = ByteString.Empty } }.ToByteArray();
            return Raw(junk);
        }
        var nonce = (ulong)Math.Max(0, (long)nonces[op.Sender] + op.NonceSkew);
        if (op.NonceSkew == 0)
        {
            nonces[op.Sender]++;
        }
        var body = new TransactionBody { ChainId = Chain, Sender = ByteString.CopyFrom(Key(op.Sender)), Nonce = nonce };
        if (op.Kind == 1)
        {
            body.Put = new Put { Key = ByteString.CopyFrom([(byte)op.Key]), Value = ByteString.CopyFrom([op.Value]) };
        }
        else
        {
            // Target == Accounts is an account that does not exist yet; Kind 2 pays itself.
            body.Transfer = new Transfer { To = ByteString.CopyFrom(Key(op.Kind == 2 ? op.Sender : op.Target)), Amount = op.Amount };
        }
        return Verified(body);
    }

    private static VerifiedTransaction Verified(TransactionBody body) => Raw(body.ToByteArray());

    private static VerifiedTransaction Raw(byte[] bytes) =>
        new(TransactionId.Of(bytes), 0, ReadOnlyMemory<byte>.Empty, bytes, new byte[TransactionVerifier.SignatureSize]);

    private static byte[] Key(int i)
    {
        var key = new byte[32];
        key[0] = 0xA5;
        key[31] = (byte)i;
        key[30] = (byte)(i >> 8);
        return key;
    }

    private static byte[] AccountRecordKey(int i) => [(byte)'a', .. Key(i)];

    private static byte[] AccountValue(ulong balance, ulong nonce)
    {
        var value = new byte[16];
        BitConverter.TryWriteBytes(value, balance);
        BitConverter.TryWriteBytes(value.AsSpan(8), nonce);
        return value;
    }

    private static SortedDictionary<string, string> Records(LedgerState state) =>
        new(state.Records().ToDictionary(r => Convert.ToHexString(r.Key), r => Convert.ToHexString(r.Value)));

    private static SortedDictionary<string, string?> LastWrites(AppliedBlock block)
    {
        var last = new SortedDictionary<string, string?>();
        foreach (var (key, value) in block.StateWrites)
        {
            last[Convert.ToHexString(key)] = value is null ? null : Convert.ToHexString(value);
        }
        return last;
    }
}
