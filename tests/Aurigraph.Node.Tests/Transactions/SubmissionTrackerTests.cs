using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Transactions;

namespace Aurigraph.Node.Tests.Transactions;

public sealed class SubmissionTrackerTests
{
    private static TransactionId Id(byte n) => new(n, 0, 0, 0);

    [Fact]
    public async Task A_call_completes_once_when_its_last_transaction_has_an_outcome()
    {
        var tracker = new SubmissionTracker();
        var batch = new BatchWait(3);
        Assert.True(tracker.Wait(Id(1), batch, 0));
        Assert.True(tracker.Wait(Id(2), batch, 1));
        batch.Skip(2, new TransactionResult { State = TransactionState.Rejected, RejectReason = "bad signature" });

        tracker.Complete(Id(1), new TransactionResult { TxId = "one", State = TransactionState.Committed });
        Assert.False(batch.Completion.IsCompleted);
        Assert.True(tracker.IsPending(Id(2)));

        tracker.Reject(Id(2), "mempool full");
        await batch.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["one", Id(2).ToString(), ""], batch.Results.Select(r => r!.TxId));
        Assert.Equal("mempool full", batch.Results[1]!.RejectReason);
        Assert.Equal(0, tracker.Count);
    }

    [Fact]
    public async Task Two_calls_waiting_for_the_same_transaction_both_get_its_outcome_and_only_the_first_admits_it()
    {
        var tracker = new SubmissionTracker();
        var first = new BatchWait(1);
        var second = new BatchWait(2);
        Assert.True(tracker.Wait(Id(7), first, 0));
        Assert.False(tracker.Wait(Id(7), second, 1));
        second.Skip(0, null);

        var built = 0;
        tracker.Complete(Id(7), _ => { built++; return new TransactionResult { State = TransactionState.Committed, Height = 5 }; }, 0);
        tracker.Complete(Id(8), _ => { built++; return new TransactionResult(); }, 0); // nobody waits: nothing is built

        await Task.WhenAll(first.Completion, second.Completion).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, built);
        Assert.Equal(5UL, first.Results[0]!.Height);
        Assert.Same(first.Results[0], second.Results[1]);
    }
}
