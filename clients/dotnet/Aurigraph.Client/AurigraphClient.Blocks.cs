using System.Runtime.CompilerServices;
using Aurigraph.Node.Api.V1;
using Grpc.Core;

namespace Aurigraph.Client;

public sealed partial class AurigraphClient
{
    /// <summary>
    /// Committed blocks from <paramref name="fromHeight"/> on, each height once and in order, without end: stored ones
    /// first, then each as it commits. When the serving node's stream breaks or the node fails, the subscription
    /// resumes on the next node from the last height yielded + 1; a height the serving node does not hold is read with
    /// <see cref="GetBlockAsync"/>.
    /// </summary>
    /// <exception cref="NoNodeAvailableException">No node could serve the stream within the retry policy's attempts in a row.</exception>
    public async IAsyncEnumerable<Block> SubscribeBlocksAsync(ulong fromHeight = 1, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var next = Math.Max(fromHeight, 1);
        var failures = new Dictionary<string, string>();
        var failed = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var endpoint = _router.Next(preferLeader: false);
            using var call = endpoint.Blocks.SubscribeBlocks(new SubscribeBlocksRequest { FromHeight = next }, cancellationToken: ct);
            while (true)
            {
                Block? block;
                try
                {
                    block = await call.ResponseStream.MoveNext(ct).ConfigureAwait(false) ? call.ResponseStream.Current : null;
                }
                catch (RpcException ex) when (ct.IsCancellationRequested)
                {
                    throw new OperationCanceledException("the subscription was cancelled", ex, ct);
                }
                catch (RpcException ex) when (IsNodeFailure(ex) || ex.StatusCode == StatusCode.Unavailable)
                {
                    _router.Failed(endpoint);
                    failures[endpoint.Address] = $"{ex.StatusCode}: {ex.Status.Detail}";
                    block = null;
                }
                if (block is null)
                {
                    break; // the stream ended or broke: resume on the next node
                }
                var height = block.Header.Height;
                if (height < next)
                {
                    continue;
                }
                for (; next < height; next++)
                {
                    yield return await GetBlockAsync(next, ct).ConfigureAwait(false);
                }
                _router.Answered(endpoint);
                failed = 0;
                yield return block;
                next = height + 1;
            }
            if (++failed >= _options.Retry.MaxAttempts)
            {
                throw new NoNodeAvailableException(failures);
            }
            if (!_router.AnyLive)
            {
                await Task.Delay(_options.Retry.Backoff(failed), ct).ConfigureAwait(false);
            }
        }
    }
}
