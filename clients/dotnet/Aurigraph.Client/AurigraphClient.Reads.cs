using Aurigraph.Node.Api.V1;

namespace Aurigraph.Client;

public sealed partial class AurigraphClient
{
    /// <summary>The status of the first node that answers (its id, role, raft state, term, leader, heights, chain id).</summary>
    public Task<NodeStatus> GetStatusAsync(CancellationToken ct = default) =>
        CallAsync(async (endpoint, options) =>
        {
            var status = await endpoint.Node.GetStatusAsync(new GetStatusRequest(), options).ConfigureAwait(false);
            _router.Learn(endpoint, status);
            return status;
        }, preferLeader: false, ct);

    /// <summary>The cluster's chain id (what every transaction body names), from a node's status; asked once.</summary>
    public async Task<string> GetChainIdAsync(CancellationToken ct = default) =>
        _chainId ??= (await GetStatusAsync(ct).ConfigureAwait(false)).ChainId;

    /// <summary>An account's balance and next nonce; linearizable unless asked otherwise.</summary>
    /// <param name="account">The account's public key, 64 hex characters.</param>
    /// <param name="consistency">How current the answer must be.</param>
    /// <param name="ct">Cancels the call.</param>
    public Task<Account> GetAccountAsync(string account, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken ct = default) =>
        CallAsync((endpoint, options) => endpoint.Node.GetAccountAsync(new GetAccountRequest { Account = account, Consistency = consistency }, options).ResponseAsync,
            preferLeader: true, ct);

    /// <summary>The nonce the account's next transaction must carry, from a linearizable read.</summary>
    public async Task<ulong> NextNonceAsync(string account, CancellationToken ct = default) =>
        (await GetAccountAsync(account, ReadConsistency.Linearizable, ct).ConfigureAwait(false)).Nonce;

    /// <summary>What the cluster knows of a transaction: committed (height, index, receipt), pending, rejected or unknown; linearizable unless asked otherwise.</summary>
    /// <param name="txId">The transaction id, 64 hex characters.</param>
    /// <param name="consistency">How current the answer must be.</param>
    /// <param name="ct">Cancels the call.</param>
    public Task<TransactionResult> GetTransactionAsync(string txId, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken ct = default) =>
        CallAsync((endpoint, options) => endpoint.Transactions.GetTransactionAsync(new GetTransactionRequest { TxId = txId, Consistency = consistency }, options).ResponseAsync,
            preferLeader: true, ct);

    /// <summary>The record <paramref name="owner"/> put under <paramref name="key"/>; linearizable unless asked otherwise.</summary>
    /// <param name="owner">The putting account's public key, 64 hex characters.</param>
    /// <param name="key">The key of the put.</param>
    /// <param name="consistency">How current the answer must be.</param>
    /// <param name="ct">Cancels the call.</param>
    public Task<Value> GetValueAsync(string owner, ReadOnlyMemory<byte> key, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken ct = default) =>
        CallAsync((endpoint, options) => endpoint.Node.GetValueAsync(new GetValueRequest { Owner = owner, KeyHex = Convert.ToHexStringLower(key.Span), Consistency = consistency }, options).ResponseAsync,
            preferLeader: true, ct);

    /// <summary>The block at <paramref name="height"/>.</summary>
    /// <exception cref="AurigraphException"><see cref="Grpc.Core.StatusCode.NotFound"/>: no block there (yet).</exception>
    public Task<Block> GetBlockAsync(ulong height, CancellationToken ct = default) =>
        CallAsync((endpoint, options) => endpoint.Blocks.GetBlockAsync(new GetBlockRequest { Height = height }, options).ResponseAsync,
            preferLeader: false, ct);

    /// <summary>The id of a signed transaction (SHA-256 of its body bytes), lowercase hex.</summary>
    public static string IdOf(SignedTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return TransactionId.Of(transaction.Body.Span).ToString();
    }
}
