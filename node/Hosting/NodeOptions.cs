using System.Net;
using System.Text.Json.Serialization;

namespace Aurigraph.Node.Hosting;

/// <summary>What a node is: validator (votes), business (learner with full state, serves the API) or slim (learner keeping headers and recent blocks).</summary>
public enum NodeRole
{
    Validator,
    Business,
    Slim,
}

/// <summary>How transactions' signatures are checked at admission.</summary>
public enum SignatureMode
{
    /// <summary>Ed25519 verification of every transaction at the node that receives it (the default).</summary>
    Ed25519,

    /// <summary>No verification: for trusted ingress, and for measuring the rest of the pipeline. Reports state it.</summary>
    None,
}

/// <summary>One member of the cluster as every node's configuration lists it.</summary>
public sealed class MemberOptions
{
    public ulong Id { get; set; }

    public NodeRole Role { get; set; } = NodeRole.Validator;

    /// <summary>host:port of the member's peer transport.</summary>
    public string PeerAddress { get; set; } = "";

    /// <summary>http://host:port of the member's gRPC API (HTTP/2; cleartext HTTP/2 needs a port of its own).</summary>
    public string ApiAddress { get; set; } = "";

    /// <summary>http://host:port of the member's REST API (HTTP/1.1: /api/v11/..., /healthz, /readyz, /metrics).</summary>
    public string RestAddress { get; set; } = "";

    /// <summary>
    /// In the address book but not in the cluster's starting membership: it takes part only once an operator adds it
    /// (admin membership change). The joining node itself starts as a learner of the cluster it joins and learns the
    /// real membership from the log or a snapshot.
    /// </summary>
    public bool Joining { get; set; }

    /// <summary>The member's cloud provider (aws, azure, gcp, ...); with <see cref="Region"/>, its location for WAN emulation.</summary>
    public string Cloud { get; set; } = "";

    /// <summary>The member's region in its cloud (us-east-1, eastus, us-central1, ...).</summary>
    public string Region { get; set; } = "";

    /// <summary>The member's zone in its region (optional: members of one zone are closer than two zones apart).</summary>
    public string Zone { get; set; } = "";
}

/// <summary>Peer transport settings ("Aurigraph:Transport").</summary>
public sealed class PeerTransportSettings
{
    /// <summary>
    /// Plaintext, unauthenticated peer connections instead of mutual TLS: any process that reaches a peer port could pose
    /// as a member. Refused unless every member's peer address is a loopback address; logged as critical at start.
    /// </summary>
    public bool Insecure { get; set; }

    /// <summary>WAN emulation on loopback (off by default): see <see cref="WanSettings"/>.</summary>
    public WanSettings Wan { get; set; } = new();
}

/// <summary>
/// The node's TLS material ("Aurigraph:Tls"), PEM files: the cluster CA (the only trust anchor for peers and client
/// certificates) and this node's certificate and key, which must name the node (SAN URI
/// <c>urn:aurigraph:&lt;chainId&gt;:node:&lt;id&gt;</c>). Re-read when a file changes (rotation without restart).
/// </summary>
public sealed class TlsSettings
{
    public string CaFile { get; set; } = "";

    public string CertificateFile { get; set; } = "";

    public string KeyFile { get; set; } = "";

    /// <summary>How often, at most, new connections look at the files' write times to pick up rotated certificates.</summary>
    public int ReloadCheckMilliseconds { get; set; } = 1_000;
}

/// <summary>
/// Client API settings ("Aurigraph:Api"). The API runs HTTPS when the member's ApiAddress and RestAddress are https
/// URLs; then one port may serve both gRPC (HTTP/2) and REST (HTTP/1.1), negotiated by ALPN.
/// </summary>
public sealed class ApiSettings
{
    /// <summary>Certificate for the HTTPS API (PEM); the node's peer certificate (Aurigraph:Tls) when empty.</summary>
    public string CertificateFile { get; set; } = "";

    public string KeyFile { get; set; } = "";

    /// <summary>Admin calls also need a client certificate issued by the cluster CA (besides the admin token). Needs an HTTPS API.</summary>
    public bool RequireAdminClientCertificate { get; set; }
}

/// <summary>
/// The node's configuration, bound from the "Aurigraph" section: appsettings.json, environment variables
/// (AURIGRAPH__NODEID, AURIGRAPH__MEMBERS__0__ID, ...) and the command line. Validated at start-up; an error names the setting.
/// </summary>
public sealed partial class NodeOptions
{
    public const string Section = "Aurigraph";

    public ulong NodeId { get; set; }

    public string ChainId { get; set; } = "aurigraph-devnet";

    public string DataDir { get; set; } = "data";

    /// <summary>Path of the genesis file; relative paths are resolved against the working directory.</summary>
    public string GenesisFile { get; set; } = "genesis.json";

    public List<MemberOptions> Members { get; set; } = [];

    /// <summary>
    /// Consensus tick length. The defaults are etcd's: a heartbeat every tick (100 ms), elections after 10–20 ticks
    /// (1–2 s) of silence. Every tick wakes the loop and every heartbeat costs each peer a round trip, so shorter ticks
    /// cost idle CPU on every node (50 ms ticks took an idle leader to 1.8 % of a core).
    /// </summary>
    public int TickMilliseconds { get; set; } = 100;

    public int ElectionTicks { get; set; } = 10;

    public int HeartbeatTicks { get; set; } = 1;

    /// <summary>Ceiling of the dynamic block target (transactions per block).</summary>
    public int MaxBlockTransactions { get; set; } = 100_000;

    /// <summary>Floor of the dynamic block target: where it starts and where it returns when the load goes away.</summary>
    public int MinBlockTransactions { get; set; } = 1_000;

    /// <summary>Propose→commit latency above which a block target with no backlog shrinks.</summary>
    public int BlockLatencyGoalMilliseconds { get; set; } = 50;

    public int MaxTransactionBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Bytes of one block (one raft entry); the peer frame limit, forwarded chunks and snapshot chunks derive from it
    /// (<see cref="PipelineLimits"/>). The same on every member.
    /// </summary>
    public int MaxBlockBytes { get; set; } = PipelineLimits.DefaultMaxBlockBytes;

    /// <summary>Transactions waiting for a block on the leader; beyond it submissions get RESOURCE_EXHAUSTED.</summary>
    public int MempoolCapacity { get; set; } = 200_000;

    public SignatureMode SignatureMode { get; set; } = SignatureMode.Ed25519;

    /// <summary>
    /// The leader proposes only transactions whose signatures it verified itself (it checks forwarded ones again, and
    /// its own admission checks signatures even in signature mode none), so a committed block is never a poison pill;
    /// and every node verifies the signatures of each committed block again before applying it. A committed block that
    /// fails there (proposed by a leader that is not paranoid) is applied like on every other node — stopping would
    /// stop again at every restart, on every paranoid node — and raised as an integrity alarm: an error in the log,
    /// <c>aurigraph_paranoid_failures_total</c> on /metrics and <c>integrityAlarm</c> in the status. Off by default: in
    /// the crash-fault model the admitting node's check is enough.
    /// </summary>
    public bool Paranoid { get; set; }

    /// <summary>
    /// Whether the node accounts its CPU per pipeline stage (<c>aurigraph_stage_cpu_seconds_total{stage}</c> on
    /// /metrics). On by default: it reads the thread CPU clock at stage boundaries, a few per round and per call, never
    /// per transaction.
    /// </summary>
    public bool StageAccounting { get; set; } = true;

    /// <summary>
    /// How long one consensus-loop round may run Readies before it looks at its inbox again (derived: one tick), so
    /// ticks and heartbeats wait behind apply and persist for at most about this long plus one Ready.
    /// </summary>
    public int RoundBudgetMilliseconds => TickMilliseconds;

    /// <summary>
    /// Bytes of committed entries one Ready hands to apply (derived: 4 MiB, about 20,000 transfers — tens of
    /// milliseconds of apply; a single larger block still comes whole).
    /// </summary>
    public long CommittedBytesPerReady => 4L * 1024 * 1024;

    /// <summary>
    /// Transactions clients have handed this node that it has not yet placed in its mempool or answered (in admission,
    /// or waiting for the consensus loop): beyond it a call is refused whole with RESOURCE_EXHAUSTED and a retry hint.
    /// </summary>
    public int IngressTransactions { get; set; } = 65_536;

    /// <summary>
    /// Whether the leader verifies forwarded transactions' signatures again: in paranoid mode, and when the peer
    /// transport is plaintext (a forwarder is then not proven to be a member) in signature mode ed25519 (in mode none
    /// no signature is checked anywhere, by choice). With mTLS a forwarder is an authenticated member and its check is
    /// trusted (crash-fault model).
    /// </summary>
    [JsonIgnore]
    public bool VerifiesForwardedSignatures => Paranoid || (Transport.Insecure && SignatureMode == SignatureMode.Ed25519);

    /// <summary>Whether admission checks signatures: in signature mode ed25519, and always in paranoid mode.</summary>
    [JsonIgnore]
    public bool AdmissionChecksSignatures => SignatureMode == SignatureMode.Ed25519 || Paranoid;

    /// <summary>
    /// Bearer token the admin API requires (header <c>authorization: Bearer &lt;token&gt;</c>). Empty: the admin API
    /// refuses every call. Set it from the environment (AURIGRAPH__ADMINTOKEN) or a secret store, not a checked-in file.
    /// </summary>
    public string AdminToken { get; set; } = "";

    /// <summary>Admission shards keyed by sender (1–256); 0 means one per processor.</summary>
    public int ValidationShards { get; set; }

    /// <summary>Recent transaction ids each node remembers at admission to recognise resubmissions without a disk read.</summary>
    public int RecentTransactionWindow { get; set; } = 65_536;

    /// <summary>Blocks with at least this many transactions are applied in parallel groups of independent transactions; 0 turns it off.</summary>
    public int ParallelApplyThreshold { get; set; } = 256;

    /// <summary>How long a submission waits for its commit before answering DEADLINE_EXCEEDED (outcome unknown).</summary>
    public int CommitTimeoutMilliseconds { get; set; } = 10_000;

    /// <summary>
    /// A state snapshot is written once this many log entries were applied since the last one (0 = never); the log is
    /// then compacted up to the snapshot minus <see cref="CompactionTrailingEntries"/>.
    /// </summary>
    public int SnapshotEntries { get; set; } = 10_000;

    /// <summary>Entries kept in the log behind the latest snapshot, so a follower only a little behind still catches up by entries.</summary>
    public int CompactionTrailingEntries { get; set; } = 1_000;

    /// <summary>Slim nodes keep full bodies of only this many most recent blocks (headers of all).</summary>
    public int SlimRetainedBlocks { get; set; } = 1_000;

    public PeerTransportSettings Transport { get; set; } = new();

    public TlsSettings Tls { get; set; } = new();

    public ApiSettings Api { get; set; } = new();

    /// <summary>Carbon-aware leader placement (off by default).</summary>
    public LeaderPlacementSettings LeaderPlacement { get; set; } = new();

    /// <summary>The HTTPS API's certificate and key: <see cref="ApiSettings"/>'s when set, else the node's peer certificate.</summary>
    [JsonIgnore]
    public (string Certificate, string Key) ApiCertificate =>
        string.IsNullOrEmpty(Api.CertificateFile) ? (Tls.CertificateFile, Tls.KeyFile) : (Api.CertificateFile, Api.KeyFile);

    /// <summary>The member's API runs HTTPS (its ApiAddress is an https URL).</summary>
    [JsonIgnore]
    public bool ApiTls => Uri.TryCreate(Self.ApiAddress, UriKind.Absolute, out var api) && api.Scheme == Uri.UriSchemeHttps;

    /// <summary>
    /// This node's entry of <see cref="Members"/>. Not written to configuration files: the configuration binder binds
    /// into the object a getter returns, so a "Self" section would overwrite this member's settings (a location given
    /// by environment for Members:N would be reset by the file's copy).
    /// </summary>
    [JsonIgnore]
    public MemberOptions Self => Members.First(m => m.Id == NodeId);

    [JsonIgnore]
    public NodeRole Role => Self.Role;

    /// <summary>Every problem with the configuration, each naming its setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (NodeId == 0)
        {
            errors.Add($"{Section}:NodeId must be set to a non-zero member id");
        }
        if (string.IsNullOrWhiteSpace(ChainId))
        {
            errors.Add($"{Section}:ChainId must not be empty");
        }
        if (string.IsNullOrWhiteSpace(DataDir))
        {
            errors.Add($"{Section}:DataDir must not be empty");
        }
        if (Members.Count == 0)
        {
            errors.Add($"{Section}:Members must list the cluster's members");
        }
        else if (Members.Count - 1 > Aurigraph.Node.Transport.TransportOptions.DefaultMaxPeers)
        {
            errors.Add($"{Section}:Members lists {Members.Count} members; a node keeps lanes to at most {Aurigraph.Node.Transport.TransportOptions.DefaultMaxPeers} peers");
        }
        var ids = new HashSet<ulong>();
        for (var i = 0; i < Members.Count; i++)
        {
            var m = Members[i];
            var name = $"{Section}:Members:{i}";
            if (m.Id != 0 && !ids.Add(m.Id))
            {
                errors.Add($"{name}:Id must be a unique non-zero id (got {m.Id})");
            }
            errors.AddRange(MemberRecordCodec.Problems(m, name));
        }
        ValidateSecurity(errors);
        if (NodeId != 0 && Members.Count > 0 && !Members.Any(m => m.Id == NodeId))
        {
            errors.Add($"{Section}:NodeId {NodeId} is not one of {Section}:Members");
        }
        if (Members.Count > 0 && !Members.Any(m => m.Role == NodeRole.Validator) && !Joins)
        {
            errors.Add($"{Section}:Members must include at least one validator (or {Section}:Join:Seeds name members to join through)");
        }
        ValidateJoin(errors);
        if (TickMilliseconds <= 0)
        {
            errors.Add($"{Section}:TickMilliseconds must be positive");
        }
        if (HeartbeatTicks <= 0 || ElectionTicks <= HeartbeatTicks)
        {
            errors.Add($"{Section}:ElectionTicks must be greater than {Section}:HeartbeatTicks (both positive)");
        }
        else if (ElectionTicks - Consensus.RaftConfig.DefaultLeaseMarginTicks(ElectionTicks) <= HeartbeatTicks)
        {
            // A lease lasts ElectionTicks - margin ticks from the round a quorum answered; heartbeats further apart
            // than that leave it expired between rounds, so lease reads would always take the confirmation round.
            errors.Add($"{Section}:ElectionTicks ({ElectionTicks}) less its lease margin ({Consensus.RaftConfig.DefaultLeaseMarginTicks(ElectionTicks)}) must be greater than {Section}:HeartbeatTicks ({HeartbeatTicks}), or the leader's lease expires between heartbeats");
        }
        if (MinBlockTransactions <= 0 || MaxBlockTransactions < MinBlockTransactions)
        {
            errors.Add($"{Section}:MinBlockTransactions must be positive and at most {Section}:MaxBlockTransactions");
        }
        if (BlockLatencyGoalMilliseconds <= 0)
        {
            errors.Add($"{Section}:BlockLatencyGoalMilliseconds must be positive");
        }
        if (MaxTransactionBytes <= 0)
        {
            errors.Add($"{Section}:MaxTransactionBytes must be positive");
        }
        if (MempoolCapacity <= 0)
        {
            errors.Add($"{Section}:MempoolCapacity must be positive");
        }
        if (MempoolMaxBytes < MaxTransactionBytes)
        {
            errors.Add($"{Section}:MempoolMaxBytes must be at least {Section}:MaxTransactionBytes");
        }
        if (IngressTransactions <= 0)
        {
            errors.Add($"{Section}:IngressTransactions must be positive");
        }
        if (ValidationShards is < 0 or > Transactions.AdmissionShards.MaxShards)
        {
            errors.Add($"{Section}:ValidationShards must be between 0 (one per processor) and {Transactions.AdmissionShards.MaxShards}");
        }
        if (RecentTransactionWindow < Transactions.AdmissionShards.MaxShards)
        {
            errors.Add($"{Section}:RecentTransactionWindow must be at least {Transactions.AdmissionShards.MaxShards}");
        }
        if (LogCacheBytes < 0)
        {
            errors.Add($"{Section}:LogCacheBytes must not be negative");
        }
        if (ParallelApplyThreshold < 0)
        {
            errors.Add($"{Section}:ParallelApplyThreshold must be 0 (off) or positive");
        }
        if (SnapshotEntries < 0 || CompactionTrailingEntries < 0)
        {
            errors.Add($"{Section}:SnapshotEntries and {Section}:CompactionTrailingEntries must not be negative");
        }
        if (SlimRetainedBlocks <= 0)
        {
            errors.Add($"{Section}:SlimRetainedBlocks must be positive");
        }
        errors.AddRange(Memory.Validate(ExplicitMemorySettings));
        errors.AddRange(PipelineLimits.Validate(this));
        if (TickMilliseconds > 0 && HeartbeatTicks > 0 && ElectionTicks > 0)
        {
            errors.AddRange(WanTopology.Validate(Section, Members, Transport.Wan, TickMilliseconds, HeartbeatTicks, ElectionTicks));
        }
        errors.AddRange(LeaderPlacement.Validate(Section));
        return errors;
    }

    private void ValidateSecurity(List<string> errors)
    {
        if (Transport.Insecure)
        {
            for (var i = 0; i < Members.Count; i++)
            {
                if (IPEndPoint.TryParse(Members[i].PeerAddress, out var ep) && !IPAddress.IsLoopback(ep.Address))
                {
                    errors.Add($"{Section}:Transport:Insecure=true is refused: {Section}:Members:{i}:PeerAddress {Members[i].PeerAddress} is not a loopback address (plaintext peer connections are allowed on loopback only; configure {Section}:Tls instead)");
                }
            }
        }
        else
        {
            RequireFile(errors, Tls.CaFile, $"{Section}:Tls:CaFile", "the cluster CA certificate");
            RequireFile(errors, Tls.CertificateFile, $"{Section}:Tls:CertificateFile", "this node's certificate");
            RequireFile(errors, Tls.KeyFile, $"{Section}:Tls:KeyFile", "this node's private key");
        }
        if (Tls.ReloadCheckMilliseconds < 0)
        {
            errors.Add($"{Section}:Tls:ReloadCheckMilliseconds must not be negative");
        }
        if (NodeId == 0 || !Members.Any(m => m.Id == NodeId))
        {
            return;
        }
        if (ApiTls)
        {
            var (certificate, key) = ApiCertificate;
            RequireFile(errors, certificate, string.IsNullOrEmpty(Api.CertificateFile) ? $"{Section}:Tls:CertificateFile" : $"{Section}:Api:CertificateFile", "the HTTPS API's certificate");
            RequireFile(errors, key, string.IsNullOrEmpty(Api.CertificateFile) ? $"{Section}:Tls:KeyFile" : $"{Section}:Api:KeyFile", "the HTTPS API's private key");
            if (Transport.Insecure)
            {
                RequireFile(errors, Tls.CaFile, $"{Section}:Tls:CaFile", "the cluster CA certificate");
            }
        }
        if (Api.RequireAdminClientCertificate)
        {
            if (!ApiTls)
            {
                errors.Add($"{Section}:Api:RequireAdminClientCertificate needs an HTTPS API (https ApiAddress and RestAddress for node {NodeId})");
            }
            RequireFile(errors, Tls.CaFile, $"{Section}:Tls:CaFile", "the cluster CA that issues admin client certificates");
        }
    }

    private static void RequireFile(List<string> errors, string path, string setting, string what)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            errors.Add($"{setting} must name {what} (a PEM file; the 'certs' command creates development certificates). The peer transport runs mutual TLS unless {Section}:Transport:Insecure=true, which is allowed on loopback only");
        }
    }
}
