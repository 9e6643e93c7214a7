using Aurigraph.Consensus;
using Aurigraph.Node.Carbon;

namespace Aurigraph.Node.Tests.Carbon;

public sealed class CarbonMeterTests
{
    /// <summary>A process whose clock, CPU time and memory the test sets.</summary>
    private sealed class FakeProcess : IProcessMeterSource
    {
        public long Wall { get; set; }

        public long Cpu { get; set; }

        public long Resident { get; set; } = 200_000_000;

        public int Vcpus => 2;

        public ProcessSample Sample() => new(Wall, Cpu, Resident);
    }

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
}
