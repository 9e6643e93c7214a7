using System.Net;
using System.Text.Json;
using Aurigraph.Node.Api;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Security;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using Polly.Timeout;

namespace Aurigraph.Node.Hosting;

/// <summary>Builds and runs one node: configuration, validation, Kestrel (gRPC, REST transcoding, health), and the node runtime.</summary>
internal static class NodeServer
{
    public static async Task<int> RunAsync(string? configFile, string[] configArgs, CancellationToken ct)
    {
        // No watching of appsettings files under the working directory: the watcher is recursive, and a data folder
        // below it (the devnet's) would turn every RocksDB write into file events in every node. The node reads its
        // configuration once, at start.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false", .. configArgs] });
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
            {
                await Console.Error.WriteLineAsync($"configuration error: --config file '{configFile}' does not exist").ConfigureAwait(false);
                return ExitCodes.BadConfiguration;
            }
            builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false);
            // Environment variables and the command line still override the file.
            builder.Configuration.AddEnvironmentVariables();
            builder.Configuration.AddCommandLine(configArgs);
        }
        // One line per event, stamped in UTC with milliseconds (Logging:Console settings still override it).
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.UseUtcTimestamp = true;
            console.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
        });
        var options = new NodeOptions();
        var carbon = new CarbonOptions();
        var limits = new NodeLimits();
        try
        {
            builder.Configuration.GetSection(NodeOptions.Section).Bind(options);
            options.DeriveUnsetMemoryBounds(builder.Configuration.GetSection(NodeOptions.Section));
            builder.Configuration.GetSection(CarbonOptions.Section).Bind(carbon);
            builder.Configuration.GetSection(NodeLimits.Section).Bind(limits);
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync($"configuration error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.BadConfiguration;
        }
        var errors = options.Validate().Concat(carbon.Validate()).Concat(limits.Validate(options)).ToList();
        if (errors.Count > 0)
        {
            foreach (var error in errors)
            {
                await Console.Error.WriteLineAsync($"configuration error: {error}").ConfigureAwait(false);
            }
            return ExitCodes.BadConfiguration;
        }
        if (!File.Exists(options.GenesisFile))
        {
            await Console.Error.WriteLineAsync($"configuration error: {NodeOptions.Section}:GenesisFile '{options.GenesisFile}' does not exist").ConfigureAwait(false);
            return ExitCodes.BadConfiguration;
        }

        if (CheckCertificates(options) is { } certificateError)
        {
            await Console.Error.WriteLineAsync($"configuration error: {certificateError}").ConfigureAwait(false);
            return ExitCodes.BadConfiguration;
        }

        builder.Services.Configure<NodeOptions>(o =>
        {
            var section = builder.Configuration.GetSection(NodeOptions.Section);
            section.Bind(o);
            o.DeriveUnsetMemoryBounds(section);
        });
        var api = new Uri(options.Self.ApiAddress);
        var rest = new Uri(options.Self.RestAddress);
        if (options.ApiTls)
        {
            builder.Services.AddSingleton(sp => ApiCredentials.Create(options, sp.GetRequiredService<ILoggerFactory>().CreateLogger(PeerSecurity.LogCategory)));
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (!options.ApiTls)
            {
                // gRPC needs HTTP/2; without TLS there is no protocol negotiation, so it gets a port of its own and
                // REST (HTTP/1.1, what browsers and curl speak by default) another.
                kestrel.Listen(ListenAddress(api), api.Port, listen => listen.Protocols = HttpProtocols.Http2);
                kestrel.Listen(ListenAddress(rest), rest.Port, listen => listen.Protocols = HttpProtocols.Http1);
                return;
            }
            // With TLS, ALPN picks HTTP/2 (gRPC) or HTTP/1.1 (REST) per connection: both addresses serve both, and
            // they may be one port.
            var credentials = kestrel.ApplicationServices.GetRequiredService<ApiCredentials>();
            void Https(ListenOptions listen)
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(credentials.HttpsOptions());
            }
            kestrel.Listen(ListenAddress(api), api.Port, Https);
            if (rest.Port != api.Port || !string.Equals(rest.Host, api.Host, StringComparison.OrdinalIgnoreCase))
            {
                kestrel.Listen(ListenAddress(rest), rest.Port, Https);
            }
        });
        if (options.Api.RequireAdminClientCertificate)
        {
            builder.Services.AddSingleton<AdminClientCertificateInterceptor>();
            builder.Services.AddGrpc().AddServiceOptions<AdminApi>(admin => admin.Interceptors.Add<AdminClientCertificateInterceptor>());
        }
        // Request size limits, all from Aurigraph:Api:MaxMessageBytes (NodeLimits): the server-wide body limit fits a
        // gRPC message and its prefix; ApiRequestGuard sets each request's own (REST bodies carry base64).
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = limits.GrpcMaxRequestBodyBytes);
        builder.Services.AddSingleton(limits);
        builder.Services.AddGrpc(grpc =>
            {
                grpc.MaxReceiveMessageSize = limits.GrpcMaxReceiveMessageBytes;
                grpc.Interceptors.Add<MessageLimitInterceptor>();
            })
            // proto3 JSON: 64-bit integers are strings (numbers lose precision above 2^53); input takes both.
            .AddJsonTranscoding(transcoding => transcoding.JsonSettings.WriteInt64sAsStrings = true);
        builder.Services.AddRestApiDocument();
        builder.Services.AddCarbonModel(builder.Configuration);
        if (options.LeaderPlacement.Enabled)
        {
            // Placement compares every validator's grid: keep each validator's region live, not only this node's.
            builder.Services.PostConfigure<CarbonOptions>(c =>
            {
                foreach (var m in options.Members.Where(m => m.Role == NodeRole.Validator && m.Cloud.Length > 0 && m.Region.Length > 0))
                {
                    var region = $"{m.Cloud}/{m.Region}";
                    if (!c.GridIntensity.Regions.Contains(region, StringComparer.OrdinalIgnoreCase))
                    {
                        c.GridIntensity.Regions.Add(region);
                    }
                }
            });
        }
        builder.Services.AddSingleton<NodeRuntime>();
        builder.Services.AddSingleton<TransactionApi>(); // stateless; also serves TransactionRestApi
        builder.Services.AddHostedService(sp => sp.GetRequiredService<NodeRuntime>());
        // After the runtime: its database holds the history, and hosted services stop in reverse order.
        builder.Services.AddIntensityHistory(sp => sp.GetRequiredService<NodeRuntime>().IntensityHistory);
        builder.Services.AddGrpcHealthChecks().AddCheck("consensus", () => HealthCheckResult.Healthy());
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(NodeMetrics.MeterName, "Aurigraph.Node.Transport", CarbonMetrics.MeterName, Diagnostics.StageMeter.MeterName, "System.Runtime")
            .AddPrometheusExporter());

        await using var app = builder.Build();
        // Errors without a body of their own (no route: 404, wrong method: 405) answer the JSON error shape too.
        app.UseStatusCodePages(ApiErrors.StatusPageAsync);
        app.UseRouting();
        app.UseMiddleware<ApiRequestGuard>();
        app.MapGrpcService<TransactionApi>();
        app.MapGrpcService<TransactionRestApi>(); // the same service's REST routes
        app.MapGrpcService<BlockApi>();
        app.MapGrpcService<NodeApi>();
        app.MapGrpcService<CarbonApi>();
        app.MapGet("/api/v11/carbon/report.csv", (NodeRuntime node, string? from, string? to) => CarbonApi.Csv(node, from, to))
            .Describe(RestApiDocument.DocumentsTag, "GetCarbonReportCsv", "text/csv", "The committed carbon records of the height range from..to as CSV.");
        app.MapGet("/api/v11/carbon/manifest.yaml", (NodeRuntime node, string? from, string? to) => CarbonApi.Manifest(node, from, to))
            .Describe(RestApiDocument.DocumentsTag, "GetImpactManifest", "application/yaml", "The height range's readings as an Impact Framework manifest that recomputes their energy and SCI.");
        app.MapGet("/api/v11/carbon/esg/{month}.html", (NodeRuntime node, string month) => CarbonApi.EsgReport(node, month))
            .Describe(RestApiDocument.DocumentsTag, "GetEsgReport", "text/html", "The ESG report of one calendar month (yyyy-MM, UTC) as an HTML page.");
        app.MapGet("/api/v11/carbon/dashboard.html", (NodeRuntime node) => CarbonApi.Dashboard(node))
            .Describe(RestApiDocument.DocumentsTag, "GetCarbonDashboard", "text/html", "The carbon dashboard as an HTML page.");
        app.MapGrpcService<AdminApi>();
        app.MapGrpcService<JoinApi>();
        app.MapGrpcHealthChecksService();
        app.MapPrometheusScrapingEndpoint();
        app.Services.GetRequiredService<CarbonBudgetMetrics>(); // exports Aurigraph:Carbon:Budget for the burn-rate alerts
        app.MapRestApiDocument();
        app.MapGet("/healthz", () => Results.Json(new { status = "alive" }))
            .Describe(RestApiDocument.NodeTag, "GetLiveness", "application/json", "Liveness: answers while the process serves.");
        app.MapGet("/readyz", (NodeRuntime node) =>
        {
            var s = node.Snapshot;
            var ready = s.Leader != 0 && s.AppliedIndex >= s.CommitIndex;
            // 64-bit integers as strings, as in every JSON answer of the REST port (proto3 JSON).
            return Results.Json(new { ready, leader = U64(s.Leader), commitIndex = U64(s.CommitIndex), appliedIndex = U64(s.AppliedIndex), height = U64(s.Height) }, statusCode: ready ? 200 : 503);
        })
            .Describe(RestApiDocument.NodeTag, "GetReadiness", "application/json", "Readiness: 200 once a leader is known and this node has applied all it knows committed, else 503.");

        try
        {
            // A new node joins before anything opens its database for good: the runtime starts from what the join kept.
            var joining = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Aurigraph.Node.Hosting.Joiner");
            await Joiner.JoinIfNeededAsync(options, joining, ct).ConfigureAwait(false);
            await app.RunAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JoinRefusedException or TimeoutRejectedException)
        {
            await Console.Error.WriteLineAsync($"node {options.NodeId} could not join: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.StartFailed;
        }
        catch (Exception ex) when (ex is Storage.StorageException or InvalidDataException or IOException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"node {options.NodeId} failed to start: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.StartFailed;
        }
        return Environment.ExitCode;
    }

    /// <summary>Loads the peer and API certificates once, so that a bad file is a configuration error naming it, not a failed start.</summary>
    private static string? CheckCertificates(NodeOptions options)
    {
        try
        {
            if (!options.Transport.Insecure)
            {
                _ = NodeCredentials.Load(PeerSecurity.PeerFiles(options), options.ChainId, options.NodeId);
            }
            if (options.ApiTls)
            {
                var (certificate, key) = options.ApiCertificate;
                _ = NodeCredentials.Load(new CertificateFiles(options.Tls.CaFile, certificate, key), options.ChainId, null, verifyChain: string.IsNullOrEmpty(options.Api.CertificateFile));
            }
            return null;
        }
        catch (InvalidDataException ex)
        {
            return $"{NodeOptions.Section}:Tls: {ex.Message}";
        }
    }

    private static IPAddress ListenAddress(Uri uri) => uri.Host switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "+" or "0.0.0.0" => IPAddress.Any,
        var host => IPAddress.Parse(host),
    };

    private static string U64(ulong value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    // Enums by name ("Role": "Validator"), which the configuration binder reads as it reads numbers.
    internal static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
}
