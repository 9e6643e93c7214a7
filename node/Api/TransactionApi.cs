using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Transactions;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary>
/// Submitting transactions and looking them up (gRPC, and REST under /api/v11 through JSON transcoding). Bound by
/// <see cref="TransactionApiBase"/>: gRPC submissions arrive as <see cref="SubmissionBatch"/> (slices of the request),
/// REST ones through <see cref="TransactionRestApi"/>.
/// </summary>
internal sealed class TransactionApi(NodeRuntime node) : TransactionApiBase
{
    public override Task<SubmitTransactionsResponse> SubmitTransactions(SubmissionBatch request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Count == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "no transactions in the request"));
        }
        return node.SubmitAsync(request, context.CancellationToken);
    }

    public override async Task<SubmitTransactionsResponse> SubmitTransactionStream(IAsyncStreamReader<SubmissionBatch> requestStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(context);
        // Batches are admitted as they arrive; the answer lists every transaction of the stream in order.
        var batches = new List<Task<SubmitTransactionsResponse>>();
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            if (request.Count > 0)
            {
                batches.Add(node.SubmitAsync(request, context.CancellationToken));
            }
        }
        var response = new SubmitTransactionsResponse();
        foreach (var batch in batches)
        {
            response.Results.AddRange((await batch.ConfigureAwait(false)).Results);
        }
        return response;
    }

    public override async Task<TransactionResult> GetTransaction(GetTransactionRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (!TransactionId.TryParse(request.TxId, out var id))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"tx_id must be 64 hex characters (SHA-256 of the body), got '{request.TxId}'"));
        }
        if (NodeApi.Level(request.Consistency) != Hosting.ReadConsistency.Local)
        {
            // A barrier: once this node has applied the confirmed read index, its index and blocks are current.
            await NodeApi.Read(node, request.Consistency, _ => true, context).ConfigureAwait(false);
        }
        return node.Lookup(id);
    }
}
