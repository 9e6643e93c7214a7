namespace Aurigraph.Node.Hosting;

/// <summary>
/// The client API's size limits, every one derived from a single setting, <c>Aurigraph:Api:MaxMessageBytes</c>: the
/// largest protobuf request message (a submission batch) the node accepts. gRPC's receive limit is that size; the
/// HTTP request body limit on gRPC requests adds the 5-byte gRPC message prefix, so gRPC's own check always decides
/// first (an HTTP limit below it would cut a request off mid-read and answer UNKNOWN); a REST (JSON) body may be
/// <see cref="RestExpansion"/> times the size, since JSON carries bytes as base64 (4/3 of their size) plus field names.
/// Beyond them: gRPC RESOURCE_EXHAUSTED, REST 413, each naming the setting.
/// </summary>
public sealed class NodeLimits
{
    public const string Section = "Aurigraph:Api";

    /// <summary>Bytes of gRPC's length-prefixed message framing: a compressed flag and a 4-byte length.</summary>
    public const int GrpcPrefixBytes = 5;

    /// <summary>A REST body may be this many times <see cref="MaxMessageBytes"/>.</summary>
    public const int RestExpansion = 2;

    /// <summary>Framing a submission adds around one transaction: field tags and lengths of the request and the signed transaction.</summary>
    public const int SubmissionOverheadBytes = 32;

    /// <summary>Upper bound of <see cref="MaxMessageBytes"/>: a REST body of <see cref="RestExpansion"/> times it still fits an int-sized buffer.</summary>
    public const int MaxAllowedMessageBytes = 512 * 1024 * 1024;

    /// <summary>The largest request message (protobuf bytes) a client may send: 64 MiB by default.</summary>
    public int MaxMessageBytes { get; set; } = 64 * 1024 * 1024;

    public string Setting => $"{Section}:{nameof(MaxMessageBytes)}";

    /// <summary>gRPC's maximum receive message size.</summary>
    public int GrpcMaxReceiveMessageBytes => MaxMessageBytes;

    /// <summary>Kestrel's request body limit for gRPC requests: one message and its prefix.</summary>
    public long GrpcMaxRequestBodyBytes => (long)MaxMessageBytes + GrpcPrefixBytes;

    /// <summary>Kestrel's request body limit for REST (JSON) requests.</summary>
    public long RestMaxRequestBodyBytes => (long)MaxMessageBytes * RestExpansion;

    /// <summary>The reason an oversized request gets, naming the limit and the setting.</summary>
    public string TooLarge(string what, long limit) =>
        $"{what} exceeds the limit of {limit} bytes ({Setting} = {MaxMessageBytes}{(limit == MaxMessageBytes ? "" : $"; REST bodies may be {RestExpansion}×, for base64")}); send fewer transactions per request";

    /// <summary>Every problem, each naming its setting; empty when valid. A submission of one transaction of the largest allowed size must fit.</summary>
    public IReadOnlyList<string> Validate(NodeOptions node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var errors = new List<string>();
        var smallest = (long)node.MaxTransactionBytes + SubmissionOverheadBytes;
        if (MaxMessageBytes < smallest)
        {
            errors.Add($"{Setting} must be at least {NodeOptions.Section}:MaxTransactionBytes + {SubmissionOverheadBytes} = {smallest}, so a transaction of the largest allowed size can be submitted (got {MaxMessageBytes})");
        }
        if (node.IngressBytes < MaxMessageBytes)
        {
            errors.Add($"{NodeOptions.Section}:IngressBytes must be at least {Setting} = {MaxMessageBytes}, so a request of the largest allowed size can be admitted (got {node.IngressBytes})");
        }
        if (MaxMessageBytes > MaxAllowedMessageBytes)
        {
            errors.Add($"{Setting} must be at most {MaxAllowedMessageBytes} (got {MaxMessageBytes})");
        }
        return errors;
    }
}
