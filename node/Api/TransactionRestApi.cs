using Aurigraph.Node.Api.V1;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary>
/// The REST routes of <c>aurigraph.v1.TransactionService</c> (JSON transcoding under /api/v11), bound with the
/// generated message types; gRPC's binder gets nothing here (<see cref="TransactionApiBase"/> serves gRPC).
/// </summary>
[BindServiceMethod(typeof(TransactionRestApiBase), nameof(BindService))]
internal abstract class TransactionRestApiBase
{
    /// <summary>The service's descriptor (JSON transcoding reads its HTTP rules from here).</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => TransactionService.Descriptor;

    public static void BindService(ServiceBinderBase binder, TransactionRestApiBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        if (!TransactionApiBase.IsTranscoding(binder))
        {
            return;
        }
        binder.AddMethod(TransactionApiBase.SubmitMessage, service is null ? null : new UnaryServerMethod<SubmitTransactionsRequest, SubmitTransactionsResponse>(service.SubmitTransactions));
        binder.AddMethod(TransactionApiBase.Get, service is null ? null : new UnaryServerMethod<GetTransactionRequest, TransactionResult>(service.GetTransaction));
    }

    public abstract Task<SubmitTransactionsResponse> SubmitTransactions(SubmitTransactionsRequest request, ServerCallContext context);

    public abstract Task<TransactionResult> GetTransaction(GetTransactionRequest request, ServerCallContext context);
}

/// <summary>REST submissions and lookups: the parsed message becomes a batch of slices of its byte strings, then as gRPC.</summary>
internal sealed class TransactionRestApi(TransactionApi api) : TransactionRestApiBase
{
    public override Task<SubmitTransactionsResponse> SubmitTransactions(SubmitTransactionsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        return api.SubmitTransactions(Transactions.SubmissionBatch.From(request.Transactions), context);
    }

    public override Task<TransactionResult> GetTransaction(GetTransactionRequest request, ServerCallContext context) => api.GetTransaction(request, context);
}
