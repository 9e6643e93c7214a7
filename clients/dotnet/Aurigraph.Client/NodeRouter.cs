using Aurigraph.Node.Api.V1;
using Grpc.Net.Client;

namespace Aurigraph.Client;

/// <summary>
/// The nodes of the list and which to ask next: the leader (once a status named it) for calls that prefer it, else the
/// node that answered last; a node that failed is tried only after the others until its backoff passes.
/// </summary>
internal sealed class NodeRouter : IDisposable
{
    /// <summary>The trailer in which a node that does not lead names the leader's gRPC API address.</summary>
    public const string LeaderTrailer = "leader-api";

    private readonly Lock _lock = new();
    private readonly TimeSpan _backoff;
    private readonly TimeProvider _time;
    private Endpoint? _leader;
    private ulong _leaderId;
    private Endpoint _current;

    public NodeRouter(IEnumerable<string> addresses, ClientTls tls, TimeSpan backoff, TimeProvider? time = null)
    {
        _backoff = backoff;
        _time = time ?? TimeProvider.System;
        var endpoints = new List<Endpoint>();
        try
        {
            foreach (var address in addresses.Distinct(StringComparer.OrdinalIgnoreCase))
            {
                endpoints.Add(new Endpoint(address, ClientChannels.Create(address, tls)));
            }
        }
        catch
        {
            endpoints.ForEach(e => e.Channel.Dispose());
            throw;
        }
        if (endpoints.Count == 0)
        {
            throw new ArgumentException("no node address given", nameof(addresses));
        }
        Endpoints = endpoints;
        _current = endpoints[0];
    }

    public IReadOnlyList<Endpoint> Endpoints { get; }

    /// <summary>The node of the list a status named the leader; null while none is known.</summary>
    public Endpoint? Leader
    {
        get
        {
            lock (_lock)
            {
                return _leader;
            }
        }
    }

    /// <summary>True while no leader of the list is known.</summary>
    public bool LeaderUnknown => Leader is null;

    /// <summary>True when some node has not failed within its backoff.</summary>
    public bool AnyLive
    {
        get
        {
            var now = _time.GetTimestamp();
            lock (_lock)
            {
                return Endpoints.Any(e => e.DownUntil <= now);
            }
        }
    }

    /// <summary>The node to ask next.</summary>
    public Endpoint Next(bool preferLeader)
    {
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (preferLeader && _leader is { } leader && leader.DownUntil <= now)
            {
                return leader;
            }
            if (_current.DownUntil <= now)
            {
                return _current;
            }
            // The first live one in list order; with none live, the one whose backoff ends first.
            return Endpoints.FirstOrDefault(e => e.DownUntil <= now) ?? Endpoints.MinBy(e => e.DownUntil)!;
        }
    }

    /// <summary><paramref name="endpoint"/> answered: it is the one to ask again.</summary>
    public void Answered(Endpoint endpoint)
    {
        lock (_lock)
        {
            endpoint.DownUntil = 0;
            _current = endpoint;
        }
    }

    /// <summary><paramref name="endpoint"/> did not answer: it goes to the back until its backoff passes.</summary>
    public void Failed(Endpoint endpoint)
    {
        lock (_lock)
        {
            endpoint.DownUntil = _time.GetTimestamp() + (long)(_backoff.TotalSeconds * _time.TimestampFrequency);
            if (_leader == endpoint)
            {
                _leader = null;
            }
        }
    }

    /// <summary>What a node's status tells: its own id, and the leader's.</summary>
    public void Learn(Endpoint endpoint, NodeStatus status)
    {
        lock (_lock)
        {
            endpoint.Id = status.Id;
            _leaderId = status.Leader;
            _leader = status.Leader == 0 ? null : Endpoints.FirstOrDefault(e => e.Id == status.Leader);
        }
    }

    /// <summary>The leader's id is known but not which address of the list is it.</summary>
    public bool LeaderAddressUnknown
    {
        get
        {
            lock (_lock)
            {
                return _leaderId != 0 && _leader is null;
            }
        }
    }

    /// <summary>The nodes whose id no status has told yet.</summary>
    public List<Endpoint> Unidentified()
    {
        lock (_lock)
        {
            return [.. Endpoints.Where(e => e.Id == 0)];
        }
    }

    /// <summary>A node named the leader's address (<see cref="LeaderTrailer"/>): prefer it, if it is in the list.</summary>
    public bool PreferAddress(string address)
    {
        lock (_lock)
        {
            var match = Endpoints.FirstOrDefault(e => string.Equals(e.Address.TrimEnd('/'), address.TrimEnd('/'), StringComparison.OrdinalIgnoreCase));
            if (match is not null)
            {
                match.DownUntil = 0;
                _leader = match;
            }
            return match is not null;
        }
    }

    public void Dispose()
    {
        foreach (var endpoint in Endpoints)
        {
            endpoint.Channel.Dispose();
        }
    }

    /// <summary>One node of the list.</summary>
    internal sealed class Endpoint(string address, GrpcChannel channel)
    {
        public string Address { get; } = address;

        public GrpcChannel Channel { get; } = channel;

        public TransactionService.TransactionServiceClient Transactions { get; } = new(channel);

        public NodeService.NodeServiceClient Node { get; } = new(channel);

        public BlockService.BlockServiceClient Blocks { get; } = new(channel);

        /// <summary>The node's id, once its status told it (0 until then).</summary>
        public ulong Id { get; set; }

        /// <summary>Until when (a <see cref="TimeProvider"/> timestamp) it is tried only after the others.</summary>
        public long DownUntil { get; set; }

        public override string ToString() => Address;
    }
}
