using System.Diagnostics;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Google.Protobuf;

namespace Aurigraph.Bench.Load;

/// <summary>
/// The machine's Ed25519 verification limit, measured in the same run as the TPS figures: transactions of the
/// run's body size verified (format checks, id and signature, as admission does) on one core for a fixed time,
/// then on every core at once. The limit the targets use is the one-core rate × the core count.
/// </summary>
public sealed record VerifyRate(double OneCorePerSecond, double AllCoresPerSecond, int Cores)
{
    public double Limit => OneCorePerSecond * Cores;

    public static VerifyRate Measure(int bodyBytes, TimeSpan duration)
    {
        const string Chain = "verify-rate";
        var verifier = new TransactionVerifier(Chain, 1 << 20);
        var signed = new List<SignedTransaction>();
        for (var i = 0; i < 64; i++)
        {
            using var signer = TransactionSigner.Generate();
            for (ulong n = 0; n < 16; n++)
            {
                var padding = Math.Max(1, bodyBytes - 80);
                signed.Add(signer.Put(Chain, n, "k"u8, new byte[padding]));
            }
        }
        var oneCore = Run(signed, verifier, duration);
        var cores = Environment.ProcessorCount;
        var counts = new long[cores];
        var clock = Stopwatch.StartNew();
        Parallel.For(0, cores, new ParallelOptions { MaxDegreeOfParallelism = cores }, c => counts[c] = Count(signed, verifier, duration));
        var all = counts.Sum() / clock.Elapsed.TotalSeconds;
        return new VerifyRate(oneCore, all, cores);
    }

    private static double Run(List<SignedTransaction> signed, TransactionVerifier verifier, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        var count = Count(signed, verifier, duration);
        return count / clock.Elapsed.TotalSeconds;
    }

    private static long Count(List<SignedTransaction> signed, TransactionVerifier verifier, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        long count = 0;
        while (clock.Elapsed < duration)
        {
            foreach (var tx in signed)
            {
                if (verifier.Verify(tx.Body.Memory, tx.Signature.Memory).Rejection is not null)
                {
                    throw new InvalidOperationException("a freshly signed transaction failed verification");
                }
                count++;
            }
        }
        return count;
    }
}
