namespace Aurigraph.Consensus;

/// <summary>The only source of randomness the core uses (election timeouts). Injected so a seed replays a run.</summary>
public interface IRandomSource
{
    /// <summary>A uniformly distributed integer in [minInclusive, maxExclusive).</summary>
    int NextInt(int minInclusive, int maxExclusive);
}

/// <summary>
/// SplitMix64: a small, fast generator whose sequence depends only on the seed — not on the runtime's
/// <see cref="Random"/> implementation — so recorded seeds replay across .NET versions.
/// </summary>
public sealed class SeededRandom(ulong seed) : IRandomSource
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public int NextInt(int minInclusive, int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minInclusive, maxExclusive);
        if (minInclusive == maxExclusive)
        {
            return minInclusive;
        }
        var range = (ulong)((long)maxExclusive - minInclusive);
        return (int)((long)minInclusive + (long)(NextUInt64() % range));
    }

    /// <summary>A double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => p > 0 && NextDouble() < p;
}
