using System.Globalization;
using System.Text;

namespace Aurigraph.Consensus.Simulation.Linearizability;

/// <summary>
/// Linearizability checker for histories of a key/value store holding one register per key.
/// </summary>
/// <remarks>
/// <para>
/// Algorithm: Wing &amp; Gong's search with Lowe's memoisation, as in the Porcupine checker.
/// Linearizability is P-compositional, so the history is partitioned per key and each key is checked on its own.
/// Within a key, the call and return events are put in a doubly linked list sorted by time. A depth-first search
/// walks the list from the front: at a call event it tries to linearize that operation now (the register model
/// accepts it), and if the pair (set of linearized operations, register value) has not been seen before it
/// "lifts" the call and its return out of the list and restarts from the front. Reaching a return event means the
/// operation it belongs to would have to be linearized before everything left in front of it but was not, so the
/// search backtracks (un-lifts the most recently linearized operation and tries the next candidate after it).
/// An empty list means every operation was linearized. The cache of visited (bitset, value) pairs prunes the
/// search: a configuration from which the rest of the history could not be completed once cannot be completed
/// a second time.
/// </para>
/// <para>
/// Equal timestamps: two operations are ordered in real time only when <c>A.Return &lt; B.Call</c> (strictly).
/// When <c>A.Return == B.Call</c> they are treated as concurrent, i.e. either order is allowed. This is done by
/// sorting call events before return events carrying the same timestamp. The choice is the permissive one: a
/// harness whose clock cannot separate the two events cannot claim that one finished before the other began.
/// </para>
/// <para>
/// Unknown outcomes: a Get whose outcome is unknown constrains nothing (its value was never seen by anyone), so
/// it is dropped. A Put whose outcome is unknown may take effect at any point after its call, or never; it is
/// modelled with an infinite return time. That is enough to cover "never": a Put with an infinite return time
/// has no operation that must come after it in real time, so in any linearization of the other operations it
/// can be placed last, where no Get can observe it, which is indistinguishable from it never taking effect.
/// Conversely, every linearization the search finds is a legal sequential history, so nothing unsound is
/// admitted. (A Put always succeeds on the register model, so once only such Puts remain the search linearizes
/// them one after another without backtracking.)
/// </para>
/// <para>
/// Reductions of unknown Puts (on by default). Left alone, every unknown Put stays pending until the end of the
/// history and each pending one can double the number of (bitset, value) configurations the search visits, which
/// makes failing histories with many timeouts exponential. Two exact (not heuristic) reductions are applied per
/// key before the search:
/// (1) An unknown Put whose value is never returned by any completed Get on the key is removed. If the rest of
/// the history has a linearization, appending the Put at its end (see above) gives one for the whole history;
/// if the whole history has a linearization, no Get sits between that Put and the next Put in it (that Get would
/// have read the Put's value), so deleting the Put leaves every Get reading the same value.
/// (2) An unknown Put of a non-null value v that is the only Put of v on the key, and that some completed Get
/// read, gets the return time R = min(Return of the Gets that read v) (clamped to be at least its call). In any
/// linearization that Put precedes every Get reading v, in particular the one returning at R, which precedes
/// (in real time, hence in the linearization) every operation called after R; so the tighter interval admits
/// exactly the same linearizations.
/// </para>
/// </remarks>
public static class KvLinearizabilityChecker
{
    /// <summary>Default bound on search steps per key.</summary>
    public const long DefaultBudget = 50_000_000;

    private const int MaxOpsInExplanation = 50;

    /// <summary>
    /// Checks the whole history; the initial value of every key is absent (null).
    /// Gets with an unknown outcome are ignored; Puts with an unknown outcome may take effect at any point after
    /// their call, or never. Keys are checked in ascending order and the first (lowest) failing key is reported.
    /// </summary>
    /// <param name="history">The recorded operations, in any order.</param>
    /// <param name="budget">Bound on the search steps per key.</param>
    /// <exception cref="TimeoutException">The search for some key needed more than <paramref name="budget"/> steps.</exception>
    /// <exception cref="ArgumentException">An operation returns before it is called.</exception>
    public static LinearizabilityResult Check(IReadOnlyList<KvOperation> history, long budget = DefaultBudget) =>
        Check(history, budget, reduceUnknownPuts: true);

    /// <summary>
    /// As <see cref="Check(IReadOnlyList{KvOperation}, long)"/>; <paramref name="reduceUnknownPuts"/> turns the
    /// exact pre-search reductions of unknown Puts on or off (tests turn them off to exercise the search's own
    /// handling of unknown Puts; the verdict is the same either way, only the cost differs).
    /// </summary>
    public static LinearizabilityResult Check(IReadOnlyList<KvOperation> history, long budget, bool reduceUnknownPuts)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(budget);

        var perKey = new Dictionary<int, List<KvOperation>>();
        var ignoredGets = 0;
        for (var i = 0; i < history.Count; i++)
        {
            var op = history[i];
            if (op.Return < op.Call)
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Operation {i} returns ({op.Return}) before it is called ({op.Call}): {op}"),
                    nameof(history));
            }

            if (op.Kind == KvOpKind.Get && op.IsUnknown)
            {
                ignoredGets++;
                continue;
            }

            if (!perKey.TryGetValue(op.Key, out var list))
            {
                list = [];
                perKey.Add(op.Key, list);
            }

            list.Add(op);
        }

        var keys = new List<int>(perKey.Keys);
        keys.Sort();
        foreach (var key in keys)
        {
            var ops = perKey[key];
            var omitted = reduceUnknownPuts ? RemoveUnobservedUnknownPuts(ops) : 0;

            // Deterministic order by call time (List.Sort is unstable, so break ties explicitly) for numbering
            // and display.
            ops.Sort(CompareByCall);
            var returns = new long[ops.Count];
            for (var i = 0; i < returns.Length; i++)
            {
                returns[i] = ops[i].Return;
            }

            if (reduceUnknownPuts)
            {
                TightenObservedUnknownPuts(ops, returns);
            }

            var failure = new KeySearch(key, ops, returns, omitted, budget).Run();
            if (failure is not null)
            {
                return new LinearizabilityResult(false, key, failure);
            }
        }

        return new LinearizabilityResult(
            true,
            null,
            string.Create(CultureInfo.InvariantCulture, $"Linearizable: {history.Count} operations over {keys.Count} keys ({ignoredGets} unknown gets ignored)."));
    }

    private static int CompareByCall(KvOperation a, KvOperation b)
    {
        var c = a.Call.CompareTo(b.Call);
        if (c != 0)
        {
            return c;
        }

        c = a.Return.CompareTo(b.Return);
        if (c != 0)
        {
            return c;
        }

        c = a.ClientId.CompareTo(b.ClientId);
        if (c != 0)
        {
            return c;
        }

        c = a.Kind.CompareTo(b.Kind);
        return c != 0 ? c : Nullable.Compare(a.Value, b.Value);
    }

    private static int RemoveUnobservedUnknownPuts(List<KvOperation> ops)
    {
        var readValues = new HashSet<long>();
        var readAbsent = false;
        var hasUnknownPut = false;
        foreach (var op in ops)
        {
            if (op.Kind == KvOpKind.Get)
            {
                if (op.Value is { } v)
                {
                    readValues.Add(v);
                }
                else
                {
                    readAbsent = true;
                }
            }
            else if (op.IsUnknown)
            {
                hasUnknownPut = true;
            }
        }

        if (!hasUnknownPut)
        {
            return 0;
        }

        return ops.RemoveAll(op => op.Kind == KvOpKind.Put && op.IsUnknown &&
            (op.Value is { } v ? !readValues.Contains(v) : !readAbsent));
    }

    private static void TightenObservedUnknownPuts(List<KvOperation> ops, long[] returns)
    {
        Dictionary<long, int>? writers = null;
        foreach (var op in ops)
        {
            if (op.Kind == KvOpKind.Put && op.Value is { } v)
            {
                writers ??= [];
                writers[v] = writers.GetValueOrDefault(v) + 1;
            }
        }

        if (writers is null)
        {
            return;
        }

        var firstObserverReturn = new Dictionary<long, long>();
        foreach (var op in ops)
        {
            if (op.Kind == KvOpKind.Get && op.Value is { } v &&
                (!firstObserverReturn.TryGetValue(v, out var r) || op.Return < r))
            {
                firstObserverReturn[v] = op.Return;
            }
        }

        for (var i = 0; i < ops.Count; i++)
        {
            var op = ops[i];
            if (op.Kind == KvOpKind.Put && op.IsUnknown && op.Value is { } v && writers[v] == 1 &&
                firstObserverReturn.TryGetValue(v, out var r))
            {
                returns[i] = Math.Max(op.Call, r);
            }
        }
    }

    /// <summary>One node of the event list. A call node has <see cref="Match"/> pointing at its return node.</summary>
    private sealed class Node
    {
        public Node Prev = null!;
        public Node Next = null!;
        public Node? Match;
        public int Op;
    }

    /// <summary>A memoised configuration: set of linearized operations plus the register value.</summary>
    private sealed class CacheKey
    {
        public ulong[] Bits = [];
        public bool HasValue;
        public long Value;
        public int Hash;
    }

    private sealed class CacheKeyComparer : IEqualityComparer<CacheKey>
    {
        public static readonly CacheKeyComparer Instance = new();

        public bool Equals(CacheKey? x, CacheKey? y)
        {
            if (ReferenceEquals(x, y))
            {
                return true;
            }

            if (x is null || y is null)
            {
                return false;
            }

            return x.Hash == y.Hash && x.HasValue == y.HasValue && x.Value == y.Value &&
                x.Bits.AsSpan().SequenceEqual(y.Bits);
        }

        public int GetHashCode(CacheKey obj) => obj.Hash;
    }

    private struct Frame
    {
        public Node Call;
        public bool HadValue;
        public long Value;
    }

    /// <summary>The search for one key.</summary>
    /// <param name="returns">Effective return time of each operation (see the reductions above).</param>
    /// <param name="omitted">Number of unobserved unknown Puts removed before the search (for the explanation).</param>
    private sealed class KeySearch(int key, List<KvOperation> ops, long[] returns, int omitted, long budget)
    {
        // Longest linearizable prefix seen so far: _best[0.._bestLength) are operation indices. _best[0.._agree)
        // is known to equal the current stack's prefix, so extending the record costs amortised O(1) per push.
        private readonly int[] _best = new int[ops.Count];
        private int _bestLength;
        private int _agree;

        /// <summary>Returns null if the key's history is linearizable, else an explanation.</summary>
        public string? Run()
        {
            var n = ops.Count;
            if (n == 0)
            {
                return null;
            }

            var (head, tail) = BuildEventList(n);
            var linearized = new ulong[(n + 63) >> 6];
            var cache = new HashSet<CacheKey>(CacheKeyComparer.Instance);
            var probe = new CacheKey { Bits = linearized };
            var stack = new Frame[n];
            var depth = 0;
            var hasValue = false;
            var value = 0L;
            var steps = 0L;
            var entry = head.Next;

            while (head.Next != tail)
            {
                if (++steps > budget)
                {
                    throw new TimeoutException(string.Create(
                        CultureInfo.InvariantCulture,
                        $"Linearizability check of key {key} exceeded its budget of {budget} search steps ({n} operations, {_bestLength} linearized at best)."));
                }

                if (entry.Match is not null)
                {
                    var op = ops[entry.Op];
                    bool ok;
                    bool newHasValue;
                    long newValue;
                    if (op.Kind == KvOpKind.Put)
                    {
                        ok = true;
                        newHasValue = op.Value.HasValue;
                        newValue = op.Value.GetValueOrDefault();
                    }
                    else
                    {
                        ok = op.Value is { } read ? hasValue && value == read : !hasValue;
                        newHasValue = hasValue;
                        newValue = value;
                    }

                    if (ok)
                    {
                        var word = entry.Op >> 6;
                        var mask = 1UL << (entry.Op & 63);
                        linearized[word] |= mask;
                        probe.HasValue = newHasValue;
                        probe.Value = newValue;
                        probe.Hash = Hash(linearized, newHasValue, newValue);
                        if (!cache.Contains(probe))
                        {
                            cache.Add(new CacheKey
                            {
                                Bits = (ulong[])linearized.Clone(),
                                HasValue = newHasValue,
                                Value = newValue,
                                Hash = probe.Hash,
                            });
                            stack[depth] = new Frame { Call = entry, HadValue = hasValue, Value = value };
                            depth++;
                            if (depth > _bestLength)
                            {
                                for (var i = _agree; i < depth; i++)
                                {
                                    _best[i] = stack[i].Call.Op;
                                }

                                _agree = depth;
                                _bestLength = depth;
                            }

                            hasValue = newHasValue;
                            value = newValue;
                            Lift(entry);
                            entry = head.Next;
                            continue;
                        }

                        linearized[word] &= ~mask;
                    }

                    entry = entry.Next;
                }
                else
                {
                    // A return event: the operation it closes had to be linearized by now. Backtrack.
                    if (depth == 0)
                    {
                        return Explain();
                    }

                    depth--;
                    if (_agree > depth)
                    {
                        _agree = depth;
                    }

                    var frame = stack[depth];
                    stack[depth] = default;
                    hasValue = frame.HadValue;
                    value = frame.Value;
                    linearized[frame.Call.Op >> 6] &= ~(1UL << (frame.Call.Op & 63));
                    Unlift(frame.Call);
                    entry = frame.Call.Next;
                }
            }

            return null;
        }

        private (Node Head, Node Tail) BuildEventList(int n)
        {
            // Events sorted by time; at equal time calls come before returns (A.Return == B.Call => concurrent).
            var events = new (long Time, int IsReturn, int Op)[2 * n];
            for (var i = 0; i < n; i++)
            {
                events[2 * i] = (ops[i].Call, 0, i);
                events[(2 * i) + 1] = (returns[i], 1, i);
            }

            Array.Sort(events);

            var head = new Node { Op = -1 };
            var tail = new Node { Op = -1 };
            var calls = new Node[n];
            var prev = head;
            foreach (var (_, isReturn, op) in events)
            {
                var node = new Node { Op = op, Prev = prev };
                prev.Next = node;
                prev = node;
                if (isReturn == 0)
                {
                    calls[op] = node;
                }
                else
                {
                    // Every call precedes its return (Call <= Return, and calls sort first on ties).
                    calls[op].Match = node;
                }
            }

            prev.Next = tail;
            tail.Prev = prev;
            return (head, tail);
        }

        private static void Lift(Node call)
        {
            call.Prev.Next = call.Next;
            call.Next.Prev = call.Prev;
            var ret = call.Match!;
            ret.Prev.Next = ret.Next;
            ret.Next.Prev = ret.Prev;
        }

        private static void Unlift(Node call)
        {
            var ret = call.Match!;
            ret.Prev.Next = ret;
            ret.Next.Prev = ret;
            call.Prev.Next = call;
            call.Next.Prev = call;
        }

        private static int Hash(ulong[] bits, bool hasValue, long value)
        {
            // FNV-1a over 64-bit words, then a final avalanche (splitmix64 finaliser).
            var h = 0xcbf29ce484222325UL;
            for (var i = 0; i < bits.Length; i++)
            {
                h = (h ^ bits[i]) * 0x100000001b3UL;
            }

            h = (h ^ (hasValue ? (ulong)value : 0x9e3779b97f4a7c15UL)) * 0x100000001b3UL;
            h ^= h >> 30;
            h *= 0xbf58476d1ce4e5b9UL;
            h ^= h >> 27;
            h *= 0x94d049bb133111ebUL;
            h ^= h >> 31;
            return (int)h ^ (int)(h >> 32);
        }

        private string Explain()
        {
            var ci = CultureInfo.InvariantCulture;
            var sb = new StringBuilder();
            sb.Append(ci, $"Key {key} is not linearizable: {ops.Count} operations, the longest linearizable prefix found covers {_bestLength} of them.");
            sb.AppendLine();
            sb.Append("Operations on this key by call time");
            if (omitted > 0)
            {
                sb.Append(ci, $" ({omitted} unknown puts whose value nobody read are omitted)");
            }

            sb.AppendLine(":");
            var shown = Math.Min(ops.Count, MaxOpsInExplanation);
            for (var i = 0; i < shown; i++)
            {
                sb.Append("  ");
                AppendOp(sb, i, withInterval: true);
                sb.AppendLine();
            }

            if (ops.Count > shown)
            {
                sb.Append(ci, $"  ... and {ops.Count - shown} more");
                sb.AppendLine();
            }

            sb.Append("Longest linearizable prefix: ");
            if (_bestLength == 0)
            {
                sb.Append("(empty)");
            }
            else
            {
                var start = Math.Max(0, _bestLength - MaxOpsInExplanation);
                if (start > 0)
                {
                    sb.Append(ci, $"... ({start} earlier), ");
                }

                for (var i = start; i < _bestLength; i++)
                {
                    if (i > start)
                    {
                        sb.Append(", ");
                    }

                    AppendOp(sb, _best[i], withInterval: false);
                }
            }

            sb.AppendLine();
            return sb.ToString();
        }

        private void AppendOp(StringBuilder sb, int index, bool withInterval)
        {
            var ci = CultureInfo.InvariantCulture;
            var op = ops[index];
            var value = op.Value is { } v ? v.ToString(ci) : "null";
            if (op.Kind == KvOpKind.Put)
            {
                sb.Append(ci, $"#{index} c{op.ClientId} Put({value})");
            }
            else
            {
                sb.Append(ci, $"#{index} c{op.ClientId} Get->{value}");
            }

            if (withInterval)
            {
                if (op.IsUnknown)
                {
                    sb.Append(ci, $" [{op.Call}, unknown]");
                    if (returns[index] != op.Return)
                    {
                        sb.Append(ci, $" (must precede {returns[index]})");
                    }
                }
                else
                {
                    sb.Append(ci, $" [{op.Call}, {op.Return}]");
                }
            }
        }
    }
}
