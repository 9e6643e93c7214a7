using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Transactions;

public sealed class RecentTransactionsTests
{
    private static TransactionId Id(byte n) => new(n, 0, 0, 0);

    private static byte[] Signature(byte fill) => Enumerable.Repeat(fill, TransactionVerifier.SignatureSize).ToArray();

    [Fact]
    public void A_hit_needs_the_same_signature_bytes_and_a_miss_on_them_returns_the_remembered_ones()
    {
        var recent = new RecentTransactions(4);
        recent.Add(Id(1), Signature(0xAA));

        Assert.True(recent.TryGet(Id(1), Signature(0xAA), out var same));
        Assert.Null(same);

        var other = Signature(0xAA);
        other[63] ^= 1; // one bit differs
        Assert.True(recent.TryGet(Id(1), other, out var verified));
        Assert.Equal(Signature(0xAA), verified);

        Assert.True(recent.TryGet(Id(1), [], out var fromEmpty));
        Assert.Equal(Signature(0xAA), fromEmpty);
        Assert.False(recent.TryGet(Id(2), Signature(0xAA), out _));
    }

    [Fact]
    public void The_window_is_bounded_and_forgets_the_oldest_first()
    {
        var recent = new RecentTransactions(3);
        for (byte n = 1; n <= 5; n++)
        {
            recent.Add(Id(n), Signature(n));
        }
        Assert.Equal(3, recent.Count);
        Assert.False(recent.TryGet(Id(1), Signature(1), out _));
        Assert.False(recent.TryGet(Id(2), Signature(2), out _));
        Assert.True(recent.TryGet(Id(5), Signature(5), out _));
        // Adding a known id again neither grows the window nor evicts.
        recent.Add(Id(5), Signature(9));
        Assert.Equal(3, recent.Count);
        Assert.True(recent.TryGet(Id(3), Signature(3), out _));
        Assert.True(recent.TryGet(Id(5), Signature(9), out var now));
        Assert.Null(now);
    }
}
