using System.Diagnostics;

namespace Aurigraph.Consensus;

/// <summary>
/// The leader's read lease. The invariant: while <see cref="LeaseHolds"/> is true, no other node can have been
/// elected leader of a later term, so this leader's commit index covers everything committed anywhere.
/// <para>
/// Why. The leader numbers its rounds (every heartbeat broadcast starts one; appends carry the latest) and records
/// the tick at which each round was first sent. A follower answering a round of this leader's term had, on receiving
/// it, this leader as its leader and reset its election timer (<see cref="InLease"/>); from then on it ignores
/// (pre-)votes until <c>ElectionTicks</c> of its own ticks have passed — at least <c>ElectionTicks - 1</c> of its tick
/// periods, since its next tick may come at once. It received the round no earlier than the leader sent it, so the
/// follower's lease began no earlier than the round's send tick; the leader counts from that tick, never from when the
/// answer arrived (which is later by the network delay, unbounded). The leader trusts a follower's answer while fewer
/// than <c>ElectionTicks - margin</c> of its ticks have passed since that send tick: at most <c>ElectionTicks - margin</c>
/// of its tick periods. With a margin of at least one tick and the leader's tick at most
/// <c>(ElectionTicks - 1) / (ElectionTicks - margin)</c> times as long as a follower's (the clock-rate bound the margin
/// covers), each trusted follower is still inside its own lease. When a quorum of voters (this leader counts itself:
/// it votes for no one while it leads) is inside its lease, any election needs a vote from one of them, which it
/// refuses; and it cannot have voted in a later term before answering, since it answered in this term. A transfer's
/// target campaigns with votes granted inside the lease, so a leader that started a transfer gives up its lease for
/// the term; a node that restarts cannot know whether it answered a leader lately and refuses votes for its first
/// election timeout (<see cref="_bootLease"/>).
/// </para>
/// <para>
/// Ticks must track elapsed time: a host that was paused must feed the ticks it missed before it takes new requests,
/// or the leader's lease clock stops while the followers' run.
/// </para>
/// </summary>
public sealed partial class RaftNode
{
    // Ticks this node has taken since it started: the core's only time.
    private long _ticks;

    // The rounds this leader sent in the last election timeout: the first round number sent at each tick (ascending).
    // One entry per tick at most, so at most ElectionTicks + 1 entries.
    private readonly Queue<(ulong FirstSeq, long Tick)> _rounds = new();
    private long _lastRoundTick = long.MinValue;

    // Set when this node restarted with a term: it refuses votes during its first election timeout of ticks (see InLease).
    private bool _bootLease;

    /// <summary>How much shorter than the election timeout the leader's lease is, in ticks (<see cref="RaftConfig.LeaseMarginTicks"/>).</summary>
    public int LeaseMarginTicks => _config.EffectiveLeaseMarginTicks;

    /// <summary>Starts a new round (heartbeat broadcast, read confirmation) and returns its number.</summary>
    private ulong StartRound()
    {
        _readSeq++;
        if (_lastRoundTick != _ticks)
        {
            _rounds.Enqueue((_readSeq, _ticks));
            _lastRoundTick = _ticks;
        }
        Debug.Assert(_rounds.Count <= _config.ElectionTicks + 2, "one round entry per tick, trimmed to an election timeout");
        return _readSeq;
    }

    /// <summary>Forgets rounds sent an election timeout ago or earlier: answers to them can no longer give a lease.</summary>
    private void TrimRounds()
    {
        while (_rounds.Count > 1 && _rounds.Peek().Tick <= _ticks - _config.ElectionTicks)
        {
            _rounds.Dequeue();
        }
    }

    /// <summary>A new term of leadership: rounds of earlier terms prove nothing.</summary>
    private void ResetRounds()
    {
        _rounds.Clear();
        _lastRoundTick = long.MinValue;
    }

    /// <summary>The tick at which round <paramref name="seq"/> was sent, or null when it is not a recent round of this term.</summary>
    private long? SentTickOf(ulong seq)
    {
        long? tick = null;
        foreach (var (firstSeq, t) in _rounds)
        {
            if (firstSeq > seq)
            {
                break;
            }
            tick = t;
        }
        // Round numbers after the last entry were sent at its tick or later, up to the latest round.
        return seq <= _readSeq ? tick : null;
    }

    /// <summary>A peer answered round <paramref name="seq"/>: its lease began no earlier than the round's send tick.</summary>
    private void OnRoundAnswered(Progress p, ulong seq)
    {
        if (seq != 0 && SentTickOf(seq) is { } sent && sent > p.AnsweredRoundSentAt)
        {
            p.AnsweredRoundSentAt = sent;
        }
    }

    /// <summary>
    /// Whether a quorum of voters, this leader included, answered a round sent fewer than
    /// <c>ElectionTicks - margin</c> ticks ago (see the type's remarks for why that proves no other leader exists).
    /// </summary>
    private bool LeaseHolds()
    {
        if (_config.UnsafeLeaseWithoutQuorumRecency)
        {
            return true;
        }
        var window = _config.ElectionTicks - _config.EffectiveLeaseMarginTicks;
        var fresh = IsVoter ? 1 : 0;
        foreach (var voter in _voterIds)
        {
            if (voter != Id && _progress.TryGetValue(voter, out var p) && p.AnsweredRoundSentAt > _ticks - window)
            {
                fresh++;
            }
        }
        return fresh >= QuorumSize;
    }
}
