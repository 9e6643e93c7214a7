import { status as Status, type ServiceError } from '@grpc/grpc-js';
import type { TransactionResult } from './types.js';

/** A call the node (or the connection to it) answered with a gRPC error. */
export class AurigraphError extends Error {
  /** The gRPC status code (`@grpc/grpc-js`'s `status`), e.g. 14 for UNAVAILABLE. */
  readonly code: number;
  /** The code's name, e.g. `UNAVAILABLE`. */
  readonly codeName: string;
  /** The node's reason (the gRPC status message). */
  readonly reason: string;
  /** The node address the call last went to. */
  readonly node: string;

  constructor(code: number, reason: string, node: string, options?: ErrorOptions) {
    const codeName = Status[code] ?? `code ${code}`;
    super(`${codeName} from ${node}: ${reason}`, options);
    this.name = 'AurigraphError';
    this.code = code;
    this.codeName = codeName;
    this.reason = reason;
    this.node = node;
  }

  /** The error for a failed gRPC call. */
  static from(error: ServiceError, node: string): AurigraphError {
    return new AurigraphError(error.code, error.details || error.message, node, { cause: error });
  }
}

/**
 * A submitted transaction the node refused: it can never commit and nothing of it was applied (a malformed body, a
 * wrong chain id, a bad signature, a nonce already used or out of order). A committed transaction whose receipt
 * failed (e.g. "insufficient balance") is not rejected: it consumed its nonce.
 */
export class RejectedError extends Error {
  /** The id of the (first) rejected transaction. */
  readonly txId: string;
  /** Why admission refused it. */
  readonly reason: string;
  /** Every result of the submission, in the order submitted (the others may have committed). */
  readonly results: readonly TransactionResult[];

  constructor(rejected: TransactionResult, results: readonly TransactionResult[]) {
    super(`transaction ${rejected.txId} rejected: ${rejected.rejectReason}`);
    this.name = 'RejectedError';
    this.txId = rejected.txId;
    this.reason = rejected.rejectReason;
    this.results = results;
  }
}
