using System.Globalization;
using Aurigraph.Consensus.Simulation.Linearizability;

namespace Aurigraph.Consensus.Simulation;

/// <summary>
/// The clients: each has one operation at a time, a put or a get (lease or quorum-confirmed), sent to the node it
/// believes leads, or for a read, in some runs, to any node that still claims to lead (a deposed leader that does
/// not know it yet included). Readers only read, each time from a node that claims to lead, give up on a read quickly,
/// and stop when the faults heal: they find the nodes that answer reads they should not. In some runs partitions cut clients
/// off from nodes too: a request to a node the client cannot reach fails at once, and an answer from one is lost (the
/// client's request times out, outcome unknown).
/// </summary>
public sealed partial class ClusterSimulation
{
    private sealed class SimClient(int id)
    {
        public int Id { get; } = id;
        public long Seq { get; set; }
        public int LeaderGuess { get; set; }
        public long Token { get; set; }
        public KvOperation? Pending { get; set; }
        public long PendingSinceMs { get; set; }
        public int PendingNode { get; set; }

        /// <summary>Only reads, from nodes that claim to lead.</summary>
        public bool IsReader { get; init; }

        /// <summary>The request of <see cref="Pending"/>, kept while it waits in a paused node's input.</summary>
        public ClientRequest? Request { get; set; }
    }

    /// <summary>What a client asks a node: a put (with its sequence number) or a read (with its read id).</summary>
    private sealed record ClientRequest(KvOpKind Kind, int Key, long Value, long Seq, ulong ReadId, bool Lease);

    // [client, node]: the client cannot reach the node.
    private bool[,] _clientCut = new bool[0, 0];

    private bool ClientCut(SimClient client, int node) => _clientCut[client.Id - 1, node];

    private void OnClientNext(SimClient client)
    {
        if (client.Pending is not null || (client.IsReader && _healed))
        {
            return; // readers hunt stale leaders while the faults last; the healed cluster is the other clients' to check
        }
        var isPut = !client.IsReader && _rng.Chance(0.6);
        var i = client.LeaderGuess;
        if (!isPut && (client.IsReader || _rng.Chance(_o.ClaimedLeaderReadRate)) && ClaimedLeader(client) is { } claimed)
        {
            i = claimed;
        }
        var node = _nodes[i];
        if (!node.Up || ClientCut(client, i))
        {
            client.LeaderGuess = _rng.NextInt(0, _nodes.Length);
            Schedule(_rng.NextInt(1, 20), new SimEvent(EventKind.ClientNext, 0, 0, null, client.Id));
            return;
        }
        var key = _rng.NextInt(0, _o.Keys);
        var token = ++client.Token;
        KvOperation op;
        ClientRequest request;
        if (isPut)
        {
            var seq = ++client.Seq;
            var value = (client.Id * 1_000_000_000L) + seq;
            op = new KvOperation(client.Id, KvOpKind.Put, key, value, ++_historyClock, long.MaxValue);
            request = new ClientRequest(KvOpKind.Put, key, value, seq, 0, false);
        }
        else
        {
            op = new KvOperation(client.Id, KvOpKind.Get, key, null, ++_historyClock, long.MaxValue);
            request = new ClientRequest(KvOpKind.Get, key, 0, 0, ++_nextReadId, _rng.Chance(client.IsReader ? 0.8 : 0.5));
        }
        if (node.Paused)
        {
            // The request waits in the paused process's input; it is taken (or refused) when the process resumes.
            Log($"call c{client.Id} {op.Kind} k{op.Key} via paused n{node.Id} (queued)");
            client.Request = request;
            StartPending(client, op, i, token);
            node.PauseBuffer.Add(new SimEvent(EventKind.ClientRequest, i, node.Incarnation, null, token, Client: client.Id));
            return;
        }
        var res = Submit(client, node, request, token);
        if (!res.Accepted)
        {
            // Refused: certainly not done, so it stays out of the history. Follow the hint.
            FollowHint(client, res);
            return;
        }
        Log($"call c{client.Id} {op.Kind} k{op.Key}{(op.Kind == KvOpKind.Put ? "=" + op.Value : "")} via n{node.Id}{(request.Lease ? " (lease)" : "")}");
        StartPending(client, op, i, token);
        AfterInput(node);
    }

    private void StartPending(SimClient client, KvOperation op, int node, long token)
    {
        client.Pending = op;
        client.PendingSinceMs = _now;
        client.PendingNode = node;
        // A reader gives up quickly (a timed-out read constrains nothing); it reads only while the faults last.
        var timeout = client.IsReader ? _o.ReaderTimeoutMs : _o.ClientTimeoutMs;
        Schedule(timeout, new SimEvent(EventKind.ClientTimeout, client.Id - 1, 0, null, token));
    }

    private void FollowHint(SimClient client, ProposeResult res)
    {
        client.LeaderGuess = res.LeaderHint != 0 ? (int)res.LeaderHint - 1 : _rng.NextInt(0, _nodes.Length);
        Schedule(_rng.NextInt(1, 20), new SimEvent(EventKind.ClientNext, 0, 0, null, client.Id));
    }

    private ProposeResult Submit(SimClient client, SimNode node, ClientRequest request, long token)
    {
        if (request.Kind == KvOpKind.Put)
        {
            var res = node.Raft.Propose(new KvCommand(KvCommand.Put, client.Id, request.Seq, request.Key, request.Value).Encode());
            if (res.Accepted)
            {
                node.PendingWrites[(client.Id, request.Seq)] = token;
            }
            return res;
        }
        var read = node.Raft.ReadIndex(request.ReadId, request.Lease);
        if (read.Accepted)
        {
            if (node.Raft.Term < _safety.HighestLeaderTerm)
            {
                _staleLeaderReads++; // taken by a leader that was deposed and does not know it yet
            }
            node.PendingReads[request.ReadId] = (client.Id, token, request.Key);
        }
        return read;
    }

    /// <summary>A request that waited in a paused node's input reaches the core. A put is taken even when the client gave up on it.</summary>
    private void OnQueuedClientRequest(SimEvent ev)
    {
        var node = _nodes[ev.Node];
        var client = _clients[ev.Client - 1];
        if (!node.Up || node.Incarnation != ev.Incarnation || client.Request is not { } request)
        {
            return;
        }
        var current = client.Token == ev.Token && client.Pending is not null;
        if (!current && request.Kind != KvOpKind.Put)
        {
            return;
        }
        var res = Submit(client, node, request, ev.Token);
        Log($"queued c{client.Id} {request.Kind} k{request.Key} at n{node.Id}: {(res.Accepted ? "taken" : res.Refusal.ToString())}");
        if (current)
        {
            client.Request = null;
            if (!res.Accepted)
            {
                client.Pending = null;
                client.Token++; // its timeout no longer applies
                FollowHint(client, res);
            }
        }
        AfterInput(node);
    }

    /// <summary>A random node the client can reach that claims to lead, in any term; null when there is none.</summary>
    private int? ClaimedLeader(SimClient client)
    {
        var count = 0;
        for (var i = 0; i < _nodes.Length; i++)
        {
            if (IsClaimedLeader(client, i))
            {
                count++;
            }
        }
        if (count == 0)
        {
            return null;
        }
        var pick = _rng.NextInt(0, count);
        for (var i = 0; i < _nodes.Length; i++)
        {
            if (IsClaimedLeader(client, i) && pick-- == 0)
            {
                return i;
            }
        }
        return null;
    }

    private bool IsClaimedLeader(SimClient client, int i) => _nodes[i].Up && _nodes[i].Raft.Role == NodeRole.Leader && !ClientCut(client, i);

    /// <summary>A partition's client side: each client is cut off from the nodes on the other side of <paramref name="side"/>.</summary>
    private void CutClients(bool[] side)
    {
        if (!_o.ClientPartitions)
        {
            return;
        }
        foreach (var client in _clients)
        {
            var clientSide = _rng.Chance(0.5);
            for (var i = 0; i < _nodes.Length; i++)
            {
                _clientCut[client.Id - 1, i] = side[i] != clientSide;
            }
        }
        Log($"clients cut off: {string.Join(' ', _clients.Select(c => $"c{c.Id}->{{{string.Join(',', Enumerable.Range(0, _nodes.Length).Where(i => ClientCut(c, i)).Select(i => i + 1))}}}"))}");
    }

    private void HealClients() => Array.Clear(_clientCut);

    private void OnClientTimeout(SimClient client, long token)
    {
        if (client.Token != token || client.Pending is not { } op)
        {
            return;
        }
        // Unknown outcome: a put may still take effect later; a read constrains nothing and is dropped.
        if (op.Kind == KvOpKind.Put)
        {
            _history.Add(op);
        }
        if (_liveAtMs is { } live && client.PendingSinceMs >= live)
        {
            throw new SimulationViolationException($"Liveness: client {client.Id}'s {op.Kind} timed out on a healed cluster");
        }
        Log($"timeout c{client.Id} {op.Kind} k{op.Key} (outcome unknown)");
        client.Pending = null;
        client.Token++;
        client.LeaderGuess = _rng.NextInt(0, _nodes.Length);
        Schedule(_rng.NextInt(1, 20), new SimEvent(EventKind.ClientNext, 0, 0, null, client.Id));
    }

    /// <summary>The node answers the client's operation; the answer is lost when the client cannot reach the node.</summary>
    private void Finish(SimClient client, SimNode node, KvOperation op)
    {
        if (ClientCut(client, (int)node.Id - 1))
        {
            Log($"lost answer n{node.Id} -> c{client.Id}");
            return;
        }
        if (_liveAtMs is { } live && client.PendingSinceMs >= live)
        {
            if (_now - client.PendingSinceMs > _o.EffectiveClientLatencyBoundMs)
            {
                throw new SimulationViolationException($"Liveness: client {client.Id}'s {op.Kind} took {_now - client.PendingSinceMs} ms on a healed cluster");
            }
        }
        _history.Add(op);
        client.Pending = null;
        client.Token++;
        Log($"ok   c{client.Id} {op.Kind} k{op.Key} {(op.Value?.ToString(CultureInfo.InvariantCulture) ?? "absent")}");
        Schedule(_rng.NextInt(0, 20), new SimEvent(EventKind.ClientNext, 0, 0, null, client.Id));
    }
}
