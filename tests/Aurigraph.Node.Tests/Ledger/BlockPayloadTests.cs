using System.Buffers.Binary;
using Aurigraph.Node.Ledger;

namespace Aurigraph.Node.Tests.Ledger;

public class BlockPayloadTests
{
    [Theory]
    [InlineData(1u << 20)]
    [InlineData(uint.MaxValue)]
    public void A_header_claiming_more_transactions_than_its_bytes_hold_is_refused_without_allocating_for_them(uint claimed)
    {
        // 44 bytes (a forwarded batch or a block from a peer) that claim `claimed` transactions and carry none.
        var payload = BlockPayload.Encode([]);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), claimed);
        Assert.Throws<FormatException>(() => BlockPayload.Decode(payload)); // warm-up (JIT, exception machinery) outside the measurement

        var before = GC.GetAllocatedBytesForCurrentThread();
        var refused = Assert.Throws<FormatException>(() => BlockPayload.Decode(payload));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("truncated at transaction 0", refused.Message, StringComparison.Ordinal);
        Assert.True(allocated < 64 * 1024, $"refusing a {payload.Length}-byte payload allocated {allocated:N0} bytes");
    }
}
