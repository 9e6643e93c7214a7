using System.Diagnostics;
using System.IO.Hashing;
using System.Numerics;

namespace Aurigraph.Node.Ledger;

/// <summary>
/// A blocked bloom filter over the keys of every key/value record the state holds, so a put of a new key — most puts —
/// learns that the key has no value without reading the database. "Absent" is always true; "maybe" costs a read. Its
/// size is fixed (a share of the memory budget); each key sets <see cref="BitsPerKey"/> bits in one 512-bit block (one
/// cache line), so a lookup is one memory access. Past <see cref="MaxKeys"/> (false positives near 10 %) it turns itself
/// off and answers "maybe" for every key: correct, only slower. Records are never deleted, so nothing is ever removed.
/// Owned by the consensus loop: not thread-safe. It changes only which reads are made, never what the state answers.
/// </summary>
internal sealed class KeyFilter
{
    /// <summary>Bits set per key; with ten bits of filter per key, about 1 % false positives at the design load.</summary>
    public const int BitsPerKey = 7;

    /// <summary>Bits of filter per key at the design load.</summary>
    public const int DesignBitsPerKey = 10;

    private const int BlockWords = 8; // 512 bits: one cache line

    private readonly ulong[] _words;
    private readonly int _blocks;

    /// <param name="bytes">The filter's size; at least one block.</param>
    public KeyFilter(long bytes)
    {
        _blocks = (int)Math.Clamp(bytes / (BlockWords * sizeof(ulong)), 1, int.MaxValue / BlockWords);
        _words = new ulong[_blocks * BlockWords];
        DesignKeys = (long)_blocks * BlockWords * 64 / DesignBitsPerKey;
    }

    /// <summary>Keys the filter is sized for (about 1 % false positives).</summary>
    public long DesignKeys { get; }

    /// <summary>Beyond this many keys the filter is off: false positives would pass 10 %.</summary>
    public long MaxKeys => DesignKeys * 2;

    /// <summary>Keys added since the last <see cref="Clear"/>.</summary>
    public long Count { get; private set; }

    /// <summary>The filter answers "maybe" for every key (too many keys for its size).</summary>
    public bool Off => Count > MaxKeys;

    public long Bytes => (long)_words.Length * sizeof(ulong);

    public void Add(ReadOnlySpan<byte> key)
    {
        Count++;
        if (Off)
        {
            return;
        }
        var (block, bits) = Locate(key);
        var words = _words.AsSpan(block * BlockWords, BlockWords);
        for (var i = 0; i < BitsPerKey; i++)
        {
            var bit = (int)(bits >> (i * 9)) & 511;
            words[bit >> 6] |= 1UL << (bit & 63);
        }
    }

    /// <summary>False only when <paramref name="key"/> was certainly never added.</summary>
    public bool MightContain(ReadOnlySpan<byte> key)
    {
        if (Off)
        {
            return true;
        }
        var (block, bits) = Locate(key);
        var words = _words.AsSpan(block * BlockWords, BlockWords);
        for (var i = 0; i < BitsPerKey; i++)
        {
            var bit = (int)(bits >> (i * 9)) & 511;
            if ((words[bit >> 6] & (1UL << (bit & 63))) == 0)
            {
                return false;
            }
        }
        return true;
    }

    public void Clear()
    {
        Array.Clear(_words);
        Count = 0;
    }

    /// <summary>The key's block, and 63 bits from which seven 9-bit positions in it are taken.</summary>
    private (int Block, ulong Bits) Locate(ReadOnlySpan<byte> key)
    {
        var hash = XxHash3.HashToUInt64(key);
        // The high bits pick the block (a multiply-shift, no modulo); a second mix of the hash gives the positions.
        var block = (int)(((hash >> 32) * (ulong)_blocks) >> 32);
        var bits = BitOperations.RotateLeft(hash * 0x9E3779B97F4A7C15UL, 17);
        Debug.Assert(block >= 0 && block < _blocks, "the block is in range");
        return (block, bits);
    }
}
