namespace Aurigraph.Consensus.Tests.Storage;

/// <summary>The in-memory log storage's snapshot boundary: compaction, installing a leader's snapshot, and what answers around them.</summary>
public sealed class MemoryLogStorageTests
{
    private static readonly MembershipConfig Members = new([1, 2, 3], [4]);

    private static MemoryLogStorage WithEntries(int count, ulong term = 1)
    {
        var storage = new MemoryLogStorage();
        storage.Append([.. Enumerable.Range(1, count).Select(i => new Entry((ulong)i, term + ((ulong)i / 4), EntryType.Normal, new byte[] { (byte)i }))]);
        return storage;
    }

    [Fact]
    public void A_new_storage_has_no_snapshot_and_starts_at_index_1()
    {
        var storage = new MemoryLogStorage();

        Assert.Equal(0UL, storage.Snapshot.Index);
        Assert.True(storage.Snapshot.Config.IsEmpty);
        Assert.Equal(1UL, storage.FirstIndex);
        Assert.Equal(0UL, storage.LastIndex);
        Assert.Equal(0UL, storage.Term(0));
    }

    [Fact]
    public void Compaction_moves_the_first_index_past_the_snapshot_which_answers_its_term()
    {
        var storage = WithEntries(10);
        var term6 = storage.Term(6);

        storage.Compact(new SnapshotMeta(6, term6, Members));

        Assert.Equal(new SnapshotMeta(6, term6, Members), storage.Snapshot);
        Assert.Equal(7UL, storage.FirstIndex);
        Assert.Equal(10UL, storage.LastIndex);
        Assert.Equal(term6, storage.Term(6));
        Assert.Throws<ArgumentOutOfRangeException>(() => storage.Term(5));
        var into = new List<Entry>();
        storage.CopyEntries(7, 11, long.MaxValue, into);
        Assert.Equal([7UL, 8, 9, 10], into.Select(e => e.Index));
        Assert.Equal((byte)7, into[0].Data.Span[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => storage.CopyEntries(6, 8, long.MaxValue, into));
    }

    [Fact]
    public void Compaction_checks_the_term_and_range_and_never_moves_back()
    {
        var storage = WithEntries(10);

        Assert.Throws<InvalidOperationException>(() => storage.Compact(new SnapshotMeta(11, 3, Members)));
        Assert.Throws<InvalidOperationException>(() => storage.Compact(new SnapshotMeta(6, storage.Term(6) + 1, Members)));
        storage.Compact(new SnapshotMeta(6, storage.Term(6), Members));
        storage.Compact(new SnapshotMeta(3, 1, MembershipConfig.Empty)); // already covered: no change

        Assert.Equal(6UL, storage.Snapshot.Index);
        Assert.Equal(Members, storage.Snapshot.Config);
    }

    [Fact]
    public void Compacting_everything_leaves_an_empty_log_that_appends_after_the_snapshot()
    {
        var storage = WithEntries(5);
        storage.Compact(new SnapshotMeta(5, storage.Term(5), Members));

        Assert.Equal(6UL, storage.FirstIndex);
        Assert.Equal(5UL, storage.LastIndex);
        Assert.Throws<InvalidOperationException>(() => storage.Append([new Entry(5, 9, EntryType.Normal, default)]));
        Assert.Throws<InvalidOperationException>(() => storage.Append([new Entry(7, 9, EntryType.Normal, default)]));

        storage.Append([new Entry(6, 9, EntryType.Normal, default), new Entry(7, 9, EntryType.Normal, default)]);
        Assert.Equal(7UL, storage.LastIndex);
        Assert.Equal(9UL, storage.Term(7));
        // A conflicting append after the snapshot truncates as before.
        storage.Append([new Entry(7, 10, EntryType.Normal, default)]);
        Assert.Equal(10UL, storage.Term(7));
        Assert.Equal(7UL, storage.LastIndex);
    }

    [Fact]
    public void Installing_a_leader_s_snapshot_replaces_the_whole_log()
    {
        var storage = WithEntries(10);
        storage.SetHardState(new HardState(5, 2, 4));

        storage.ApplySnapshot(new SnapshotMeta(20, 4, Members));

        Assert.Equal(20UL, storage.Snapshot.Index);
        Assert.Equal(21UL, storage.FirstIndex);
        Assert.Equal(20UL, storage.LastIndex);
        Assert.Equal(4UL, storage.Term(20));
        Assert.Equal(new HardState(5, 2, 4), storage.InitialState()); // the host writes the Ready's hard state with it
        Assert.Throws<InvalidOperationException>(() => storage.ApplySnapshot(new SnapshotMeta(19, 4, Members)));

        // A snapshot inside the held log discards what follows it too: the leader's log decides what comes next.
        var other = WithEntries(10);
        other.ApplySnapshot(new SnapshotMeta(4, 2, Members));
        Assert.Equal(4UL, other.LastIndex);
    }
}
