using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Google.Protobuf;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary>
/// <c>aurigraph.v1.TransactionService</c> over gRPC, and its binding (the binder finds each handler as an override of a
/// method declared here, by name and parameter types). The wire format is the proto's, but a submission is read with
/// <see cref="SubmissionBatch"/>'s marshaller: the request's transactions stay slices of its one buffer (no protobuf
/// object, no copy per transaction). JSON transcoding (REST) needs protobuf messages and finds handlers by name alone,
/// so the same service's REST routes are bound by <see cref="TransactionRestApiBase"/> with the generated types; each
/// base binds only for its own binder.
/// </summary>
[BindServiceMethod(typeof(TransactionApiBase), nameof(BindService))]
internal abstract class TransactionApiBase
{
    private const string ServiceName = "aurigraph.v1.TransactionService";

    private static readonly Marshaller<SubmissionBatch> BatchMarshaller = Marshallers.Create<SubmissionBatch>(
        (batch, context) => context.Complete(batch.ToByteArray()),
        context => SubmissionBatch.TryParse(context.PayloadAsNewBuffer())
            ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "malformed SubmitTransactionsRequest: not a valid protobuf message")));

    private static readonly Marshaller<SubmitTransactionsRequest> RequestMarshaller = Proto(SubmitTransactionsRequest.Parser);
    private static readonly Marshaller<SubmitTransactionsResponse> ResponseMarshaller = Proto(SubmitTransactionsResponse.Parser);

    private static readonly Method<SubmissionBatch, SubmitTransactionsResponse> Submit = new(MethodType.Unary, ServiceName, "SubmitTransactions", BatchMarshaller, ResponseMarshaller);
    private static readonly Method<SubmissionBatch, SubmitTransactionsResponse> SubmitStream = new(MethodType.ClientStreaming, ServiceName, "SubmitTransactionStream", BatchMarshaller, ResponseMarshaller);
    internal static readonly Method<SubmitTransactionsRequest, SubmitTransactionsResponse> SubmitMessage = new(MethodType.Unary, ServiceName, "SubmitTransactions", RequestMarshaller, ResponseMarshaller);
    internal static readonly Method<GetTransactionRequest, TransactionResult> Get = new(MethodType.Unary, ServiceName, "GetTransaction", Proto(GetTransactionRequest.Parser), Proto(TransactionResult.Parser));

    /// <summary>The service's descriptor (JSON transcoding reads its HTTP rules from here).</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => TransactionService.Descriptor;

    /// <summary>JSON transcoding's binder (it calls every service's bind method too).</summary>
    internal static bool IsTranscoding(ServiceBinderBase binder) => binder.GetType().Name.StartsWith("JsonTranscoding", StringComparison.Ordinal);

    /// <summary>Called by each binder (gRPC's and JSON transcoding's) with no instance: handlers are found by name and types.</summary>
    public static void BindService(ServiceBinderBase binder, TransactionApiBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        if (IsTranscoding(binder))
        {
            return; // REST: TransactionRestApiBase
        }
        binder.AddMethod(Submit, service is null ? null : new UnaryServerMethod<SubmissionBatch, SubmitTransactionsResponse>(service.SubmitTransactions));
        binder.AddMethod(SubmitStream, service is null ? null : new ClientStreamingServerMethod<SubmissionBatch, SubmitTransactionsResponse>(service.SubmitTransactionStream));
        binder.AddMethod(Get, service is null ? null : new UnaryServerMethod<GetTransactionRequest, TransactionResult>(service.GetTransaction));
    }

    public abstract Task<SubmitTransactionsResponse> SubmitTransactions(SubmissionBatch request, ServerCallContext context);

    public abstract Task<SubmitTransactionsResponse> SubmitTransactionStream(IAsyncStreamReader<SubmissionBatch> requestStream, ServerCallContext context);

    public abstract Task<TransactionResult> GetTransaction(GetTransactionRequest request, ServerCallContext context);

    /// <summary>A protobuf message's marshaller, serializing into gRPC's buffer and parsing from its sequence.</summary>
    internal static Marshaller<T> Proto<T>(MessageParser<T> parser) where T : IMessage<T> => Marshallers.Create<T>(
        (message, context) =>
        {
            context.SetPayloadLength(message.CalculateSize());
            message.WriteTo(context.GetBufferWriter());
            context.Complete();
        },
        context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));
}
