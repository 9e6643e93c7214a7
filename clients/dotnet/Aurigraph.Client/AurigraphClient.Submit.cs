using Aurigraph.Node.Api.V1;
using Grpc.Core;

namespace Aurigraph.Client;

public sealed partial class AurigraphClient
{
    /// <summary>
    /// Submits one transaction and waits for its commit (see <see cref="SubmitAndWaitAsync(IReadOnlyList{SignedTransaction}, CancellationToken)"/>).
    /// </summary>
    public async Task<TransactionResult> SubmitAndWaitAsync(SignedTransaction transaction, CancellationToken ct = default) =>
        (await SubmitAndWaitAsync([transaction], ct).ConfigureAwait(false))[0];

    /// <summary>
    /// Submits the transactions and waits until each is committed (its receipt says whether it succeeded: a transfer
    /// beyond the balance commits with a failed receipt). Retries send the very same signed bytes, so a transaction is
    /// never applied twice: after a node failure (on the next node), while a transaction is pending (its commit took
    /// longer than the node waits), while the mempool is full or no leader is known. A resubmitted transaction that
    /// has committed answers as committed; one refused as "nonce already used" is looked up with a linearizable read
    /// and answers its true state (committed, or still on its way).
    /// </summary>
    /// <returns>One result per transaction, in order, each committed.</returns>
    /// <exception cref="TransactionRejectedException">Admission refused a transaction (its reason; the others' outcomes in <see cref="TransactionRejectedException.Results"/>).</exception>
    /// <exception cref="NoNodeAvailableException">No node answered within the retry policy.</exception>
    /// <exception cref="AurigraphException">Another refusal, or transactions still pending when the attempts ran out (<see cref="StatusCode.DeadlineExceeded"/>).</exception>
    public async Task<IReadOnlyList<TransactionResult>> SubmitAndWaitAsync(IReadOnlyList<SignedTransaction> transactions, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        return await FinishAsync(transactions, new TransactionResult?[transactions.Count], ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Submits a stream of transactions over one client-streaming call (batches of <paramref name="batchSize"/> sent as
    /// they fill), then waits for every commit. Whatever the stream's answer leaves open (pending, a retryable refusal,
    /// or everything if the stream broke) is finished as <see cref="SubmitAndWaitAsync(IReadOnlyList{SignedTransaction}, CancellationToken)"/>
    /// does, with the same signed bytes.
    /// </summary>
    /// <returns>One result per transaction, in stream order, each committed.</returns>
    /// <exception cref="TransactionRejectedException">Admission refused a transaction.</exception>
    /// <exception cref="NoNodeAvailableException">No node answered within the retry policy.</exception>
    public async Task<IReadOnlyList<TransactionResult>> SubmitStreamAsync(IAsyncEnumerable<SignedTransaction> transactions, int batchSize = 256, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        try
        {
            return await StreamAsync(transactions, batchSize, ct).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException("the submission was cancelled", ex, ct);
        }
    }

    private async Task<IReadOnlyList<TransactionResult>> StreamAsync(IAsyncEnumerable<SignedTransaction> transactions, int batchSize, CancellationToken ct)
    {
        await DiscoverLeaderAsync(ct).ConfigureAwait(false);
        var endpoint = _router.Next(preferLeader: true);
        var sent = new List<SignedTransaction>();
        SubmitTransactionsResponse? response = null;
        using (var call = endpoint.Transactions.SubmitTransactionStream(cancellationToken: ct))
        {
            var broken = false;
            var batch = new SubmitTransactionsRequest();
            async Task SendAsync()
            {
                if (!broken && batch.Transactions.Count > 0)
                {
                    try
                    {
                        await call.RequestStream.WriteAsync(batch, ct).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is RpcException or IOException or InvalidOperationException && !ct.IsCancellationRequested)
                    {
                        broken = true; // the rest is collected and submitted after the stream
                    }
                }
                batch = new SubmitTransactionsRequest();
            }
            await foreach (var tx in transactions.WithCancellation(ct).ConfigureAwait(false))
            {
                sent.Add(tx);
                batch.Transactions.Add(tx);
                if (batch.Transactions.Count >= batchSize)
                {
                    await SendAsync().ConfigureAwait(false);
                }
            }
            await SendAsync().ConfigureAwait(false);
            try
            {
                if (!broken)
                {
                    await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                    response = await call.ResponseAsync.WaitAsync(_options.CallTimeout, ct).ConfigureAwait(false);
                    _router.Answered(endpoint);
                }
            }
            catch (Exception ex) when (ex is RpcException or IOException or InvalidOperationException or TimeoutException && !ct.IsCancellationRequested)
            {
                if (ex is not RpcException rpc || IsNodeFailure(rpc) || ex is TimeoutException)
                {
                    _router.Failed(endpoint);
                }
            }
        }
        var results = new TransactionResult?[sent.Count];
        if (response?.Results.Count == sent.Count)
        {
            for (var i = 0; i < sent.Count; i++)
            {
                results[i] = response.Results[i];
            }
        }
        return await FinishAsync(sent, results, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Resubmits every transaction whose outcome is not final (no answer yet, pending, a retryable refusal) until all
    /// are committed or refused for good, under the retry policy; then throws for the first refusal.
    /// </summary>
    private async Task<IReadOnlyList<TransactionResult>> FinishAsync(IReadOnlyList<SignedTransaction> transactions, TransactionResult?[] results, CancellationToken ct)
    {
        var ids = transactions.Select(IdOf).ToArray();
        var final = new bool[transactions.Count];
        var failures = new Dictionary<string, string>();
        await SettleAsync(results, final, ids, ct).ConfigureAwait(false);
        try
        {
            await _retry.ExecuteAsync(async token =>
            {
                var open = Enumerable.Range(0, transactions.Count).Where(i => !final[i]).ToList();
                if (open.Count == 0)
                {
                    return;
                }
                await DiscoverLeaderAsync(token).ConfigureAwait(false);
                var endpoint = _router.Next(preferLeader: true);
                var request = new SubmitTransactionsRequest();
                request.Transactions.AddRange(open.Select(i => transactions[i]));
                SubmitTransactionsResponse response;
                try
                {
                    response = await endpoint.Transactions.SubmitTransactionsAsync(request, CallOptions(token)).ConfigureAwait(false);
                    _router.Answered(endpoint);
                }
                catch (RpcException ex)
                {
                    throw Classify(endpoint, ex, failures, token);
                }
                if (response.Results.Count != open.Count)
                {
                    throw new AurigraphException(StatusCode.Internal, $"{endpoint.Address} answered {response.Results.Count} results for {open.Count} transactions");
                }
                for (var k = 0; k < open.Count; k++)
                {
                    results[open[k]] = response.Results[k];
                }
                await SettleAsync(results, final, ids, token).ConfigureAwait(false);
                var waiting = open.Where(i => !final[i]).ToList();
                if (waiting.Count > 0)
                {
                    // Pending: the node waited its commit timeout, so ask again at once; a busy cluster: back off.
                    var busy = waiting.Any(i => results[i]?.State == TransactionState.Rejected);
                    throw new RetryableException(new AurigraphException(StatusCode.DeadlineExceeded,
                        $"{waiting.Count} of {transactions.Count} transactions not committed yet (e.g. {ids[waiting[0]]}: {Describe(results[waiting[0]])})"), busy ? null : TimeSpan.Zero);
                }
            }, ct).ConfigureAwait(false);
        }
        catch (RetryableException ex)
        {
            throw ex.Final;
        }
        var answered = results.Select(r => r!).ToList();
        if (answered.FindIndex(r => r.State == TransactionState.Rejected) is >= 0 and var rejected)
        {
            throw new TransactionRejectedException(ids[rejected], answered[rejected].RejectReason, answered);
        }
        return answered;
    }

    /// <summary>
    /// Marks the results that are final: committed, or refused for good. A refusal as "nonce already used" may be this
    /// very transaction's earlier submission: a linearizable lookup tells (committed: final; pending: wait on; else final).
    /// </summary>
    private async Task SettleAsync(TransactionResult?[] results, bool[] final, string[] ids, CancellationToken ct)
    {
        for (var i = 0; i < results.Length; i++)
        {
            if (final[i] || results[i] is not { } result)
            {
                continue;
            }
            switch (result.State)
            {
                case TransactionState.Committed:
                    final[i] = true;
                    break;
                case TransactionState.Rejected when IsNonceUsed(result.RejectReason):
                    var known = await LookupAsync(ids[i], ct).ConfigureAwait(false);
                    if (known?.State == TransactionState.Committed)
                    {
                        results[i] = known;
                        final[i] = true;
                    }
                    else if (known is not null && known.State != TransactionState.Pending)
                    {
                        final[i] = true; // another transaction took the nonce
                    }
                    break;
                case TransactionState.Rejected:
                    final[i] = !IsRetryable(result.RejectReason);
                    break;
                default:
                    break; // pending (or unknown): resubmitted
            }
        }
    }

    /// <summary>A linearizable lookup of one transaction; null if no node could answer now (the next attempt asks again).</summary>
    private async Task<TransactionResult?> LookupAsync(string txId, CancellationToken ct)
    {
        try
        {
            return await GetTransactionAsync(txId, ReadConsistency.Linearizable, ct).ConfigureAwait(false);
        }
        catch (AurigraphException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>"nonce 3 already used (next is 4)".</summary>
    private static bool IsNonceUsed(string reason) => reason.Contains("already used", StringComparison.Ordinal);

    /// <summary>Refusals that pass: a full mempool, no leader known right now ("retry shortly").</summary>
    private static bool IsRetryable(string reason) =>
        reason == "mempool full" || reason.Contains("retry", StringComparison.OrdinalIgnoreCase);

    private static string Describe(TransactionResult? result) => result switch
    {
        null => "no answer",
        { State: TransactionState.Rejected } => $"rejected: {result.RejectReason}",
        _ => result.State.ToString().ToLowerInvariant(),
    };
}
