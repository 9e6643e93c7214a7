using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Transactions;

public sealed class IngressGateTests
{
    [Fact]
    public void A_call_enters_only_if_both_limits_leave_room_for_all_of_it()
    {
        var gate = new IngressGate(maxTransactions: 10, maxBytes: 1_000);
        Assert.True(gate.TryEnter(6, 600));
        Assert.False(gate.TryEnter(5, 100)); // transactions would be 11
        Assert.False(gate.TryEnter(1, 401)); // bytes would be 1,001
        Assert.Equal(6, gate.Transactions);
        Assert.Equal(600, gate.Bytes);
        Assert.True(gate.TryEnter(4, 400)); // exactly full
        Assert.False(gate.TryEnter(1, 0));

        gate.Leave(3, 300);
        Assert.True(gate.TryEnter(3, 300));
        gate.Leave(10, 1_000);
        Assert.Equal(0, gate.Transactions);
        Assert.Equal(0, gate.Bytes);
    }

    [Fact]
    public void A_call_larger_than_the_gate_never_fits()
    {
        var gate = new IngressGate(maxTransactions: 10, maxBytes: 1_000);
        Assert.True(gate.Fits(10, 1_000));
        Assert.False(gate.Fits(11, 10));
        Assert.False(gate.Fits(1, 1_001));
        Assert.False(gate.TryEnter(11, 10));
        Assert.Equal(0, gate.Transactions);
    }

    [Fact]
    public void Concurrent_calls_never_overfill_it()
    {
        var gate = new IngressGate(maxTransactions: 100, maxBytes: long.MaxValue);
        var inside = 0;
        var most = 0;
        Parallel.For(0, 20_000, _ =>
        {
            if (gate.TryEnter(7, 1))
            {
                var now = Interlocked.Add(ref inside, 7);
                InterlockedMax(ref most, now);
                Interlocked.Add(ref inside, -7);
                gate.Leave(7, 1);
            }
        });
        Assert.InRange(most, 7, 98);
        Assert.Equal(0, gate.Transactions);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }
            current = seen;
        }
    }
}
