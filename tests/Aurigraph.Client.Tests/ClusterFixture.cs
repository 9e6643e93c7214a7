using Aurigraph.Node.Tests.Cluster;

namespace Aurigraph.Client.Tests;

/// <summary>One real cluster (3 validators, each its own process) shared by the tests of a class that leave it whole.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private LocalCluster? _cluster;

    internal LocalCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster has not started");

    public async Task InitializeAsync() => _cluster = await ClientTestCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>Starting clusters and clients for the tests, and polling with a deadline.</summary>
internal static class ClientTestCluster
{
    public static Task<LocalCluster> StartAsync() => LocalCluster.StartAsync(validators: 3, business: 0, slim: 0);

    public static string Address(this LocalCluster cluster, ulong id) => cluster.Nodes.First(n => n.Member.Id == id).Member.ApiAddress;

    /// <summary>A client of <paramref name="ids"/> in that order (every node when none given).</summary>
    public static AurigraphClient Client(this LocalCluster cluster, params ulong[] ids) =>
        Client([.. (ids.Length == 0 ? cluster.Ids : ids).Select(cluster.Address)]);

    public static AurigraphClient Client(IEnumerable<string> addresses)
    {
        var options = new AurigraphClientOptions { Retry = new AurigraphRetryPolicy { MaxAttempts = 20 } };
        foreach (var address in addresses)
        {
            options.Nodes.Add(address);
        }
        return new AurigraphClient(options);
    }

    /// <summary>The dev account <paramref name="n"/> of the cluster's genesis (keys/dev-N.key).</summary>
    public static AurigraphKey DevAccount(this LocalCluster cluster, int n) => AurigraphKey.Load(Path.Combine(cluster.Directory, "keys", $"dev-{n}.key"));

    /// <summary>A transfer signed with the chain id and the sender's next nonce, both read from the cluster.</summary>
    public static async Task<SignedTx> NextTransferAsync(this AurigraphClient client, AurigraphKey sender, byte[] to, ulong amount) =>
        sender.Transfer(await client.GetChainIdAsync(), await client.NextNonceAsync(sender.PublicKeyHex), to, amount);

    /// <summary>A loopback address where nothing listens: connections to it are refused.</summary>
    public static string RefusingAddress()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    /// <summary>Polls <paramref name="done"/> until it holds or <paramref name="timeout"/> passes (then fails naming <paramref name="what"/>).</summary>
    public static async Task PollAsync(Func<bool> done, string what, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!done())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"{what}: not within {timeout}");
            }
            await Task.Delay(50); // polling interval against the deadline above, not synchronisation
        }
    }
}

/// <summary>What a transfer test starts from: a client of every node, a funded dev account and a fresh recipient.</summary>
internal sealed class TransferScene : IDisposable
{
    public TransferScene(LocalCluster cluster, int devAccount)
    {
        Client = cluster.Client();
        Sender = cluster.DevAccount(devAccount);
    }

    public AurigraphClient Client { get; }

    public AurigraphKey Sender { get; }

    public AurigraphKey Recipient { get; } = AurigraphKey.Generate();

    /// <summary>A transfer of <paramref name="amount"/> from the sender to the recipient with the sender's next nonce.</summary>
    public Task<SignedTx> NextTransferAsync(ulong amount) => Client.NextTransferAsync(Sender, Recipient.PublicKey, amount);

    public void Dispose()
    {
        Client.Dispose();
        Sender.Dispose();
        Recipient.Dispose();
    }
}
