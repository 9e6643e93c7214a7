import type { SignedTransaction } from './sign.js';

/** Where a transaction stands. */
export type TransactionState = 'UNSPECIFIED' | 'UNKNOWN' | 'PENDING' | 'COMMITTED' | 'REJECTED';

/** How current a read must be (see the node's README, API). */
export type ReadConsistency =
  /** This node's applied state: fast, may lag behind the cluster. */
  | 'local'
  /** Reflects every write acknowledged before the read began, on any node (a read index confirmed by a quorum). */
  | 'linearizable'
  /** Linearizable from the leader's check-quorum lease, without a confirmation round. */
  | 'lease';

/** The outcome of a committed transaction. */
export interface Receipt {
  success: boolean;
  /** Why it failed, e.g. "insufficient balance"; empty on success. */
  failureReason: string;
}

/** A transaction as the node answers for it. */
export interface TransactionResult {
  /** Lowercase hex SHA-256 of the body bytes. */
  txId: string;
  state: TransactionState;
  /** The block height (committed); 0n otherwise. */
  height: bigint;
  /** The position in the block (committed). */
  index: number;
  /** The receipt (committed); undefined otherwise. */
  receipt: Receipt | undefined;
  /** Why admission refused it (rejected); empty otherwise. */
  rejectReason: string;
}

/** An account's state. */
export interface Account {
  /** The public key, hex. */
  id: string;
  balance: bigint;
  /** The next nonce the account must use. */
  nonce: bigint;
  /** The block height the answer reflects. */
  height: bigint;
}

/** A peer as the answering node sees it. */
export interface PeerStatus {
  id: number;
  role: string;
  /** Known while the answering node leads. */
  matchIndex: bigint;
  recentActive: boolean;
}

/** A node's view of itself and the cluster. */
export interface NodeStatus {
  id: number;
  /** validator | business | slim */
  role: string;
  /** Follower | PreCandidate | Candidate | Leader */
  raftState: string;
  term: bigint;
  /** The leader's node id; 0 when none is known. */
  leader: number;
  commitIndex: bigint;
  appliedIndex: bigint;
  /** The last applied block height. */
  height: bigint;
  stateRoot: Buffer;
  peers: PeerStatus[];
  chainId: string;
  logFirstIndex: bigint;
  snapshotIndex: bigint;
  /** Paranoid mode: the latest committed transaction that failed the signature check; empty when none. */
  integrityAlarm: string;
}

export interface BlockHeader {
  height: bigint;
  /** The consensus log entry that carried the block. */
  logIndex: bigint;
  term: bigint;
  previousHash: Buffer;
  transactionsRoot: Buffer;
  stateRoot: Buffer;
  transactionCount: number;
  hash: Buffer;
}

/** A committed block: its transactions as their senders signed them, and their receipts in the same order. */
export interface Block {
  header: BlockHeader;
  transactions: SignedTransaction[];
  receipts: Receipt[];
}
