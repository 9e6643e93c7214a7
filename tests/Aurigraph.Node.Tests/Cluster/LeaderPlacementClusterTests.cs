using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Grpc.Core;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>Carbon-aware leader placement in the three-cloud topology with WAN emulation.</summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed class LeaderPlacementClusterTests
{
    private const string Chain = "aurigraph-devnet";
    private const string Token = "placement-admin-token";

    [Fact]
    public async Task Leadership_moves_off_the_dirtiest_grid_to_a_cleaner_caught_up_validator_while_clients_write()
    {
        // Validators 1 (aws:us-east-1, 379 g/kWh in the static table), 2 (azure:eastus, 379), 3 (gcp:us-central1, 413);
        // business node 4 in aws. Checks every second, a 3 s hold.
        var environment = WanClusterTests.Topology(4);
        foreach (var settings in environment.Values)
        {
            settings["AURIGRAPH__LEADERPLACEMENT__ENABLED"] = "true";
            settings["AURIGRAPH__LEADERPLACEMENT__CHECKINTERVALSECONDS"] = "1";
            settings["AURIGRAPH__LEADERPLACEMENT__HOLDSECONDS"] = "3";
            settings["AURIGRAPH__ADMINTOKEN"] = Token;
        }
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 1, slim: 0, environment: environment);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        if (leader != 3)
        {
            // The operator puts the leader on the dirtiest grid; placement on 1 or 2 never moves it there by itself.
            var admin = new AdminService.AdminServiceClient(cluster.Channel(leader));
            await admin.TransferLeadershipAsync(new TransferLeadershipRequest { Target = 3 }, new Metadata { { "authorization", $"Bearer {Token}" } });
            Assert.Equal(3UL, await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10), among: [3]));
        }

        // A client writes one transaction at a time through node 4 while placement moves leadership.
        using var sender = cluster.DevKey(1);
        using var recipient = TransactionSigner.Generate();
        using var stop = new CancellationTokenSource();
        var acknowledged = 0UL;
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var request = new SubmitTransactionsRequest { Transactions = { sender.Transfer(Chain, acknowledged, recipient.PublicKey, 1) } };
                if ((await cluster.Transactions(4).SubmitTransactionsAsync(request)).Results[0].State == TransactionState.Committed)
                {
                    Interlocked.Increment(ref acknowledged);
                }
            }
        });
        var placed = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30), excluding: 3);
        var before = Interlocked.Read(ref acknowledged);
        await cluster.PollAsync(async () => { await Task.Yield(); return Interlocked.Read(ref acknowledged) >= before + 10 ? "" : null; }, "writes under the new leader", TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await writer;

        Assert.Contains(placed, new ulong[] { 1, 2 });
        var log = string.Join('\n', cluster.LinesOf(3));
        Assert.Contains($"carbon-aware placement hands leadership to node {placed} (", log, StringComparison.Ordinal);
        // The GCP leader's own figure from the table (us-central1, the dirtiest of the three), as the placement log prints it.
        var gcp = Aurigraph.Node.Carbon.StaticGridIntensityTable.LoadEmbedded().Lookup(new Aurigraph.Node.Carbon.CloudRegion(Aurigraph.Node.Carbon.CloudProvider.Gcp, "us-central1")).GramsPerKwh;
        Assert.Contains($"{gcp.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)} gCO2e/kWh", log, StringComparison.Ordinal);
        // Nothing acknowledged was lost: the recipient holds one unit per acknowledged write, on the new leader.
        var total = Interlocked.Read(ref acknowledged);
        var account = await cluster.Status(placed).GetAccountAsync(new GetAccountRequest { Account = Convert.ToHexString(recipient.PublicKey), Consistency = ReadConsistency.Linearizable });
        Assert.Equal(total, account.Balance);
    }
}
