using Aurigraph.Node.Ledger;
using Aurigraph.Node.Storage;
using Aurigraph.Node.Transactions;
using RocksDbSharp;

namespace Aurigraph.Node.Tests.Ledger;

/// <summary>
/// Key/value records leave memory once persisted: the ledger holds what is not yet written and a bounded cache, reads
/// the rest from the database, and stays the same state as a ledger that holds everything.
/// </summary>
public sealed class ValueCacheTests : IDisposable
{
    private const string Chain = "value-cache-test";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-values-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>A source over a dictionary, counting its reads.</summary>
    private sealed class DictionarySource : IStateSource
    {
        public Dictionary<string, byte[]> Records { get; } = [];

        public int Reads { get; private set; }

        public byte[]? Read(byte prefix, ReadOnlySpan<byte> id)
        {
            Reads++;
            return Records.GetValueOrDefault(prefix + ":" + Convert.ToHexString(id));
        }

        public void Put(ByteKey key, byte[] value) => Records[StateWriteSet.KeyValuePrefix + ":" + Convert.ToHexString(key.Bytes)] = value;
    }

    private static ByteKey Key(int i) => new(BitConverter.GetBytes(i));

    private static byte[] Value(int i, int size = 100) => Enumerable.Repeat((byte)i, size).ToArray();

    [Fact]
    public void Unpersisted_records_are_never_evicted_and_persisted_ones_stay_within_the_bound()
    {
        var source = new DictionarySource();
        var cache = new ValueCache(source, 1000, 4096);
        for (var i = 0; i < 50; i++)
        {
            cache.Set(Key(i), Value(i));
        }

        // Nothing is persisted yet: every record is held, whatever the bound, and none is read from the source.
        Assert.Equal(50, cache.UnpersistedCount);
        Assert.All(Enumerable.Range(0, 50), i => Assert.Equal(Value(i), cache.Get(Key(i))));
        Assert.Equal(0, source.Reads);

        for (var i = 0; i < 50; i++)
        {
            source.Put(Key(i), Value(i));
        }
        cache.Persisted();

        Assert.Equal(0, cache.UnpersistedCount);
        Assert.InRange(cache.CachedBytes, 1, 1000);
        Assert.InRange(cache.CachedCount, 1, 5); // 184 bytes each: at most five fit
        // The newest stayed; the oldest come back from the source, and every answer is the value written.
        Assert.Equal(Value(49), cache.Get(Key(49)));
        Assert.Equal(0, source.Reads);
        Assert.All(Enumerable.Range(0, 50), i => Assert.Equal(Value(i), cache.Get(Key(i))));
        Assert.True(source.Reads >= 45, $"{source.Reads} reads");
        Assert.InRange(cache.CachedBytes, 1, 1000);
        // A key the state never held is answered by the key filter, without a read.
        var reads = source.Reads;
        Assert.Null(cache.Get(Key(99)));
        Assert.Equal(reads, source.Reads);
        Assert.Equal(1, cache.FilterAnswers);
    }

    [Fact]
    public void The_key_filter_never_forgets_a_key_rarely_claims_an_absent_one_and_turns_off_when_overfull()
    {
        var filter = new KeyFilter(64 * 1024);
        var design = (int)filter.DesignKeys;
        var random = new Random(11);
        var added = new List<byte[]>();
        for (var i = 0; i < design; i++)
        {
            var key = new byte[40];
            random.NextBytes(key);
            filter.Add(key);
            added.Add(key);
        }

        Assert.All(added, k => Assert.True(filter.MightContain(k)));
        var falsePositives = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var key = new byte[40];
            random.NextBytes(key);
            falsePositives += filter.MightContain(key) ? 1 : 0;
        }
        Assert.InRange(falsePositives, 0, 20_000 * 3 / 100); // about 1 % expected at the design load
        Assert.False(filter.Off);

        for (var i = design; i <= filter.MaxKeys; i++)
        {
            filter.Add(BitConverter.GetBytes(i));
        }
        Assert.True(filter.Off);
        Assert.True(filter.MightContain("never added"u8));
        filter.Clear();
        Assert.False(filter.Off);
        Assert.False(filter.MightContain(added[0]));
    }

    [Fact]
    public void A_write_replaces_a_cached_copy_and_a_cache_without_a_source_holds_everything()
    {
        var source = new DictionarySource();
        var cache = new ValueCache(source, 10_000, 4096);
        source.Put(Key(1), Value(1));
        Assert.Null(cache.Get(Key(1))); // a record the cache was never told of is not the state's: the filter says so
        cache.Known(Key(1).Bytes);
        Assert.Equal(Value(1), cache.Get(Key(1)));
        var cachedBefore = cache.CachedBytes;

        cache.Set(Key(1), Value(2));

        Assert.Equal(Value(2), cache.Get(Key(1)));
        Assert.Equal(0, cache.CachedBytes);
        Assert.True(cachedBefore > 0);

        var memory = new ValueCache();
        for (var i = 0; i < 1000; i++)
        {
            memory.Set(Key(i), Value(i));
        }
        memory.Persisted();
        Assert.Equal(1000, memory.UnpersistedCount);
        Assert.Equal(1000, memory.Held.Count());
        Assert.Equal(Value(7), memory.Get(Key(7)));
    }

    [Fact]
    public void A_ledger_over_the_database_with_a_tiny_cache_keeps_the_state_of_one_that_holds_everything_and_reloads_it()
    {
        using var alice = TransactionSigner.Generate();
        using var bob = TransactionSigner.Generate();
        var verifier = new TransactionVerifier(Chain, 64 * 1024);
        var genesis = new Genesis { ChainId = Chain, Accounts = [new GenesisAccount { PublicKey = Convert.ToHexString(alice.PublicKey), Balance = 1000 }] };
        var memory = LedgerState.FromGenesis(genesis);
        var recipients = Enumerable.Range(0, 40).Select(i => { var r = new byte[32]; r[0] = 0xAA; r[1] = (byte)i; return r; }).ToArray();
        byte[] root;
        {
            using var database = NodeDatabase.Open(_dir, Chain, 1);
            var store = new LedgerStore(database);
            var backed = LedgerState.FromGenesis(genesis, store, cacheBytes: 2048);
            using (var batch = new WriteBatch())
            {
                store.AddGenesis(batch, backed);
                database.Db.Write(batch, database.SyncWrite);
            }
            backed.Persisted();

            // Blocks put over a small key space, so most puts replace a value that left the cache: its old value,
            // read back from the database, must leave the state root's accumulator. Transfers go to 40 recipients,
            // new at first and then evicted from the account cache (2048 / 4 bytes hold five accounts).
            var random = new Random(3);
            ulong aliceNonce = 0, bobNonce = 0;
            for (ulong height = 1; height <= 40; height++)
            {
                var block = new List<VerifiedTransaction>();
                for (var i = 0; i < 20; i++)
                {
                    var signed = random.Next(3) switch
                    {
                        0 => alice.Put(Chain, aliceNonce++, System.Text.Encoding.UTF8.GetBytes($"key-{random.Next(60)}"), Value(random.Next(256), random.Next(1, 200))),
                        1 => bob.Put(Chain, bobNonce++, System.Text.Encoding.UTF8.GetBytes($"key-{random.Next(60)}"), Value(random.Next(256), random.Next(1, 200))),
                        _ => alice.Transfer(Chain, aliceNonce++, recipients[random.Next(recipients.Length)], 1),
                    };
                    block.Add(verifier.Verify(signed.Body.Memory, signed.Signature.Memory).Transaction!);
                }
                var payload = BlockPayload.Encode(block);
                var expected = memory.Apply(height, 1, payload);
                var applied = backed.Apply(height, 1, payload);
                Assert.Equal(expected.StateRoot, applied.StateRoot);
                Assert.Equal(expected.Receipts, applied.Receipts);
                // Persist every other block, so some blocks read what the one before them wrote and did not persist.
                if (height % 2 == 0)
                {
                    using var batch = new WriteBatch();
                    store.AddBlock(batch, applied);
                    database.Db.Write(batch, database.StateWrite);
                    backed.Persisted();
                }
                else
                {
                    using var batch = new WriteBatch();
                    store.AddBlock(batch, applied);
                    database.Db.Write(batch, database.StateWrite);
                }
            }

            var (unpersisted, _, cachedBytes, sourceReads, filterAnswers, filterOff) = backed.ValueCacheStatistics;
            Assert.InRange(cachedBytes, 0, 512); // a quarter of the ledger's 2048 bytes
            Assert.False(filterOff);
            Assert.InRange(filterAnswers, 1, 120); // first puts of a key (120 keys, two owners) read nothing
            Assert.True(sourceReads > 100, $"{sourceReads} reads of the database");
            Assert.True(unpersisted == 0, $"{unpersisted} records held after the last write");
            for (var k = 0; k < 60; k++)
            {
                var key = System.Text.Encoding.UTF8.GetBytes($"key-{k}");
                Assert.Equal(memory.Value(alice.PublicKey, key), backed.Value(alice.PublicKey, key));
                Assert.Equal(memory.Value(bob.PublicKey, key), backed.Value(bob.PublicKey, key));
            }
            foreach (var account in recipients.Append(alice.PublicKey).Append(bob.PublicKey))
            {
                Assert.Equal(memory.Account(account), backed.Account(account));
            }
            Assert.Equal(memory.AccountCount, backed.AccountCount);
            Assert.True(backed.AccountCacheStatistics.SourceReads > 0, "evicted accounts were read back");
            root = backed.StateRoot;
            Assert.Equal(memory.StateRoot, root);
        }

        // After a restart the state loads from the database without its values in memory, and is the same state.
        using var reopened = NodeDatabase.Open(_dir, Chain, 1);
        var reloadedStore = new LedgerStore(reopened);
        var loaded = reloadedStore.Load()!.Value;
        var reloaded = new LedgerState(Chain, reloadedStore, 2048);
        reloaded.Load(loaded.Records, loaded.Height, loaded.Hash);
        Assert.Equal(root, reloaded.StateRoot);
        Assert.Equal(memory.AccountCount, reloaded.AccountCount);
        Assert.Equal(memory.Account(recipients[7]), reloaded.Account(recipients[7]));
        Assert.Equal((0, 0), (reloaded.ValueCacheStatistics.Unpersisted, reloaded.ValueCacheStatistics.Cached));
        Assert.Equal(memory.Value(bob.PublicKey, "key-5"u8), reloaded.Value(bob.PublicKey, "key-5"u8));
    }
}
