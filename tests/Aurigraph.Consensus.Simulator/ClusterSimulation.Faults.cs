namespace Aurigraph.Consensus.Simulation;

/// <summary>
/// The fault phase: partitions, isolations, one-way cuts, crashes and restarts, slow disks, swizzle-clogging, leadership
/// transfers, pauses and membership changes, the nemesis that strikes leaders, and the heal after which liveness is
/// checked.
/// </summary>
public sealed partial class ClusterSimulation
{
    private void InjectFault()
    {
        var n = _nodes.Length;
        var kind = _rng.NextInt(0, 12 + (_o.MembershipChanges ? 4 : 0) + (_o.Pauses ? 2 : 0));
        if (kind >= 12)
        {
            if (_o.MembershipChanges && kind < 16)
            {
                ChangeMembership();
            }
            else
            {
                PauseNode();
            }
            return;
        }
        switch (kind)
        {
            case 0:
                {
                    // Symmetric partition into two random sides.
                    var side = new bool[n];
                    for (var i = 0; i < n; i++)
                    {
                        side[i] = _rng.Chance(0.5);
                    }
                    for (var a = 0; a < n; a++)
                    {
                        for (var b = 0; b < n; b++)
                        {
                            _blocked[a, b] = side[a] != side[b];
                        }
                    }
                    CutClients(side);
                    Log($"PARTITION {{{string.Join(',', Enumerable.Range(0, n).Where(i => side[i]).Select(i => i + 1))}}} | rest");
                    break;
                }
            case 1:
                {
                    // Isolate the current leader, the most disruptive single cut.
                    var leader = Array.FindIndex(_nodes, x => x.Up && x.Raft.Role == NodeRole.Leader);
                    var victim = leader >= 0 ? leader : _rng.NextInt(0, n);
                    for (var i = 0; i < n; i++)
                    {
                        _blocked[victim, i] = _blocked[i, victim] = i != victim;
                    }
                    Log($"ISOLATE n{victim + 1}");
                    CutClients([.. Enumerable.Range(0, n).Select(i => i == victim)]);
                    break;
                }
            case 2:
                {
                    var a = _rng.NextInt(0, n);
                    var b = (a + _rng.NextInt(1, n)) % n;
                    _blocked[a, b] = true;
                    Log($"ONE-WAY cut n{a + 1} -> n{b + 1}");
                    break;
                }
            case 3:
            case 4:
                Array.Clear(_blocked);
                HealClients();
                Log("heal partitions");
                break;
            case 5:
                {
                    var up = Enumerable.Range(0, n).Where(i => _nodes[i].Up).ToArray();
                    if (up.Length > 0)
                    {
                        Crash(up[_rng.NextInt(0, up.Length)]);
                    }
                    break;
                }
            case 6:
                {
                    var down = Enumerable.Range(0, n).Where(i => !_nodes[i].Up && _nodes[i].Started).ToArray();
                    if (down.Length > 0)
                    {
                        Boot(down[_rng.NextInt(0, down.Length)]);
                    }
                    break;
                }
            case 9:
            case 10:
                {
                    // Crash the leader, or restart a crashed node.
                    var leader = Array.FindIndex(_nodes, x => x.Up && x.Raft.Role == NodeRole.Leader);
                    if (leader >= 0 && _rng.Chance(0.5))
                    {
                        Crash(leader);
                    }
                    else
                    {
                        var down = Enumerable.Range(0, n).Where(i => !_nodes[i].Up && _nodes[i].Started).ToArray();
                        if (down.Length > 0)
                        {
                            Boot(down[_rng.NextInt(0, down.Length)]);
                        }
                    }
                    break;
                }
            case 11:
                {
                    // Leadership transfer to a random other voter, as an operator would ask for maintenance.
                    var leader = Array.FindIndex(_nodes, x => x.Up && !x.Paused && x.Raft.Role == NodeRole.Leader);
                    var voters = leader < 0 ? [] : _nodes[leader].Raft.Voters.Select(id => (int)id - 1).Where(i => i != leader).ToArray();
                    if (leader >= 0 && voters.Length > 0)
                    {
                        var target = voters[_rng.NextInt(0, voters.Length)];
                        var result = _nodes[leader].Raft.TransferLeadership(_nodes[target].Id);
                        Log($"TRANSFER n{leader + 1} -> n{target + 1}: {result}");
                        AfterInput(_nodes[leader]);
                    }
                    break;
                }
            case 7:
                {
                    var i = _rng.NextInt(0, n);
                    _nodes[i].SlowDisk = !_nodes[i].SlowDisk;
                    Log($"disk n{i + 1} {(_nodes[i].SlowDisk ? "slow" : "normal")}");
                    break;
                }
            default:
                {
                    // Swizzle-clog: clog a random subset one by one, then unclog in a random order.
                    var order = Enumerable.Range(0, n).Where(_ => _rng.Chance(0.6)).ToArray();
                    long t = 0;
                    foreach (var i in order)
                    {
                        t += _rng.NextInt(5, 60);
                        Schedule(t, new SimEvent(EventKind.Clog, i, 0, null, 0));
                    }
                    Shuffle(order);
                    foreach (var i in order)
                    {
                        t += _rng.NextInt(5, 60);
                        Schedule(t, new SimEvent(EventKind.Unclog, i, 0, null, 0));
                    }
                    Log($"SWIZZLE {order.Length} nodes");
                    break;
                }
        }
    }

    /// <summary>The up node leading the highest term (a deposed leader may not know it yet).</summary>
    private SimNode? CurrentLeader()
    {
        SimNode? leader = null;
        foreach (var node in _nodes)
        {
            if (node.Up && node.Raft.Role == NodeRole.Leader && (leader is null || node.Raft.Term > leader.Raft.Term))
            {
                leader = node;
            }
        }
        return leader;
    }

    /// <summary>
    /// An operator's membership change through the current leader: add a node outside the configuration as a
    /// learner (starting it if it never ran), promote a learner, remove a voter (while three or more remain, the
    /// leader included) or a learner. The core refuses what it must (not caught up, one change at a time).
    /// </summary>
    private void ChangeMembership()
    {
        if (CurrentLeader() is { Paused: false } leader)
        {
            ChangeMembership(leader);
        }
    }

    /// <summary>A change right after <paramref name="ev"/>'s node won an election, retried shortly while the leader refuses it.</summary>
    private void ChangeAfterElection(SimEvent ev)
    {
        var node = _nodes[ev.Node];
        if (!node.Up || node.Incarnation != ev.Incarnation || node.Paused || node.Raft.Role != NodeRole.Leader)
        {
            return;
        }
        if (!ChangeMembership(node, votersOnly: true) && ev.Token > 1)
        {
            Schedule(_rng.NextInt(1, _o.MaxDelayMs + 1), ev with { Token = ev.Token - 1 });
        }
    }

    /// <summary>
    /// Proposes a random membership change through <paramref name="leader"/> (with <paramref name="votersOnly"/>, one
    /// that changes the voters: a promotion or a removal, when there is one to make); returns whether it was taken.
    /// </summary>
    private bool ChangeMembership(SimNode leader, bool votersOnly = false)
    {
        var config = leader.Raft.Membership;
        // One kind of change in three each, then the node: removals do not crowd out additions and promotions.
        var outside = _nodes.Where(x => !config.Contains(x.Id)).Select(x => x.Id).ToArray();
        var removable = config.Voters.Count >= 3 ? [.. config.Voters, .. config.Learners] : config.Learners.ToArray();
        ulong[][] pools = [outside, [.. config.Learners], removable];
        MembershipChangeType[] types = [MembershipChangeType.AddLearner, MembershipChangeType.PromoteLearner, MembershipChangeType.RemoveNode];
        if (votersOnly && config.Voters.Count >= 3)
        {
            pools = [[], [.. config.Learners], [.. config.Voters]];
        }
        var kinds = Enumerable.Range(0, 3).Where(k => pools[k].Length > 0).ToArray();
        if (kinds.Length == 0)
        {
            return false;
        }
        var kind = kinds[_rng.NextInt(0, kinds.Length)];
        var change = new MembershipChange(types[kind], pools[kind][_rng.NextInt(0, pools[kind].Length)]);
        if (!ProposeChange(leader, change))
        {
            return false;
        }
        var target = _nodes[(int)change.NodeId - 1];
        if (change.Type == MembershipChangeType.AddLearner)
        {
            if (!target.Started)
            {
                // A new node joins: its host names the members it was told of, itself as a learner.
                target.Bootstrap = ([.. config.Voters], [.. config.Learners, target.Id]);
                Boot((int)target.Id - 1);
            }
            // The operator then waits for it to catch up and promotes it (token: attempts left).
            if (_rng.Chance(0.7))
            {
                Schedule(_rng.NextInt(20, 200), new SimEvent(EventKind.Promote, (int)target.Id - 1, 0, null, 5));
            }
        }
        return true;
    }

    private bool ProposeChange(SimNode leader, MembershipChange change)
    {
        var result = leader.Raft.ProposeMembershipChange(change);
        Log($"MEMBERSHIP n{leader.Id} {change}: {(result.Accepted ? $"at {result.Index}@t{result.Term}" : result.Refusal.ToString())}");
        if (result.Accepted)
        {
            _membershipChanges++;
            AfterInput(leader);
            if (!_healed && _rng.Chance(_o.ChangeNemesisRate))
            {
                // Strike the leader before its change spreads: the change stays on a minority, uncommitted.
                Schedule(_rng.NextInt(0, (2 * _o.MaxDelayMs) + 1), new SimEvent(EventKind.HuntLeader, (int)leader.Id - 1, leader.Incarnation, null, 0));
            }
        }
        return result.Accepted;
    }

    /// <summary>The operator's promotion of a learner it added, retried a few times while the leader refuses (not caught up yet, another change in flight).</summary>
    private void Promote(SimEvent ev)
    {
        var id = (ulong)ev.Node + 1;
        var leader = CurrentLeader();
        if (leader is null || leader.Paused || !leader.Raft.Membership.IsLearner(id) || !ProposeChange(leader, new MembershipChange(MembershipChangeType.PromoteLearner, id)))
        {
            if (ev.Token > 1)
            {
                Schedule(_rng.NextInt(20, 200), ev with { Token = ev.Token - 1 });
            }
        }
    }

    private void HuntLeader(SimEvent ev)
    {
        var node = _nodes[ev.Node];
        if (_healed || !node.Up || node.Incarnation != ev.Incarnation)
        {
            return;
        }
        if (ev.Token == IsolateOnly)
        {
            if (node.Raft.Role != NodeRole.Leader)
            {
                return;
            }
        }
        else if (_rng.Chance(0.5))
        {
            Crash(ev.Node);
            return;
        }
        for (var i = 0; i < _nodes.Length; i++)
        {
            _blocked[ev.Node, i] = _blocked[i, ev.Node] = i != ev.Node;
        }
        Log($"ISOLATE {(ev.Token == IsolateOnly ? "leader" : "new leader")} n{node.Id}");
        if (ev.Token == IsolateOnly)
        {
            CutClients([.. Enumerable.Range(0, _nodes.Length).Select(i => i == ev.Node)]);
        }
    }

    private void Heal()
    {
        _healed = true;
        Array.Clear(_blocked);
        Array.Clear(_clogged);
        HealClients();
        for (var i = 0; i < _nodes.Length; i++)
        {
            if (_nodes[i].Paused)
            {
                Resume(new SimEvent(EventKind.Resume, i, _nodes[i].Incarnation, null, 0));
            }
        }
        for (var i = 0; i < _nodes.Length; i++)
        {
            _nodes[i].SlowDisk = false;
            if (!_nodes[i].Up && _nodes[i].Started)
            {
                Boot(i);
            }
        }
        Log("HEAL: all partitions lifted, all nodes up, no drops");
    }

    private void CheckLiveness()
    {
        if (_livenessMet)
        {
            return;
        }
        // Nodes removed from the cluster may linger with stale views; what counts is the leader's configuration.
        var leader = CurrentLeader();
        if (leader is null)
        {
            return;
        }
        var members = _nodes.Where(n => leader.Raft.Membership.Contains(n.Id)).ToArray();
        if (!Array.TrueForAll(members, n => n.Up && n.Raft.Term == leader.Raft.Term && n.Raft.Leader == leader.Id))
        {
            return;
        }
        // A marker the leader already compacted was applied: whether it is the marker, the applied entry says.
        if (_marker is { } m && (m.Index + 1 >= leader.Raft.FirstIndex ? leader.Raft.TermAt(m.Index) : _safety.AppliedTermAt(m.Index)) != m.Term)
        {
            _marker = null; // the marker was lost with an old leader's uncommitted tail; write a new one
        }
        if (_marker is null)
        {
            var res = leader.Raft.Propose(new KvCommand(KvCommand.Marker, 0, 0, 0, _now).Encode());
            if (res.Accepted)
            {
                _marker = (res.Index, res.Term);
                Log($"liveness marker proposed at {res.Index}@t{res.Term} via n{leader.Id}");
                AfterInput(leader);
            }
            return;
        }
        if (Array.TrueForAll(members, n => n.LastApplied >= _marker.Value.Index))
        {
            Log($"LIVE: marker applied on all {members.Length} members ({leader.Raft.Membership})");
            _members = members;
            _livenessMet = true;
        }
    }
}
