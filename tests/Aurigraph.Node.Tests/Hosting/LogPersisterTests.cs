using Aurigraph.Consensus;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Storage;

namespace Aurigraph.Node.Tests.Hosting;

/// <summary>The persister stage on its own thread: the log's view follows a write only once the loop finishes it.</summary>
public sealed class LogPersisterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aurigraph-persister-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void A_started_persister_writes_off_the_caller_sends_what_waited_and_the_view_follows_only_at_finish()
    {
        using var db = NodeDatabase.Open(_dir, "persister-test", 1);
        var log = new RaftLogStorage(db);
        var network = new HostHarness.HeldNetwork(1);
        using var woken = new SemaphoreSlim(0);
        using var persister = new LogPersister(log, network, StageMeter.Off, () => woken.Release());
        persister.Start();

        var entries = new List<Entry> { new(1, 1, EntryType.Normal, new byte[] { 1 }), new(2, 1, EntryType.Normal, new byte[] { 2 }) };
        var vote = new Message { Type = MessageType.VoteResponse, From = 1, To = 2, Term = 1 };
        persister.Begin(log.Prepare(new HardState(1, 2, 0), entries), [vote], hasEntries: true);
        Assert.True(persister.Busy);
        Assert.Equal(0UL, log.LastIndex); // the in-memory view waits for the loop

        Assert.True(woken.Wait(TimeSpan.FromSeconds(30)), "the persister never woke the loop");
        Assert.Contains(network.Log, m => m.Type == MessageType.VoteResponse); // sent once durable, by the persister
        Assert.True(persister.TryFinish());
        Assert.False(persister.Busy);
        Assert.Equal(2UL, log.LastIndex);
        Assert.Equal(2UL, log.InitialState().Vote);
        Assert.Equal(1L, log.SyncedWrites);
    }

    [Fact]
    public void A_persister_that_was_not_started_writes_on_the_caller_and_is_done_at_once()
    {
        using var db = NodeDatabase.Open(_dir, "persister-test", 1);
        var log = new RaftLogStorage(db);
        var network = new HostHarness.HeldNetwork(1);
        using var persister = new LogPersister(log, network, StageMeter.Off, () => Assert.Fail("an inline write wakes nobody"));

        persister.Begin(log.Prepare(null, [new Entry(1, 1, EntryType.Normal, new byte[] { 7 })]), [], hasEntries: true);
        Assert.True(persister.TryFinish());
        Assert.Equal(1UL, log.LastIndex);
    }
}
