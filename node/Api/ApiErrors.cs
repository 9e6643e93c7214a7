using System.Text.Json;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;

namespace Aurigraph.Node.Api;

/// <summary>
/// Error answers outside a service method, in the shapes the services' own errors have: REST answers a JSON body
/// <c>{"code": &lt;gRPC status code&gt;, "message": "...", "details": []}</c> (google.rpc.Status, as JSON transcoding writes
/// it); gRPC answers a trailers-only response with <c>grpc-status</c> and <c>grpc-message</c>.
/// </summary>
internal static class ApiErrors
{
    // Quotes in reasons stay readable ('7', not \u00277); the body is JSON, never embedded in HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the REST error body with <paramref name="httpStatus"/>.</summary>
    public static async Task WriteJsonAsync(HttpContext context, int httpStatus, StatusCode code, string message)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.Response;
        response.StatusCode = httpStatus;
        response.ContentType = "application/json; charset=utf-8";
        await using var writer = new Utf8JsonWriter(response.Body, WriterOptions);
        writer.WriteStartObject();
        writer.WriteNumber("code", (int)code);
        writer.WriteString("message", message);
        writer.WriteStartArray("details");
        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The body of an error answer that has none (UseStatusCodePages): an unknown route (404), a method the route does
    /// not take (405, naming the ones it does), or any other bodiless 4xx/5xx. gRPC requests are left alone.
    /// </summary>
    public static Task StatusPageAsync(StatusCodeContext status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var context = status.HttpContext;
        if (IsGrpc(context.Request))
        {
            return Task.CompletedTask;
        }
        var request = context.Request;
        var route = $"{request.Method} {request.Path}";
        var (code, message) = context.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => (StatusCode.NotFound, $"no route {route}; the REST API is under /api/v11 (README: API)"),
            StatusCodes.Status405MethodNotAllowed => (StatusCode.Unimplemented,
                $"{request.Method} is not allowed on {request.Path}; allowed: {(context.Response.Headers.Allow is { Count: > 0 } allow ? allow.ToString() : "none")}"),
            StatusCodes.Status413PayloadTooLarge => (StatusCode.ResourceExhausted, $"the request body of {route} is too large"),
            var other => (other >= 500 ? StatusCode.Internal : StatusCode.InvalidArgument, $"{route}: {ReasonPhrases.GetReasonPhrase(other)}"),
        };
        return WriteJsonAsync(context, context.Response.StatusCode, code, message);
    }

    /// <summary>Answers a gRPC request with <paramref name="code"/> without calling the method (a trailers-only response).</summary>
    public static void Grpc(HttpContext context, StatusCode code, string message)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
    }

    /// <summary>True for a gRPC request (content type application/grpc, with or without a +format suffix).</summary>
    public static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>The reason for an enum field's value outside the enum: names the field and every allowed value.</summary>
    public static string InvalidEnum(string field, EnumDescriptor type, string got)
    {
        ArgumentNullException.ThrowIfNull(type);
        var allowed = string.Join(", ", type.Values.Select(v => $"{v.Name} ({v.Number})"));
        return $"{field}: '{got}' is not a {type.Name}; allowed: {allowed}";
    }
}
