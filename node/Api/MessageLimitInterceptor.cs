using Aurigraph.Node.Hosting;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Aurigraph.Node.Api;

/// <summary>
/// Gives an oversized message of a client (or duplex) stream the reason a unary call's gets from
/// <see cref="ApiRequestGuard"/>: RESOURCE_EXHAUSTED naming the limit and its setting (gRPC's own reason names neither).
/// </summary>
internal sealed class MessageLimitInterceptor(NodeLimits limits) : Interceptor
{
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(new Reader<TRequest>(requestStream, limits), context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(new Reader<TRequest>(requestStream, limits), responseStream, context);
    }

    private sealed class Reader<T>(IAsyncStreamReader<T> inner, NodeLimits limits) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                return await inner.MoveNext(cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted, limits.TooLarge("a gRPC message of the stream", limits.GrpcMaxReceiveMessageBytes)));
            }
        }
    }
}
