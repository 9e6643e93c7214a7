using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Aurigraph.Node.Hosting;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.AspNetCore.Http.Features;

namespace Aurigraph.Node.Api;

/// <summary>
/// Runs after routing, before gRPC and JSON transcoding see a request. It sets each request's body limit from
/// <see cref="NodeLimits"/> (gRPC: one message and its prefix; REST: the JSON limit) and refuses an oversized request
/// with a reason naming the limit (gRPC RESOURCE_EXHAUSTED from the prefix of a unary or server-streaming call's
/// message, before the message is read; REST 413).
/// On a transcoded REST request it applies what protobuf's JSON mapping asks of a parser and the transcoder does not
/// do: bytes fields accept URL-safe base64 and missing padding (rewritten to standard base64 for the transcoder,
/// <see cref="JsonBodyInspector"/>), and an enum field (query or body) outside its enum is refused with 400 naming the
/// field and the allowed values. Both follow the request's protobuf descriptor, so they hold for every field of every
/// transcoded method.
/// </summary>
internal sealed class ApiRequestGuard(RequestDelegate next, NodeLimits limits)
{
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        if (ApiErrors.IsGrpc(request))
        {
            SetBodyLimit(context, limits.GrpcMaxRequestBodyBytes);
            // Unary and server-streaming calls send their one message at once; a client stream's messages are checked
            // as they are read (MessageLimitInterceptor), so waiting here can never hold a stream that sends later.
            if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.Type is MethodType.Unary or MethodType.ServerStreaming
                && await FirstMessageLength(context).ConfigureAwait(false) is { } length && length > limits.GrpcMaxReceiveMessageBytes)
            {
                ApiErrors.Grpc(context, StatusCode.ResourceExhausted, limits.TooLarge($"a gRPC message of {length} bytes", limits.GrpcMaxReceiveMessageBytes));
                return;
            }
            await next(context).ConfigureAwait(false);
            return;
        }
        SetBodyLimit(context, limits.RestMaxRequestBodyBytes);
        var metadata = context.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>();
        if (metadata is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var input = metadata.MethodDescriptor.InputType;
        foreach (var (name, values) in request.Query)
        {
            if (FieldAt(input, name) is { FieldType: FieldType.Enum } field)
            {
                foreach (var value in values)
                {
                    if (JsonBodyInspector.CheckEnum(field, value, name) is { } error)
                    {
                        await ApiErrors.WriteJsonAsync(context, StatusCodes.Status400BadRequest, StatusCode.InvalidArgument, error).ConfigureAwait(false);
                        return;
                    }
                }
            }
        }
        if (!string.IsNullOrEmpty(metadata.HttpRule.Body) && BodyType(input, metadata.HttpRule.Body) is { } bodyType)
        {
            if (await ReadBodyAsync(context).ConfigureAwait(false) is not { } body)
            {
                return; // answered 413
            }
            var (rewritten, error) = JsonBodyInspector.Inspect(body, bodyType);
            if (error is not null)
            {
                await ApiErrors.WriteJsonAsync(context, StatusCodes.Status400BadRequest, StatusCode.InvalidArgument, error).ConfigureAwait(false);
                return;
            }
            var bytes = rewritten is null ? body : new ArraySegment<byte>(rewritten);
            request.Body = new MemoryStream(bytes.Array!, bytes.Offset, bytes.Count, writable: false);
            request.ContentLength = bytes.Count;
        }
        await next(context).ConfigureAwait(false);
    }

    private static void SetBodyLimit(HttpContext context, long limit)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }
    }

    /// <summary>
    /// The length the first gRPC message's prefix declares, read without consuming anything (gRPC reads the same bytes
    /// next); null when the body ends before a whole prefix (gRPC answers that itself).
    /// </summary>
    private static async Task<long?> FirstMessageLength(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        var result = await reader.ReadAtLeastAsync(NodeLimits.GrpcPrefixBytes, context.RequestAborted).ConfigureAwait(false);
        var buffer = result.Buffer;
        long? length = null;
        if (buffer.Length >= NodeLimits.GrpcPrefixBytes)
        {
            Span<byte> prefix = stackalloc byte[NodeLimits.GrpcPrefixBytes];
            buffer.Slice(0, NodeLimits.GrpcPrefixBytes).CopyTo(prefix);
            length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        }
        reader.AdvanceTo(buffer.Start, buffer.Start);
        return length;
    }

    /// <summary>The whole REST body within the limit; null after answering 413 when it is larger.</summary>
    private async Task<ArraySegment<byte>?> ReadBodyAsync(HttpContext context)
    {
        var request = context.Request;
        var limit = limits.RestMaxRequestBodyBytes;
        if (request.ContentLength is { } declared && declared > limit)
        {
            await TooLargeAsync(context, declared).ConfigureAwait(false);
            return null;
        }
        var buffer = new MemoryStream(request.ContentLength is { } n ? (int)n : 0);
        try
        {
            await request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await TooLargeAsync(context, null).ConfigureAwait(false);
            return null;
        }
        return new ArraySegment<byte>(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private Task TooLargeAsync(HttpContext context, long? bytes) =>
        ApiErrors.WriteJsonAsync(context, StatusCodes.Status413PayloadTooLarge, StatusCode.ResourceExhausted,
            limits.TooLarge(bytes is { } b ? $"a request body of {b} bytes" : "the request body", limits.RestMaxRequestBodyBytes));

    /// <summary>The message type the body carries: the request (<c>body: "*"</c>) or one message field of it.</summary>
    private static MessageDescriptor? BodyType(MessageDescriptor input, string body) =>
        body == "*" ? input : JsonBodyInspector.Field(input, body) is { FieldType: FieldType.Message, IsRepeated: false } f ? f.MessageType : null;

    /// <summary>The field a query parameter names: a dotted path of JSON or proto names.</summary>
    private static FieldDescriptor? FieldAt(MessageDescriptor type, string path)
    {
        FieldDescriptor? field = null;
        foreach (var part in path.Split('.'))
        {
            if (field is not null)
            {
                if (field.FieldType != FieldType.Message)
                {
                    return null;
                }
                type = field.MessageType;
            }
            field = JsonBodyInspector.Field(type, part);
            if (field is null)
            {
                return null;
            }
        }
        return field;
    }
}
