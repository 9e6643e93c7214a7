import { createHash } from 'node:crypto';
import Long from 'long';
import type { Key } from './key.js';
import { transactionBodyType } from './protos.js';

/** A 32-byte account id: its bytes, or 64 hex characters. */
export type AccountId = Uint8Array | string;

/** A transaction ready to send: the serialized body, its signature and its id. */
export interface SignedTransaction {
  /** The serialized `TransactionBody`: exactly the bytes that were signed. */
  readonly body: Uint8Array;
  /** The 64-byte Ed25519 signature of `body`. */
  readonly signature: Uint8Array;
  /** Lowercase hex SHA-256 of `body`, the id the node gives the transaction. */
  readonly txId: string;
}

/** What every transaction carries besides its operation. */
export interface Envelope {
  /** The cluster's chain id (`getStatus().chainId`; the devnet's is `aurigraph-devnet`). */
  chainId: string;
  /** The sender's next nonce: 0 for its first transaction, then one more each (`getAccount(...).nonce`). */
  nonce: bigint | number;
}

/** A transfer of `amount` to account `to`. */
export interface TransferParams extends Envelope {
  to: AccountId;
  amount: bigint | number;
}

/** A put of `value` under `key` in the sender's own records; strings are taken as UTF-8. */
export interface PutParams extends Envelope {
  key: Uint8Array | string;
  value: Uint8Array | string;
}

/** The transaction id of serialized body bytes: lowercase hex SHA-256. */
export function txIdOf(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Signs a transfer from `key`'s account. */
export function signTransfer(key: Key, params: TransferParams): SignedTransaction {
  return signBody(key, params, { transfer: { to: accountBytes(params.to, 'to'), amount: uint64(params.amount, 'amount') } });
}

/** Signs a put into `key`'s own records. */
export function signPut(key: Key, params: PutParams): SignedTransaction {
  return signBody(key, params, { put: { key: Buffer.from(params.key), value: Buffer.from(params.value) } });
}

/** Serializes the body once, signs exactly those bytes and names the transaction by their hash. */
function signBody(key: Key, envelope: Envelope, operation: object): SignedTransaction {
  const type = transactionBodyType();
  const message = type.fromObject({ sender: key.publicKey, nonce: uint64(envelope.nonce, 'nonce'), chain_id: envelope.chainId, ...operation });
  const body = type.encode(message).finish();
  return { body, signature: key.sign(body), txId: txIdOf(body) };
}

/** An account id's 32 bytes. */
export function accountBytes(account: AccountId, what: string): Buffer {
  if (typeof account === 'string') {
    if (!/^[0-9a-fA-F]{64}$/.test(account)) {
      throw new Error(`${what}: an account id is 64 hex characters`);
    }
    return Buffer.from(account, 'hex');
  }
  if (account.length !== 32) {
    throw new Error(`${what}: an account id is 32 bytes, got ${account.length}`);
  }
  return Buffer.from(account);
}

const MAX_UINT64 = (1n << 64n) - 1n;

function uint64(value: bigint | number, what: string): Long {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new Error(`${what}: ${value} is not a safe integer; pass a bigint`);
  }
  const big = BigInt(value);
  if (big < 0n || big > MAX_UINT64) {
    throw new Error(`${what}: ${big} is outside 0..2^64-1`);
  }
  return Long.fromString(big.toString(), true);
}
