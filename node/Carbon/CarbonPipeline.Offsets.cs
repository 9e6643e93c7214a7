namespace Aurigraph.Node.Carbon;

/// <summary>The leader's intake of offset retirements, carried into the log by the carbon sections it proposes.</summary>
internal sealed partial class CarbonPipeline
{
    /// <summary>
    /// Takes an offset retirement to record through the log (leader only): checked against the committed offsets and the
    /// fixed rules first, then carried by the next carbon section. The task ends when a committed block records or refuses
    /// it, or at once when it is refused, when this node does not lead, or when too many wait. An offset identical to a
    /// recorded one is answered as recorded (a retry); the same credits with other figures are refused. Thread-safe.
    /// </summary>
    public Task<OffsetOutcome> SubmitOffset(OffsetRetirement offset)
    {
        ArgumentNullException.ThrowIfNull(offset);
        lock (_gate)
        {
            if (!_leading)
            {
                return Task.FromResult(new OffsetOutcome(OffsetOutcomeKind.NotLeader, 0, "this node does not lead"));
            }
            if (_ledger.Offsets.Contains(offset))
            {
                var committed = _ledger.Offsets.ReadAll().First(o => o.Offset.Key == offset.Key);
                return Task.FromResult(committed.Offset == offset
                    ? new OffsetOutcome(OffsetOutcomeKind.Recorded, committed.Height)
                    : new OffsetOutcome(OffsetOutcomeKind.Refused, 0, $"{offset.Registry} serial {offset.Serial} is already recorded with other figures (at height {committed.Height})"));
            }
            var today = DateOnly.FromDateTime(_services.Time.GetUtcNow().UtcDateTime);
            if (_ledger.Offsets.Refusal(offset, today) is { } reason)
            {
                return Task.FromResult(new OffsetOutcome(OffsetOutcomeKind.Refused, 0, reason));
            }
            return _offsets.Add(offset);
        }
    }
}
