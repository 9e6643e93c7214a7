using System.Text.Json.Nodes;
using Aurigraph.Node.Hosting;
using YamlDotNet.RepresentationModel;
using static Aurigraph.Node.Tests.Deployment.KubernetesManifests;

namespace Aurigraph.Node.Tests.Deployment;

/// <summary>
/// deploy/kubernetes, rendered for each cloud: lint, the Kubernetes schemas, and what the pods would run — every pod's
/// start script run for real (sh, with the pod's environment from the rendered objects and a resolver that knows only
/// the Services the three clouds render) and the resulting environment bound and validated as the node does.
/// </summary>
public sealed class KubernetesDeploymentTests
{
    private static readonly Dictionary<string, NodeRole> Roles = new()
    {
        ["validator"] = NodeRole.Validator,
        ["business"] = NodeRole.Business,
        ["slim"] = NodeRole.Slim,
    };

    private static readonly Dictionary<string, int> Layout = new() { ["validator"] = 4, ["business"] = 6, ["slim"] = 12 };

    private static readonly Lazy<List<Pod>> AllPods = new(StartEveryPod);

    private sealed record Pod(string Cloud, string Role, int Ordinal, NodeOptions Options);

    [Fact]
    public void Sources_and_every_rendered_cloud_are_yamllint_clean()
    {
        const string install = "apt-get install -y yamllint (.ci/run does)";
        var config = Path.Combine(Deploy, ".yamllint");
        // From deploy/kubernetes, so that the config's ignore patterns (tools/node_modules/) match.
        var (code, output, error) = Run("yamllint", ["--strict", "-c", config, "."], install, workingDirectory: Deploy);
        Assert.True(code == 0, $"yamllint deploy/kubernetes: {output}{error}");
        foreach (var cloud in Clouds)
        {
            (code, output, error) = Run("yamllint", ["--strict", "-c", config, "-"], install, Render(cloud));
            Assert.True(code == 0, $"yamllint of the rendered {cloud} manifests: {output}{error}");
        }
    }

    [Fact]
    public void Every_rendered_object_matches_the_Kubernetes_schema_of_its_kind()
    {
        var tools = Path.Combine(Deploy, "tools");
        Assert.True(Directory.Exists(Path.Combine(tools, "node_modules", "kubernetes-models")),
            "deploy/kubernetes/tools has no node_modules/kubernetes-models: run 'npm ci' there (.ci/run does)");
        foreach (var cloud in Clouds)
        {
            var objects = Objects(cloud);
            var json = new JsonArray([.. objects.Select(o => ToJson(o))]).ToJsonString();
            var (code, output, error) = Run("node", ["validate.mjs"], "Node.js >= 20 (the machine image has it)", json, workingDirectory: tools);
            Assert.True(code == 0, $"{cloud}: {output}{error}");
            Assert.Contains($"{objects.Count} valid, 0 invalid", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_schema_check_refuses_an_object_of_the_wrong_shape()
    {
        var statefulSet = ToJson(Objects("aws").Named("StatefulSet", "validator"))!.AsObject();
        statefulSet["spec"]!["replicas"] = "four";
        var tools = Path.Combine(Deploy, "tools");
        var (code, output, _) = Run("node", ["validate.mjs"], "Node.js >= 20", new JsonArray(statefulSet).ToJsonString(), workingDirectory: tools);
        Assert.Equal(1, code);
        Assert.Contains("replicas must be integer", output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_generated_address_books_id_ranges_and_pod_services_are_up_to_date()
    {
        var fresh = Directory.CreateTempSubdirectory("aurigraph-k8s-").FullName;
        try
        {
            var (code, _, error) = Run("bash", [Path.Combine(Deploy, "generate.sh"), fresh], "bash");
            Assert.True(code == 0, error);
            foreach (var cloud in Clouds)
            {
                foreach (var file in new[] { "members.env", "ids.env", "pods.yaml" })
                {
                    Assert.True(
                        File.ReadAllText(Path.Combine(fresh, cloud, file)) == File.ReadAllText(Path.Combine(Deploy, "clouds", cloud, file)),
                        $"clouds/{cloud}/{file} differs from what generate.sh writes from programme.env: run deploy/kubernetes/generate.sh");
                }
            }
        }
        finally
        {
            Directory.Delete(fresh, recursive: true);
        }
    }

    [Fact]
    public void Each_cloud_runs_4_validators_6_business_and_12_slim_nodes()
    {
        foreach (var cloud in Clouds)
        {
            var objects = Objects(cloud);
            Assert.Equal(Layout.Keys.Order(), objects.OfKind("StatefulSet").Select(s => s.Map("metadata").Str("name")!).Order());
            foreach (var (role, count) in Layout)
            {
                var statefulSet = objects.Named("StatefulSet", role);
                Assert.Equal(count, statefulSet.Map("spec").Int("replicas"));
                Assert.Equal(count, AllPods.Value.Count(p => p.Cloud == cloud && p.Role == role));
                var headless = objects.Named("Service", statefulSet.Map("spec").Str("serviceName")!);
                Assert.Equal("None", headless.Map("spec").Str("clusterIP"));
                Assert.Equal("true", headless.Map("spec").Str("publishNotReadyAddresses"));
            }
        }
    }

    [Fact]
    public void Every_pod_starts_a_valid_node_of_its_role_with_the_id_of_its_ordinal()
    {
        var pods = AllPods.Value;
        Assert.Equal(3 * 22, pods.Count);
        foreach (var pod in pods)
        {
            var name = $"{pod.Cloud}/{pod.Role}-{pod.Ordinal}";
            var errors = pod.Options.Validate();
            Assert.True(errors.Count == 0, $"{name}: {string.Join("; ", errors)}");
            var ids = File.ReadAllLines(Path.Combine(Deploy, "clouds", pod.Cloud, "ids.env")).Where(l => !l.StartsWith('#')).Select(l => l.Split('='))
                .ToDictionary(p => p[0], p => ulong.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(ids[$"{pod.Role}.first"] + (ulong)pod.Ordinal, pod.Options.NodeId);
            Assert.Equal(Roles[pod.Role], pod.Options.Role);
            Assert.Equal(pod.Cloud, pod.Options.Self.Cloud);
            Assert.Equal("0.0.0.0:7000", pod.Options.Self.PeerAddress);
            Assert.Equal("http://0.0.0.0:8080", pod.Options.Self.RestAddress);
            Assert.EndsWith($"/node-{pod.Options.NodeId}.pem", pod.Options.Tls.CertificateFile, StringComparison.Ordinal);
            Assert.EndsWith($"/node-{pod.Options.NodeId}.key", pod.Options.Tls.KeyFile, StringComparison.Ordinal);
            Assert.Equal(Programme()["CHAIN_ID"], pod.Options.ChainId);
        }
    }

    [Fact]
    public void Node_ids_are_unique_across_the_three_clouds()
    {
        var ids = AllPods.Value.Select(p => p.Options.NodeId).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(66, ids.Count);
        Assert.Equal(ids.Order(), AllPods.Value[0].Options.Members.Select(m => m.Id).Order());
    }

    [Fact]
    public void Every_pod_lists_the_same_members_and_reaches_each_at_an_address_of_that_member()
    {
        var pods = AllPods.Value;
        static string Book(NodeOptions o) => string.Join('\n', o.Members.Select(m => $"{m.Id} {m.Role} {m.Cloud} {m.Region}"));
        var book = Book(pods[0].Options);
        var owner = pods.ToDictionary(p => p.Options.NodeId);
        foreach (var pod in pods)
        {
            Assert.Equal(book, Book(pod.Options));
            foreach (var member in pod.Options.Members.Where(m => m.Id != pod.Options.NodeId))
            {
                // The peer address resolved to the per-pod Service of exactly that member (the stub resolver maps each
                // rendered Service's names to an address that encodes cloud, role and ordinal).
                var target = owner[member.Id];
                Assert.Equal($"{StubAddress(target.Cloud, target.Role, target.Ordinal)}:7000", member.PeerAddress);
                Assert.Equal(target.Cloud, member.Cloud);
                Assert.Equal(Roles[target.Role], member.Role);
            }
        }
        foreach (var cloud in Clouds)
        {
            var inCloud = pods.Where(p => p.Cloud == cloud).ToList();
            var addresses = inCloud.Select(p => string.Join('\n', p.Options.Members.Where(m => m.Id != p.Options.NodeId && m.Cloud != cloud).Select(m => $"{m.Id} {m.PeerAddress} {m.ApiAddress} {m.RestAddress}"))).Distinct();
            Assert.Single(addresses);
        }
    }

    [Fact]
    public void Validator_disruption_budgets_keep_a_quorum_while_every_cloud_drains_at_once()
    {
        var validators = 0;
        var kept = 0;
        foreach (var cloud in Clouds)
        {
            var objects = Objects(cloud);
            var replicas = objects.Named("StatefulSet", "validator").Map("spec").Int("replicas");
            var budget = objects.Named("PodDisruptionBudget", "validator").Map("spec");
            var minAvailable = budget.Str("minAvailable") is { } min ? int.Parse(min, System.Globalization.CultureInfo.InvariantCulture) : replicas - budget.Int("maxUnavailable");
            Assert.Equal(
                objects.Named("StatefulSet", "validator").At("spec.selector.matchLabels").Children.Select(kv => kv.ToString()).Order(),
                budget.At("selector.matchLabels").Children.Select(kv => kv.ToString()).Order());
            Assert.InRange(minAvailable, 1, replicas - 1); // a drain can make progress, and never takes them all
            validators += replicas;
            kept += minAvailable;
        }
        Assert.Equal(AllPods.Value.Count(p => p.Role == "validator"), validators);
        Assert.True(kept >= (validators / 2) + 1, $"the budgets keep {kept} of {validators} validators, fewer than a quorum of {(validators / 2) + 1}");
    }

    [Fact]
    public void Probes_ask_readyz_and_healthz_on_the_REST_port_and_memory_follows_the_budget()
    {
        foreach (var cloud in Clouds)
        {
            foreach (var statefulSet in Objects(cloud).OfKind("StatefulSet"))
            {
                var container = statefulSet.At("spec.template.spec").Items("containers").Single();
                var restPort = container.Items("ports").Single(p => p.Str("name") == "rest");
                Assert.Equal(8080, restPort.Int("containerPort"));
                Assert.Equal("/readyz", container.At("readinessProbe.httpGet").Str("path"));
                Assert.Equal("/healthz", container.At("livenessProbe.httpGet").Str("path"));
                foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
                {
                    Assert.Equal("rest", container.At($"{probe}.httpGet").Str("port"));
                }
                var budget = container.Items("env").Single(e => e.Str("name") == "AURIGRAPH__MEMORYBUDGETMEGABYTES").Str("value");
                Assert.Equal(MemoryBudget.DefaultMegabytes.ToString(System.Globalization.CultureInfo.InvariantCulture), budget);
                // The request covers the measured peak RSS under saturation (530 MB), the limit lies above the request.
                var request = Mebibytes(container.At("resources.requests").Str("memory")!);
                var limit = Mebibytes(container.At("resources.limits").Str("memory")!);
                Assert.True(request * 1024 * 1024 >= 530_000_000L, $"{cloud}/{statefulSet.Map("metadata").Str("name")}: memory request {request} Mi is below the measured peak");
                Assert.True(limit > request && limit >= 2 * MemoryBudget.DefaultMegabytes, $"memory limit {limit} Mi");
            }
        }
        Assert.All(AllPods.Value, p => Assert.EndsWith(":8080", p.Options.Members.First(m => m.Id != p.Options.NodeId).RestAddress, StringComparison.Ordinal));
    }

    [Fact]
    public void Pods_spread_over_zones_and_claim_the_cloud_ssd_class()
    {
        var expected = new Dictionary<string, (string Provisioner, string Key, string Value)>
        {
            ["aws"] = ("ebs.csi.aws.com", "type", "gp3"),
            ["azure"] = ("disk.csi.azure.com", "skuName", "Premium_LRS"),
            ["gcp"] = ("pd.csi.storage.gke.io", "type", "pd-ssd"),
        };
        foreach (var cloud in Clouds)
        {
            var objects = Objects(cloud);
            var storageClass = objects.OfKind("StorageClass").Single();
            Assert.Equal(expected[cloud].Provisioner, storageClass.Str("provisioner"));
            Assert.Equal(expected[cloud].Value, storageClass.Map("parameters").Str(expected[cloud].Key));
            Assert.Equal("WaitForFirstConsumer", storageClass.Str("volumeBindingMode"));
            foreach (var statefulSet in objects.OfKind("StatefulSet"))
            {
                var claim = statefulSet.Map("spec").Items("volumeClaimTemplates").Single();
                Assert.Equal(storageClass.Map("metadata").Str("name"), claim.Map("spec").Str("storageClassName"));
                var pod = statefulSet.At("spec.template");
                var ownLabels = pod.Map("metadata").Map("labels");
                var zoneTerm = pod.At("spec.affinity.podAntiAffinity").Items("preferredDuringSchedulingIgnoredDuringExecution").Single().Map("podAffinityTerm");
                Assert.Equal("topology.kubernetes.io/zone", zoneTerm.Str("topologyKey"));
                Assert.All(zoneTerm.At("labelSelector.matchLabels").Children, kv => Assert.Equal(kv.Value, ownLabels.Get(kv.Key.ToString())));
                var spread = pod.Map("spec").Items("topologySpreadConstraints").Single();
                Assert.Equal(("topology.kubernetes.io/zone", "DoNotSchedule"), (spread.Str("topologyKey"), spread.Str("whenUnsatisfiable")));
            }
        }
    }

    [Fact]
    public void Certificates_come_from_read_only_secrets_that_never_hold_the_CA_key()
    {
        foreach (var cloud in Clouds)
        {
            var objects = Objects(cloud);
            Assert.Empty(objects.OfKind("Secret"));
            Assert.DoesNotContain("ca.key", Render(cloud), StringComparison.Ordinal);
            foreach (var statefulSet in objects.OfKind("StatefulSet"))
            {
                var role = statefulSet.Map("metadata").Str("name");
                var spec = statefulSet.At("spec.template.spec");
                var tls = spec.Items("volumes").Single(v => v.Str("name") == "tls");
                Assert.Equal($"aurigraph-tls-{role}", tls.Map("secret").Str("secretName"));
                Assert.Equal(0, tls.Map("secret").Int("defaultMode") & 0b010_010_111); // no write bit, nothing for others
                var mount = spec.Items("containers").Single().Items("volumeMounts").Single(m => m.Str("name") == "tls");
                Assert.Equal("true", mount.Str("readOnly"));
            }
        }
    }

    private static int Mebibytes(string quantity) =>
        quantity.EndsWith("Gi", StringComparison.Ordinal) ? 1024 * int.Parse(quantity[..^2], System.Globalization.CultureInfo.InvariantCulture)
        : quantity.EndsWith("Mi", StringComparison.Ordinal) ? int.Parse(quantity[..^2], System.Globalization.CultureInfo.InvariantCulture)
        : throw new FormatException($"memory quantity '{quantity}' is neither Mi nor Gi");

    /// <summary>The address the stub resolver gives a pod's Service: 10.(cloud).(role).(ordinal).</summary>
    private static string StubAddress(string cloud, string role, int ordinal) =>
        $"10.{Array.IndexOf(Clouds, cloud) + 1}.{Layout.Keys.ToList().IndexOf(role) + 1}.{ordinal + 1}";

    /// <summary>
    /// Runs base/start.sh for every pod of every cloud with the environment the rendered StatefulSet gives it, "env" as
    /// the command it hands over to, and a getent that resolves only the names of rendered per-pod Services: the
    /// cluster DNS name (&lt;service&gt;.&lt;namespace&gt;.svc.cluster.local) in its own cloud and the external-dns
    /// hostname of its internal load balancer in the others.
    /// </summary>
    private static List<Pod> StartEveryPod()
    {
        var work = Directory.CreateTempSubdirectory("aurigraph-pods-").FullName;
        try
        {
            var names = new List<string>();
            foreach (var cloud in Clouds)
            {
                foreach (var service in Objects(cloud).OfKind("Service").Where(s => s.Map("spec").Str("type") == "LoadBalancer"))
                {
                    var metadata = service.Map("metadata");
                    var pod = service.At("spec.selector").Str("statefulset.kubernetes.io/pod-name")!;
                    var role = pod[..pod.LastIndexOf('-')];
                    var address = StubAddress(cloud, role, int.Parse(pod[(pod.LastIndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
                    names.Add($"{cloud}:{metadata.Str("name")}.{metadata.Str("namespace")}.svc.cluster.local) echo '{address} STREAM' ;;");
                    names.Add($"*:{metadata.Map("annotations").Str("external-dns.alpha.kubernetes.io/hostname")}) echo '{address} STREAM' ;;");
                }
            }
            var bin = Directory.CreateDirectory(Path.Combine(work, "bin")).FullName;
            File.WriteAllText(Path.Combine(bin, "getent"),
                "#!/bin/sh\n[ \"$1\" = ahostsv4 ] || exit 2\ncase \"$STUB_CLOUD:$2\" in\n" +
                string.Join('\n', names) + "\n*) exit 2 ;;\nesac\n");
            Assert.False(OperatingSystem.IsWindows(), "the start script and its stub resolver run under a POSIX sh");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(Path.Combine(bin, "getent"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
            }

            var pods = new List<Pod>();
            foreach (var cloud in Clouds)
            {
                var objects = Objects(cloud);
                var configMaps = objects.OfKind("ConfigMap").ToDictionary(c => c.Map("metadata").Str("name")!, c => c.Map("data"));
                var tls = Directory.CreateDirectory(Path.Combine(work, cloud)).FullName;
                foreach (var statefulSet in objects.OfKind("StatefulSet"))
                {
                    var role = statefulSet.Map("metadata").Str("name")!;
                    var container = statefulSet.At("spec.template.spec").Items("containers").Single();
                    var command = container.Seq("command").Children.Concat(container.Seq("args").Children).Select(c => ((YamlScalarNode)c).Value!).ToList();
                    Assert.Equal(["/bin/sh", "/etc/aurigraph/start/start.sh", "dotnet", "Aurigraph.Node.dll", "run"], command);
                    var script = configMaps.Single(c => c.Key.StartsWith("aurigraph-start-", StringComparison.Ordinal)).Value.Str("start.sh")!;
                    var scriptPath = Path.Combine(work, "start.sh");
                    File.WriteAllText(scriptPath, script);
                    for (var ordinal = 0; ordinal < statefulSet.Map("spec").Int("replicas"); ordinal++)
                    {
                        var podName = $"{role}-{ordinal}";
                        var environment = new Dictionary<string, string> { ["PATH"] = $"{bin}:/usr/bin:/bin", ["STUB_CLOUD"] = cloud, ["AURIGRAPH_RESOLVE_SECONDS"] = "0" };
                        foreach (var source in container.Items("envFrom"))
                        {
                            foreach (var (key, value) in configMaps[source.Map("configMapRef").Str("name")!].Children)
                            {
                                environment[key.ToString()] = value.ToString();
                            }
                        }
                        foreach (var variable in container.Items("env"))
                        {
                            var name = variable.Str("name")!;
                            environment[name] = variable.Get("valueFrom") is YamlMappingNode from
                                ? from.Get("fieldRef") is YamlMappingNode field
                                    ? field.Str("fieldPath") == "metadata.name" ? podName : throw new InvalidDataException($"unexpected fieldRef {field}")
                                    : configMaps[from.Map("configMapKeyRef").Str("name")!].Str(from.Map("configMapKeyRef").Str("key")!)!
                                : variable.Str("value")!;
                        }
                        // The role's Secret, as its README creates it: the CA certificate and each node's pair (read, not parsed).
                        environment["AURIGRAPH_TLS_DIR"] = tls;
                        var id = ulong.Parse(environment["AURIGRAPH_ID_FIRST"], System.Globalization.CultureInfo.InvariantCulture) + (ulong)ordinal;
                        foreach (var file in new[] { "ca.pem", $"node-{id}.pem", $"node-{id}.key" })
                        {
                            File.WriteAllText(Path.Combine(tls, file), "");
                        }
                        var (code, output, error) = Run("sh", [scriptPath, "env"], "a POSIX sh", environment: environment);
                        Assert.True(code == 0, $"{cloud}/{podName}: start.sh failed: {error}");
                        var started = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2))
                            .Where(p => p.Length == 2 && p[0].StartsWith("AURIGRAPH__", StringComparison.Ordinal)).ToDictionary(p => p[0], p => p[1]);
                        pods.Add(new Pod(cloud, role, ordinal, Hosting.ConfigurationTests.Bind(started)));
                    }
                }
            }
            return pods;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
