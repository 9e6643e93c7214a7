using Aurigraph.Consensus;

namespace Aurigraph.Node.Hosting;

internal static partial class HostLog
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "node {NodeId}: ledger recovered at height {Height}, applied index {Applied}")]
    public static partial void LedgerRecovered(ILogger logger, ulong nodeId, ulong height, ulong applied);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "node {NodeId}: ledger initialised from genesis ({Accounts} accounts)")]
    public static partial void LedgerInitialised(ILogger logger, ulong nodeId, long accounts);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "node {NodeId} ({Role}) started: peers on {PeerAddress}, API on {ApiAddress}")]
    public static partial void Started(ILogger logger, ulong nodeId, NodeRole role, string peerAddress, string apiAddress);

    [LoggerMessage(EventId = 104, Level = LogLevel.Critical, Message = "consensus loop failed; the node stops serving")]
    public static partial void LoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "ignoring application frame on unknown channel {Channel} from {Peer}")]
    public static partial void UnknownChannel(ILogger logger, byte channel, ulong peer);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "malformed forwarded batch from {Peer}: {Reason}")]
    public static partial void MalformedForward(ILogger logger, ulong peer, string reason);

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "node {NodeId}: {From} -> {To} in term {Term}, leader {Leader}")]
    public static partial void RoleChanged(ILogger logger, ulong nodeId, Consensus.NodeRole from, Consensus.NodeRole to, ulong term, ulong leader);

    [LoggerMessage(EventId = 108, Level = LogLevel.Information, Message = "node {NodeId}: handing leadership to node {Target}")]
    public static partial void TransferStarted(ILogger logger, ulong nodeId, ulong target);

    [LoggerMessage(EventId = 109, Level = LogLevel.Information, Message = "node {NodeId}: leadership transfer to node {Target} {Outcome} after {Milliseconds:F1} ms")]
    private static partial void TransferFinished(ILogger logger, ulong nodeId, ulong target, string outcome, double milliseconds);

    public static void TransferFinished(ILogger logger, ulong nodeId, ulong target, bool handedOver, double milliseconds) =>
        TransferFinished(logger, nodeId, target, handedOver ? "completed" : "abandoned", milliseconds);

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "node {NodeId}: stopping; leadership handed to node {Target}")]
    public static partial void HandedOverAtStop(ILogger logger, ulong nodeId, ulong target);

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "node {NodeId}: stopping without handing leadership over: {Reason}")]
    public static partial void HandOverAtStopFailed(ILogger logger, ulong nodeId, string reason);

    [LoggerMessage(EventId = 112, Level = LogLevel.Information, Message = "node {NodeId}: snapshot at index {Index} (height {Height}): {Bytes} bytes, {Records} records, written in {Milliseconds:F0} ms; log compacted up to {CompactedTo}")]
    public static partial void SnapshotWritten(ILogger logger, ulong nodeId, ulong index, ulong height, long bytes, long records, double milliseconds, ulong compactedTo);

    [LoggerMessage(EventId = 113, Level = LogLevel.Error, Message = "node {NodeId}: writing the snapshot at index {Index} failed: {Reason}")]
    public static partial void SnapshotFailed(ILogger logger, ulong nodeId, ulong index, string reason);

    [LoggerMessage(EventId = 114, Level = LogLevel.Information, Message = "node {NodeId}: installed snapshot {Index} (term {Term}, height {Height}, {Bytes} bytes) from node {From} in {Milliseconds:F0} ms")]
    public static partial void SnapshotInstalled(ILogger logger, ulong nodeId, ulong index, ulong term, ulong height, long bytes, ulong from, double milliseconds);

    [LoggerMessage(EventId = 115, Level = LogLevel.Information, Message = "node {NodeId}: membership now {Membership}")]
    public static partial void MembershipChanged(ILogger logger, ulong nodeId, Aurigraph.Consensus.MembershipConfig membership);

    [LoggerMessage(EventId = 116, Level = LogLevel.Information, Message = "node {NodeId}: proposed membership change {Change} of node {Target} at index {Index}")]
    public static partial void MembershipProposed(ILogger logger, ulong nodeId, Aurigraph.Consensus.MembershipChangeType change, ulong target, ulong index);

    [LoggerMessage(EventId = 130, Level = LogLevel.Warning, Message = "refused {Count} forwarded transactions from node {Peer}, first: {Reason}")]
    public static partial void ForwardRefused(ILogger logger, ulong peer, int count, string reason);

    [LoggerMessage(EventId = 131, Level = LogLevel.Information, Message = "block of {Count} transactions not proposed now ({Refusal}); they wait at the head of the mempool")]
    public static partial void ProposalDeferred(ILogger logger, int count, Aurigraph.Consensus.RefusalReason refusal);

    [LoggerMessage(EventId = 132, Level = LogLevel.Critical, Message = "node {NodeId}: INTEGRITY ALARM: {Reason}")]
    public static partial void IntegrityAlarm(ILogger logger, ulong nodeId, string reason);

    [LoggerMessage(EventId = 133, Level = LogLevel.Warning, Message = "node {NodeId} ({From}): WAN EMULATION ON: frames to node {Peer} ({To}) are delayed by a {RttMs} ms round trip, ±{JitterMs} ms jitter, {LossPercent} % loss (Aurigraph:Transport:Wan; for tests and benchmarks on one machine)")]
    public static partial void WanEmulated(ILogger logger, ulong nodeId, string from, ulong peer, string to, double rttMs, double jitterMs, double lossPercent);

    [LoggerMessage(EventId = 134, Level = LogLevel.Information, Message = "node {NodeId}: carbon-aware placement hands leadership to node {Target} ({TargetLocation}, {TargetGrams:F1} gCO2e/kWh, commit round trip {TargetRttMs:F1} ms) from this node ({SelfLocation}, {SelfGrams:F1} gCO2e/kWh, {SelfRttMs:F1} ms): {Result}")]
    public static partial void PlacementTransfer(ILogger logger, ulong nodeId, ulong target, string targetLocation, double targetGrams, double targetRttMs, string selfLocation, double selfGrams, double selfRttMs, Consensus.TransferResult result);

    [LoggerMessage(EventId = 135, Level = LogLevel.Warning, Message = "node {NodeId}: the measured round trip to node {Peer} is {RttMs:F1} ms, too long for a {HeartbeatMs} ms heartbeat and a {ElectionMs} ms election timeout (heartbeat at least half a round trip, election at least ten): set TickMilliseconds {Tick}, HeartbeatTicks {HeartbeatTicks}, ElectionTicks {ElectionTicks} on every node")]
    public static partial void TimeoutsUnderRoundTrip(ILogger logger, ulong nodeId, ulong peer, double rttMs, int heartbeatMs, int electionMs, int tick, int heartbeatTicks, int electionTicks);

    [LoggerMessage(EventId = 136, Level = LogLevel.Information, Message = "node {NodeId}: address book: node {Member} ({Role}) at {PeerAddress}, API {ApiAddress} (from {Source} {At})")]
    public static partial void MemberLearned(ILogger logger, ulong nodeId, ulong member, NodeRole role, string peerAddress, string apiAddress, string source, ulong at);

    [LoggerMessage(EventId = 137, Level = LogLevel.Warning, Message = "node {NodeId}: address book: {Reason}")]
    public static partial void AddressBookProblem(ILogger logger, ulong nodeId, string reason);

    [LoggerMessage(EventId = 138, Level = LogLevel.Information, Message = "node {NodeId}: peer lanes {Change} node {Member} at {PeerAddress} ({Reason})")]
    public static partial void PeerLanes(ILogger logger, ulong nodeId, string change, ulong member, string peerAddress, string reason);
}
