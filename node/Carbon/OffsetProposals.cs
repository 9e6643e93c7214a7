namespace Aurigraph.Node.Carbon;

/// <summary>How an offset submitted to the leader stands.</summary>
public enum OffsetOutcomeKind
{
    /// <summary>Committed at <see cref="OffsetOutcome.Height"/>.</summary>
    Recorded,

    /// <summary>Can never commit as submitted: <see cref="OffsetOutcome.Reason"/> says why.</summary>
    Refused,

    /// <summary>Not taken: this node does not lead, or lost leadership before proposing it. Submit it to the leader.</summary>
    NotLeader,

    /// <summary>Not taken: too many offsets wait to be proposed.</summary>
    Busy,
}

/// <summary>What became of a submitted offset.</summary>
public sealed record OffsetOutcome(OffsetOutcomeKind Kind, ulong Height = 0, string Reason = "");

/// <summary>
/// The leader's offsets on their way into carbon sections: queued (bounded), then proposed until a committed block records
/// or refuses them. Callers hold the carbon pipeline's lock. A proposal the log lost (leadership moved, the block was
/// refused) is proposed again after the retry interval; a second copy that commits after the first is refused alike on
/// every node ("already recorded") and changes nothing.
/// </summary>
internal sealed class OffsetProposals(int capacity, long retryMs)
{
    /// <summary>Bytes of encoded offsets one section carries at most (the section's room is shared with records).</summary>
    public const int MaxSectionBytes = 8 << 10;

    private readonly Dictionary<string, Waiting> _waiting = new(StringComparer.Ordinal);
    private readonly List<Waiting> _order = [];

    /// <summary>Offsets waiting (queued or proposed).</summary>
    public int Count => _waiting.Count;

    /// <summary>Whether an offset waits to be proposed now (a block without transactions may carry it).</summary>
    public bool HasDue(long nowMs) => _order.Exists(w => IsDue(w, nowMs));

    /// <summary>Queues an offset, or joins the wait of the same one already queued.</summary>
    public Task<OffsetOutcome> Add(OffsetRetirement offset)
    {
        if (_waiting.TryGetValue(offset.Key, out var same))
        {
            return same.Offset == offset
                ? same.Done.Task
                : Task.FromResult(new OffsetOutcome(OffsetOutcomeKind.Refused, 0, $"{offset.Registry} serial {offset.Serial} waits to be recorded with other figures"));
        }
        if (_waiting.Count >= capacity)
        {
            return Task.FromResult(new OffsetOutcome(OffsetOutcomeKind.Busy, 0, $"{capacity} offsets wait to be recorded; try again shortly"));
        }
        var waiting = new Waiting(offset);
        _waiting[offset.Key] = waiting;
        _order.Add(waiting);
        return waiting.Done.Task;
    }

    /// <summary>The offsets to carry in the section being cut (at most <see cref="MaxSectionBytes"/>, at least one when any is due); they count as proposed.</summary>
    public List<OffsetRetirement> TakeDue(long nowMs)
    {
        var taken = new List<OffsetRetirement>();
        var bytes = 0;
        foreach (var w in _order)
        {
            if (taken.Count >= OffsetCodec.MaxPerSection || !IsDue(w, nowMs))
            {
                continue;
            }
            var size = EncodedSize(w.Offset);
            if (taken.Count > 0 && bytes + size > MaxSectionBytes)
            {
                break;
            }
            bytes += size;
            w.ProposedAtMs = nowMs;
            taken.Add(w.Offset);
        }
        return taken;
    }

    /// <summary>Completes the waits a committed block answered.</summary>
    public void Applied(OffsetApplyResult result)
    {
        foreach (var recorded in result.Recorded)
        {
            Complete(recorded.Offset, new OffsetOutcome(OffsetOutcomeKind.Recorded, recorded.Height));
        }
        foreach (var (offset, reason) in result.Refused)
        {
            Complete(offset, new OffsetOutcome(OffsetOutcomeKind.Refused, 0, reason));
        }
    }

    /// <summary>Leadership ended: offsets never proposed are handed back; proposed ones may still commit, and their callers keep waiting.</summary>
    public void LeadershipLost()
    {
        foreach (var w in _order.ToArray())
        {
            if (w.ProposedAtMs is null)
            {
                Complete(w.Offset, new OffsetOutcome(OffsetOutcomeKind.NotLeader, 0, "leadership moved before the offset was proposed"));
            }
        }
    }

    private void Complete(OffsetRetirement offset, OffsetOutcome outcome)
    {
        if (!_waiting.Remove(offset.Key, out var w) || w.Offset != offset)
        {
            if (w is not null)
            {
                _waiting[offset.Key] = w; // another record of the same credits: not this wait
            }
            return;
        }
        _order.Remove(w);
        w.Done.TrySetResult(outcome);
    }

    private bool IsDue(Waiting w, long nowMs) => w.ProposedAtMs is not { } at || nowMs - at >= retryMs;

    private static int EncodedSize(OffsetRetirement offset)
    {
        var writer = new CarbonWriter(256);
        OffsetCodec.Write(writer, offset);
        return writer.Length;
    }

    private sealed class Waiting(OffsetRetirement offset)
    {
        public OffsetRetirement Offset { get; } = offset;

        public TaskCompletionSource<OffsetOutcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long? ProposedAtMs { get; set; }
    }
}
