using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Aurigraph.Node.Hosting;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace Aurigraph.Node.Security;

/// <summary>The HTTPS API's certificate (reloaded on change, like the peer certificate) and the cluster CA for client certificates.</summary>
internal sealed class ApiCredentials(ReloadingCredentials reloading, bool requireAdminClientCertificate)
{
    public ReloadingCredentials Reloading { get; } = reloading;

    public bool RequireAdminClientCertificate { get; } = requireAdminClientCertificate;

    /// <exception cref="InvalidDataException">The files cannot be loaded.</exception>
    public static ApiCredentials Create(NodeOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (certificate, key) = options.ApiCertificate;
        // A dedicated API certificate may come from a public CA; the peer certificate always chains to the cluster CA.
        var ownCertificate = !string.IsNullOrEmpty(options.Api.CertificateFile);
        var reloading = new ReloadingCredentials(
            new CertificateFiles(options.Tls.CaFile, certificate, key),
            options.ChainId,
            nodeId: null,
            logger,
            TimeSpan.FromMilliseconds(options.Tls.ReloadCheckMilliseconds),
            verifyChain: !ownCertificate);
        return new ApiCredentials(reloading, options.Api.RequireAdminClientCertificate);
    }

    /// <summary>
    /// Kestrel HTTPS: the current certificate for every handshake (so rotation applies to new connections), TLS 1.2 or
    /// 1.3, and when admin calls need one, an optional client certificate that must chain to the cluster CA.
    /// </summary>
    public HttpsConnectionAdapterOptions HttpsOptions() => new()
    {
        ServerCertificateSelector = (_, _) => Reloading.Current.Certificate,
        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        CheckCertificateRevocation = false,
        ClientCertificateMode = RequireAdminClientCertificate ? ClientCertificateMode.AllowCertificate : ClientCertificateMode.NoCertificate,
        ClientCertificateValidation = (certificate, _, _) =>
            PeerCertificateValidator.CheckChain(Reloading.Current.Authority, certificate, PeerCertificateValidator.ClientAuth) is null,
    };

    /// <summary>Why the call's client certificate does not admit it to the admin API, or null when it does.</summary>
    public string? CheckAdminCertificate(X509Certificate2? certificate)
    {
        if (!RequireAdminClientCertificate)
        {
            return null;
        }
        if (certificate is null)
        {
            return "admin calls need a client certificate issued by the cluster CA (Aurigraph:Api:RequireAdminClientCertificate)";
        }
        return PeerCertificateValidator.CheckChain(Reloading.Current.Authority, certificate, PeerCertificateValidator.ClientAuth) is { } problem
            ? $"the client certificate is not accepted for admin calls: {problem}"
            : null;
    }
}

/// <summary>Refuses admin calls (gRPC and their REST transcoding) without an accepted client certificate, when one is required.</summary>
internal sealed class AdminClientCertificateInterceptor(ApiCredentials credentials) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        if (credentials.CheckAdminCertificate(context.GetHttpContext().Connection.ClientCertificate) is { } refusal)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, refusal));
        }
        return continuation(request, context);
    }
}
