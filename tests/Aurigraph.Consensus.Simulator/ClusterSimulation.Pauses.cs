namespace Aurigraph.Consensus.Simulation;

/// <summary>
/// Process pauses (a stop-the-world collection, a descheduled VM, SIGSTOP): a paused node takes no ticks, messages,
/// disk completions or client requests; its clock's ticks and everything sent to it queue up, and when it resumes it
/// works through them in the order they arrived, with the state it had — a leader that paused still believes it leads
/// until its queued ticks and messages tell it otherwise. Queuing the ticks models a host whose tick source counts
/// elapsed monotonic time (the lease rule needs the ticks a paused host missed before the requests that follow).
/// </summary>
public sealed partial class ClusterSimulation
{
    /// <summary>Marks a tick replayed from a pause queue: the live tick chain went on during the pause.</summary>
    private const long ReplayedTick = 1;

    /// <summary>The paused node an event is for (input to that node's process), or null.</summary>
    private SimNode? PausedTarget(SimEvent ev)
    {
        var target = ev.Kind switch
        {
            EventKind.Tick or EventKind.DiskWriteDone or EventKind.SnapshotTimer or EventKind.ApplyDone => ev.Node,
            EventKind.Deliver => (int)ev.Message!.To - 1,
            EventKind.DeliverChunk => (int)ev.Chunk!.To - 1,
            _ => -1,
        };
        return target >= 0 && _nodes[target].Paused ? _nodes[target] : null;
    }

    /// <summary>Queues input for a paused node; its clock keeps ticking, into the queue.</summary>
    private void Hold(SimNode node, SimEvent ev)
    {
        if (ev.Kind == EventKind.Tick)
        {
            if (ev.Incarnation != node.Incarnation || ev.Token == ReplayedTick)
            {
                return;
            }
            ScheduleTick(node, ev);
            if (_o.PauseLosesTicks)
            {
                return;
            }
            ev = ev with { Token = ReplayedTick };
        }
        node.PauseBuffer.Add(ev);
    }

    /// <summary>Schedules a node's next tick: its tick period, in hundredths of a millisecond, carried over between ticks.</summary>
    private void ScheduleTick(SimNode node, SimEvent tick)
    {
        var total = node.TickRemainderX100 + node.TickPeriodX100;
        node.TickRemainderX100 = total % 100;
        Schedule(total / 100, tick);
    }

    /// <summary>Pauses a node (the leader more often than not) for up to four election timeouts.</summary>
    private void PauseNode()
    {
        var up = Enumerable.Range(0, _nodes.Length).Where(i => _nodes[i].Up && !_nodes[i].Paused).ToArray();
        if (up.Length == 0)
        {
            return;
        }
        var leader = Array.FindIndex(_nodes, x => x.Up && !x.Paused && x.Raft.Role == NodeRole.Leader);
        var i = leader >= 0 && _rng.Chance(0.6) ? leader : up[_rng.NextInt(0, up.Length)];
        var node = _nodes[i];
        var electionMs = _o.ElectionTicks * _o.TickMs;
        var duration = _rng.NextInt(electionMs / 2, (4 * electionMs) + 1);
        node.Paused = true;
        _pauses++;
        Log($"PAUSE n{node.Id} for {duration} ms ({node.Raft})");
        Schedule(duration, new SimEvent(EventKind.Resume, i, node.Incarnation, null, 0));
    }

    /// <summary>The node resumes and works through its queued input in arrival order.</summary>
    private void Resume(SimEvent ev)
    {
        var node = _nodes[ev.Node];
        if (!node.Paused || node.Incarnation != ev.Incarnation)
        {
            return;
        }
        node.Paused = false;
        var queued = node.PauseBuffer.ToArray();
        node.PauseBuffer.Clear();
        Log($"RESUME n{node.Id} with {queued.Length} queued inputs");
        foreach (var input in queued)
        {
            if (!node.Up || node.Incarnation != ev.Incarnation)
            {
                return;
            }
            Dispatch((SimEvent)input);
        }
    }
}
