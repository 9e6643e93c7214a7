using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>
/// A client writing while a test changes the cluster: one transfer at a time through one node, each of which must
/// commit; <see cref="Acknowledged"/> counts the commits answered, the recipient's balance must equal it in the end.
/// </summary>
internal sealed class TransferWriter : IDisposable
{
    private const string Chain = "aurigraph-devnet";
    private readonly LocalCluster _cluster;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writing;
    private ulong _acknowledged;

    public TransferWriter(LocalCluster cluster, ulong through, int devKey)
    {
        _cluster = cluster;
        Recipient = TransactionSigner.Generate();
        _writing = Task.Run(async () =>
        {
            using var sender = cluster.DevKey(devKey);
            for (ulong nonce = 0; !_stop.IsCancellationRequested; nonce++)
            {
                var request = new SubmitTransactionsRequest { Transactions = { sender.Transfer(Chain, nonce, Recipient.PublicKey, 1) } };
                var reply = await cluster.Transactions(through).SubmitTransactionsAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
                Assert.True(reply.Results[0].State == TransactionState.Committed, $"transfer {nonce}: {reply.Results[0]}");
                Interlocked.Exchange(ref _acknowledged, nonce + 1);
            }
        });
    }

    public TransactionSigner Recipient { get; }

    public ulong Acknowledged => Interlocked.Read(ref _acknowledged);

    /// <summary>Waits for <paramref name="more"/> more acknowledged writes; a failed write fails the test here.</summary>
    public async Task WritesAsync(int more, TimeSpan deadline)
    {
        var target = Acknowledged + (ulong)more;
        await _cluster.PollAsync(async () => { await Task.Yield(); return _writing.IsFaulted || Acknowledged >= target ? "" : null; }, $"{more} more writes", deadline);
        if (_writing.IsFaulted)
        {
            await _writing;
        }
    }

    /// <summary>Stops after the write in flight; returns how many were acknowledged.</summary>
    public async Task<ulong> StopAsync()
    {
        await _stop.CancelAsync();
        await _writing;
        return Acknowledged;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
        Recipient.Dispose();
    }
}
