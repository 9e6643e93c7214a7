using Aurigraph.Consensus;
using Aurigraph.Node.Carbon;
using Aurigraph.Node.Storage;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>A process whose clock, CPU time and memory the test sets; it starts where it stands when the meter is made.</summary>
internal sealed class FakeProcess : IProcessMeterSource
{
    public long Wall { get; set; }

    public long Cpu { get; set; }

    public long Resident { get; set; } = 200_000_000;

    public int Vcpus => 2;

    public ProcessSample Sample() => new(Wall, Cpu, Resident);

    /// <summary>Runs for a while: <paramref name="wall"/> µs pass, <paramref name="cpu"/> µs of them on a processor.</summary>
    public void Run(long wall, long cpu)
    {
        Wall += wall;
        Cpu += cpu;
    }
}

public sealed class CarbonMeterTests
{

    private static readonly ulong[] Voters = [1, 2, 3];

    private static Ready Appends(params (ulong To, ulong[] Indexes)[] messages) => new()
    {
        Messages = [.. messages.Select(m => new Message
        {
            Type = MessageType.Append,
            From = 1,
            To = m.To,
            Entries = [.. m.Indexes.Select(i => new Entry(i, 1, EntryType.Normal, new byte[10]))],
        })],
    };

    [Fact]
    public void Cpu_wall_and_bytes_of_an_interval_are_shared_by_transaction_count_and_add_up_exactly()
    {
        var process = new FakeProcess { Wall = 1_000, Cpu = 500 };
        var meter = new CarbonMeter(process, 1, Voters, 1, new MeterCounters(10_000, 20_000, 30_000));
        process.Wall += 1_000_003;  // µs
        process.Cpu += 333_337;
        meter.AddIngress(1_001);
        meter.AddStored(7);

        var usage = meter.Close(
            [new MeteredBlock(5, 9, 3), new MeteredBlock(6, 10, 0), new MeteredBlock(7, 11, 4)],
            new MeterCounters(10_000 + 70_001, 20_000 + 9_999, 30_000 + 123_457));

        // Two blocks with transactions; the one without gets nothing (its cost stays with the others).
        Assert.Equal([5UL, 7UL], usage.Select(u => u.Height));
        Assert.Equal(333_337, usage.Sum(u => u.Usage.CpuMicros));
        Assert.Equal(1_000_003, usage.Sum(u => u.Usage.WallMicros));
        Assert.Equal(70_001, usage.Sum(u => u.Usage.BytesSent));
        Assert.Equal(9_999, usage.Sum(u => u.Usage.BytesReceived));
        Assert.Equal(1_001, usage.Sum(u => u.Usage.IngressBytes));
        Assert.Equal(123_457 + 7, usage.Sum(u => u.Usage.BytesStored));
        // 3 : 4 by transactions; the first share rounds down, the last takes the remainder.
        Assert.Equal(333_337L * 3 / 7, usage[0].Usage.CpuMicros);
        Assert.Equal(70_001L * 3 / 7, usage[0].Usage.BytesSent);
        Assert.All(usage, u => Assert.Equal(200_000_000, u.Usage.ResidentBytes));
        Assert.All(usage, u => Assert.Equal(333_337 / (1_000_003.0 * 2), u.Usage.CpuUtilization, 12));

        // The next interval starts where this one ended.
        process.Wall += 100;
        process.Cpu += 40;
        var next = Assert.Single(meter.Close([new MeteredBlock(8, 12, 1)], new MeterCounters(80_006, 29_999, 153_457)));
        Assert.Equal(40, next.Usage.CpuMicros);
        Assert.Equal(100, next.Usage.WallMicros);
        Assert.Equal(5, next.Usage.BytesSent);
        Assert.Equal(0, next.Usage.IngressBytes);
        Assert.Equal(0, next.Usage.BytesStored);
    }

    [Fact]
    public void Totals_are_the_process_counters_from_the_start_to_the_last_close()
    {
        var process = new FakeProcess { Wall = 7_000, Cpu = 3_000 };
        var meter = new CarbonMeter(process, 1, Voters, 1, new MeterCounters(100, 200, 300));
        Assert.Equal(MeterTotals.Zero, meter.Totals);
        var usages = new List<BlockUsage>();
        var counters = new MeterCounters(100, 200, 300);
        var rounds = 0;
        for (var i = 1; i <= 50; i++)
        {
            process.Wall += 1_000 + (i * 37);
            process.Cpu += 400 + (i * 13 % 97);
            counters = new MeterCounters(counters.PeerBytesSent + (i * 101), counters.PeerBytesReceived + (i * 7), counters.LogBytesWritten + (i * 11));
            meter.AddIngress(i);
            meter.AddStored(3);
            // Every third round applies only a block without transactions: it closes nothing.
            var height = (ulong)i;
            IReadOnlyList<MeteredBlock> blocks = i % 3 == 0 ? [new MeteredBlock(height, height, 0)] : [new MeteredBlock(height, height, i)];
            var closed = meter.Close(blocks, counters);
            rounds += closed.Count > 0 ? 1 : 0;
            usages.AddRange(closed);
        }

        var t = meter.Totals;
        Assert.Equal(rounds, t.Closes);
        Assert.Equal(usages.Count, t.Blocks);
        Assert.Equal(usages.Sum(u => u.Usage.CpuMicros), t.CpuMicros);
        Assert.Equal(usages.Sum(u => u.Usage.BytesSent), t.PeerBytesSent);
        Assert.Equal(usages.Sum(u => u.Usage.BytesReceived), t.PeerBytesReceived);
        Assert.Equal(usages.Sum(u => u.Usage.IngressBytes), t.IngressBytes);
        Assert.Equal(usages.Sum(u => u.Usage.BytesStored), t.StoredBytes);
        // Round 50 closed (50 % 3 != 0), so the span ends now: the totals are the process's counters over it.
        Assert.Equal(process.Cpu - 3_000, t.CpuMicros);
        Assert.Equal(process.Wall - 7_000, t.WallMicros);
        Assert.Equal(counters.PeerBytesSent - 100, t.PeerBytesSent);
        Assert.Equal(counters.PeerBytesReceived - 200, t.PeerBytesReceived);
        Assert.Equal(counters.LogBytesWritten - 300 + (50 * 3), t.StoredBytes);
    }

    [Fact]
    public void A_round_without_transactions_leaves_the_interval_open_for_the_next_block_with_transactions()
    {
        var process = new FakeProcess();
        var meter = new CarbonMeter(process, 1, Voters, 1, default);
        process.Cpu = 1_000;
        process.Wall = 10_000;
        meter.AddStored(50);

        Assert.Empty(meter.Close([new MeteredBlock(2, 3, 0)], new MeterCounters(100, 100, 100)));

        process.Cpu = 3_000;
        process.Wall = 30_000;
        meter.AddStored(25);
        var usage = Assert.Single(meter.Close([new MeteredBlock(3, 4, 2)], new MeterCounters(300, 200, 400)));
        Assert.Equal(3_000, usage.Usage.CpuMicros);
        Assert.Equal(30_000, usage.Usage.WallMicros);
        Assert.Equal(300, usage.Usage.BytesSent);
        Assert.Equal(400 + 75, usage.Usage.BytesStored);
    }

    [Fact]
    public void Consensus_rounds_count_appends_to_followers_per_entry_and_pool_elections_and_other_entries()
    {
        var process = new FakeProcess();
        var meter = new CarbonMeter(process, 1, Voters, 1, default);

        meter.Observe(new Ready { Messages = [new Message { Type = MessageType.PreVote, From = 1, To = 2 }, new Message { Type = MessageType.PreVote, From = 1, To = 3 }] });
        meter.Observe(new Ready { Messages = [new Message { Type = MessageType.Vote, From = 1, To = 2 }] });
        // Entry 4 is the term's no-op, 5 and 6 are blocks; node 7 is a learner (not counted).
        meter.Observe(Appends((2, [4, 5]), (3, [4, 5]), (7, [4, 5])));
        meter.Observe(Appends((2, [6]), (3, [6])));
        meter.Observe(Appends((3, [6])));  // a retransmission to a slow follower

        var usage = meter.Close([new MeteredBlock(1, 5, 1), new MeteredBlock(2, 6, 1)], default);

        // Block 1: one round (2 appends / 2 followers); block 2: 3 appends -> 2 rounds.
        // Pool: 2 campaigns + the no-op's round = 3, shared 1:1 -> 1 and the remainder 2.
        Assert.Equal(1 + 1, usage[0].Usage.ConsensusRounds);
        Assert.Equal(2 + 2, usage[1].Usage.ConsensusRounds);
        Assert.All(usage, u => Assert.Equal(3, u.Usage.Validators));

        // Everything up to the applied index was settled: the next interval starts empty.
        var next = Assert.Single(meter.Close([new MeteredBlock(3, 7, 1)], default));
        Assert.Equal(0, next.Usage.ConsensusRounds);
    }

    [Fact]
    public void A_follower_reports_no_append_rounds()
    {
        var meter = new CarbonMeter(new FakeProcess(), 2, Voters, 1, default);
        meter.Observe(new Ready { MessagesAfterPersist = [new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Index = 5 }] });

        var usage = Assert.Single(meter.Close([new MeteredBlock(1, 5, 10)], default));

        Assert.Equal(0, usage.Usage.ConsensusRounds);
    }

    [Fact]
    public void Ingress_may_be_added_from_other_threads()
    {
        var meter = new CarbonMeter(new FakeProcess(), 1, Voters, 1, default);
        Parallel.For(0, 1_000, _ => meter.AddIngress(3));

        var usage = Assert.Single(meter.Close([new MeteredBlock(1, 2, 1)], default));

        Assert.Equal(3_000, usage.Usage.IngressBytes);
    }

    [Fact]
    public void The_running_process_source_reports_growing_cpu_and_wall_time_and_its_memory()
    {
        using var source = new ProcessMeterSource();
        var first = source.Sample();
        var spin = 0L;
        while (source.Sample().CpuMicros == first.CpuMicros)
        {
            spin++; // burn CPU until the kernel's accounting moves
        }
        var second = source.Sample();

        Assert.True(second.CpuMicros > first.CpuMicros);
        Assert.True(second.WallMicros > first.WallMicros);
        Assert.True(second.ResidentBytes > 10_000_000, $"resident {second.ResidentBytes}");
        Assert.True(spin >= 0);
        Assert.Equal(Environment.ProcessorCount, source.Vcpus);
    }

    private static Entry Block(ulong index, int bytes) => new(index, 1, EntryType.Normal, new byte[bytes]);

    /// <summary>The leader's Ready that persists <paramref name="entries"/> and appends them to both followers.</summary>
    private static Ready Replicated(params Entry[] entries) => new()
    {
        Entries = entries,
        Messages = [.. new ulong[] { 2, 3 }.Select(to => new Message { Type = MessageType.Append, From = 1, To = to, Entries = entries })],
    };

    [Fact]
    public void A_stopped_meters_open_interval_is_carried_into_the_next_runs_first_close_and_the_totals_still_add_up()
    {
        var first = new FakeProcess { Wall = 0, Cpu = 0 };
        var meter = new CarbonMeter(first, 1, Voters, 1, default);
        first.Run(wall: 50_000, cpu: 20_000);
        var closed = meter.Close([new MeteredBlock(1, 1, 5)], new MeterCounters(1_000, 2_000, 3_000));
        // The open interval: CPU, wall, bytes, ingress, storage, an election and the rounds of an entry not applied yet.
        first.Run(wall: 7_000, cpu: 3_000);
        meter.AddIngress(40);
        meter.AddStored(60);
        meter.Observe(new Ready { Messages = [new Message { Type = MessageType.Vote, From = 1, To = 2 }] });
        meter.Observe(Appends((2, [9]), (3, [9])));
        var tail = meter.Stop(new MeterCounters(1_100, 2_200, 3_300));

        Assert.Equal(new MeterInterval(3_000, 7_000, 100, 200, 40, 300 + 60, 1 + 1), tail);
        Assert.Throws<ObjectDisposedException>(() => meter.Close([new MeteredBlock(2, 2, 1)], default));

        // The next run: a new process (its own clock and CPU from zero), new counters from zero.
        var second = new FakeProcess { Wall = 0, Cpu = 0 };
        var next = new CarbonMeter(second, 1, Voters, 1, default, carried: tail);
        Assert.Equal(MeterTotals.Zero, next.Totals); // nothing closed yet: nothing carried yet
        second.Run(wall: 10_000, cpu: 9_000);
        var usage = next.Close([new MeteredBlock(2, 2, 3), new MeteredBlock(3, 3, 1)], new MeterCounters(10, 20, 30));

        Assert.Equal(3_000 + 9_000, usage.Sum(u => u.Usage.CpuMicros));
        Assert.Equal(7_000 + 10_000, usage.Sum(u => u.Usage.WallMicros)); // the tail's own length: not the time the node was down
        Assert.Equal(100 + 10, usage.Sum(u => u.Usage.BytesSent));
        Assert.Equal(200 + 20, usage.Sum(u => u.Usage.BytesReceived));
        Assert.Equal(40, usage.Sum(u => u.Usage.IngressBytes));
        Assert.Equal(360 + 30, usage.Sum(u => u.Usage.BytesStored));
        Assert.Equal(2, usage.Sum(u => u.Usage.ConsensusRounds));
        // Utilisation of the first interval: over the tail's wall time and the new one's together.
        Assert.All(usage, u => Assert.Equal(12_000 / (17_000.0 * 2), u.Usage.CpuUtilization, 12));

        var t = next.Totals;
        Assert.Equal(tail, t.Carried);
        Assert.Equal(12_000, t.CpuMicros);
        // Less what it carried, a meter's totals are its own process's counters.
        Assert.Equal(second.Cpu, t.CpuMicros - t.Carried.CpuMicros);
        Assert.Equal(second.Wall, t.WallMicros - t.Carried.WallMicros);
        // Across both runs, attributed = both processes' totals.
        Assert.Equal(first.Cpu + second.Cpu, closed.Sum(u => u.Usage.CpuMicros) + usage.Sum(u => u.Usage.CpuMicros));
        Assert.Equal(first.Wall + second.Wall, meter.Totals.WallMicros + t.WallMicros);
        Assert.Equal(1_100 + 10, meter.Totals.PeerBytesSent + t.PeerBytesSent);

        // Carried once: the next close has only its own interval, and the carried part stays what it was.
        second.Run(wall: 1_000, cpu: 500);
        var later = Assert.Single(next.Close([new MeteredBlock(4, 4, 1)], new MeterCounters(10, 20, 30)));
        Assert.Equal(500, later.Usage.CpuMicros);
        Assert.Equal(1_000, later.Usage.WallMicros);
        Assert.Equal(tail, next.Totals.Carried);
    }

    [Fact]
    public void A_tail_not_yet_closed_is_carried_again_with_the_next_stop()
    {
        var process = new FakeProcess();
        var meter = new CarbonMeter(process, 1, Voters, 1, default, carried: new MeterInterval(1_000, 2_000, 3, 4, 5, 6, 7));
        process.Run(wall: 100, cpu: 10);

        var tail = meter.Stop(new MeterCounters(1, 1, 1));

        Assert.Equal(new MeterInterval(1_010, 2_100, 4, 5, 5, 7, 7), tail);
    }

    [Fact]
    public void Blocks_of_one_round_with_equal_transactions_get_their_own_entries_peer_and_log_bytes_and_the_rest_shared()
    {
        var process = new FakeProcess();
        var meter = new CarbonMeter(process, 1, Voters, 1, default);
        Entry big = Block(5, 1_000), small = Block(6, 100);
        meter.Observe(Replicated(big, small));
        meter.Observe(Appends((3, [6]))); // a retransmission of the small one to a slow follower: 10 more bytes (the helper's entries)
        process.Run(wall: 10_000, cpu: 4_001);
        meter.AddStored(900); // the apply batch: 300 of it the big block's own writes, 50 the small one's
        const long sent = 6_000, logged = 2_500;

        var usage = meter.Close([new MeteredBlock(1, 5, 10, 300), new MeteredBlock(2, 6, 10, 50)], new MeterCounters(sent, 700, logged));

        long bigSent = 2 * 1_000, smallSent = (2 * 100) + 10;
        var restSent = sent - bigSent - smallSent;
        Assert.Equal(bigSent + (restSent / 2), usage[0].Usage.BytesSent);
        Assert.Equal(smallSent + (restSent - (restSent / 2)), usage[1].Usage.BytesSent);
        long bigStored = RaftLogStorage.EntryBytes(big) + 300, smallStored = RaftLogStorage.EntryBytes(small) + 50;
        var restStored = logged + 900 - bigStored - smallStored;
        Assert.Equal(bigStored + (restStored / 2), usage[0].Usage.BytesStored);
        Assert.Equal(smallStored + (restStored - (restStored / 2)), usage[1].Usage.BytesStored);
        // Still exactly the interval's totals; CPU, wall and received bytes stay shared by transactions (equal here).
        Assert.Equal(sent, usage.Sum(u => u.Usage.BytesSent));
        Assert.Equal(logged + 900, usage.Sum(u => u.Usage.BytesStored));
        Assert.Equal(4_001, usage.Sum(u => u.Usage.CpuMicros));
        Assert.Equal(4_001 / 2, usage[0].Usage.CpuMicros);
        Assert.Equal(usage[0].Usage.BytesReceived, usage[1].Usage.BytesReceived);

        // Hence different footprints per transaction for the same transaction count.
        var model = new EnergyModel(CarbonTestData.Options);
        var grams = usage.Select(u => model.Estimate(CarbonReading.ToNodeReading(u.Usage, CloudProvider.Aws, "us-east-1"), CarbonTestData.Grid)).ToList();
        Assert.True(grams[0].Energy.NetworkKwh > grams[1].Energy.NetworkKwh, $"{grams[0].Energy.NetworkKwh} vs {grams[1].Energy.NetworkKwh}");
        Assert.True(grams[0].TotalGrams / 10 > grams[1].TotalGrams / 10);
    }

    [Fact]
    public void A_block_never_gets_more_direct_bytes_than_its_interval_holds()
    {
        var process = new FakeProcess();
        var meter = new CarbonMeter(process, 1, Voters, 1, default);
        // Entries whose bytes were written and sent in an earlier interval (already shared there): this one holds less.
        meter.Observe(Replicated(Block(5, 4_000), Block(6, 3_000)));
        _ = meter.Close([new MeteredBlock(1, 4, 1)], default);
        process.Run(wall: 100, cpu: 10);

        var usage = meter.Close([new MeteredBlock(2, 5, 3, 10_000), new MeteredBlock(3, 6, 1, 10_000)], new MeterCounters(5_000, 0, 1_000));

        Assert.Equal(5_000, usage[0].Usage.BytesSent); // 8,000 measured, 5,000 in the interval
        Assert.Equal(0, usage[1].Usage.BytesSent);     // nothing left for it
        Assert.Equal(1_000, usage[0].Usage.BytesStored);
        Assert.Equal(0, usage[1].Usage.BytesStored);
        Assert.All(usage, u => Assert.True(u.Usage.BytesSent <= 5_000 && u.Usage.BytesStored <= 1_000));
        Assert.Equal(10, usage.Sum(u => u.Usage.CpuMicros));
    }

    [Fact]
    public void Each_blocks_own_apply_cpu_is_its_own_and_the_rest_of_the_cpu_is_shared_within_the_interval()
    {
        var process = new FakeProcess();
        var meter = new CarbonMeter(process, 1, Voters, 1, default);
        process.Run(wall: 10_000, cpu: 1_001);

        // Equal transaction counts, different apply work: 300 µs and 100 µs of the applier thread.
        var usage = meter.Close([new MeteredBlock(1, 5, 10, 0, 300), new MeteredBlock(2, 6, 10, 0, 100)], default);

        var rest = 1_001 - 300 - 100;
        Assert.Equal(300 + (rest / 2), usage[0].Usage.CpuMicros);
        Assert.Equal(100 + (rest - (rest / 2)), usage[1].Usage.CpuMicros);
        Assert.Equal(1_001, usage.Sum(u => u.Usage.CpuMicros));
        Assert.Equal(usage[0].Usage.WallMicros, usage[1].Usage.WallMicros); // wall stays shared by transactions

        // Measured apply CPU beyond what the interval holds is capped at what is left: never more than the process used.
        process.Run(wall: 100, cpu: 50);
        var capped = meter.Close([new MeteredBlock(3, 7, 1, 0, 40), new MeteredBlock(4, 8, 1, 0, 40)], default);
        Assert.Equal([40L, 10L], capped.Select(u => u.Usage.CpuMicros));

        // Nor more than the processors could spend in the block's share of the wall time: 1 of 100 transactions of a
        // 1,000 µs interval is 10 wall µs, at most 20 CPU µs on the fake's two processors.
        process.Run(wall: 1_000, cpu: 900);
        var small = meter.Close([new MeteredBlock(5, 9, 1, 0, 500), new MeteredBlock(6, 10, 99, 0, 0)], default);
        Assert.Equal(20 + ((900 - 20) / 100), small[0].Usage.CpuMicros);
        Assert.Equal(1_951, meter.Totals.CpuMicros);
    }
}
