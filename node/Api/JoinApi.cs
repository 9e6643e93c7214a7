using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Security;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary>
/// A new node joins through any member: the join token authorises it, its certificate (on a cluster with mutual TLS
/// between peers) binds the id it asks for to the cluster CA, its record is checked like a configured member's, and
/// the leader adds it as a learner with the record in the change — every member learns its addresses from the log.
/// </summary>
internal sealed class JoinApi(NodeRuntime node) : JoinService.JoinServiceBase
{
    public override async Task<JoinResponse> Join(JoinRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var options = node.Options;
        AdminApi.Authorize(context, options.JoinToken, "join", $"{NodeOptions.Section}:JoinToken");
        if (request.Member is null)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "member: the joining node's record (id, role, addresses) is required"));
        }
        var record = Members.FromRecord(request.Member);
        if (Members.Problems(record, options).FirstOrDefault() is { } problem)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, problem));
        }
        if (!options.Transport.Insecure && CheckCertificate(request.CertificatePem, record, request.Signature.Span) is { } refusal)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, refusal));
        }
        if (node.Book.IsRemoved(record.Id))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"node {record.Id} was removed from the cluster; only an operator adds it back (admin membership change)"));
        }
        var snapshot = node.Snapshot;
        if (snapshot.RaftRole != Consensus.NodeRole.Leader)
        {
            throw NotLeader(snapshot.Leader);
        }
        try
        {
            var (index, config) = await node.ChangeMembershipAsync(new Consensus.MembershipChange(Consensus.MembershipChangeType.AddLearner, record.Id), record, fromAdmin: false)
                .WaitAsync(TimeSpan.FromMilliseconds(options.TickMilliseconds * options.ElectionTicks * 4), context.CancellationToken)
                .ConfigureAwait(false);
            var answer = new JoinResponse { Index = index, Leader = options.NodeId };
            answer.Voters.AddRange(config.Voters);
            answer.Learners.AddRange(config.Learners);
            // Where the members of the committed membership are — not records of entries not committed, or truncated.
            foreach (var id in config.Voters.Concat(config.Learners).Order())
            {
                if (node.Book.Find(id) is { } member)
                {
                    answer.Members.Add(Members.ToRecord(member));
                }
            }
            answer.Removed.AddRange(node.Book.RemovedIds);
            return answer;
        }
        catch (MembershipRemovedException ex)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, ex.Message));
        }
        catch (MembershipChangeRefusedException ex)
        {
            throw new RpcException(new Status(StatusCode.AlreadyExists, ex.Message));
        }
        catch (AddressBookFullException ex)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, ex.Message));
        }
        catch (NodeUnavailableException ex)
        {
            throw node.Snapshot.RaftRole == Consensus.NodeRole.Leader
                ? new RpcException(new Status(StatusCode.Unavailable, ex.Message))
                : NotLeader(node.Snapshot.Leader);
        }
        catch (TimeoutException)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "the join was not applied within four election timeouts; ask again (a repeated join of the same record is answered once it is in)"));
        }
    }

    private RpcException NotLeader(ulong leader) => LeaderRedirect.NotLeader(node, leader);

    /// <summary>Why the certificate and signature do not let the caller join as <paramref name="record"/>, or null.</summary>
    private string? CheckCertificate(string pem, MemberOptions record, ReadOnlySpan<byte> signature)
    {
        var id = record.Id;
        if (string.IsNullOrWhiteSpace(pem))
        {
            return "certificate_pem: the joining node's certificate is required (peers authenticate with mutual TLS)";
        }
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            return $"certificate_pem is not a PEM certificate: {ex.Message}";
        }
        using (certificate)
        using (var authority = X509CertificateLoader.LoadCertificateFromFile(node.Options.Tls.CaFile))
        {
            if (PeerCertificateValidator.CheckChain(authority, certificate, PeerCertificateValidator.ClientAuth) is { } untrusted)
            {
                return untrusted;
            }
            if (!PeerIdentity.TryGetNodeId(certificate, node.Options.ChainId, out var named, out var error))
            {
                return error;
            }
            if (named != id)
            {
                return $"the certificate names node {named}, not node {id}";
            }
            return JoinSignature.Verify(certificate, JoinSignature.Payload(node.Options.ChainId, record), signature)
                ? null
                : "signature: the request is not signed with the certificate's key (a certificate is public; the key proves the node)";
        }
    }
}

/// <summary>Member records between the API and the address book.</summary>
internal static class Members
{
    public static MemberOptions FromRecord(MemberRecord record) => new()
    {
        Id = record.Id,
        Role = Enum.TryParse<NodeRole>(record.Role, ignoreCase: true, out var role) && Enum.IsDefined(role) ? role : (NodeRole)255,
        PeerAddress = record.PeerAddress,
        ApiAddress = record.ApiAddress,
        RestAddress = record.RestAddress,
        Cloud = record.Cloud,
        Region = record.Region,
        Zone = record.Zone,
    };

    public static MemberRecord ToRecord(MemberOptions member) => new()
    {
        Id = member.Id,
        Role = member.Role.ToString().ToLowerInvariant(),
        PeerAddress = member.PeerAddress,
        ApiAddress = member.ApiAddress,
        RestAddress = member.RestAddress,
        Cloud = member.Cloud,
        Region = member.Region,
        Zone = member.Zone,
    };

    /// <summary>What keeps <paramref name="member"/> from being added to this cluster: its record, and plaintext off loopback.</summary>
    public static IEnumerable<string> Problems(MemberOptions member, NodeOptions options)
    {
        if (!Enum.IsDefined(member.Role))
        {
            yield return "member:Role must be validator, business or slim";
        }
        foreach (var problem in MemberRecordCodec.Problems(member, "member"))
        {
            yield return problem;
        }
        if (options.Transport.Insecure && IPEndPoint.TryParse(member.PeerAddress, out var ep) && !IPAddress.IsLoopback(ep.Address))
        {
            yield return $"member:PeerAddress {member.PeerAddress} is not a loopback address, and this cluster's peers run without TLS (allowed on loopback only)";
        }
    }
}
