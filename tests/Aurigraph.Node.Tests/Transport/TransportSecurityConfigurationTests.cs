using System.Text.Json;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Security;
using Microsoft.Extensions.Configuration;

namespace Aurigraph.Node.Tests.Transport;

/// <summary>Secure by default: configuration without certificates is refused, and plaintext is allowed on loopback only.</summary>
public sealed class TransportSecurityConfigurationTests
{
    private static NodeOptions Options(string peerHost = "127.0.0.1", Action<NodeOptions>? configure = null)
    {
        var options = new NodeOptions
        {
            NodeId = 1,
            Members =
            [
                new MemberOptions { Id = 1, PeerAddress = $"{peerHost}:7001", ApiAddress = "http://127.0.0.1:7101", RestAddress = "http://127.0.0.1:7201" },
                new MemberOptions { Id = 2, PeerAddress = "127.0.0.1:7002", ApiAddress = "http://127.0.0.1:7102", RestAddress = "http://127.0.0.1:7202" },
            ],
        };
        configure?.Invoke(options);
        return options;
    }

    [Fact]
    public void Without_certificates_or_the_insecure_switch_the_node_refuses_to_start()
    {
        var errors = Options().Validate();

        Assert.Contains(errors, e => e.StartsWith("Aurigraph:Tls:CaFile must name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Aurigraph:Tls:CertificateFile must name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Aurigraph:Tls:KeyFile must name", StringComparison.Ordinal));
    }

    [Fact]
    public void Insecure_switch_is_refused_when_a_peer_address_is_not_loopback()
    {
        var errors = Options("10.0.0.7", o => o.Transport.Insecure = true).Validate();

        var error = Assert.Single(errors);
        Assert.Contains("Aurigraph:Transport:Insecure=true is refused", error, StringComparison.Ordinal);
        Assert.Contains("Aurigraph:Members:0:PeerAddress 10.0.0.7:7001 is not a loopback address", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Insecure_switch_on_loopback_validates_and_selects_plain_tcp()
    {
        var options = Options(configure: o => o.Transport.Insecure = true);

        Assert.Empty(options.Validate());
        using var loggers = Microsoft.Extensions.Logging.LoggerFactory.Create(_ => { });
        Assert.IsType<Aurigraph.Node.Transport.PlainTcpStreamFactory>(PeerSecurity.StreamFactory(options, loggers));
    }

    [Fact]
    public void Admin_client_certificate_needs_an_https_api()
    {
        var errors = Options(configure: o =>
        {
            o.Transport.Insecure = true;
            o.Api.RequireAdminClientCertificate = true;
        }).Validate();

        Assert.Contains(errors, e => e.StartsWith("Aurigraph:Api:RequireAdminClientCertificate needs an HTTPS API", StringComparison.Ordinal));
    }

    [Fact]
    public void Https_api_may_serve_grpc_and_rest_on_one_port_but_http_may_not()
    {
        var shared = Options(configure: o =>
        {
            o.Transport.Insecure = true;
            o.Tls.CaFile = "ca.pem";
            o.Tls.CertificateFile = "node-1.pem";
            o.Tls.KeyFile = "node-1.key";
            o.Members[0].ApiAddress = o.Members[0].RestAddress = "https://127.0.0.1:7101";
        });
        Assert.Empty(shared.Validate());
        Assert.True(shared.ApiTls);

        var cleartext = Options(configure: o =>
        {
            o.Transport.Insecure = true;
            o.Members[0].RestAddress = o.Members[0].ApiAddress;
        });
        Assert.Contains(cleartext.Validate(), e => e.StartsWith("Aurigraph:Members:0:RestAddress must differ from ApiAddress over http", StringComparison.Ordinal));
    }

    [Fact]
    public void Devnet_creates_a_cluster_ca_and_a_certificate_per_node_and_configures_every_node_with_them()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aurigraph-devnet-certs-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var nodes = Devnet.Prepare(new Devnet.Layout(dir, 3, 1, 1, 27_400));

            Assert.True(File.Exists(Path.Combine(dir, "certs", DevelopmentCertificates.CaCertificateFile)));
            foreach (var (member, configPath) in nodes)
            {
                var options = new NodeOptions();
                new ConfigurationBuilder().AddJsonFile(configPath).Build().GetSection(NodeOptions.Section).Bind(options);
                Assert.Empty(options.Validate());
                Assert.False(options.Transport.Insecure);
                var credentials = NodeCredentials.Load(PeerSecurity.PeerFiles(options), options.ChainId, member.Id);
                Assert.Equal(member.Id, credentials.NodeId);
            }

            // A second run keeps the certificates (nodes keep their identity across devnet restarts).
            var before = File.ReadAllText(Path.Combine(dir, "certs", DevelopmentCertificates.NodeCertificateFile(1)));
            Devnet.Prepare(new Devnet.Layout(dir, 3, 1, 1, 27_400));
            Assert.Equal(before, File.ReadAllText(Path.Combine(dir, "certs", DevelopmentCertificates.NodeCertificateFile(1))));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Devnet_with_api_tls_serves_grpc_and_rest_on_one_https_port()
    {
        var dir = Path.Combine(Path.GetTempPath(), "aurigraph-devnet-apitls-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var nodes = Devnet.Prepare(new Devnet.Layout(dir, 1, 0, 0, 27_500, ApiTls: true));
            var config = JsonDocument.Parse(File.ReadAllText(nodes[0].ConfigPath)).RootElement.GetProperty(NodeOptions.Section);
            var member = config.GetProperty("Members")[0];
            Assert.Equal("https://127.0.0.1:27601", member.GetProperty("ApiAddress").GetString());
            Assert.Equal("https://127.0.0.1:27601", member.GetProperty("RestAddress").GetString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
