using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.OpenApi.Extensions;
using Microsoft.OpenApi.Models;
using Swashbuckle.AspNetCore.Swagger;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Aurigraph.Node.Api;

/// <summary>
/// The OpenAPI 3.0 document of the REST port, served at <see cref="Route"/>: every transcoded route of the protos
/// (from their <c>google.api.http</c> rules, with the proto comments as descriptions through the XML documentation of
/// the generated code), the plain endpoints beside them, and the bearer tokens the admin and join calls need. The
/// document has no servers, no timestamps and sorted maps, so one build always serves the same bytes
/// (docs/openapi.json is that copy).
/// </summary>
internal static class RestApiDocument
{
    public const string Route = "/api/v11/openapi.json";
    public const string Name = "v11";
    public const string AdminScheme = "adminToken";
    public const string JoinScheme = "joinToken";

    /// <summary>The calls that need the admin token (<see cref="AdminApi.Authorize"/>): all of AdminService, and CarbonService.RecordOffset.</summary>
    internal static bool NeedsAdminToken(string service, string method) =>
        service == "aurigraph.v1.AdminService" || (service == "aurigraph.v1.CarbonService" && method == "RecordOffset");

    internal static bool NeedsJoinToken(string service) => service == "aurigraph.v1.JoinService";

    private const string Description = """
        The REST face of the node's gRPC services (aurigraph.v1, protos/aurigraph/v1): each call is the gRPC method of
        the same name in proto3 JSON. 64-bit integers are strings, bytes are base64 (standard or URL-safe, padding
        optional), enums are their names. An error answers {"code", "message", "details"} with the gRPC status code.
        Admin calls need `authorization: Bearer <Aurigraph:AdminToken>`, a join `authorization: Bearer <Aurigraph:JoinToken>`;
        without one the answer is 401.
        """;

    public static IServiceCollection AddRestApiDocument(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddGrpcSwagger();
        services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc(Name, new OpenApiInfo { Title = "Aurigraph Node REST API", Version = Name, Description = Description.ReplaceLineEndings(" ") });
            // The generated API code (and its proto comments) is in the client library's assembly; the plain endpoints are the node's.
            foreach (var assembly in new[] { typeof(Api.V1.TransactionService).Assembly, typeof(RestApiDocument).Assembly })
            {
                var xml = Path.ChangeExtension(assembly.Location, ".xml");
                if (File.Exists(xml))
                {
                    swagger.IncludeXmlComments(xml);
                    swagger.IncludeGrpcXmlComments(xml, includeControllerXmlComments: false);
                    swagger.OperationFilter<RpcSummaries>(System.Xml.Linq.XDocument.Load(xml));
                }
            }
            swagger.AddSecurityDefinition(AdminScheme, Bearer("Aurigraph:AdminToken, the node's admin token."));
            swagger.AddSecurityDefinition(JoinScheme, Bearer("Aurigraph:JoinToken, the cluster's join token."));
            swagger.CustomOperationIds(OperationId);
            swagger.CustomSchemaIds(SchemaId);
            swagger.OperationFilter<TokenRequirements>();
            swagger.DocumentFilter<PlainEndpoints>();
            swagger.DocumentFilter<Int64AsString>();
            swagger.DocumentFilter<BytesAsBase64>();
            swagger.DocumentFilter<StableOrder>();
        });
        return services;
    }

    /// <summary>Serves the document. It is rendered once: one build, one document.</summary>
    public static IEndpointConventionBuilder MapRestApiDocument(this IEndpointRouteBuilder app)
    {
        var rendered = new Lazy<string>(() => Render(app.ServiceProvider.GetRequiredService<ISwaggerProvider>()));
        return app.MapGet(Route, () => Results.Text(rendered.Value, "application/json"))
            .Describe(NodeTag, "GetOpenApiDocument", "application/json", "This document: the OpenAPI 3.0 description of the REST port.");
    }

    /// <summary>Names a plain endpoint in the document: its operation id, what it answers, and in what media type.</summary>
    public static RouteHandlerBuilder Describe(this RouteHandlerBuilder endpoint, string tag, string name, string contentType, string summary) =>
        endpoint.WithTags(tag).WithName(name).WithSummary(summary).Produces(StatusCodes.Status200OK, contentType: contentType);

    /// <summary>The tag of the carbon documents served beside CarbonService.</summary>
    public const string DocumentsTag = "CarbonDocuments";

    /// <summary>The tag of the node's probes, metrics and this document.</summary>
    public const string NodeTag = "Node";

    internal static string Render(ISwaggerProvider provider) =>
        provider.GetSwagger(Name).SerializeAsJson(Microsoft.OpenApi.OpenApiSpecVersion.OpenApi3_0).ReplaceLineEndings("\n") + "\n";

    private static OpenApiSecurityScheme Bearer(string description) =>
        new() { Type = SecuritySchemeType.Http, Scheme = "bearer", Description = description };

    /// <summary>The API's own messages by their name (Block, Value), any other type by its full name (Google.Protobuf.WellKnownTypes.Value).</summary>
    private static string SchemaId(Type type)
    {
        var name = (type.FullName ?? type.Name).Replace(".Types+", ".", StringComparison.Ordinal).Replace('+', '.');
        const string Own = "Aurigraph.Node.Api.V1.";
        return name.StartsWith(Own, StringComparison.Ordinal) ? name[Own.Length..] : name;
    }

    private static string? OperationId(Microsoft.AspNetCore.Mvc.ApiExplorer.ApiDescription api)
    {
        var metadata = api.ActionDescriptor.EndpointMetadata;
        if (metadata.OfType<GrpcJsonTranscodingMetadata>().FirstOrDefault() is { } grpc)
        {
            return $"{grpc.MethodDescriptor.Service.Name}_{grpc.MethodDescriptor.Name}";
        }
        return metadata.OfType<IEndpointNameMetadata>().FirstOrDefault()?.EndpointName;
    }

    /// <summary>Declares the bearer token on the calls that check it.</summary>
    private sealed class TokenRequirements : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<GrpcJsonTranscodingMetadata>().FirstOrDefault() is not { } grpc)
            {
                return;
            }
            var method = grpc.MethodDescriptor;
            var scheme = NeedsAdminToken(method.Service.FullName, method.Name) ? AdminScheme : NeedsJoinToken(method.Service.FullName) ? JoinScheme : null;
            if (scheme is null)
            {
                return;
            }
            var reference = new OpenApiSecurityScheme { Reference = new OpenApiReference { Type = ReferenceType.SecurityScheme, Id = scheme } };
            operation.Security = [new OpenApiSecurityRequirement { [reference] = [] }];
            operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No token, or not the configured one (gRPC UNAUTHENTICATED)." });
        }
    }

    /// <summary>
    /// The proto comment of an RPC whose REST routes are bound by a service class of the node's own (TransactionRestApi):
    /// read from the generated base class's method, as for every other service.
    /// </summary>
    private sealed class RpcSummaries(System.Xml.Linq.XDocument xml) : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (!string.IsNullOrEmpty(operation.Summary)
                || context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<GrpcJsonTranscodingMetadata>().FirstOrDefault() is not { } grpc)
            {
                return;
            }
            var method = grpc.MethodDescriptor;
            var member = $"M:{method.Service.File.GetOptions().CsharpNamespace}.{method.Service.Name}.{method.Service.Name}Base.{method.Name}(";
            var summary = xml.Descendants("member")
                .FirstOrDefault(m => ((string?)m.Attribute("name"))?.StartsWith(member, StringComparison.Ordinal) == true)?
                .Element("summary")?.Value;
            if (!string.IsNullOrWhiteSpace(summary))
            {
                operation.Summary = XmlCommentsTextHelper.Humanize(summary);
            }
        }
    }

    /// <summary>The one endpoint the API explorer cannot see: the Prometheus exporter's.</summary>
    private sealed class PlainEndpoints : IDocumentFilter
    {
        public void Apply(OpenApiDocument swaggerDoc, DocumentFilterContext context)
        {
            var response = new OpenApiResponse
            {
                Description = "The node's metrics in the Prometheus text exposition format.",
                Content = { ["text/plain"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = "string" } } },
            };
            var get = new OpenApiOperation { OperationId = "GetMetrics", Summary = "The node's metrics for Prometheus.", Tags = [new OpenApiTag { Name = NodeTag }], Responses = { ["200"] = response } };
            swaggerDoc.Paths["/metrics"] = new OpenApiPathItem { Operations = { [OperationType.Get] = get } };
        }
    }

    /// <summary>
    /// 64-bit integers as proto3 JSON writes them, and as the node does (WriteInt64sAsStrings): strings of decimal
    /// digits. Input takes numbers too.
    /// </summary>
    private sealed class Int64AsString : IDocumentFilter
    {
        public void Apply(OpenApiDocument swaggerDoc, DocumentFilterContext context)
        {
            foreach (var schema in swaggerDoc.Components.Schemas.Values)
            {
                Visit(schema);
            }
            foreach (var operation in swaggerDoc.Paths.Values.SelectMany(p => p.Operations.Values))
            {
                foreach (var parameter in operation.Parameters)
                {
                    Visit(parameter.Schema);
                }
            }
        }

        private static void Visit(OpenApiSchema? schema)
        {
            if (schema is null || schema.Reference is not null)
            {
                return;
            }
            if (schema.Type == "integer" && schema.Format == "int64")
            {
                schema.Type = "string";
            }
            foreach (var property in schema.Properties.Values)
            {
                Visit(property);
            }
            Visit(schema.Items);
            Visit(schema.AdditionalProperties);
        }
    }

    /// <summary>bytes fields as proto3 JSON writes them: base64 strings (OpenAPI format <c>byte</c>), for every message of the described services' files.</summary>
    private sealed class BytesAsBase64 : IDocumentFilter
    {
        public void Apply(OpenApiDocument swaggerDoc, DocumentFilterContext context)
        {
            var files = new HashSet<FileDescriptor>();
            foreach (var api in context.ApiDescriptions)
            {
                if (api.ActionDescriptor.EndpointMetadata.OfType<GrpcJsonTranscodingMetadata>().FirstOrDefault() is { } grpc)
                {
                    AddWithDependencies(files, grpc.MethodDescriptor.File);
                }
            }
            foreach (var message in files.SelectMany(f => f.MessageTypes).SelectMany(Nested))
            {
                if (message.ClrType is null || !swaggerDoc.Components.Schemas.TryGetValue(SchemaId(message.ClrType), out var schema))
                {
                    continue;
                }
                foreach (var field in message.Fields.InDeclarationOrder().Where(f => f.FieldType == FieldType.Bytes))
                {
                    if (schema.Properties.TryGetValue(field.JsonName, out var property))
                    {
                        (property.Items ?? property).Format = "byte";
                    }
                }
            }
        }

        private static void AddWithDependencies(HashSet<FileDescriptor> files, FileDescriptor file)
        {
            if (files.Add(file))
            {
                foreach (var dependency in file.Dependencies)
                {
                    AddWithDependencies(files, dependency);
                }
            }
        }

        private static IEnumerable<MessageDescriptor> Nested(MessageDescriptor message) => message.NestedTypes.SelectMany(Nested).Prepend(message);
    }

    /// <summary>Every map of the document in ordinal order, whatever order the endpoints were registered or described in.</summary>
    private sealed class StableOrder : IDocumentFilter
    {
        public void Apply(OpenApiDocument swaggerDoc, DocumentFilterContext context)
        {
            var paths = new OpenApiPaths();
            foreach (var (path, item) in swaggerDoc.Paths.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var operations = item.Operations.OrderBy(o => o.Key).ToList();
                item.Operations.Clear();
                foreach (var (type, operation) in operations)
                {
                    item.Operations[type] = operation;
                }
                paths[path] = item;
            }
            swaggerDoc.Paths = paths;
            swaggerDoc.Components.Schemas = new SortedDictionary<string, OpenApiSchema>(swaggerDoc.Components.Schemas, StringComparer.Ordinal);
            swaggerDoc.Components.SecuritySchemes = new SortedDictionary<string, OpenApiSecurityScheme>(swaggerDoc.Components.SecuritySchemes, StringComparer.Ordinal);
            swaggerDoc.Tags = swaggerDoc.Tags?.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        }
    }
}
