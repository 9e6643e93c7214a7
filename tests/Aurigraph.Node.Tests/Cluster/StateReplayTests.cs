using System.Text.RegularExpressions;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;
using Google.Protobuf;

namespace Aurigraph.Node.Tests.Cluster;

/// <summary>
/// The apply batch (ledger records, block records, transaction index, carbon, applied index) is written without the
/// write-ahead log: a process killed with SIGKILL loses whatever of it was not yet flushed, and the restart re-applies the
/// committed entries after the applied index it finds on disk. These tests kill a real validator after acknowledged
/// commits and check that the state was lost, was rebuilt, and that blocks read back the same bytes as before.
/// </summary>
[Collection("real cluster")]
[Trait("Category", "Cluster")]
public sealed partial class StateReplayTests
{
    private const string Chain = "aurigraph-devnet";

    [GeneratedRegex(@"ledger recovered at height (\d+), applied index (\d+)")]
    private static partial Regex Recovered();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_validator_killed_after_acknowledged_commits_replays_them_to_the_same_state_and_blocks(bool compacting)
    {
        // With compaction the node snapshots every 12 applied entries and compacts its log behind them, which must first
        // put the state through that point on disk: the restart then replays from there, not from the start.
        var environment = compacting
            ? new Dictionary<string, string> { ["AURIGRAPH__SNAPSHOTENTRIES"] = "12", ["AURIGRAPH__COMPACTIONTRAILINGENTRIES"] = "2" }
            : [];
        await using var cluster = await LocalCluster.StartAsync(validators: 3, business: 0, slim: 0, environment: Everywhere(environment));
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20));
        var victim = cluster.Ids.First(id => id != leader);
        using var sender = cluster.DevKey(2);
        using var recipient = TransactionSigner.Generate();
        var acknowledged = new List<TransactionResult>();
        for (ulong n = 0; n < 30; n++)
        {
            var request = new SubmitTransactionsRequest();
            request.Transactions.Add(sender.Transfer(Chain, n, recipient.PublicKey, 1 + n));
            var result = Assert.Single((await cluster.Transactions(leader).SubmitTransactionsAsync(request)).Results);
            Assert.Equal(TransactionState.Committed, result.State);
            acknowledged.Add(result);
        }
        var top = acknowledged.Max(a => a.Height);
        var before = (await cluster.WaitForHeightAsync(top, TimeSpan.FromSeconds(20))).Single(s => s.Id == victim);
        if (compacting)
        {
            Assert.True(before.LogFirstIndex > 1, $"node {victim} never compacted its log (first index {before.LogFirstIndex})");
        }
        var blocks = new Dictionary<ulong, byte[]>();
        for (ulong h = 1; h <= top; h++)
        {
            blocks[h] = (await cluster.Blocks(victim).GetBlockAsync(new GetBlockRequest { Height = h })).ToByteArray();
        }

        cluster.Kill(victim);
        cluster.Start(victim, Everywhere(environment)[victim]);
        var statuses = await cluster.WaitForHeightAsync(top, TimeSpan.FromSeconds(30));

        // The state on disk was behind what the node had acknowledged (it was never flushed without compaction, and only
        // through the compaction point with it), and the restart rebuilt the rest from the log.
        var recovered = cluster.LinesOf(victim).Select(l => Recovered().Match(l)).Where(m => m.Success).ToList();
        var (height, applied) = (ulong.Parse(recovered[^1].Groups[1].Value), ulong.Parse(recovered[^1].Groups[2].Value));
        Assert.True(height < top, $"node {victim} found height {height} on disk after the kill, the acknowledged top is {top}: nothing was replayed");
        if (compacting)
        {
            Assert.True(applied + 1 >= before.LogFirstIndex, $"applied index {applied} on disk is below the log's first index {before.LogFirstIndex}");
            Assert.True(applied > 0, "compaction flushed no state");
        }

        var roots = new HashSet<string>();
        foreach (var id in cluster.Ids)
        {
            roots.Add((await cluster.Blocks(id).GetBlockAsync(new GetBlockRequest { Height = top })).Header.StateRoot.ToBase64());
        }
        Assert.Single(roots);
        Assert.Equal(3, statuses.Count);
        foreach (var ack in acknowledged)
        {
            var seen = await cluster.Transactions(victim).GetTransactionAsync(new GetTransactionRequest { TxId = ack.TxId });
            Assert.Equal(TransactionState.Committed, seen.State);
            Assert.Equal(ack.Height, seen.Height);
        }
        for (ulong h = 1; h <= top; h++)
        {
            var again = (await cluster.Blocks(victim).GetBlockAsync(new GetBlockRequest { Height = h })).ToByteArray();
            Assert.True(blocks[h].AsSpan().SequenceEqual(again), $"block {h} reads other bytes after the restart");
            var onLeader = (await cluster.Blocks(leader).GetBlockAsync(new GetBlockRequest { Height = h })).ToByteArray();
            Assert.True(onLeader.AsSpan().SequenceEqual(again), $"block {h} differs between node {victim} and the leader");
        }
        var block = Block.Parser.ParseFrom(blocks[acknowledged[^1].Height]);
        Assert.Contains(block.Transactions, t => TransactionId.Of(t.Body.Span).ToString() == acknowledged[^1].TxId);
    }

    private static Dictionary<ulong, Dictionary<string, string>> Everywhere(Dictionary<string, string> environment) =>
        new() { [1] = environment, [2] = environment, [3] = environment };
}
