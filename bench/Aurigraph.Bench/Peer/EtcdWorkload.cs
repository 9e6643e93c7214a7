using System.Text;
using Aurigraph.Bench.Peer.Etcd;
using Google.Protobuf;
using Grpc.Net.Client;

namespace Aurigraph.Bench.Peer;

/// <summary>
/// One mode of the peer workload against etcd's gRPC KV API: <see cref="PeerMode.Put"/> sends KV.Put,
/// <see cref="PeerMode.Batch"/> sends KV.Txn with no compares and <see cref="PeerRunOptions.BatchOps"/> puts
/// (etcd's largest atomic write). Keys `bench/{worker}/{n}` and the value are built before anything is timed;
/// each worker cycles through its own keys, so no Txn names a key twice.
/// </summary>
public static class EtcdWorkload
{
    public static async Task<PeerRunResult> RunAsync(PeerMode mode, PeerRunOptions options, IReadOnlyList<string> targets, string version, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count == 0)
        {
            throw new ArgumentException("no etcd client URL to send to", nameof(targets));
        }
        var channels = targets.Select(t => GrpcChannel.ForAddress(t)).ToArray();
        try
        {
            var clients = channels.Select(c => new KV.KVClient(c)).ToArray();
            var puts = PreparePuts(options);
            PeerRequest request;
            string requestName;
            if (mode == PeerMode.Put)
            {
                requestName = "KV.Put";
                request = async (w, sequence, token) =>
                {
                    var own = puts[w];
                    await clients[w % clients.Length].PutAsync(own[sequence % own.Length], deadline: DateTime.UtcNow.Add(options.RequestTimeout), cancellationToken: token).ConfigureAwait(false);
                    return 1;
                };
            }
            else
            {
                requestName = $"KV.Txn of {options.BatchOps} puts";
                var txns = PrepareTxns(options, puts);
                request = async (w, sequence, token) =>
                {
                    var own = txns[w];
                    var txn = own[sequence % own.Length];
                    var response = await clients[w % clients.Length].TxnAsync(txn, deadline: DateTime.UtcNow.Add(options.RequestTimeout), cancellationToken: token).ConfigureAwait(false);
                    if (!response.Succeeded || response.Responses.Count != txn.Success.Count)
                    {
                        throw new InvalidOperationException($"Txn answered succeeded={response.Succeeded} with {response.Responses.Count} of {txn.Success.Count} responses");
                    }
                    return txn.Success.Count;
                };
            }
            var label = $"etcd {requestName}";
            var m = await WorkloadDriver.RunAsync(label, options, request, ct).ConfigureAwait(false);
            return new PeerRunResult
            {
                System = "etcd",
                Version = version,
                Mode = mode,
                Request = requestName,
                Target = options.Target,
                Puts = m.Puts,
                Requests = m.Requests,
                Seconds = m.Seconds,
                PerRequest = LatencyPercentiles.From(m.PerRequest),
                PerPut = LatencyPercentiles.From(m.PerPut),
                Errors = m.Errors,
                WarmupErrors = m.WarmupErrors,
                InFlightAtEnd = m.InFlightAtEnd,
            };
        }
        finally
        {
            foreach (var c in channels)
            {
                c.Dispose();
            }
        }
    }

    /// <summary>Every worker's puts over its share of the key space, all carrying one shared random value.</summary>
    private static PutRequest[][] PreparePuts(PeerRunOptions options)
    {
        var value = new byte[options.ValueBytes];
        new Random(20_260_101).NextBytes(value);
        var shared = ByteString.CopyFrom(value);
        var perWorker = options.Keys / options.Concurrency;
        var puts = new PutRequest[options.Concurrency][];
        for (var w = 0; w < options.Concurrency; w++)
        {
            var own = new PutRequest[perWorker];
            for (var n = 0; n < perWorker; n++)
            {
                own[n] = new PutRequest { Key = ByteString.CopyFrom($"bench/{w:D4}/{n:D8}", Encoding.ASCII), Value = shared };
            }
            puts[w] = own;
        }
        return puts;
    }

    /// <summary>Every worker's Txns: consecutive runs of <see cref="PeerRunOptions.BatchOps"/> of its puts (distinct keys in each).</summary>
    private static TxnRequest[][] PrepareTxns(PeerRunOptions options, PutRequest[][] puts)
    {
        var txns = new TxnRequest[puts.Length][];
        for (var w = 0; w < puts.Length; w++)
        {
            var count = puts[w].Length / options.BatchOps;
            var own = new TxnRequest[count];
            for (var t = 0; t < count; t++)
            {
                var txn = new TxnRequest();
                for (var i = 0; i < options.BatchOps; i++)
                {
                    txn.Success.Add(new RequestOp { RequestPut = puts[w][(t * options.BatchOps) + i] });
                }
                own[t] = txn;
            }
            txns[w] = own;
        }
        return txns;
    }
}
