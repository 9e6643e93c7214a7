using Aurigraph.Node.Api.V1;
using Grpc.Core;

namespace Aurigraph.Client;

/// <summary>A call the cluster refused or could not answer: the gRPC status code and the node's reason.</summary>
public class AurigraphException : Exception
{
    /// <summary>An error with <paramref name="code"/> and <paramref name="reason"/>.</summary>
    public AurigraphException(StatusCode code, string reason, Exception? innerException = null)
        : base($"{code}: {reason}", innerException)
    {
        Code = code;
        Reason = reason;
    }

    /// <summary>An error with no status (<see cref="StatusCode.Unknown"/>).</summary>
    public AurigraphException()
        : this(StatusCode.Unknown, "unknown error")
    {
    }

    /// <summary>An error with no status (<see cref="StatusCode.Unknown"/>) and <paramref name="message"/> as the reason.</summary>
    public AurigraphException(string message)
        : this(StatusCode.Unknown, message)
    {
    }

    /// <summary>An error with no status (<see cref="StatusCode.Unknown"/>), <paramref name="message"/> as the reason.</summary>
    public AurigraphException(string message, Exception innerException)
        : this(StatusCode.Unknown, message, innerException)
    {
    }

    /// <summary>The gRPC status code of the answer.</summary>
    public StatusCode Code { get; }

    /// <summary>Why, in the node's words.</summary>
    public string Reason { get; }

    /// <summary>The leader's gRPC address, when a node that does not lead named it (the <c>leader-api</c> trailer).</summary>
    public string? LeaderHint { get; init; }

    /// <summary>The typed form of a gRPC error.</summary>
    public static AurigraphException From(RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new AurigraphException(exception.StatusCode, exception.Status.Detail, exception)
        {
            LeaderHint = exception.Trailers.GetValue(NodeRouter.LeaderTrailer) is { Length: > 0 } hint ? hint : null,
        };
    }
}

/// <summary>
/// Admission refused a transaction (nothing of it was applied): a bad signature, a wrong chain id, a nonce already used
/// by another transaction, a nonce out of order, a malformed or oversized body.
/// </summary>
public sealed class TransactionRejectedException : AurigraphException
{
    /// <summary>The refusal of <paramref name="txId"/> for <paramref name="reason"/>.</summary>
    public TransactionRejectedException(string txId, string reason, IReadOnlyList<TransactionResult>? results = null)
        : base(StatusCode.FailedPrecondition, $"transaction {txId} rejected: {reason}")
    {
        TxId = txId;
        RejectReason = reason;
        Results = results ?? [];
    }

    /// <summary>A refusal with no transaction named.</summary>
    public TransactionRejectedException()
        : this("", "rejected")
    {
    }

    /// <summary>A refusal with no transaction named, for <paramref name="message"/>.</summary>
    public TransactionRejectedException(string message)
        : this("", message)
    {
    }

    /// <summary>A refusal with no transaction named, for <paramref name="message"/>.</summary>
    public TransactionRejectedException(string message, Exception innerException)
        : base(StatusCode.FailedPrecondition, message, innerException)
    {
        TxId = "";
        RejectReason = message;
        Results = [];
    }

    /// <summary>The rejected transaction's id (lowercase hex).</summary>
    public string TxId { get; }

    /// <summary>Why admission refused it.</summary>
    public string RejectReason { get; }

    /// <summary>Every transaction of the submission, in order: the others' outcomes (committed or rejected) too.</summary>
    public IReadOnlyList<TransactionResult> Results { get; }
}

/// <summary>No node of the list answered (connection refused, reset, or deadline passed) within the retry policy.</summary>
public sealed class NoNodeAvailableException : AurigraphException
{
    /// <summary>The failure, with the last error of each node tried.</summary>
    public NoNodeAvailableException(IReadOnlyDictionary<string, string> failures, Exception? innerException = null)
        : base(StatusCode.Unavailable, "no node answered: " + string.Join("; ", failures.Select(f => $"{f.Key}: {f.Value}")), innerException) =>
        Failures = failures;

    /// <summary>A failure with no node named.</summary>
    public NoNodeAvailableException()
        : this(new Dictionary<string, string>())
    {
    }

    /// <summary>A failure with no node named, for <paramref name="message"/>.</summary>
    public NoNodeAvailableException(string message)
        : base(StatusCode.Unavailable, message) => Failures = new Dictionary<string, string>();

    /// <summary>A failure with no node named, for <paramref name="message"/>.</summary>
    public NoNodeAvailableException(string message, Exception innerException)
        : base(StatusCode.Unavailable, message, innerException) => Failures = new Dictionary<string, string>();

    /// <summary>Each node tried (its address) and its last error.</summary>
    public IReadOnlyDictionary<string, string> Failures { get; }
}
