using System.Diagnostics;
using Aurigraph.Consensus.Simulation.Linearizability;

namespace Aurigraph.Consensus.Tests.Linearizability;

public sealed class KvLinearizabilityCheckerTests
{
    private static KvOperation Put(int client, int key, long? value, long call, long ret) =>
        KvOperation.Put(client, key, value, call, ret);

    private static KvOperation Get(int client, int key, long? value, long call, long ret) =>
        KvOperation.Get(client, key, value, call, ret);

    private static void AssertLinearizable(IReadOnlyList<KvOperation> history, bool reduce = true)
    {
        var result = KvLinearizabilityChecker.Check(history, KvLinearizabilityChecker.DefaultBudget, reduce);
        Assert.True(result.IsLinearizable, result.Explanation);
        Assert.Null(result.FailingKey);
    }

    private static LinearizabilityResult AssertNotLinearizable(IReadOnlyList<KvOperation> history, int key, bool reduce = true)
    {
        var result = KvLinearizabilityChecker.Check(history, KvLinearizabilityChecker.DefaultBudget, reduce);
        Assert.False(result.IsLinearizable, "expected a violation, got: " + result.Explanation);
        Assert.Equal(key, result.FailingKey);
        Assert.Contains($"Key {key} ", result.Explanation, StringComparison.Ordinal);
        return result;
    }

    [Fact]
    public void EmptyHistoryIsLinearizable() => AssertLinearizable([]);

    [Fact]
    public void SequentialPutGetHistoryIsLinearizable()
    {
        AssertLinearizable(
        [
            Get(1, 1, null, 0, 1),
            Put(1, 1, 10, 2, 3),
            Get(2, 1, 10, 4, 5),
            Put(2, 1, 20, 6, 7),
            Get(1, 1, 20, 8, 9),
            Put(1, 1, null, 10, 11), // a Put of null deletes the key
            Get(2, 1, null, 12, 13),
        ]);
    }

    [Fact]
    public void SequentialHistoryWithWrongReadIsNotLinearizable()
    {
        AssertNotLinearizable(
        [
            Put(1, 1, 10, 0, 1),
            Put(1, 1, 20, 2, 3),
            Get(2, 1, 10, 4, 5),
        ], key: 1);
    }

    [Fact]
    public void StaleReadAfterCompletedPutIsNotLinearizable()
    {
        var result = AssertNotLinearizable(
        [
            Put(1, 7, 1, 0, 10),
            Get(2, 7, null, 11, 20),
        ], key: 7);
        Assert.Contains("#0 c1 Put(1) [0, 10]", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("#1 c2 Get->null [11, 20]", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("covers 1 of them", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("Longest linearizable prefix: #0 c1 Put(1)" + Environment.NewLine, result.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void LongestPrefixIsTheOneFoundAfterBacktracking()
    {
        // Put 1 and put 2 are concurrent; the reads need put 1 last and then put 2 last. The search first tries
        // put 1 then put 2 (prefix of 2), then backtracks and finds put 2, put 1, get->1 (prefix of 3).
        var result = AssertNotLinearizable(
        [
            Put(1, 1, 1, 0, 100),
            Put(2, 1, 2, 0, 100),
            Get(3, 1, 1, 110, 120),
            Get(3, 1, 2, 130, 140),
        ], key: 1);
        Assert.Contains(
            "Longest linearizable prefix: #1 c2 Put(2), #0 c1 Put(1), #2 c3 Get->1" + Environment.NewLine,
            result.Explanation,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(1L)]
    public void ConcurrentPutAndGetMaySeeOldOrNewValue(long? observed)
    {
        AssertLinearizable(
        [
            Put(1, 1, 1, 0, 10),
            Get(2, 1, observed, 5, 15),
        ]);
    }

    [Fact]
    public void ConcurrentGetReadingAValueNeverWrittenIsNotLinearizable()
    {
        AssertNotLinearizable(
        [
            Put(1, 1, 1, 0, 10),
            Get(2, 1, 2, 5, 15),
        ], key: 1);
    }

    [Fact]
    public void NewThenOldReadsDuringAConcurrentPutAreNotLinearizable()
    {
        // The put spans both reads; the first read sees the new value, the second (which starts after the
        // first returned) sees the old one: the register went back in time.
        var result = AssertNotLinearizable(
        [
            Put(1, 1, 1, 0, 100),
            Get(2, 1, 1, 10, 20),
            Get(3, 1, null, 30, 40),
        ], key: 1);
        Assert.Contains("Longest linearizable prefix: #0 c1 Put(1), #1 c2 Get->1" + Environment.NewLine, result.Explanation, StringComparison.Ordinal);

        // The same reads in the other order are fine.
        AssertLinearizable(
        [
            Put(1, 1, 1, 0, 100),
            Get(2, 1, null, 10, 20),
            Get(3, 1, 1, 30, 40),
        ]);
    }

    [Fact]
    public void EqualTimestampsAreConcurrentButStrictlyEarlierReturnOrders()
    {
        // Put returns at 10 and the get is called at 10: treated as concurrent, so the get may precede the put.
        AssertLinearizable(
        [
            Put(1, 1, 1, 0, 10),
            Get(2, 1, null, 10, 20),
        ]);

        // Put returns at 9 < 10: the get must see it.
        AssertNotLinearizable(
        [
            Put(1, 1, 1, 0, 9),
            Get(2, 1, null, 10, 20),
        ], key: 1);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UnknownPutObservedByLaterReadIsLinearizable(bool reduce)
    {
        AssertLinearizable(
        [
            KvOperation.UnknownPut(1, 1, 5, 0),
            Get(2, 1, null, 10, 20),
            Get(2, 1, 5, 30, 40),
            Get(3, 1, 5, 50, 60),
        ], reduce);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UnknownPutNeverObservedIsLinearizable(bool reduce)
    {
        // Without the reductions, this exercises the claim that an infinite return time is enough to model "never took
        // effect": the search has to place the unknown put after every later operation, including a put that
        // starts after it and reads that follow.
        AssertLinearizable(
        [
            Put(1, 1, 1, 0, 10),
            KvOperation.UnknownPut(2, 1, 2, 20),
            Get(1, 1, 1, 30, 40),
            Put(3, 1, 3, 50, 60),
            Get(1, 1, 3, 70, 80),
            Get(3, 1, 3, 90, 100),
        ], reduce);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UnknownPutObservedBeforeItWasCalledIsNotLinearizable(bool reduce)
    {
        AssertNotLinearizable(
        [
            Get(2, 1, 5, 10, 20),
            KvOperation.UnknownPut(1, 1, 5, 50),
        ], key: 1, reduce);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UnknownPutCannotTakeEffectTwice(bool reduce)
    {
        // Reads see 5, then 6, then 5 again; only one put of 5 exists, so the last read is a violation.
        AssertNotLinearizable(
        [
            KvOperation.UnknownPut(1, 1, 5, 0),
            Get(2, 1, 5, 10, 20),
            Put(3, 1, 6, 30, 40),
            Get(2, 1, 6, 50, 60),
            Get(2, 1, 5, 70, 80),
        ], key: 1, reduce);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UnknownPutObservedThenOverwrittenIsLinearizable(bool reduce)
    {
        // The unknown put must precede the first read of 5; a later put overwrites it.
        AssertLinearizable(
        [
            KvOperation.UnknownPut(1, 1, 5, 0),
            Get(2, 1, null, 10, 20),
            Get(2, 1, 5, 30, 40),
            Put(3, 1, 6, 50, 60),
            Get(2, 1, 6, 70, 80),
            Get(3, 1, 5, 25, 90), // concurrent with everything from 25 on: may read 5 before the put of 6
        ], reduce);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void UnknownPutSharingItsValueWithAnotherPutMayTakeEffectLate(bool reduce)
    {
        // Two puts write 5. The known one explains the first read of 5; the unknown one can only explain the
        // last read, taking effect after the put of 6. Tightening the unknown put's interval to the first read
        // of 5 would wrongly reject this, so it must not be tightened when its value is not unique.
        AssertLinearizable(
        [
            Put(1, 1, 5, 0, 10),
            KvOperation.UnknownPut(2, 1, 5, 5),
            Get(3, 1, 5, 20, 30),
            Put(1, 1, 6, 40, 50),
            Get(3, 1, 6, 60, 70),
            Get(3, 1, 5, 80, 90),
        ], reduce);
    }

    [Fact]
    public void UnknownPutReductionsKeepFailingHistoriesWithManyTimeoutsCheap()
    {
        // 8 overlapping unknown puts then a stale read. Without the reductions the search has to rule out every
        // subset of the pending puts; with them the unobserved puts are dropped and the observed one is bounded
        // by its first reader, so the verdict comes in a handful of steps.
        var history = new List<KvOperation>();
        for (var i = 0; i < 8; i++)
        {
            history.Add(KvOperation.UnknownPut(i, 1, 100 + i, i));
        }

        history.Add(Put(20, 1, 1, 20, 30));
        history.Add(Get(21, 1, 107, 12, 15)); // observes the last unknown put
        for (var i = 0; i < 6; i++)
        {
            history.Add(Get(21, 1, 1, 40 + (10 * i), 45 + (10 * i)));
        }

        history.Add(Get(21, 1, null, 200, 210));

        var reduced = KvLinearizabilityChecker.Check(history, budget: 1_000, reduceUnknownPuts: true);
        Assert.False(reduced.IsLinearizable, reduced.Explanation);
        Assert.Equal(1, reduced.FailingKey);
        Assert.Contains("#0 c7 Put(107) [7, unknown] (must precede 15)", reduced.Explanation, StringComparison.Ordinal);
        Assert.Contains("(7 unknown puts whose value nobody read are omitted)", reduced.Explanation, StringComparison.Ordinal);

        Assert.Throws<TimeoutException>(() => KvLinearizabilityChecker.Check(history, budget: 1_000, reduceUnknownPuts: false));
        AssertNotLinearizable(history, key: 1, reduce: false);
    }

    [Fact]
    public void UnknownGetsAreIgnored()
    {
        // An unknown get carrying any value constrains nothing.
        AssertLinearizable(
        [
            Put(1, 1, 1, 0, 10),
            new KvOperation(2, KvOpKind.Get, 1, 99, 20, KvOperation.UnknownReturn),
            KvOperation.UnknownGet(3, 1, 5),
            Get(2, 1, 1, 30, 40),
        ]);

        // Control: the same read with a known return is a violation.
        AssertNotLinearizable(
        [
            Put(1, 1, 1, 0, 10),
            Get(2, 1, 99, 20, 30),
        ], key: 1);
    }

    [Fact]
    public void ViolationIsReportedForTheKeyOnWhichItHappens()
    {
        AssertNotLinearizable(
        [
            Put(1, 1, 1, 0, 10),
            Get(2, 1, 1, 20, 30),
            Put(1, 2, 7, 0, 10),
            Get(2, 2, null, 20, 30), // stale on key 2
            Put(3, 3, 9, 5, 15),
            Get(3, 3, 9, 40, 50),
        ], key: 2);
    }

    [Fact]
    public void KeysAreIndependent()
    {
        // Interleaving across keys imposes no constraint: key 1 and key 2 each linearize on their own.
        AssertLinearizable(
        [
            Put(1, 1, 1, 0, 10),
            Put(2, 2, 2, 0, 10),
            Get(1, 2, 2, 20, 30),
            Get(2, 1, 1, 20, 30),
            Get(3, 3, null, 25, 26),
        ]);
    }

    [Fact]
    public void ReturnBeforeCallIsRejected()
    {
        Assert.Throws<ArgumentException>(() => KvLinearizabilityChecker.Check([Put(1, 1, 1, 10, 5)]));
    }

    [Fact]
    public void BudgetExceededThrowsTimeoutNamingTheKey()
    {
        // Many concurrent puts followed by reads force the search to try several orders.
        var history = new List<KvOperation>();
        for (var i = 0; i < 8; i++)
        {
            history.Add(Put(i, 42, i, 0, 100));
        }

        history.Add(Get(9, 42, 0, 200, 210));
        var ex = Assert.Throws<TimeoutException>(() => KvLinearizabilityChecker.Check(history, budget: 5));
        Assert.Contains("key 42", ex.Message, StringComparison.Ordinal);

        // With the default budget the same history is checked (and is linearizable: put 0 goes last).
        AssertLinearizable(history);
    }

    [Fact]
    public void MemoisationKeepsManyConcurrentPutsTractable()
    {
        // 10 mutually concurrent puts and then a read of a value nobody wrote: a plain Wing & Gong search tries
        // all 10! orders of the puts; with the (linearized set, value) cache it visits at most 2^10 * 10 states.
        var history = new List<KvOperation>();
        for (var i = 0; i < 10; i++)
        {
            history.Add(Put(i, 1, i, 0, 100));
        }

        history.Add(Get(10, 1, -1, 200, 210));
        var result = KvLinearizabilityChecker.Check(history, budget: 2_000_000);
        Assert.False(result.IsLinearizable, result.Explanation);
        Assert.Equal(1, result.FailingKey);
        Assert.Contains("covers 10 of them", result.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void ExplanationIsBounded()
    {
        var history = new List<KvOperation>();
        for (var i = 0; i < 500; i++)
        {
            history.Add(Put(1, 3, i, 20 * i, (20 * i) + 5));
            history.Add(Get(2, 3, i, (20 * i) + 10, (20 * i) + 15));
        }

        history.Add(Get(2, 3, 12345, 100_000, 100_001));
        var result = AssertNotLinearizable(history, key: 3);
        Assert.Contains("1000 of them", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("more", result.Explanation, StringComparison.Ordinal);
        var lines = result.Explanation.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length <= 60, $"explanation has {lines.Length} lines");
        Assert.True(result.Explanation.Length < 6_000, $"explanation has {result.Explanation.Length} chars");
    }

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (var seed = 1; seed <= 200; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomValidHistoriesAreLinearizableAndCorruptedReadsAreNot(int seed)
    {
        var rng = new Random(seed);
        var history = GenerateValidHistory(rng, opCount: 200, keys: 4, out var knownGetIndices);

        AssertLinearizable(history);
        if (seed % 10 == 0)
        {
            AssertLinearizable(history, reduce: false);
        }

        Assert.NotEmpty(knownGetIndices);
        var victim = knownGetIndices[rng.Next(knownGetIndices.Count)];
        var corrupted = new List<KvOperation>(history);
        corrupted[victim] = corrupted[victim] with { Value = -1 }; // never written
        AssertNotLinearizable(corrupted, corrupted[victim].Key);
    }

    [Fact]
    public void LargeHistoryIsCheckedQuickly()
    {
        var rng = new Random(12345);
        var history = GenerateValidHistory(rng, opCount: 2_000, keys: 8, out _);
        KvLinearizabilityChecker.Check(history); // warm-up (JIT)

        var sw = Stopwatch.StartNew();
        var result = KvLinearizabilityChecker.Check(history);
        sw.Stop();

        Assert.True(result.IsLinearizable, result.Explanation);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"took {sw.Elapsed.TotalMilliseconds} ms");
    }

    /// <summary>
    /// Runs a real dictionary at linearization points 10, 20, 30, ... and widens each operation's interval
    /// around its point by up to 25 on each side, so about five operations are concurrent at a time, yet the
    /// points remain a valid linearization. Some puts time out (unknown outcome; taking effect or not) and some
    /// gets time out (recorded with a bogus value, which must be ignored).
    /// </summary>
    private static List<KvOperation> GenerateValidHistory(Random rng, int opCount, int keys, out List<int> knownGetIndices)
    {
        var store = new Dictionary<int, long>();
        var history = new List<KvOperation>(opCount);
        knownGetIndices = [];
        var nextValue = 1L;
        for (var i = 0; i < opCount; i++)
        {
            var point = 100 + (10L * i);
            var call = point - rng.Next(0, 26);
            var ret = point + rng.Next(0, 26);
            var client = rng.Next(5);
            var key = rng.Next(keys);
            var unknown = rng.Next(20) == 0;
            if (rng.Next(2) == 0)
            {
                var value = nextValue++;
                if (unknown)
                {
                    if (rng.Next(2) == 0)
                    {
                        store[key] = value; // took effect at its point
                    }

                    history.Add(KvOperation.UnknownPut(client, key, value, call));
                }
                else
                {
                    store[key] = value;
                    history.Add(Put(client, key, value, call, ret));
                }
            }
            else if (unknown)
            {
                history.Add(new KvOperation(client, KvOpKind.Get, key, rng.Next(1000) + 1000L, call, KvOperation.UnknownReturn));
            }
            else
            {
                long? seen = store.TryGetValue(key, out var v) ? v : null;
                history.Add(Get(client, key, seen, call, ret));
            }
        }

        // Present the history in a shuffled order: the checker must not depend on input order.
        for (var i = history.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (history[i], history[j]) = (history[j], history[i]);
        }

        for (var i = 0; i < history.Count; i++)
        {
            if (history[i].Kind == KvOpKind.Get && !history[i].IsUnknown)
            {
                knownGetIndices.Add(i);
            }
        }

        return history;
    }
}
