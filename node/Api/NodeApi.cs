using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Google.Protobuf;
using Aurigraph.Node.Transactions;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary>The node's status: role, term, leader, heights, state root and peers' replication progress.</summary>
internal sealed class NodeApi(NodeRuntime node) : NodeService.NodeServiceBase
{
    public override Task<NodeStatus> GetStatus(GetStatusRequest request, ServerCallContext context)
    {
        var s = node.Snapshot;
        var options = node.Options;
        var status = new NodeStatus
        {
            Id = options.NodeId,
            Role = options.Role.ToString().ToLowerInvariant(),
            RaftState = s.RaftRole.ToString(),
            Term = s.Term,
            Leader = s.Leader,
            CommitIndex = s.CommitIndex,
            AppliedIndex = s.AppliedIndex,
            Height = s.Height,
            StateRoot = ByteString.CopyFrom(s.StateRoot),
            ChainId = options.ChainId,
            LogFirstIndex = s.LogFirstIndex,
            SnapshotIndex = s.SnapshotIndex,
            IntegrityAlarm = s.IntegrityAlarm ?? "",
        };
        foreach (var (id, match, active) in s.Peers)
        {
            var role = node.Book.Find(id)?.Role.ToString().ToLowerInvariant() ?? "unknown";
            status.Peers.Add(new PeerStatus { Id = id, Role = role, MatchIndex = match, RecentActive = active });
        }
        return Task.FromResult(status);
    }

    public override async Task<Account> GetAccount(GetAccountRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = ParseHex(request.Account, TransactionVerifier.PublicKeySize, $"account must be a 32-byte public key in hex (64 characters), got '{request.Account}'");
        var (balance, nonce, height) = await Read(request.Consistency, ledger =>
        {
            var (b, n) = ledger.Account(key);
            return (b, n, ledger.Height);
        }, context).ConfigureAwait(false);
        return new Account { Id = Convert.ToHexStringLower(key), Balance = balance, Nonce = nonce, Height = height };
    }

    public override async Task<Value> GetValue(GetValueRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var owner = ParseHex(request.Owner, TransactionVerifier.PublicKeySize, $"owner must be the putting account's 32-byte public key in hex (64 characters), got '{request.Owner}'");
        var key = ParseHex(request.KeyHex, null, $"key_hex must be non-empty hex, got '{request.KeyHex}'");
        var (value, height) = await Read(request.Consistency, ledger => (ledger.Value(owner, key), ledger.Height), context).ConfigureAwait(false);
        return new Value
        {
            Owner = Convert.ToHexStringLower(owner),
            KeyHex = Convert.ToHexStringLower(key),
            Found = value is not null,
            Data = value is null ? ByteString.Empty : ByteString.CopyFrom(value),
            Height = height,
        };
    }

    /// <summary>Hex text to bytes, of an exact length when one is given; INVALID_ARGUMENT with <paramref name="error"/> otherwise.</summary>
    private static byte[] ParseHex(string text, int? length, string error)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            bytes = [];
        }
        if (bytes.Length == 0 || (length is { } n && bytes.Length != n))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        }
        return bytes;
    }

    /// <summary>A ledger read at the requested consistency, bounded by the commit timeout; UNAVAILABLE with the reason when it cannot be served.</summary>
    internal static async Task<T> Read<T>(NodeRuntime node, V1.ReadConsistency consistency, Func<Ledger.LedgerState, T> read, ServerCallContext context)
    {
        try
        {
            var level = Level(consistency);
            return await node.ReadAsync(level, read)
                .WaitAsync(TimeSpan.FromMilliseconds(node.Options.CommitTimeoutMilliseconds), context.CancellationToken)
                .ConfigureAwait(false);
        }
        catch (NodeUnavailableException ex)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, ex.Message));
        }
        catch (TimeoutException)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "the read could not be confirmed within the commit timeout"));
        }
    }

    /// <summary>The read level of a request's consistency field; INVALID_ARGUMENT naming the allowed values for any other number.</summary>
    internal static Hosting.ReadConsistency Level(V1.ReadConsistency consistency) => consistency switch
    {
        V1.ReadConsistency.Local => Hosting.ReadConsistency.Local,
        V1.ReadConsistency.Linearizable => Hosting.ReadConsistency.Linearizable,
        V1.ReadConsistency.Lease => Hosting.ReadConsistency.Lease,
        _ => throw new RpcException(new Status(StatusCode.InvalidArgument,
            ApiErrors.InvalidEnum("consistency", ReadConsistencyType, ((int)consistency).ToString(System.Globalization.CultureInfo.InvariantCulture)))),
    };

    private static readonly Google.Protobuf.Reflection.EnumDescriptor ReadConsistencyType =
        TransactionsReflection.Descriptor.EnumTypes.First(e => e.ClrType == typeof(V1.ReadConsistency));

    private Task<T> Read<T>(V1.ReadConsistency consistency, Func<Ledger.LedgerState, T> read, ServerCallContext context) => Read(node, consistency, read, context);
}
