using Aurigraph.Node.Api.V1;
using Aurigraph.Node.Hosting;
using Aurigraph.Node.Ledger;
using Grpc.Core;

namespace Aurigraph.Node.Api;

/// <summary>Blocks by height, and a live subscription to committed blocks from a height.</summary>
internal sealed class BlockApi(NodeRuntime node) : BlockService.BlockServiceBase
{
    public override Task<Block> GetBlock(GetBlockRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Task.FromResult(Read(request.Height) ?? throw new RpcException(new Status(StatusCode.NotFound, $"no block at height {request.Height} (tip is {node.Snapshot.Height})")));
    }

    public override async Task SubscribeBlocks(SubscribeBlocksRequest request, IServerStreamWriter<Block> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        // Subscribe first, then replay from disk, so no block falls between the two.
        var live = node.Feed.Subscribe();
        try
        {
            var next = Math.Max(request.FromHeight, 1);
            for (; next <= node.Snapshot.Height; next++)
            {
                if (Read(next) is { } stored)
                {
                    await responseStream.WriteAsync(stored, context.CancellationToken).ConfigureAwait(false);
                }
            }
            await foreach (var block in live.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
                if (block.Header.Height < next)
                {
                    continue;
                }
                for (; next < block.Header.Height; next++)
                {
                    if (Read(next) is { } gap)
                    {
                        await responseStream.WriteAsync(gap, context.CancellationToken).ConfigureAwait(false);
                    }
                }
                await responseStream.WriteAsync(block, context.CancellationToken).ConfigureAwait(false);
                next = block.Header.Height + 1;
            }
        }
        finally
        {
            node.Feed.Unsubscribe(live);
        }
    }

    private Block? Read(ulong height)
    {
        try
        {
            return node.Store.ReadBlock(height);
        }
        catch (CorruptRecordException ex)
        {
            throw new RpcException(new Status(StatusCode.DataLoss, ex.Message));
        }
    }
}
