using System.Buffers.Binary;
using Aurigraph.Consensus;

namespace Aurigraph.Node.Hosting;

/// <summary>How current a read must be.</summary>
internal enum ReadConsistency
{
    /// <summary>This node's applied state, whatever its lag (fast; may be stale on a lagging node).</summary>
    Local,

    /// <summary>Reflects every write acknowledged before the read began (ReadIndex, Raft §6.4), on any node.</summary>
    Linearizable,

    /// <summary>Linearizable from the leader's check-quorum lease, without a confirmation round (assumes clocks advance at about the same rate).</summary>
    Lease,
}

/// <summary>A read or an operator command could not be served; the text says why (the API maps it to UNAVAILABLE).</summary>
internal sealed class NodeUnavailableException(string message) : Exception(message);

/// <summary>
/// Reads and commands. Commands run on the consensus loop; reads are decided there and run on the applier (which owns
/// the ledger), behind every run of entries handed to it before, so a read sees the state after a whole block, never a
/// block half applied. Linearizable reads use ReadIndex: the leader confirms with a quorum that it still leads, takes
/// its commit index as the read index, and the read runs once this node has applied that far. A follower asks the leader for a read index over the peer
/// transport (channel 4, answered on channel 5) and then serves the read from its own state.
/// </summary>
internal sealed partial class ConsensusHost
{
    /// <summary>Application channel: a node asks the leader for a read index (u64 request id, u8 1 = lease allowed).</summary>
    public const byte ReadIndexRequestChannel = 4;

    /// <summary>Application channel: the leader's answer (u64 request id, u64 read index; index 0 = refused).</summary>
    public const byte ReadIndexResponseChannel = 5;

    // Read-index request ids: the high 24 bits are an incarnation of this data folder (NodeDatabase.NextIncarnation,
    // a new one at each start and whenever the 40-bit counter below runs out), so an answer still on its way to an
    // earlier run of this node can never match a request of this one.
    private const int ReadIdCounterBits = 40;
    private ulong _nextReadId;

    private void InitReadIds() => _nextReadId = _database.NextIncarnation() << ReadIdCounterBits;

    private ulong NextReadId()
    {
        if ((++_nextReadId & ((1UL << ReadIdCounterBits) - 1)) == 0)
        {
            _nextReadId = (_database.NextIncarnation() << ReadIdCounterBits) | 1;
        }
        return _nextReadId;
    }

    // Reads waiting for a read index, by the core's request id: either local (a waiter here) or a peer's request.
    private readonly Dictionary<ulong, PendingRead> _awaitingIndex = [];

    // Reads with a read index, waiting for this node to apply that far.
    private readonly List<(ulong Index, PendingRead Read)> _awaitingApply = [];

    private readonly List<(TaskCompletionSource<ulong> Done, ulong Target, long Started)> _transfers = [];

    /// <summary>Runs <paramref name="read"/> on the applier at the requested consistency.</summary>
    public Task<T> ReadAsync<T>(ReadConsistency consistency, Func<T> read)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = new PendingRead(() =>
        {
            try
            {
                completion.TrySetResult(read());
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                completion.TrySetException(ex);
            }
        }, reason => completion.TrySetException(new NodeUnavailableException(reason)), 0, 0);
        Post(() => StartRead(consistency, pending));
        return completion.Task;
    }

    /// <summary>
    /// Hands leadership to <paramref name="target"/> (0: the most caught-up other voter) and completes when this node
    /// has stepped down, or fails with the reason. The caller bounds the wait.
    /// </summary>
    public Task<ulong> TransferLeadershipAsync(ulong target)
    {
        var completion = new TaskCompletionSource<ulong>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            var chosen = target != 0 ? target : MostCaughtUpVoter();
            if (chosen == 0)
            {
                completion.TrySetException(new NodeUnavailableException("no other voter to hand leadership to"));
                return;
            }
            var result = _raft.TransferLeadership(chosen);
            if (result != TransferResult.Started)
            {
                completion.TrySetException(new NodeUnavailableException(result switch
                {
                    TransferResult.NotLeader => $"node {_options.NodeId} is not the leader (leader: {_raft.Leader})",
                    TransferResult.AlreadyLeader => $"node {chosen} already leads",
                    _ => $"node {chosen} is not a voter of this cluster",
                }));
                return;
            }
            HostLog.TransferStarted(_logger, _options.NodeId, chosen);
            _transfers.Add((completion, chosen, _time.GetTimestamp()));
        });
        return completion.Task;
    }

    private ulong MostCaughtUpVoter()
    {
        ulong best = 0;
        ulong bestMatch = 0;
        foreach (var voter in _raft.Voters)
        {
            if (voter != _options.NodeId && _raft.ProgressOf(voter) is { RecentActive: true } p && (best == 0 || p.Match > bestMatch))
            {
                best = voter;
                bestMatch = p.Match;
            }
        }
        return best;
    }

    /// <summary>Runs an action on the loop at its next round.</summary>
    private void Post(Action action) => _inputs.Command(action);

    private void StartRead(ReadConsistency consistency, PendingRead read)
    {
        if (consistency == ReadConsistency.Local)
        {
            Serve(read);
            return;
        }
        var id = NextReadId();
        var lease = consistency == ReadConsistency.Lease;
        if (_raft.Role == Consensus.NodeRole.Leader)
        {
            if (lease)
            {
                CatchUpTicks(); // the lease is judged in ticks: the core's count must be the clock's
            }
            var result = _raft.ReadIndex(id, lease);
            if (!result.Accepted)
            {
                read.Fail("this node stopped leading; retry");
                return;
            }
            _awaitingIndex[id] = read;
            return;
        }
        var leader = _raft.Leader;
        if (leader == 0)
        {
            read.Fail("no leader is known right now; retry shortly");
            return;
        }
        _awaitingIndex[id] = read;
        var request = new byte[9];
        BinaryPrimitives.WriteUInt64LittleEndian(request, id);
        request[8] = lease ? (byte)1 : (byte)0;
        _transport.SendApplication(leader, ReadIndexRequestChannel, request);
    }

    /// <summary>The leader got a read-index request from a peer: it confirms leadership like a local read and answers.</summary>
    private void HandleReadIndexRequest(ulong from, ReadOnlySpan<byte> payload)
    {
        if (payload.Length != 9)
        {
            return;
        }
        var remoteId = BinaryPrimitives.ReadUInt64LittleEndian(payload);
        var id = NextReadId();
        if (payload[8] == 1)
        {
            CatchUpTicks(); // the lease is judged in ticks: the core's count must be the clock's
        }
        if (_raft.Role != Consensus.NodeRole.Leader || !_raft.ReadIndex(id, lease: payload[8] == 1).Accepted)
        {
            AnswerReadIndex(from, remoteId, 0);
            return;
        }
        _awaitingIndex[id] = new PendingRead(null, null, from, remoteId);
    }

    private void AnswerReadIndex(ulong to, ulong remoteId, ulong index)
    {
        var answer = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(answer, remoteId);
        BinaryPrimitives.WriteUInt64LittleEndian(answer.AsSpan(8), index);
        _transport.SendApplication(to, ReadIndexResponseChannel, answer);
    }

    private void HandleReadIndexResponse(ReadOnlySpan<byte> payload)
    {
        if (payload.Length != 16)
        {
            return;
        }
        var id = BinaryPrimitives.ReadUInt64LittleEndian(payload);
        var index = BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]);
        if (!_awaitingIndex.Remove(id, out var read))
        {
            return;
        }
        if (index == 0)
        {
            read.Fail("the leader could not confirm a read index; retry");
            return;
        }
        _awaitingApply.Add((index, read));
        ServeAppliedReads(); // an idle follower may have been handed that index already
    }

    /// <summary>Read states from a Ready: a peer's read gets its answer; a local read waits for apply.</summary>
    private void OnReadStates(IReadOnlyList<ReadState> states)
    {
        foreach (var state in states)
        {
            if (!_awaitingIndex.Remove(state.RequestId, out var read))
            {
                continue;
            }
            if (read.RemoteNode != 0)
            {
                AnswerReadIndex(read.RemoteNode, read.RemoteId, state.Index);
            }
            else
            {
                _awaitingApply.Add((state.Index, read));
            }
        }
    }

    /// <summary>
    /// After a Ready: every read whose index the applier has been handed goes to it; it runs once the runs before it
    /// are applied (the core's applied index is what the loop handed over, the applier's may still be behind).
    /// </summary>
    private void ServeAppliedReads()
    {
        if (_awaitingApply.Count == 0)
        {
            return;
        }
        var handedOver = _raft.AppliedIndex;
        // In arrival order: reads of one caller keep their order.
        var kept = 0;
        for (var i = 0; i < _awaitingApply.Count; i++)
        {
            if (_awaitingApply[i].Index <= handedOver)
            {
                Serve(_awaitingApply[i].Read);
            }
            else
            {
                _awaitingApply[kept++] = _awaitingApply[i];
            }
        }
        _awaitingApply.RemoveRange(kept, _awaitingApply.Count - kept);
    }

    /// <summary>Runs a read on the applier, after everything handed to it so far.</summary>
    private void Serve(PendingRead read) => _applier.Run(read.Serve, read.Fail);

    /// <summary>On a change of role or leader: reads waiting for an index from the old leader cannot complete; tell them.</summary>
    private void FailReadsAwaitingIndex(string reason)
    {
        foreach (var read in _awaitingIndex.Values)
        {
            if (read.RemoteNode != 0)
            {
                AnswerReadIndex(read.RemoteNode, read.RemoteId, 0);
            }
            else
            {
                read.Fail(reason);
            }
        }
        _awaitingIndex.Clear();
    }

    /// <summary>
    /// After each round: a transfer completes when this node no longer leads (with the leader it knows, 0 while the
    /// election runs), and fails when the core abandoned it and this node still leads.
    /// </summary>
    private void CompleteTransfers()
    {
        if (_transfers.Count == 0 || (_raft.Role == Consensus.NodeRole.Leader && _raft.LeadTransferee != 0))
        {
            return;
        }
        var handedOver = _raft.Role != Consensus.NodeRole.Leader;
        foreach (var (done, target, started) in _transfers)
        {
            var elapsed = _time.GetElapsedTime(started).TotalMilliseconds;
            HostLog.TransferFinished(_logger, _options.NodeId, target, handedOver, elapsed);
            if (handedOver)
            {
                done.TrySetResult(target);
            }
            else
            {
                done.TrySetException(new NodeUnavailableException($"node {target} did not take over within an election timeout; node {_options.NodeId} leads on"));
            }
        }
        _transfers.Clear();
    }

    /// <summary>A read waiting on the loop: local (serve or fail it) or on behalf of a peer (answer it).</summary>
    private sealed record PendingRead(Action? ServeAction, Action<string>? FailAction, ulong RemoteNode, ulong RemoteId)
    {
        public void Serve() => ServeAction?.Invoke();

        public void Fail(string reason) => FailAction?.Invoke(reason);
    }
}
