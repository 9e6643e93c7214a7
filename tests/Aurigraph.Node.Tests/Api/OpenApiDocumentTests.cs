using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Aurigraph.Node.Tests.Deployment;
using Microsoft.OpenApi.Models;
using Microsoft.OpenApi.Readers;

namespace Aurigraph.Node.Tests.Api;

/// <summary>
/// The OpenAPI document a real node serves at /api/v11/openapi.json: valid OpenAPI 3.0, one operation for every
/// <c>google.api.http</c> rule of every proto, the bearer token declared on exactly the calls that refuse a request
/// without one, and byte for byte the committed docs/openapi.json.
/// </summary>
[Collection("real cluster")]
public sealed partial class OpenApiDocumentTests(SingleNodeFixture fixture) : IClassFixture<SingleNodeFixture>
{
    private const string Route = "/api/v11/openapi.json";
    private const string Regenerate = "AURIGRAPH_WRITE_OPENAPI";

    private static string Committed => Path.Combine(KubernetesManifests.Root, "docs", "openapi.json");

    private HttpClient Rest() => new() { BaseAddress = new Uri(fixture.RestAddress), Timeout = TimeSpan.FromSeconds(60) };

    private async Task<string> FetchAsync()
    {
        using var rest = Rest();
        using var response = await rest.GetAsync(Route);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {Route}: {response.StatusCode} {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return text;
    }

    /// <summary>Reads the document with OpenAPI.NET's reader and its default validation rules; any error fails.</summary>
    internal static OpenApiDocument Read(string text)
    {
        var document = new OpenApiStringReader().Read(text, out var diagnostic);
        var problems = diagnostic.Errors.Select(e => $"{e.Pointer}: {e.Message}").ToList();
        Assert.True(problems.Count == 0, $"the OpenAPI document is not valid:\n{string.Join('\n', problems)}");
        Assert.Equal(Microsoft.OpenApi.OpenApiSpecVersion.OpenApi3_0, diagnostic.SpecificationVersion);
        return document;
    }

    [Fact]
    public async Task The_served_document_is_valid_OpenAPI_3_and_names_the_api()
    {
        var document = Read(await FetchAsync());
        Assert.Equal("Aurigraph Node REST API", document.Info.Title);
        Assert.Equal("v11", document.Info.Version);
        Assert.Empty(document.Servers ?? []);
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations)
            {
                Assert.False(string.IsNullOrEmpty(operation.OperationId), $"{method} {path} has no operationId");
                Assert.Contains("200", operation.Responses.Keys);
            }
        }
        // The plain endpoints beside the transcoded ones.
        foreach (var path in new[] { "/api/v11/carbon/report.csv", "/api/v11/carbon/manifest.yaml", "/api/v11/carbon/esg/{month}.html", "/api/v11/carbon/dashboard.html", "/healthz", "/readyz", "/metrics", Route })
        {
            Assert.True(document.Paths.TryGetValue(path, out var item) && item.Operations.ContainsKey(OperationType.Get), $"GET {path} is not in the document");
        }
    }

    /// <summary>One rule of a proto: the service, the RPC, the HTTP method and the path template as written.</summary>
    internal sealed record HttpRule(string File, string Service, string Rpc, string Method, string Path)
    {
        /// <summary>The path as JSON transcoding routes it: each {field_name} by its JSON name (lowerCamelCase).</summary>
        public string DocumentPath => FieldReference().Replace(Path, m => "{" + JsonName(m.Groups[1].Value) + "}");
    }

    /// <summary>Every <c>option (google.api.http)</c> of every proto under protos/aurigraph/v1, read from the files themselves.</summary>
    internal static List<HttpRule> ProtoRules()
    {
        var rules = new List<HttpRule>();
        var folder = Path.Combine(KubernetesManifests.Root, "protos", "aurigraph", "v1");
        var files = Directory.GetFiles(folder, "*.proto");
        Assert.NotEmpty(files);
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            var text = LineComment().Replace(File.ReadAllText(file), "");
            var name = Path.GetFileName(file);
            var found = 0;
            var services = ServiceStart().Matches(text);
            foreach (Match rpc in RpcRule().Matches(text))
            {
                // An RPC belongs to the last service declared before it.
                var service = services.LastOrDefault(s => s.Index < rpc.Index);
                Assert.True(service is not null, $"{name}: rpc {rpc.Groups["rpc"].Value} outside a service");
                rules.Add(new HttpRule(name, service.Groups["name"].Value, rpc.Groups["rpc"].Value, rpc.Groups["method"].Value, rpc.Groups["path"].Value));
                found++;
            }
            // A rule written in a shape the patterns above do not read must fail here, not go unchecked.
            Assert.True(found == HttpOption().Count(text), $"{name}: {HttpOption().Count(text)} google.api.http options, {found} read as rules");
        }
        return rules;
    }

    [Fact]
    public async Task Every_http_rule_of_every_proto_is_an_operation_of_the_document_with_its_method()
    {
        var document = Read(await FetchAsync());
        var rules = ProtoRules();
        Assert.True(rules.Count >= 18, $"only {rules.Count} rules read from the protos");
        var missing = new List<string>();
        foreach (var rule in rules)
        {
            var type = Enum.Parse<OperationType>(rule.Method, ignoreCase: true);
            if (!document.Paths.TryGetValue(rule.DocumentPath, out var item) || !item.Operations.TryGetValue(type, out var operation))
            {
                missing.Add($"{rule.File}: {rule.Service}.{rule.Rpc} {rule.Method.ToUpperInvariant()} {rule.DocumentPath}");
                continue;
            }
            Assert.Equal($"{rule.Service}_{rule.Rpc}", operation.OperationId);
            Assert.Equal(rule.Service, Assert.Single(operation.Tags).Name);
        }
        Assert.True(missing.Count == 0, $"rules of the protos without an operation in {Route}:\n{string.Join('\n', missing)}");

        // And the other way: every operation of a service is a rule of the protos.
        var known = rules.Select(r => $"{r.Service}_{r.Rpc}").ToHashSet(StringComparer.Ordinal);
        var extra = document.Paths.SelectMany(p => p.Value.Operations.Select(o => (p.Key, o.Value.OperationId)))
            .Where(o => o.OperationId.Contains('_', StringComparison.Ordinal) && !known.Contains(o.OperationId))
            .Select(o => $"{o.OperationId} at {o.Key}")
            .ToList();
        Assert.True(extra.Count == 0, $"operations of no proto rule:\n{string.Join('\n', extra)}");
    }

    [Fact]
    public async Task Exactly_the_operations_that_declare_a_bearer_token_answer_401_without_one()
    {
        var document = Read(await FetchAsync());
        foreach (var (name, scheme) in document.Components.SecuritySchemes)
        {
            Assert.True(scheme.Type == SecuritySchemeType.Http && scheme.Scheme == "bearer", $"{name} is not an http bearer scheme");
        }
        using var rest = Rest();
        var secured = 0;
        var mismatches = new List<string>();
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (type, operation) in item.Operations)
            {
                var schemes = (operation.Security ?? []).SelectMany(r => r.Keys).Select(s => s.Reference.Id).ToList();
                var anonymous = await SendAsync(rest, type, path, token: null);
                if ((anonymous == HttpStatusCode.Unauthorized) != (schemes.Count > 0))
                {
                    mismatches.Add($"{type} {path}: declares [{string.Join(", ", schemes)}], answered {(int)anonymous} without a token");
                }
                if (schemes.Contains("adminToken"))
                {
                    secured++;
                    // With the admin token the same request gets past the check (whatever it then answers).
                    var admitted = await SendAsync(rest, type, path, SingleNodeFixture.Token);
                    Assert.True(admitted != HttpStatusCode.Unauthorized, $"{type} {path} refused the admin token");
                }
            }
        }
        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
        // All of AdminService and CarbonService.RecordOffset.
        Assert.Equal(4, secured);
        Assert.Equal(["adminToken"], document.Paths["/api/v11/carbon/offsets"].Operations[OperationType.Post].Security.SelectMany(r => r.Keys).Select(s => s.Reference.Id));
    }

    /// <summary>
    /// A request on the operation with every path parameter "1" and, for a POST, an empty JSON object; the answer's
    /// status. What the call then does is not the point: on a single validator an empty TransferLeadership has no
    /// voter to hand over to, and an empty ChangeMembership or RecordOffset is refused as invalid.
    /// </summary>
    private static async Task<HttpStatusCode> SendAsync(HttpClient rest, OperationType type, string path, string? token)
    {
        var method = type == OperationType.Post ? HttpMethod.Post : HttpMethod.Get;
        var target = FieldReference().Replace(path, "1");
        using var request = new HttpRequestMessage(method, target);
        if (type == OperationType.Post)
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await rest.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task The_served_document_is_the_committed_docs_openapi_json_byte_for_byte()
    {
        var served = await FetchAsync();
        Read(served);
        if (Environment.GetEnvironmentVariable(Regenerate) == "1")
        {
            await File.WriteAllTextAsync(Committed, served);
        }
        var committed = File.Exists(Committed) ? await File.ReadAllTextAsync(Committed) : "";
        if (served == committed)
        {
            return;
        }
        var at = Enumerable.Range(0, Math.Min(served.Length, committed.Length)).FirstOrDefault(i => served[i] != committed[i], Math.Min(served.Length, committed.Length));
        var line = served.AsSpan(0, at).Count('\n') + 1;
        Assert.Fail($"""
            docs/openapi.json is not the document the node serves (first difference on line {line}).
            After changing a proto or the REST endpoints, write the served document over it and commit it:
                {Regenerate}=1 dotnet test tests/Aurigraph.Node.Tests -c Release --filter FullyQualifiedName~OpenApiDocumentTests
            (or: curl -s http://127.0.0.1:7301{Route} > docs/openapi.json against a running devnet).
            """);
    }

    private static string JsonName(string field)
    {
        var parts = field.Split('_');
        return parts[0] + string.Concat(parts.Skip(1).Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
    }

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"\bservice\s+(?<name>\w+)\s*\{")]
    private static partial Regex ServiceStart();

    [GeneratedRegex(@"rpc\s+(?<rpc>\w+)\s*\([^)]*\)\s*returns\s*\([^)]*\)\s*\{\s*option\s*\(\s*google\.api\.http\s*\)\s*=\s*\{\s*(?<method>get|post|put|delete|patch)\s*:\s*""(?<path>[^""]+)""")]
    private static partial Regex RpcRule();

    [GeneratedRegex(@"\(\s*google\.api\.http\s*\)")]
    private static partial Regex HttpOption();

    [GeneratedRegex(@"\{(\w+)\}")]
    private static partial Regex FieldReference();
}
