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

    [Fact]
    public async Task A_call_that_stops_waiting_leaves_nothing_pending_unless_another_call_still_waits()
    {
        var tracker = new SubmissionTracker();
        var gaveUp = new BatchWait(2);
        var stays = new BatchWait(1);
        Assert.True(tracker.Wait(Id(1), gaveUp, 0));
        Assert.True(tracker.Wait(Id(2), gaveUp, 1));
        Assert.False(tracker.Wait(Id(2), stays, 0));

        tracker.Abandon(Id(1), gaveUp, 0);
        tracker.Abandon(Id(2), gaveUp, 1);

        Assert.False(tracker.IsPending(Id(1)));
        Assert.True(tracker.IsPending(Id(2)));
        Assert.Equal(1, tracker.Count);
        // The call still waiting gets the outcome; a new call for the abandoned one admits it afresh.
        tracker.Complete(Id(2), new TransactionResult { State = TransactionState.Committed, Height = 9 });
        await stays.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(9UL, stays.Results[0]!.Height);
        Assert.Null(gaveUp.Results[1]);
        Assert.True(tracker.Wait(Id(1), new BatchWait(1), 0));
    }

    [Fact]
    public void Join_waits_only_for_a_transaction_someone_already_waits_for()
    {
        var tracker = new SubmissionTracker();
        var batch = new BatchWait(2);
        Assert.False(tracker.Join(Id(3), batch, 0));
        Assert.False(tracker.IsPending(Id(3)));
        Assert.True(tracker.Wait(Id(4), new BatchWait(1), 0));
        Assert.True(tracker.Join(Id(4), batch, 1));
        tracker.Complete(Id(4), new TransactionResult { State = TransactionState.Committed });
        Assert.Equal(TransactionState.Committed, batch.Results[1]!.State);
    }
}
