/**
 * `@aurigraph/client`: sign Aurigraph transactions with Ed25519 and talk to a cluster's gRPC API.
 *
 * ```ts
 * import { AurigraphClient, Key, signTransfer } from '@aurigraph/client';
 * const key = await Key.load('devnet/keys/dev-1.key');
 * const client = new AurigraphClient({ nodes: ['127.0.0.1:7201', '127.0.0.1:7202'] });
 * const { chainId } = await client.getStatus();
 * const { nonce } = await client.getAccount(key.publicKeyHex);
 * const [result] = await client.submit([signTransfer(key, { chainId, nonce, to: recipientHex, amount: 10n })]);
 * ```
 * @packageDocumentation
 */
export { AurigraphClient, type ClientOptions, type ReadOptions, type SubmitOptions, type SubscribeOptions } from './client.js';
export { AurigraphError, RejectedError } from './errors.js';
export { Key } from './key.js';
export { signPut, signTransfer, txIdOf, type AccountId, type Envelope, type PutParams, type SignedTransaction, type TransferParams } from './sign.js';
export type { Account, Block, BlockHeader, NodeStatus, PeerStatus, ReadConsistency, Receipt, TransactionResult, TransactionState } from './types.js';
