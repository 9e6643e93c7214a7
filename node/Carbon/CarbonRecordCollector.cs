namespace Aurigraph.Node.Carbon;

/// <summary>What became of a reading handed to the collector.</summary>
public enum CollectOutcome
{
    /// <summary>Kept for its height's main record.</summary>
    Collected,

    /// <summary>Its height's main record committed with it missing: kept for a late record.</summary>
    Late,

    /// <summary>Not used: not a reporting member's, its entry is not missing, or it is outside the late window.</summary>
    Ignored,

    /// <summary>Failed the leader's checks (<see cref="CarbonReadingChecks"/>): the record lists it missing with the reason.</summary>
    Refused,
}

/// <summary>
/// The leader's side of carbon records: gathers the members' readings per pending height and says when records are due.
/// Pure: time and ledger height are passed in, the committed state is read through <see cref="ICarbonRecordState"/>.
/// </summary>
/// <remarks>
/// <para>A height's main record is due once every member's reading is in, or once the deadline passes — the ledger
/// <see cref="CarbonRecordOptions.DeadlineBlocks"/> blocks past the point where this collector first saw the height, or
/// <see cref="CarbonRecordOptions.DeadlineMilliseconds"/> after that moment — and then lists the members that had not
/// reported as missing. The deadline restarts when this node gains leadership, so followers have time to send again.</para>
/// <para>A reading for a height whose main record committed with that member missing goes into a late record, due at
/// once. A proposed record that has not committed after <see cref="CarbonRecordOptions.RetryMilliseconds"/> is due again:
/// the first copy to commit wins, later copies are ignored at apply.</para>
/// </remarks>
public sealed class CarbonRecordCollector
{
    private readonly ICarbonRecordState _state;
    private ulong[] _reporters;
    private readonly CarbonRecordOptions _options;
    private readonly Dictionary<ulong, HeightReadings> _heights = [];
    private readonly SortedDictionary<(ulong Height, ulong Node), LateReading> _late = [];

    /// <summary>Creates a collector for a fixed set of reporting members (every node, whatever its role).</summary>
    public CarbonRecordCollector(ICarbonRecordState state, IEnumerable<ulong> reporters, CarbonRecordOptions options)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(reporters);
        ArgumentNullException.ThrowIfNull(options);
        _state = state;
        _reporters = [.. reporters.Distinct().Order()];
        _options = options;
    }

    /// <summary>Readings waiting for a late record.</summary>
    public int LateCount => _late.Count;

    /// <summary>
    /// The members whose readings records expect from now on (after a membership change). Heights already waiting keep
    /// waiting until their deadline; a member that left is then recorded missing, one that joined is not expected for them.
    /// </summary>
    public void SetReporters(IEnumerable<ulong> reporters)
    {
        ArgumentNullException.ThrowIfNull(reporters);
        _reporters = [.. reporters.Distinct().Order()];
    }

    /// <summary>Takes a member's reading.</summary>
    /// <param name="reading">The reading.</param>
    /// <param name="tip">This node's ledger height now.</param>
    /// <param name="nowMs">Monotonic time now, ms.</param>
    public CollectOutcome Add(CarbonReading reading, ulong tip, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(reading);
        if (Array.BinarySearch(_reporters, reading.NodeId) < 0)
        {
            return CollectOutcome.Ignored;
        }
        var refusal = CarbonReadingChecks.Check(reading);
        if (_state.Pending.ContainsKey(reading.Height) || reading.Height > tip)
        {
            // Pending here, or not applied here yet (it will be): keep it for the main record, or why it was refused.
            var entry = Entry(reading.Height, tip, nowMs);
            if (refusal is not null)
            {
                if (!entry.Readings.ContainsKey(reading.NodeId))
                {
                    entry.Refused[reading.NodeId] = refusal;
                }
                return CollectOutcome.Refused;
            }
            entry.Refused.Remove(reading.NodeId);
            entry.Readings[reading.NodeId] = reading;
            return CollectOutcome.Collected;
        }
        if (refusal is not null)
        {
            return CollectOutcome.Refused;
        }
        if (_state.IsMissing(reading.Height, reading.NodeId, out _))
        {
            _late.TryAdd((reading.Height, reading.NodeId), new LateReading(reading));
            return CollectOutcome.Late;
        }
        return CollectOutcome.Ignored;
    }

    /// <summary>This node became leader: deadlines restart now, nothing counts as proposed.</summary>
    public void OnLeadership(ulong tip, long nowMs)
    {
        foreach (var entry in _heights.Values)
        {
            entry.AnchorTip = tip;
            entry.AnchorMs = nowMs;
            entry.ProposedAtMs = null;
        }
        foreach (var late in _late.Values)
        {
            late.ProposedAtMs = null;
        }
    }

    /// <summary>
    /// After an apply round: forgets heights whose main record committed (a reading it lists as missing moves to the late
    /// queue), late readings that committed or can no longer be used, and readings of heights that will never be pending.
    /// </summary>
    public void OnApplied(ulong tip)
    {
        List<ulong>? done = null;
        foreach (var (height, entry) in _heights)
        {
            if (height > tip || _state.Pending.ContainsKey(height))
            {
                continue;
            }
            foreach (var (node, reading) in entry.Readings)
            {
                if (_state.IsMissing(height, node, out _))
                {
                    _late.TryAdd((height, node), new LateReading(reading));
                }
            }
            (done ??= []).Add(height);
        }
        foreach (var height in done ?? [])
        {
            _heights.Remove(height);
        }
        List<(ulong, ulong)>? stale = null;
        foreach (var key in _late.Keys)
        {
            if (!_state.IsMissing(key.Height, key.Node, out _))
            {
                (stale ??= []).Add(key);
            }
        }
        foreach (var key in stale ?? [])
        {
            _late.Remove(key);
        }
    }

    /// <summary>Whether a record is due now.</summary>
    public bool HasDue(ulong tip, long nowMs)
    {
        foreach (var late in _late.Values)
        {
            if (Ready(late.ProposedAtMs, nowMs))
            {
                return true;
            }
        }
        foreach (var height in _state.Pending.Keys)
        {
            if (IsDue(Entry(height, tip, nowMs), tip, nowMs))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The records due now, at most <see cref="CarbonRecordOptions.MaxRecordsPerBlock"/>: main records by ascending height,
    /// then late records by height. They count as proposed from now on.
    /// </summary>
    public List<CarbonRecord> TakeDue(ulong tip, long nowMs)
    {
        var records = new List<CarbonRecord>();
        var max = _options.MaxRecordsPerBlock;
        foreach (var (height, transactions) in _state.Pending)
        {
            if (records.Count >= max)
            {
                return records;
            }
            var entry = Entry(height, tip, nowMs);
            if (!IsDue(entry, tip, nowMs))
            {
                continue;
            }
            var entries = new CarbonRecordEntry[_reporters.Length];
            for (var i = 0; i < _reporters.Length; i++)
            {
                var node = _reporters[i];
                entries[i] = entry.Readings.TryGetValue(node, out var reading)
                    ? new CarbonRecordEntry(node, CarbonReadingStatus.Present, reading)
                    : new CarbonRecordEntry(node, CarbonReadingStatus.Missing, null, entry.Refused.GetValueOrDefault(node, ""));
            }
            records.Add(new CarbonRecord(CarbonRecordKind.Main, height, transactions, entries));
            entry.ProposedAtMs = nowMs;
        }
        CarbonRecord? open = null;
        List<CarbonRecordEntry>? openEntries = null;
        foreach (var ((height, node), late) in _late)
        {
            if (!Ready(late.ProposedAtMs, nowMs) || !_state.IsMissing(height, node, out var transactions))
            {
                continue;
            }
            if (open is null || open.Height != height)
            {
                if (records.Count >= max)
                {
                    break;
                }
                openEntries = [];
                open = new CarbonRecord(CarbonRecordKind.Late, height, transactions, openEntries);
                records.Add(open);
            }
            openEntries!.Add(new CarbonRecordEntry(node, CarbonReadingStatus.Late, late.Reading));
            late.ProposedAtMs = nowMs;
        }
        return records;
    }

    private bool IsDue(HeightReadings entry, ulong tip, long nowMs)
    {
        if (!Ready(entry.ProposedAtMs, nowMs))
        {
            return false;
        }
        // Every member answered: with a reading, or with one that was refused (it is not waited for).
        if (entry.Readings.Count + entry.Refused.Count >= _reporters.Length)
        {
            return true;
        }
        return tip >= entry.AnchorTip + (ulong)_options.DeadlineBlocks || nowMs - entry.AnchorMs >= _options.DeadlineMilliseconds;
    }

    private bool Ready(long? proposedAtMs, long nowMs) => proposedAtMs is not { } at || nowMs - at >= _options.RetryMilliseconds;

    private HeightReadings Entry(ulong height, ulong tip, long nowMs)
    {
        if (!_heights.TryGetValue(height, out var entry))
        {
            entry = new HeightReadings { AnchorTip = Math.Max(tip, height), AnchorMs = nowMs };
            _heights[height] = entry;
        }
        return entry;
    }

    private sealed class HeightReadings
    {
        public Dictionary<ulong, CarbonReading> Readings { get; } = [];

        // Members whose reading failed the checks, and why (at most one per member: bounded like Readings).
        public Dictionary<ulong, string> Refused { get; } = [];

        public ulong AnchorTip { get; set; }

        public long AnchorMs { get; set; }

        public long? ProposedAtMs { get; set; }
    }

    private sealed class LateReading(CarbonReading reading)
    {
        public CarbonReading Reading { get; } = reading;

        public long? ProposedAtMs { get; set; }
    }
}
