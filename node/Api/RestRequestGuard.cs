using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
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
/// do: bytes fields accept URL-safe base64 and missing padding (rewritten to standard base64 for the transcoder), and
/// an enum field (query or body) outside its enum is refused with 400 naming the field and the allowed values.
/// Both walk the request's protobuf descriptor, so they hold for every field of every transcoded method.
/// </summary>
internal sealed class RestRequestGuard(RequestDelegate next, NodeLimits limits)
{
    /// <summary>Field lookup by JSON name and proto name, per message type (bounded: the API's message types).</summary>
    private static readonly ConcurrentDictionary<MessageDescriptor, Dictionary<string, FieldDescriptor>> FieldsByName = new();

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

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
                    if (CheckEnum(field, value, name) is { } error)
                    {
                        await ApiErrors.WriteJsonAsync(context, StatusCodes.Status400BadRequest, StatusCode.InvalidArgument, error).ConfigureAwait(false);
                        return;
                    }
                }
            }
        }
        if (!string.IsNullOrEmpty(metadata.HttpRule.Body) && BodyType(input, metadata.HttpRule.Body) is { } bodyType)
        {
            var body = await ReadBodyAsync(context).ConfigureAwait(false);
            if (body is null)
            {
                return; // answered 413
            }
            var (rewritten, error) = Inspect(body, bodyType);
            if (error is not null)
            {
                await ApiErrors.WriteJsonAsync(context, StatusCodes.Status400BadRequest, StatusCode.InvalidArgument, error).ConfigureAwait(false);
                return;
            }
            var bytes = rewritten ?? body;
            request.Body = new MemoryStream(bytes, writable: false);
            request.ContentLength = bytes.Length;
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
    private async Task<byte[]?> ReadBodyAsync(HttpContext context)
    {
        var request = context.Request;
        var limit = limits.RestMaxRequestBodyBytes;
        if (request.ContentLength is { } declared && declared > limit)
        {
            await TooLargeAsync(context, declared).ConfigureAwait(false);
            return null;
        }
        using var buffer = new MemoryStream(request.ContentLength is { } n ? (int)n : 0);
        try
        {
            await request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await TooLargeAsync(context, null).ConfigureAwait(false);
            return null;
        }
        return buffer.ToArray();
    }

    private Task TooLargeAsync(HttpContext context, long? bytes) =>
        ApiErrors.WriteJsonAsync(context, StatusCodes.Status413PayloadTooLarge, StatusCode.ResourceExhausted,
            limits.TooLarge(bytes is { } b ? $"a request body of {b} bytes" : "the request body", limits.RestMaxRequestBodyBytes));

    /// <summary>
    /// Checks a JSON body against <paramref name="type"/>: the rewritten body when a bytes field needed rewriting, or
    /// the reason it is refused. A body that is not JSON is left to the transcoder (which answers 400).
    /// </summary>
    internal static (byte[]? Rewritten, string? Error) Inspect(ReadOnlySpan<byte> body, MessageDescriptor type)
    {
        ArgumentNullException.ThrowIfNull(type);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body, documentOptions: DocumentOptions);
        }
        catch (JsonException)
        {
            return (null, null);
        }
        if (root is not JsonObject message)
        {
            return (null, null);
        }
        var changed = false;
        var error = Visit(message, type, "", ref changed);
        return error is not null ? (null, error) : (changed ? JsonSerializer.SerializeToUtf8Bytes(root) : null, null);
    }

    private static string? Visit(JsonObject message, MessageDescriptor type, string path, ref bool changed)
    {
        foreach (var (name, value) in message.ToList())
        {
            if (value is null || Field(type, name) is not { IsMap: false } field)
            {
                continue; // null, a map, or not a field: the transcoder decides
            }
            var at = path.Length == 0 ? name : $"{path}.{name}";
            if (field.IsRepeated)
            {
                if (value is not JsonArray array)
                {
                    continue;
                }
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is not { } item)
                    {
                        continue;
                    }
                    var (replacement, error) = Check(field, item, $"{at}[{i}]", ref changed);
                    if (error is not null)
                    {
                        return error;
                    }
                    if (replacement is not null)
                    {
                        array[i] = replacement;
                        changed = true;
                    }
                }
            }
            else
            {
                var (replacement, error) = Check(field, value, at, ref changed);
                if (error is not null)
                {
                    return error;
                }
                if (replacement is not null)
                {
                    message[name] = replacement;
                    changed = true;
                }
            }
        }
        return null;
    }

    /// <summary>One value of <paramref name="field"/>: a replacement (base64 rewritten), or an error, or neither.</summary>
    private static (JsonNode? Replacement, string? Error) Check(FieldDescriptor field, JsonNode value, string at, ref bool changed)
    {
        switch (field.FieldType)
        {
            case FieldType.Bytes when value is JsonValue v && v.TryGetValue<string>(out var text):
                {
                    var standard = Base64Text.ToStandard(text);
                    if (standard is null)
                    {
                        return (null, $"{at} must be base64 (standard or URL-safe alphabet, padding optional)");
                    }
                    return (ReferenceEquals(standard, text) ? null : JsonValue.Create(standard), null);
                }
            case FieldType.Enum when value is JsonValue v:
                {
                    var got = v.TryGetValue<string>(out var name) ? name : v.ToJsonString();
                    return (null, CheckEnum(field, got, at));
                }
            case FieldType.Message when value is JsonObject nested && field.MessageType.File.Package != "google.protobuf":
                return (null, Visit(nested, field.MessageType, at, ref changed));
            default:
                return (null, null);
        }
    }

    /// <summary>Null when <paramref name="value"/> (a name or a number) is a value of the field's enum; else the reason.</summary>
    private static string? CheckEnum(FieldDescriptor field, string? value, string at)
    {
        var type = field.EnumType;
        var defined = int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? type.FindValueByNumber(number) is not null
            : value is not null && type.FindValueByName(value) is not null;
        return defined ? null : ApiErrors.InvalidEnum(at, type, value ?? "");
    }

    /// <summary>The message type the body carries: the request (<c>body: "*"</c>) or one message field of it.</summary>
    private static MessageDescriptor? BodyType(MessageDescriptor input, string body) =>
        body == "*" ? input : Field(input, body) is { FieldType: FieldType.Message, IsRepeated: false } f ? f.MessageType : null;

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
            field = Field(type, part);
            if (field is null)
            {
                return null;
            }
        }
        return field;
    }

    private static FieldDescriptor? Field(MessageDescriptor type, string name) =>
        FieldsByName.GetOrAdd(type, static t =>
        {
            var byName = new Dictionary<string, FieldDescriptor>(StringComparer.Ordinal);
            foreach (var f in t.Fields.InFieldNumberOrder())
            {
                byName[f.Name] = f;
                byName[f.JsonName] = f;
            }
            return byName;
        }).GetValueOrDefault(name);
}

/// <summary>Base64 text as protobuf's JSON mapping accepts it: the standard or the URL-safe alphabet, padded or not.</summary>
internal static class Base64Text
{
    /// <summary>
    /// The same bytes as standard, padded base64: <paramref name="text"/> itself when it already is; null when it is
    /// not base64 in either alphabet (or mixes them).
    /// </summary>
    public static string? ToStandard(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = text.AsSpan();
        var urlSafe = span.IndexOfAny('-', '_') >= 0;
        if (urlSafe && span.IndexOfAny('+', '/') >= 0)
        {
            return null;
        }
        var trimmed = span.TrimEnd('=');
        var missing = (4 - (trimmed.Length % 4)) % 4;
        if (missing == 3)
        {
            return null; // one character left over encodes no whole byte
        }
        var standard = text;
        if (urlSafe || trimmed.Length + missing != span.Length)
        {
            var head = trimmed.ToString();
            standard = (urlSafe ? head.Replace('-', '+').Replace('_', '/') : head) + new string('=', missing);
        }
        return System.Buffers.Text.Base64.IsValid(standard) ? standard : null;
    }
}
