using Aurigraph.Node.Carbon;

namespace Aurigraph.Node.Tests.Carbon;

public sealed class CarbonRecordCollectorTests
{
    /// <summary>Committed state as the collector sees it; the test plays the apply side.</summary>
    private sealed class State : ICarbonRecordState
    {
        public SortedDictionary<ulong, int> PendingHeights { get; } = [];

        public Dictionary<(ulong Height, ulong Node), int> MissingEntries { get; } = [];

        public IReadOnlyDictionary<ulong, int> Pending => PendingHeights;

        public bool IsMissing(ulong height, ulong node, out int transactionCount) => MissingEntries.TryGetValue((height, node), out transactionCount);

        /// <summary>Commits records the way the ledger would: main records end pending, missing entries open; late ones close them.</summary>
        public void Commit(IEnumerable<CarbonRecord> records)
        {
            foreach (var record in records)
            {
                foreach (var entry in record.Entries)
                {
                    if (record.Kind == CarbonRecordKind.Main && entry.Status == CarbonReadingStatus.Missing)
                    {
                        MissingEntries[(record.Height, entry.NodeId)] = record.TransactionCount;
                    }
                    else if (record.Kind == CarbonRecordKind.Late)
                    {
                        MissingEntries.Remove((record.Height, entry.NodeId));
                    }
                }
                PendingHeights.Remove(record.Height);
            }
        }
    }

    private static readonly CarbonRecordOptions Options = new() { DeadlineBlocks = 4, DeadlineMilliseconds = 1_000, RetryMilliseconds = 5_000 };

    [Fact]
    public void A_record_is_due_as_soon_as_every_validator_reported_and_lists_them_by_node_id()
    {
        var state = new State();
        state.PendingHeights[10] = 25;
        var collector = new CarbonRecordCollector(state, [3, 1, 2], Options);

        Assert.Equal(CollectOutcome.Collected, collector.Add(CarbonTestData.Reading(10, 2), 10, 0));
        Assert.Equal(CollectOutcome.Collected, collector.Add(CarbonTestData.Reading(10, 1), 10, 0));
        Assert.False(collector.HasDue(10, 1));
        Assert.Empty(collector.TakeDue(10, 1));

        collector.Add(CarbonTestData.Reading(10, 3), 10, 2);
        Assert.True(collector.HasDue(10, 2));
        var record = Assert.Single(collector.TakeDue(10, 2));

        Assert.Equal(CarbonRecordKind.Main, record.Kind);
        Assert.Equal(10UL, record.Height);
        Assert.Equal(25, record.TransactionCount);
        Assert.Equal([1UL, 2UL, 3UL], record.Entries.Select(e => e.NodeId));
        Assert.All(record.Entries, e => Assert.Equal(CarbonReadingStatus.Present, e.Status));
        // Proposed: not due again until the retry time passes without a commit.
        Assert.False(collector.HasDue(10, 3));
        Assert.True(collector.HasDue(10, 2 + Options.RetryMilliseconds));
    }

    [Fact]
    public void A_reading_that_has_not_arrived_by_the_block_deadline_is_recorded_missing()
    {
        var state = new State();
        state.PendingHeights[10] = 5;
        var collector = new CarbonRecordCollector(state, [1, 2, 3], Options);
        collector.Add(CarbonTestData.Reading(10, 1), 10, 0);
        collector.Add(CarbonTestData.Reading(10, 3), 10, 0);

        Assert.False(collector.HasDue(13, 0));
        Assert.True(collector.HasDue(14, 0));
        var record = Assert.Single(collector.TakeDue(14, 0));

        Assert.Equal([CarbonReadingStatus.Present, CarbonReadingStatus.Missing, CarbonReadingStatus.Present], record.Entries.Select(e => e.Status));
        Assert.Null(record.Entries[1].Reading);
    }

    [Fact]
    public void A_reading_that_has_not_arrived_by_the_time_deadline_is_recorded_missing()
    {
        var state = new State();
        state.PendingHeights[10] = 5;
        var collector = new CarbonRecordCollector(state, [1, 2, 3], Options);
        collector.Add(CarbonTestData.Reading(10, 1), 10, 500);

        Assert.False(collector.HasDue(10, 1_499));
        Assert.True(collector.HasDue(10, 1_500));
        var record = Assert.Single(collector.TakeDue(10, 1_500));
        Assert.Equal(1, record.Entries.Count(e => e.Status == CarbonReadingStatus.Present));
        Assert.Equal(2, record.Entries.Count(e => e.Status == CarbonReadingStatus.Missing));
    }

    [Fact]
    public void A_reading_that_arrives_after_its_record_committed_goes_into_a_later_late_record()
    {
        var state = new State();
        state.PendingHeights[10] = 5;
        var collector = new CarbonRecordCollector(state, [1, 2, 3], Options);
        collector.Add(CarbonTestData.Reading(10, 1), 10, 0);
        collector.Add(CarbonTestData.Reading(10, 2), 10, 0);
        var main = collector.TakeDue(10, 1_000);
        state.Commit(main);
        collector.OnApplied(11);

        Assert.False(collector.HasDue(11, 1_001));
        var late = CarbonTestData.Reading(10, 3, scale: 7);
        Assert.Equal(CollectOutcome.Late, collector.Add(late, 11, 1_002));
        Assert.True(collector.HasDue(11, 1_002));

        var record = Assert.Single(collector.TakeDue(11, 1_002));
        Assert.Equal(CarbonRecordKind.Late, record.Kind);
        Assert.Equal(10UL, record.Height);
        Assert.Equal(5, record.TransactionCount);
        var entry = Assert.Single(record.Entries);
        Assert.Equal((3UL, CarbonReadingStatus.Late), (entry.NodeId, entry.Status));
        Assert.Equal(late, entry.Reading);

        state.Commit([record]);
        collector.OnApplied(12);
        Assert.Equal(0, collector.LateCount);
        // Once its entry is filled, the same reading again is of no use.
        Assert.Equal(CollectOutcome.Ignored, collector.Add(late, 12, 1_003));
        Assert.False(collector.HasDue(12, 10_000));
    }

    [Fact]
    public void A_reading_held_while_its_record_was_in_flight_becomes_late_when_the_record_commits_without_it()
    {
        var state = new State();
        state.PendingHeights[10] = 5;
        var collector = new CarbonRecordCollector(state, [1, 2, 3], Options);
        collector.Add(CarbonTestData.Reading(10, 1), 10, 0);
        var main = collector.TakeDue(10, 1_000);          // node 2 and 3 missing
        collector.Add(CarbonTestData.Reading(10, 2), 10, 1_001); // arrives while the record is in flight

        state.Commit(main);
        collector.OnApplied(11);

        var record = Assert.Single(collector.TakeDue(11, 1_002));
        Assert.Equal(CarbonRecordKind.Late, record.Kind);
        Assert.Equal(2UL, Assert.Single(record.Entries).NodeId);
    }

    [Fact]
    public void Readings_of_non_validators_are_ignored_and_readings_ahead_of_the_ledger_are_kept()
    {
        var state = new State();
        var collector = new CarbonRecordCollector(state, [1, 2, 3], Options);

        Assert.Equal(CollectOutcome.Ignored, collector.Add(CarbonTestData.Reading(10, 9), 10, 0));
        Assert.Equal(CollectOutcome.Collected, collector.Add(CarbonTestData.Reading(12, 2), 10, 0));
        Assert.Equal(CollectOutcome.Ignored, collector.Add(CarbonTestData.Reading(9, 2), 10, 0)); // applied, not pending, not missing

        state.PendingHeights[12] = 1;
        collector.Add(CarbonTestData.Reading(12, 1), 12, 0);
        collector.Add(CarbonTestData.Reading(12, 3), 12, 0);
        Assert.Equal(3, Assert.Single(collector.TakeDue(12, 0)).Entries.Count(e => e.Status == CarbonReadingStatus.Present));
    }

    [Fact]
    public void A_new_leader_restarts_the_deadlines_and_proposes_again()
    {
        var state = new State();
        state.PendingHeights[10] = 5;
        var collector = new CarbonRecordCollector(state, [1, 2, 3], Options);
        collector.Add(CarbonTestData.Reading(10, 1), 10, 0);
        Assert.Single(collector.TakeDue(10, 1_000));

        collector.OnLeadership(12, 2_000);

        Assert.False(collector.HasDue(12, 2_999));
        Assert.False(collector.HasDue(15, 2_999));
        Assert.True(collector.HasDue(16, 2_999));
        Assert.True(collector.HasDue(12, 3_000));
    }

    [Fact]
    public void At_most_the_configured_number_of_records_go_into_one_block()
    {
        var state = new State();
        for (ulong h = 1; h <= 5; h++)
        {
            state.PendingHeights[h] = 1;
        }
        var collector = new CarbonRecordCollector(state, [1], new CarbonRecordOptions { MaxRecordsPerBlock = 2 });
        for (ulong h = 1; h <= 5; h++)
        {
            collector.Add(CarbonTestData.Reading(h, 1), 5, 0);
        }

        Assert.Equal([1UL, 2UL], collector.TakeDue(5, 0).Select(r => r.Height));
        Assert.Equal([3UL, 4UL], collector.TakeDue(5, 0).Select(r => r.Height));
        Assert.Equal([5UL], collector.TakeDue(5, 0).Select(r => r.Height));
    }
}
