using Aurigraph.Consensus;
using Aurigraph.Node.Api;
using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Security;
using Aurigraph.Node.Storage;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Aurigraph.Node.Hosting;

/// <summary>A join the cluster refused for good (token, certificate, record): retrying cannot help.</summary>
internal sealed class JoinRefusedException(string message) : Exception(message);

/// <summary>
/// The joining side (<see cref="JoinSettings"/>): before a new node starts, it asks the seeds in turn — following a
/// member's answer to the leader — until the leader has added it as a learner, then keeps the answer (the address
/// book and membership) in its database. A node that joined before, or has a log, starts from its database instead.
/// </summary>
internal static partial class Joiner
{
    // Leader redirects followed within one attempt (a leader change during the join costs at most one or two).
    private const int MaxRedirects = 4;

    /// <summary>Joins if this node is to join and has not; returns the log index of its AddLearner change (0: nothing done, or already a learner).</summary>
    /// <exception cref="JoinRefusedException">The cluster refused the join.</exception>
    /// <exception cref="TimeoutException">No member answered within <see cref="JoinSettings.TimeoutSeconds"/>.</exception>
    public static async Task<ulong> JoinIfNeededAsync(NodeOptions options, ILogger logger, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Joins)
        {
            return 0;
        }
        Directory.CreateDirectory(options.DataDir);
        using var database = NodeDatabase.Open(Path.GetFullPath(options.DataDir), options.ChainId, options.NodeId, options.Memory.Storage);
        var book = AddressBook.Open(options, database);
        var log = new RaftLogStorage(database, 1 << 20, keepBodies: false);
        if (book.Joined is not null || log.LastIndex > 0 || log.Snapshot.Index > 0)
        {
            return 0;
        }
        var request = new JoinRequest { Member = Members.ToRecord(options.Self) };
        if (!options.Transport.Insecure)
        {
            using var certificate = X509Certificate2.CreateFromPemFile(options.Tls.CertificateFile, options.Tls.KeyFile);
            request.CertificatePem = certificate.ExportCertificatePem();
            request.Signature = ByteString.CopyFrom(JoinSignature.Sign(certificate, JoinSignature.Payload(options.ChainId, Members.FromRecord(request.Member))));
        }
        var answer = await Pipeline(options).ExecuteAsync(async token => await AskAsync(options, request, logger, token).ConfigureAwait(false), ct).ConfigureAwait(false);
        // The seed's records are checked like any other before they are kept: one bad record would fail every start.
        var records = answer.Members.Select(Members.FromRecord).Where(m => m.Id != options.NodeId && !Members.Problems(m, options).Any()).ToList();
        book.RememberRemoved(answer.Removed);
        book.SaveJoin(records, new MembershipConfig([.. answer.Voters], [.. answer.Learners]));
        LogJoined(logger, options.NodeId, answer.Leader, answer.Index, answer.Voters.Count, answer.Learners.Count, answer.Members.Count);
        return answer.Index;
    }

    private static ResiliencePipeline Pipeline(NodeOptions options) => new ResiliencePipelineBuilder()
        .AddTimeout(TimeSpan.FromSeconds(options.Join.TimeoutSeconds))
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<RpcException>().Handle<HttpRequestException>().Handle<TimeoutRejectedException>(),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(2),
            UseJitter = true,
        })
        .Build();

    /// <summary>One attempt: every seed in turn, each answer naming the leader followed; throws the last transient failure.</summary>
    private static async Task<JoinResponse> AskAsync(NodeOptions options, JoinRequest request, ILogger logger, CancellationToken ct)
    {
        var headers = new Metadata { { "authorization", $"Bearer {options.Join.Token}" } };
        var tls = new ClientTls(CaFile: string.IsNullOrEmpty(options.Tls.CaFile) ? null : options.Tls.CaFile);
        Exception? last = null;
        foreach (var seed in options.Join.Seeds)
        {
            var address = seed;
            for (var hop = 0; hop <= MaxRedirects; hop++)
            {
                try
                {
                    using var channel = ClientChannels.Create(address, tls);
                    var client = new JoinService.JoinServiceClient(channel);
                    var call = client.JoinAsync(request, headers, deadline: DateTime.UtcNow.AddMilliseconds(options.TickMilliseconds * options.ElectionTicks * 6), cancellationToken: ct);
                    return await call.ResponseAsync.ConfigureAwait(false);
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition && ex.Trailers.GetValue("leader-api") is { Length: > 0 } leader)
                {
                    address = leader;
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.InvalidArgument or StatusCode.AlreadyExists)
                {
                    throw new JoinRefusedException($"{address} refused the join: {ex.Status.Detail}");
                }
                catch (Exception ex) when (ex is RpcException or HttpRequestException)
                {
                    LogAskFailed(logger, options.NodeId, address, ex.Message);
                    last = ex;
                    break;
                }
            }
        }
        throw last ?? new RpcException(new Status(StatusCode.Unavailable, "no seed led to the leader"));
    }

    [LoggerMessage(EventId = 139, Level = LogLevel.Information, Message = "node {NodeId}: joined through leader {Leader} (change at index {Index}): {Voters} voters, {Learners} learners, {Members} members in the address book")]
    private static partial void LogJoined(ILogger logger, ulong nodeId, ulong leader, ulong index, int voters, int learners, int members);

    [LoggerMessage(EventId = 140, Level = LogLevel.Warning, Message = "node {NodeId}: join through {Address} failed, will ask again: {Reason}")]
    private static partial void LogAskFailed(ILogger logger, ulong nodeId, string address, string reason);
}
