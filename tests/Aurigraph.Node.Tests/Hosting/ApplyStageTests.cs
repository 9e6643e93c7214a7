using System.Threading.Channels;
using Aurigraph.Consensus;
using Aurigraph.Node.Diagnostics;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Ledger;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Hosting;

/// <summary>The applier stage on its own thread: bounded runs, reads behind the runs before them, drain, failure.</summary>
public sealed class ApplyStageTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly GatedApplier _applier = new();
    private readonly Channel<Action> _loop = Channel.CreateUnbounded<Action>();
    private readonly List<AppliedRun> _applied = [];
    private readonly CommitNotifier _notifier = new(new SubmissionTracker(), new BlockFeed(), new NodeMetrics(() => null!), StageMeter.Off);
    private readonly ApplyStage _stage;

    public ApplyStageTests()
    {
        _stage = new ApplyStage(_applier, _notifier, StageMeter.Off, new AppliedState(0, 0, new byte[32], new byte[32]), a => _loop.Writer.TryWrite(a), _applied.Add);
    }

    public void Dispose()
    {
        _applier.Release(100);
        _stage.Dispose();
        _notifier.Dispose();
        _applier.Dispose();
    }

    private static Entry[] Run(ulong from, ulong to) =>
        [.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => new Entry((ulong)i, 1, EntryType.Normal, new byte[] { 1 }))];

    /// <summary>Runs what the stage posted to the loop, as the loop would.</summary>
    private async Task RunPostedAsync()
    {
        using var cts = new CancellationTokenSource(Patience);
        var action = await _loop.Reader.ReadAsync(cts.Token);
        action();
    }

    [Fact]
    public async Task Runs_apply_off_the_caller_in_order_and_the_stage_is_full_at_capacity()
    {
        _stage.Start();
        _stage.Apply(Run(1, 2));
        Assert.False(_stage.Full);
        _stage.Apply(Run(3, 3));
        Assert.True(_stage.Full); // the loop now asks the core to hold committed entries back
        Assert.True(await _applier.Entered.WaitAsync(Patience));
        Assert.Equal(0UL, _stage.State.Index); // nothing written yet: the caller returned before the apply

        _applier.Release(1);
        await RunPostedAsync();
        Assert.Equal(2UL, Assert.Single(_applied).LastIndex);
        Assert.Equal(2UL, _stage.State.Index);
        Assert.False(_stage.Full);

        _applier.Release(1);
        await RunPostedAsync();
        Assert.Equal([2UL, 3UL], _applied.Select(r => r.LastIndex));
        Assert.Equal([1UL, 2UL, 3UL], _applier.Applied);
        Assert.Equal(3UL, _stage.State.Index);
    }

    [Fact]
    public async Task A_read_runs_after_every_run_handed_over_before_it()
    {
        _stage.Start();
        _stage.Apply(Run(1, 4));
        var read = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        _stage.Run(() => read.SetResult(_applier.Applied.Count == 0 ? 0 : _applier.Applied[^1]), reason => read.SetException(new InvalidOperationException(reason)));
        Assert.True(await _applier.Entered.WaitAsync(Patience));
        Assert.False(read.Task.IsCompleted);

        _applier.Release(1);
        Assert.Equal(4UL, await read.Task.WaitAsync(Patience));
    }

    [Fact]
    public async Task Drain_returns_once_everything_handed_over_is_done()
    {
        _stage.Start();
        _stage.Apply(Run(1, 1));
        _stage.Apply(Run(2, 2));
        Assert.True(await _applier.Entered.WaitAsync(Patience));
        var drained = Task.Run(_stage.Drain);
        Assert.False(drained.IsCompleted);

        _applier.Release(2);
        await drained.WaitAsync(Patience);
        Assert.Equal([1UL, 2UL], _applier.Applied);
        Assert.Equal(2UL, _stage.State.Index);
    }

    [Fact]
    public async Task A_run_that_fails_fails_the_reads_behind_it_and_is_rethrown_on_the_loop()
    {
        _stage.Start();
        _applier.FailAt = 2;
        _stage.Apply(Run(1, 2));
        var failed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _stage.Run(() => failed.SetResult("served"), reason => failed.SetResult(reason));
        _applier.Release(1);

        Assert.Equal("the node stopped applying blocks", await failed.Task.WaitAsync(Patience));
        var thrown = await Assert.ThrowsAsync<BlockIntegrityException>(RunPostedAsync);
        Assert.Contains("entry 2", thrown.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(_stage.Drain);
        Assert.Equal(0UL, _stage.State.Index);
    }

    [Fact]
    public void Not_started_everything_runs_on_the_caller()
    {
        _applier.Release(2);
        _stage.Apply(Run(1, 3));
        Assert.Equal(3UL, Assert.Single(_applied).LastIndex);
        var served = false;
        _stage.Run(() => served = true, _ => { });
        Assert.True(served);
        Assert.False(_loop.Reader.TryRead(out _));
    }

    /// <summary>Applies runs only as the test releases them, one permit per run; records each entry index.</summary>
    private sealed class GatedApplier : IRunApplier, IDisposable
    {
        private readonly SemaphoreSlim _permits = new(0);

        public SemaphoreSlim Entered { get; } = new(0);

        public List<ulong> Applied { get; } = [];

        public ulong FailAt { get; set; }

        public string? IntegrityAlarm => null;

        public void Release(int runs) => _permits.Release(runs);

        public List<(AppliedBlock Block, ReadOnlyMemory<byte> Payload)> Apply(IReadOnlyList<Entry> entries, ref long lapAt)
        {
            Entered.Release();
            if (!_permits.Wait(Patience))
            {
                throw new TimeoutException("the test never released this run");
            }
            foreach (var e in entries)
            {
                if (e.Index == FailAt)
                {
                    throw new BlockIntegrityException($"entry {e.Index} does not apply");
                }
                lock (Applied)
                {
                    Applied.Add(e.Index);
                }
            }
            return [];
        }

        public void Dispose()
        {
            _permits.Dispose();
            Entered.Dispose();
        }
    }
}
