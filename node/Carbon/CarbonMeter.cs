using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Aurigraph.Consensus;
using Aurigraph.Node.Storage;
using Microsoft.Win32.SafeHandles;

namespace Aurigraph.Node.Carbon;

/// <summary>One sample of the process: a monotonic wall clock, cumulative CPU time and resident memory.</summary>
/// <param name="WallMicros">Monotonic wall clock, µs (any origin).</param>
/// <param name="CpuMicros">Cumulative process CPU time, user + system over all threads, µs.</param>
/// <param name="ResidentBytes">Resident set size now, bytes.</param>
public readonly record struct ProcessSample(long WallMicros, long CpuMicros, long ResidentBytes);

/// <summary>Where the carbon meter reads time, CPU and memory; injected so that tests can drive it.</summary>
public interface IProcessMeterSource
{
    /// <summary>Processors visible to the process.</summary>
    int Vcpus { get; }

    /// <summary>Samples the process now.</summary>
    ProcessSample Sample();

    /// <summary>The process at its start, on <see cref="Sample"/>'s clock: the meter's first interval begins there, so start-up is metered too.</summary>
    ProcessSample Start => Sample();
}

/// <summary>
/// The running process: wall time from <see cref="Stopwatch"/>, CPU time from <see cref="Environment.CpuUsage"/>
/// (getrusage: user + system, all threads), resident memory from /proc/self/statm (pages × page size) where it exists,
/// else <see cref="Environment.WorkingSet"/>.
/// </summary>
public sealed class ProcessMeterSource : IProcessMeterSource, IDisposable
{
    // The wall clock's origin is the process's start (its age now, from the operating system's start time), so the
    // meter's first interval covers start-up: CPU time from getrusage already counts from the start.
    private readonly long _origin = Stopwatch.GetTimestamp() - ProcessAgeTicks();
    private readonly SafeFileHandle? _statm = OpenStatm();

    /// <inheritdoc />
    public ProcessSample Start => new(0, 0, 0);

    /// <inheritdoc />
    public int Vcpus { get; } = Environment.ProcessorCount;

    /// <inheritdoc />
    public ProcessSample Sample() => new(
        Stopwatch.GetElapsedTime(_origin).Ticks / TimeSpan.TicksPerMicrosecond,
        Environment.CpuUsage.TotalTime.Ticks / TimeSpan.TicksPerMicrosecond,
        ResidentBytes());

    /// <inheritdoc />
    public void Dispose() => _statm?.Dispose();

    private static long ProcessAgeTicks()
    {
        using var self = Process.GetCurrentProcess();
        var age = DateTime.Now - self.StartTime;
        return age > TimeSpan.Zero ? (long)(age.TotalSeconds * Stopwatch.Frequency) : 0;
    }

    private long ResidentBytes()
    {
        if (_statm is not null)
        {
            // "size resident shared text lib data dt", in pages; read without allocating.
            Span<byte> buffer = stackalloc byte[128];
            var read = RandomAccess.Read(_statm, buffer, 0);
            var text = buffer[..read];
            var space = text.IndexOf((byte)' ');
            if (space > 0)
            {
                var rest = text[(space + 1)..];
                var end = rest.IndexOfAny((byte)' ', (byte)'\n');
                if (end > 0 && long.TryParse(rest[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var pages))
                {
                    return pages * Environment.SystemPageSize;
                }
            }
        }
        return Environment.WorkingSet;
    }

    private static SafeFileHandle? OpenStatm()
    {
        try
        {
            return File.Exists("/proc/self/statm") ? File.OpenHandle("/proc/self/statm") : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>Cumulative counters of the node the meter takes deltas of at each close.</summary>
/// <param name="PeerBytesSent">Peer-transport bytes sent to all peers since start.</param>
/// <param name="PeerBytesReceived">Peer-transport bytes received from all peers since start.</param>
/// <param name="LogBytesWritten">Raft-log bytes written since start (<c>RaftLogStorage.BytesWritten</c>).</param>
/// <param name="RetainedBytes">Bytes the node keeps on durable storage now (a level, not a count).</param>
public readonly record struct MeterCounters(long PeerBytesSent, long PeerBytesReceived, long LogBytesWritten, long RetainedBytes = 0);

/// <summary>A block applied in an apply round.</summary>
/// <param name="Height">Its height.</param>
/// <param name="LogIndex">The raft-log index of its entry.</param>
/// <param name="TransactionCount">Its transactions.</param>
/// <param name="StoredBytes">The bytes its own writes added to the apply write batch (block, index, ledger and carbon records).</param>
/// <param name="ApplyCpuMicros">The applier thread's CPU time applying and indexing it (its thread CPU clock; 0 where there is none).</param>
public readonly record struct MeteredBlock(ulong Height, ulong LogIndex, int TransactionCount, long StoredBytes = 0, long ApplyCpuMicros = 0);

/// <summary>
/// Quantities metered over a span (deltas, not levels): an interval, or the open part of one that a stopping node carries
/// into its next run.
/// </summary>
/// <param name="CpuMicros">Process CPU µs.</param>
/// <param name="WallMicros">Wall µs (the span's own length).</param>
/// <param name="PeerBytesSent">Peer-transport bytes sent.</param>
/// <param name="PeerBytesReceived">Peer-transport bytes received.</param>
/// <param name="IngressBytes">Client ingress bytes.</param>
/// <param name="StoredBytes">Storage bytes.</param>
/// <param name="PooledRounds">Consensus rounds of the shared pool (elections, entries without transactions, entries not yet applied).</param>
public readonly record struct MeterInterval(long CpuMicros, long WallMicros, long PeerBytesSent, long PeerBytesReceived, long IngressBytes, long StoredBytes, long PooledRounds)
{
    /// <summary>Both spans' quantities.</summary>
    public static MeterInterval operator +(MeterInterval a, MeterInterval b) => new(
        a.CpuMicros + b.CpuMicros, a.WallMicros + b.WallMicros, a.PeerBytesSent + b.PeerBytesSent, a.PeerBytesReceived + b.PeerBytesReceived,
        a.IngressBytes + b.IngressBytes, a.StoredBytes + b.StoredBytes, a.PooledRounds + b.PooledRounds);

    /// <summary>Both spans' quantities.</summary>
    public static MeterInterval Add(MeterInterval a, MeterInterval b) => a + b;
}

/// <summary>What the meter attributes to one block height.</summary>
public readonly record struct BlockUsage(ulong Height, int TransactionCount, MeterUsage Usage);

/// <summary>
/// What a meter has attributed to blocks since it started: the sums of every closed interval. Less <paramref name="Carried"/>,
/// they equal the process's own counters over the span from the meter's start to its last close (process CPU and wall
/// time, peer-transport bytes, raft-log plus apply-batch bytes), because each close hands out exactly its interval's totals.
/// </summary>
/// <param name="Closes">Intervals closed.</param>
/// <param name="Blocks">Blocks with transactions metered.</param>
/// <param name="CpuMicros">Process CPU µs attributed.</param>
/// <param name="WallMicros">Wall µs attributed.</param>
/// <param name="PeerBytesSent">Peer-transport bytes sent, attributed.</param>
/// <param name="PeerBytesReceived">Peer-transport bytes received, attributed.</param>
/// <param name="IngressBytes">Client ingress bytes attributed.</param>
/// <param name="StoredBytes">Storage bytes attributed.</param>
/// <param name="Carried">
/// The part of the sums the previous run of the node measured: the open interval it stopped with, carried into this run's
/// first close (zero until that close, and when the previous run did not stop gracefully).
/// </param>
public sealed record MeterTotals(long Closes, long Blocks, long CpuMicros, long WallMicros, long PeerBytesSent, long PeerBytesReceived, long IngressBytes, long StoredBytes, MeterInterval Carried = default)
{
    /// <summary>Nothing attributed yet.</summary>
    public static MeterTotals Zero { get; } = new(0, 0, 0, 0, 0, 0, 0, 0);
}

/// <summary>
/// The per-node carbon meter. It runs on the consensus loop: <see cref="Observe(Ready)"/> once per Ready, <see cref="AddStored"/> and
/// <see cref="Close"/> once per apply round; <see cref="AddIngress"/> from API threads.
/// </summary>
/// <remarks>
/// <para>An interval runs from one close to the next. A close happens at an apply round that applied at least one block with
/// transactions; a round that applied only blocks without transactions (carbon-only blocks) leaves the interval open, so
/// their cost goes to the next block with transactions and no reading (hence no record, hence no new block) is made for them.</para>
/// <para>What is measurable per block is attributed to it directly: the peer bytes of its log entry (the entry's payload
/// bytes in every append this node sent to another voter), the storage bytes of its entry in the raft log and of its
/// own writes in the apply batch, and the applier thread's CPU time applying and indexing it. Each direct figure is taken
/// out of the interval's total, in block order and never beyond what is left of it. The rest of every quantity — the
/// process CPU µs left (admission, consensus, transport, runtime), all wall µs, client ingress bytes and pooled
/// consensus rounds, and what is left of the peer and storage bytes — is shared across the round's blocks with
/// transactions <b>in proportion to their transaction counts</b>, in integers: block i of n gets <c>⌊rest × tx_i ÷ tx_all⌋</c>
/// and the last block the remainder, so the blocks' figures add up exactly to the process's totals.</para>
/// <para>A node that stops takes the open interval with <see cref="Stop"/>; its next run passes it to the new meter, whose
/// first close adds it to its own first interval (wall time: the tail's own length, not the time the node was down).</para>
/// <para>Consensus rounds: for a block, the AppendEntries messages carrying its log entry that this node sent to other
/// voters, divided by the number of other voters and rounded up (one round = one append to each follower; a retransmission
/// to a slow follower adds a round); a follower sends none. Rounds of entries without transactions (the leader's term no-op,
/// carbon-only blocks) and election rounds (a Ready carrying vote or pre-vote requests: one campaign broadcast) join a pool
/// shared like CPU time.</para>
/// </remarks>
public sealed class CarbonMeter
{
    private readonly IProcessMeterSource _source;
    private readonly HashSet<ulong> _otherVoters;
    private readonly ulong _self;
    private int _validators;
    private readonly int _storageReplicas;
    private readonly double _provisionedVcpus;
    private readonly Dictionary<ulong, EntryTally> _entries = [];
    private readonly List<ulong> _settled = [];
    // Per block: rounds, sent bytes, stored bytes, applier CPU µs.
    private const int DirectPerBlock = 4;
    private long[] _direct = new long[DirectPerBlock * 16];
    private MeterInterval _carried;
    private bool _stopped;
    private ProcessSample _base;
    private MeterCounters _baseCounters;
    private long _ingress;
    private long _stored;
    private long _elections;
    private MeterTotals _totals = MeterTotals.Zero;

    /// <summary>Starts the first interval now.</summary>
    /// <param name="source">The process clock, CPU and memory source.</param>
    /// <param name="selfId">This node's id.</param>
    /// <param name="voters">The cluster's voting members (this node included when it votes).</param>
    /// <param name="storageReplicas">Copies the storage layer keeps of each byte.</param>
    /// <param name="counters">The node's counters now.</param>
    /// <param name="provisionedVcpus">vCPUs provisioned for the node (0: the processors the process sees).</param>
    /// <param name="carried">The open interval the node's previous run stopped with, added to the first interval.</param>
    public CarbonMeter(IProcessMeterSource source, ulong selfId, IReadOnlyCollection<ulong> voters, int storageReplicas, MeterCounters counters, double provisionedVcpus = 0, MeterInterval carried = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(voters);
        _source = source;
        _self = selfId;
        _otherVoters = [.. voters.Where(v => v != selfId)];
        _validators = voters.Count;
        _storageReplicas = Math.Max(1, storageReplicas);
        _provisionedVcpus = provisionedVcpus > 0 ? provisionedVcpus : source.Vcpus;
        // From the process's start: its start-up CPU and time are the first interval's, not lost. (The byte counters
        // are the node's own, which start with it, just before the meter.)
        _base = source.Start;
        _baseCounters = counters;
        _carried = carried;
    }

    /// <summary>The voters changed (membership change): rounds are counted against the new set from now on.</summary>
    public void SetVoters(IReadOnlyCollection<ulong> voters)
    {
        ArgumentNullException.ThrowIfNull(voters);
        _otherVoters.Clear();
        _otherVoters.UnionWith(voters.Where(v => v != _self));
        _validators = voters.Count;
    }

    /// <summary>What the closed intervals attributed so far (replaced whole at each close; safe to read from any thread).</summary>
    public MeterTotals Totals => Volatile.Read(ref _totals);

    /// <summary>Client bytes (transaction body + signature) received by this node's API. Thread-safe.</summary>
    public void AddIngress(long bytes) => Interlocked.Add(ref _ingress, bytes);

    /// <summary>Bytes of an apply write batch (blocks, index, ledger and carbon records, applied index).</summary>
    public void AddStored(long bytes) => _stored += bytes;

    /// <summary>Counts the appends (and their entries' bytes) and vote requests in a Ready's messages, and the raft-log bytes of its entries.</summary>
    public void Observe(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        var entries = ready.Entries;
        for (var i = 0; i < entries.Count; i++)
        {
            Tally(entries[i].Index).LogBytes = RaftLogStorage.EntryBytes(entries[i]);
        }
        var campaign = Observe(ready.Messages);
        campaign |= Observe(ready.MessagesAfterPersist);
        if (campaign)
        {
            _elections++;
        }
    }

    private bool Observe(IReadOnlyList<Message> messages)
    {
        var campaign = false;
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            switch (m.Type)
            {
                case MessageType.Append when m.Entries.Length > 0 && _otherVoters.Contains(m.To):
                    foreach (var entry in m.Entries)
                    {
                        ref var tally = ref Tally(entry.Index);
                        tally.Appends++;
                        tally.SentBytes += entry.Data.Length;
                    }
                    break;
                case MessageType.PreVote or MessageType.Vote:
                    campaign = true;
                    break;
                default:
                    break;
            }
        }
        return campaign;
    }

    private ref EntryTally Tally(ulong index) => ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, index, out _);

    /// <summary>
    /// Ends metering (the node stops): returns the open interval — everything since the last close, plus a carried part no
    /// close took yet, with the rounds of entries not applied yet in the pool — for the next run to carry. Closes nothing after.
    /// </summary>
    /// <param name="counters">The node's counters now.</param>
    public MeterInterval Stop(MeterCounters counters)
    {
        ObjectDisposedException.ThrowIf(_stopped, this);
        _stopped = true;
        var open = Open(_source.Sample(), counters, Volatile.Read(ref _ingress));
        foreach (var (_, tally) in _entries)
        {
            open = open with { PooledRounds = open.PooledRounds + Rounds(tally.Appends) };
        }
        return open;
    }

    // The interval from the last close to now, with the carried part: its CPU and wall time, bytes, and the pooled elections.
    private MeterInterval Open(ProcessSample sample, MeterCounters counters, long ingress) => _carried + new MeterInterval(
        Math.Max(0, sample.CpuMicros - _base.CpuMicros),
        Math.Max(0, sample.WallMicros - _base.WallMicros),
        Math.Max(0, counters.PeerBytesSent - _baseCounters.PeerBytesSent),
        Math.Max(0, counters.PeerBytesReceived - _baseCounters.PeerBytesReceived),
        ingress,
        Math.Max(0, counters.LogBytesWritten - _baseCounters.LogBytesWritten) + _stored,
        _elections);

    /// <summary>
    /// Ends an apply round. When <paramref name="blocks"/> include blocks with transactions, closes the interval and returns
    /// each such block's usage (in the order given); otherwise returns nothing and the interval stays open.
    /// </summary>
    /// <param name="blocks">Every block the round applied, in order.</param>
    /// <param name="counters">The node's counters now.</param>
    public IReadOnlyList<BlockUsage> Close(IReadOnlyList<MeteredBlock> blocks, MeterCounters counters)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        ObjectDisposedException.ThrowIf(_stopped, this);
        long transactions = 0;
        var withTransactions = 0;
        ulong lastIndex = 0;
        foreach (var b in blocks)
        {
            if (b.TransactionCount > 0)
            {
                transactions += b.TransactionCount;
                withTransactions++;
            }
            lastIndex = Math.Max(lastIndex, b.LogIndex);
        }
        if (withTransactions == 0)
        {
            return [];
        }

        var sample = _source.Sample();
        var open = Open(sample, counters, Interlocked.Exchange(ref _ingress, 0));
        var cpu = open.CpuMicros;
        var wall = open.WallMicros;
        var utilization = wall > 0 && _provisionedVcpus > 0 ? Math.Clamp(cpu / ((double)wall * _provisionedVcpus), 0.0, 1.0) : 0.0;

        // What each block with transactions is directly measured to have caused: the rounds and peer bytes of its entry's
        // appends, its entry's raft-log bytes, its own apply-batch bytes and the applier thread's CPU for it. The rest of the
        // settled entries' rounds join the pool; their bytes and the rest of the CPU stay in the shared rest.
        if (_direct.Length < DirectPerBlock * blocks.Count)
        {
            _direct = new long[DirectPerBlock * blocks.Count];
        }
        var direct = _direct.AsSpan(0, DirectPerBlock * blocks.Count);
        direct.Clear();
        long directSent = 0, directStored = 0, directCpu = 0;
        for (var i = 0; i < blocks.Count; i++)
        {
            var b = blocks[i];
            if (b.TransactionCount == 0)
            {
                continue;
            }
            var tally = _entries.Remove(b.LogIndex, out var t) ? t : default;
            direct[DirectPerBlock * i] = Rounds(tally.Appends);
            direct[(DirectPerBlock * i) + 1] = Direct(tally.SentBytes, open.PeerBytesSent, ref directSent);
            direct[(DirectPerBlock * i) + 2] = Direct(tally.LogBytes + b.StoredBytes, open.StoredBytes, ref directStored);
            // Never more CPU than the processors could spend in the block's share of the wall time (the leader checks it).
            var wallShare = (long)((Int128)wall * b.TransactionCount / transactions);
            direct[(DirectPerBlock * i) + 3] = Direct(Math.Min(b.ApplyCpuMicros, wallShare * _source.Vcpus), cpu, ref directCpu);
        }
        var pool = open.PooledRounds;
        _settled.Clear();
        foreach (var (index, tally) in _entries)
        {
            if (index <= lastIndex)
            {
                pool += Rounds(tally.Appends);
                _settled.Add(index);
            }
        }
        foreach (var index in _settled)
        {
            _entries.Remove(index);
        }

        var result = new BlockUsage[withTransactions];
        var shares = new Shares(transactions);
        var sentRest = open.PeerBytesSent - directSent;
        var cpuRest = cpu - directCpu;
        var storedRest = open.StoredBytes - directStored;
        var n = 0;
        for (var i = 0; i < blocks.Count; i++)
        {
            var b = blocks[i];
            if (b.TransactionCount == 0)
            {
                continue;
            }
            var last = ++n == withTransactions;
            result[n - 1] = new BlockUsage(b.Height, b.TransactionCount, new MeterUsage(
                direct[(DirectPerBlock * i) + 3] + shares.Take(0, cpuRest, b.TransactionCount, last),
                shares.Take(1, wall, b.TransactionCount, last),
                sample.ResidentBytes,
                _source.Vcpus,
                utilization,
                direct[(DirectPerBlock * i) + 1] + shares.Take(2, sentRest, b.TransactionCount, last),
                shares.Take(3, open.PeerBytesReceived, b.TransactionCount, last),
                shares.Take(4, open.IngressBytes, b.TransactionCount, last),
                direct[(DirectPerBlock * i) + 2] + shares.Take(5, storedRest, b.TransactionCount, last),
                direct[DirectPerBlock * i] + shares.Take(6, pool, b.TransactionCount, last),
                _validators,
                _storageReplicas,
                _provisionedVcpus,
                counters.RetainedBytes));
        }

        var tt = _totals;
        Volatile.Write(ref _totals, new MeterTotals(
            tt.Closes + 1, tt.Blocks + withTransactions, tt.CpuMicros + cpu, tt.WallMicros + wall, tt.PeerBytesSent + open.PeerBytesSent,
            tt.PeerBytesReceived + open.PeerBytesReceived, tt.IngressBytes + open.IngressBytes, tt.StoredBytes + open.StoredBytes, tt.Carried + _carried));
        _base = sample;
        _baseCounters = counters;
        _stored = 0;
        _elections = 0;
        _carried = default;
        return result;
    }

    // A directly measured quantity, within what is left of the interval's total after the blocks before it.
    private static long Direct(long measured, long total, ref long given)
    {
        var take = Math.Clamp(measured, 0, total - given);
        given += take;
        return take;
    }

    private long Rounds(long appends) => _otherVoters.Count == 0 ? 0 : (appends + _otherVoters.Count - 1) / _otherVoters.Count;

    /// <summary>What this node did for one log entry: appends sent to other voters, their entry bytes, its raft-log bytes.</summary>
    private struct EntryTally
    {
        public long Appends;
        public long SentBytes;
        public long LogBytes;
    }

    /// <summary>Integer shares of several totals in proportion to weights; the last share takes the remainder.</summary>
    private sealed class Shares(long weights)
    {
        private readonly long[] _given = new long[7];

        public long Take(int quantity, long total, long weight, bool last)
        {
            var share = last ? total - _given[quantity] : (long)((Int128)total * weight / weights);
            _given[quantity] += share;
            return share;
        }
    }
}
