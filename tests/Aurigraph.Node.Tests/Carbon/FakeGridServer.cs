using System.Collections.Concurrent;
using System.Text;
using Aurigraph.Node.Carbon;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>
/// A Kestrel server on 127.0.0.1 (port chosen by the OS) that answers like Electricity Maps under <c>/em</c> and like
/// WattTime under <c>/wt</c>. Each endpoint's behaviour is a swappable handler; every request is recorded.
/// </summary>
internal sealed class FakeGridServer : IAsyncDisposable
{
    public const string Username = "aurigraph";
    public const string Password = "s3cret";
    public const string ApiKey = "em-test-key";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private int _tokenSerial;

    private FakeGridServer(WebApplication app)
    {
        _app = app;
        ElectricityMaps = ctx => Json(ctx, ElectricityMapsBody("DE", 302, "2026-11-23T10:00:00.000Z"));
        PowerBreakdown = ctx => Json(ctx, ElectricityMapsSamples.PowerBreakdown("DE", "2026-11-23T10:00:00.000Z"));
        IntensityHistory = ctx => Json(ctx, ElectricityMapsSamples.IntensityHistory("DE", []));
        PowerBreakdownHistory = ctx => Json(ctx, ElectricityMapsSamples.PowerBreakdownHistory("DE", []));
        WattTimeLogin = ctx =>
        {
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(Username + ":" + Password));
            if (ctx.Request.Headers.Authorization.ToString() != expected)
            {
                ctx.Response.StatusCode = 401;
                return Task.CompletedTask;
            }

            var serial = Interlocked.Increment(ref _tokenSerial);
            return Json(ctx, $$"""{"token":"token-{{serial}}"}""");
        };
        WattTimeForecast = ctx => ctx.Request.Headers.Authorization.ToString() == "Bearer " + LastToken
            ? Json(ctx, WattTimeBody("DE", 1000, "2026-11-23T10:05:00+00:00"))
            : Status(ctx, 401);
    }

    public Uri BaseAddress { get; private set; } = null!;

    public Uri ElectricityMapsBase => new(BaseAddress, "em/");

    public Uri WattTimeBase => new(BaseAddress, "wt/");

    /// <summary>Answers <c>GET /em/v3/carbon-intensity/latest</c>.</summary>
    public Func<HttpContext, Task> ElectricityMaps { get; set; }

    /// <summary>Answers <c>GET /em/v3/power-breakdown/latest</c>.</summary>
    public Func<HttpContext, Task> PowerBreakdown { get; set; }

    /// <summary>Answers <c>GET /em/v3/carbon-intensity/history</c>.</summary>
    public Func<HttpContext, Task> IntensityHistory { get; set; }

    /// <summary>Answers <c>GET /em/v3/power-breakdown/history</c>.</summary>
    public Func<HttpContext, Task> PowerBreakdownHistory { get; set; }

    /// <summary>Answers <c>GET /wt/login</c>.</summary>
    public Func<HttpContext, Task> WattTimeLogin { get; set; }

    /// <summary>Answers <c>GET /wt/v3/forecast</c>.</summary>
    public Func<HttpContext, Task> WattTimeForecast { get; set; }

    /// <summary>The token the last login handed out.</summary>
    public string LastToken => "token-" + Volatile.Read(ref _tokenSerial);

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public int Count(string path) => _requests.Count(r => r.Path == path);

    public static async Task<FakeGridServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new FakeGridServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    public static string ElectricityMapsBody(string zone, double intensity, string datetime) => $$"""
        {"zone":"{{zone}}","carbonIntensity":{{intensity.ToString(System.Globalization.CultureInfo.InvariantCulture)}},"datetime":"{{datetime}}","updatedAt":"2026-11-23T10:47:12.000Z","createdAt":"2026-11-20T10:50:00.000Z","emissionFactorType":"lifecycle","isEstimated":true,"estimationMethod":"TIME_SLICER_AVERAGE"}
        """;

    public static string WattTimeBody(string region, double poundsPerMwh, string pointTime) => $$$"""
        {"data":[{"point_time":"{{{pointTime}}}","value":{{{poundsPerMwh.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}},{"point_time":"2026-11-23T10:10:00+00:00","value":1.0}],"meta":{"data_point_period_seconds":300,"region":"{{{region}}}","warnings":[],"signal_type":"co2_moer","model":{"date":"2026-03-01"},"units":"lbs_co2_per_mwh","generated_at_period_seconds":300,"generated_at":"2026-11-23T10:00:00+00:00"}}
        """;

    public static Task Json(HttpContext ctx, string body, int status = 200)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(body);
    }

    public static Task Status(HttpContext ctx, int status)
    {
        ctx.Response.StatusCode = status;
        return Task.CompletedTask;
    }

    /// <summary>
    /// <c>/v3/forecast</c> as WattTime serves an account without a subscription: the usual answer for
    /// <c>CAISO_NORTH</c>, HTTP 403 for every other region.
    /// </summary>
    public Func<HttpContext, Task> FreeAccountForecast() => ctx => ctx.Request.Query["region"].ToString() == WattTimeProvider.FreeRegion
        ? Json(ctx, WattTimeBody(WattTimeProvider.FreeRegion, 650, "2026-11-23T10:05:00+00:00"))
        : Status(ctx, 403);

    /// <summary>A handler that never answers until the client gives up; <paramref name="arrived"/> is set when a request comes in.</summary>
    public static Func<HttpContext, Task> Hang(TaskCompletionSource? arrived = null) => async ctx =>
    {
        arrived?.TrySetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
    };

    /// <summary>A handler that answers with each of <paramref name="handlers"/> in turn, repeating the last.</summary>
    public static Func<HttpContext, Task> Sequence(params Func<HttpContext, Task>[] handlers)
    {
        var index = -1;
        return ctx => handlers[Math.Min(Interlocked.Increment(ref index), handlers.Length - 1)](ctx);
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }

    private Task HandleAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "";
        _requests.Enqueue(new RecordedRequest(
            path,
            ctx.Request.QueryString.Value ?? "",
            ctx.Request.Headers["auth-token"].ToString(),
            ctx.Request.Headers.Authorization.ToString()));
        return path switch
        {
            "/em/v3/carbon-intensity/latest" => ElectricityMaps(ctx),
            "/em/v3/power-breakdown/latest" => PowerBreakdown(ctx),
            "/em/v3/carbon-intensity/history" => IntensityHistory(ctx),
            "/em/v3/power-breakdown/history" => PowerBreakdownHistory(ctx),
            "/wt/login" => WattTimeLogin(ctx),
            "/wt/v3/forecast" => WattTimeForecast(ctx),
            _ => Status(ctx, 404),
        };
    }
}

internal sealed record RecordedRequest(string Path, string Query, string AuthToken, string Authorization);
