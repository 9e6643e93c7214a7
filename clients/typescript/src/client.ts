import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { AurigraphError, RejectedError } from './errors.js';
import { grpcPackage } from './protos.js';
import { accountBytes, txIdOf, type AccountId, type SignedTransaction } from './sign.js';
import type { Account, Block, NodeStatus, ReadConsistency, Receipt, TransactionResult, TransactionState } from './types.js';

/** How to reach the cluster. */
export interface ClientOptions {
  /**
   * gRPC API addresses of one or more nodes, `host:port` (devnet: `127.0.0.1:7201` ... `7205`); `http://` and
   * `https://` URLs are taken too. Calls go to one node and move to the next when it fails.
   */
  nodes: readonly string[];
  /**
   * TLS for a node API served over HTTPS: `{ caFile }` trusts that CA certificate (PEM; the devnet's is
   * `devnet/certs/ca.pem`) instead of the system's roots. Without it, calls are plaintext (HTTP/2 cleartext, the
   * devnet's default) unless an address is an `https://` URL, which uses the system's roots.
   */
  tls?: { caFile?: string; ca?: Buffer };
  /** Deadline of one call to one node, in milliseconds (default 30,000; the node waits up to 10 s for a commit). */
  callTimeoutMs?: number;
  /** How many calls one operation may make before it gives up (default: three per node, at least 6). */
  attempts?: number;
}

/** Options of {@link AurigraphClient.submit}. */
export interface SubmitOptions {
  /**
   * Keep going until every transaction is committed or rejected (default true): a transaction the node answered
   * PENDING (its commit timeout passed first) is sent again, the same signed bytes, until `waitTimeoutMs` passes.
   * With false the node's first answer is returned, PENDING included.
   */
  wait?: boolean;
  /** How long to wait for PENDING transactions, in milliseconds (default 60,000). */
  waitTimeoutMs?: number;
}

/** Options of a read. */
export interface ReadOptions {
  /** Default `linearizable`: the answer reflects every write acknowledged before the read began. */
  consistency?: ReadConsistency;
}

/** Options of {@link AurigraphClient.subscribeBlocks}. */
export interface SubscribeOptions {
  /** Ends the subscription (the iterator then finishes). */
  signal?: AbortSignal;
}

type Callback<T> = (error: grpc.ServiceError | null, response?: T) => void;
type Unary = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback<unknown>) => grpc.ClientUnaryCall;
type ServerStreaming = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;
type Service = grpc.Client & Record<string, Unary & ServerStreaming>;
type ServiceName = 'TransactionService' | 'BlockService' | 'NodeService';

/** The trailer in which a node that does not lead names the leader's gRPC API address. */
const LEADER_TRAILER = 'leader-api';
/** The trailer with which a node asks a client to wait before it tries again (RESOURCE_EXHAUSTED). */
const RETRY_AFTER_TRAILER = 'retry-after-ms';
const CONSISTENCY: Record<ReadConsistency, string> = {
  local: 'READ_CONSISTENCY_LOCAL',
  linearizable: 'READ_CONSISTENCY_LINEARIZABLE',
  lease: 'READ_CONSISTENCY_LEASE',
};

/**
 * A client of an Aurigraph cluster's gRPC API. Submissions are retried with the same signed bytes (the node answers a
 * copy of a transaction it already has as that transaction, so a retry never spends twice) on UNAVAILABLE,
 * DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED with a retry hint, moving to the next node; a node that names the leader
 * (trailer `leader-api`) is followed there. Reads retry the same way.
 */
export class AurigraphClient {
  readonly #addresses: string[];
  readonly #credentials: (address: string) => grpc.ChannelCredentials;
  /** Addresses given as https:// URLs: TLS with the system's roots when no `tls` option is set. */
  readonly #https = new Set<string>();
  readonly #services = new Map<string, Map<ServiceName, Service>>();
  readonly #callTimeoutMs: number;
  readonly #attempts: number;
  #current = 0;

  constructor(options: ClientOptions) {
    if (options.nodes.length === 0) {
      throw new Error('at least one node address is needed');
    }
    this.#addresses = options.nodes.map(normalize);
    const ca = options.tls?.ca ?? (options.tls?.caFile === undefined ? undefined : readFileSync(options.tls.caFile));
    const tls = options.tls === undefined ? undefined : grpc.credentials.createSsl(ca);
    options.nodes.filter((n) => n.startsWith('https://')).forEach((n) => this.#https.add(normalize(n)));
    this.#credentials = (address) => tls ?? (this.#https.has(address) ? grpc.credentials.createSsl() : grpc.credentials.createInsecure());
    this.#callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.#attempts = options.attempts ?? Math.max(6, 3 * this.#addresses.length);
  }

  /** The node addresses in use (a leader named by a node is added). */
  get nodes(): readonly string[] {
    return this.#addresses;
  }

  /**
   * Submits signed transactions in one call; answers one result per transaction, in order. Throws
   * {@link RejectedError} when one was rejected (its `results` hold every answer) and {@link AurigraphError} when no
   * node could take the call.
   */
  async submit(signed: readonly SignedTransaction[], options: SubmitOptions = {}): Promise<TransactionResult[]> {
    if (signed.length === 0) {
      throw new Error('nothing to submit');
    }
    const submitOnce = async (batch: readonly SignedTransaction[]): Promise<TransactionResult[]> => {
      const request = { transactions: batch.map((t) => ({ body: Buffer.from(t.body), signature: Buffer.from(t.signature) })) };
      const response = (await this.#unary('TransactionService', 'SubmitTransactions', request)) as { results: RawResult[] };
      if (response.results.length !== batch.length) {
        throw new Error(`the node answered ${response.results.length} results for ${batch.length} transactions`);
      }
      return response.results.map(toResult);
    };
    const results = await submitOnce(signed);
    if (options.wait ?? true) {
      const until = Date.now() + (options.waitTimeoutMs ?? 60_000);
      let round = 0;
      for (let pending = indexesOf(results, 'PENDING'); pending.length > 0 && Date.now() < until; pending = indexesOf(results, 'PENDING')) {
        await delay(backoffMs(round++));
        const again = await submitOnce(pending.map((i) => signed[i]!));
        pending.forEach((i, k) => (results[i] = again[k]!));
      }
    }
    const rejected = results.find((r) => r.state === 'REJECTED');
    if (rejected !== undefined) {
      throw new RejectedError(rejected, results);
    }
    return results;
  }

  /** A transaction by id; state UNKNOWN when the node knows none such. */
  async getTransaction(txId: string, options: ReadOptions = {}): Promise<TransactionResult> {
    return toResult((await this.#unary('TransactionService', 'GetTransaction', { txId, consistency: consistency(options) })) as RawResult);
  }

  /** An account's balance and next nonce (hex public key or its bytes). */
  async getAccount(account: AccountId, options: ReadOptions = {}): Promise<Account> {
    const request = { account: accountBytes(account, 'account').toString('hex'), consistency: consistency(options) };
    const raw = (await this.#unary('NodeService', 'GetAccount', request)) as Record<string, string>;
    return { id: raw['id']!, balance: BigInt(raw['balance']!), nonce: BigInt(raw['nonce']!), height: BigInt(raw['height']!) };
  }

  /** The status of the node the client is talking to. */
  async getStatus(): Promise<NodeStatus> {
    return toStatus((await this.#unary('NodeService', 'GetStatus', {})) as RawStatus);
  }

  /** The block at `height`; AurigraphError NOT_FOUND past the node's tip. */
  async getBlock(height: bigint | number): Promise<Block> {
    return toBlock((await this.#unary('BlockService', 'GetBlock', { height: BigInt(height).toString() })) as RawBlock);
  }

  /**
   * Committed blocks from `fromHeight` on, in order, each once, as they commit. After a stream error the
   * subscription moves to the next node and resumes after the last height it yielded; it throws
   * {@link AurigraphError} after `attempts` failures in a row without a block. Leave the loop (`break`) or abort
   * `signal` to end it.
   */
  async *subscribeBlocks(fromHeight: bigint | number, options: SubscribeOptions = {}): AsyncGenerator<Block, void, undefined> {
    let next = BigInt(fromHeight) < 1n ? 1n : BigInt(fromHeight);
    let failures = 0;
    while (!options.signal?.aborted) {
      const address = this.#addresses[this.#current]!;
      const call = this.#service(address, 'BlockService')['SubscribeBlocks']!({ fromHeight: next.toString() }, new grpc.Metadata(), {});
      call.on('error', () => {}); // the iterator below sees the error; cancelling must not raise an unhandled one
      const abort = (): void => call.cancel();
      options.signal?.addEventListener('abort', abort);
      let failure: AurigraphError;
      try {
        for await (const raw of call) {
          const block = toBlock(raw as RawBlock);
          if (block.header.height < next) {
            continue;
          }
          failures = 0;
          next = block.header.height + 1n;
          yield block;
        }
        failure = new AurigraphError(grpc.status.UNAVAILABLE, 'the block stream ended', address);
      } catch (error) {
        if (options.signal?.aborted) {
          return;
        }
        failure = isServiceError(error) ? AurigraphError.from(error, address) : new AurigraphError(grpc.status.UNKNOWN, String(error), address);
      } finally {
        options.signal?.removeEventListener('abort', abort);
        call.cancel();
      }
      if (++failures >= this.#attempts) {
        throw failure;
      }
      this.#moveOn();
      await delay(backoffMs(failures - 1));
    }
  }

  /** Closes every connection. */
  close(): void {
    for (const services of this.#services.values()) {
      services.get('TransactionService')?.close();
    }
    this.#services.clear();
  }

  /** One unary call, retried on the next node (or the leader a node names) while the failure allows it. */
  async #unary(service: ServiceName, method: string, request: object): Promise<unknown> {
    let last: AurigraphError | undefined;
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      const address = this.#addresses[this.#current]!;
      try {
        return await this.#callOnce(address, service, method, request);
      } catch (error) {
        if (!isServiceError(error)) {
          throw error;
        }
        last = AurigraphError.from(error, address);
        const leader = error.code === grpc.status.FAILED_PRECONDITION ? error.metadata?.get(LEADER_TRAILER)[0]?.toString() : undefined;
        const retryAfter = error.code === grpc.status.RESOURCE_EXHAUSTED ? Number(error.metadata?.get(RETRY_AFTER_TRAILER)[0] ?? NaN) : NaN;
        if (leader !== undefined && leader !== '') {
          this.#follow(leader);
          continue;
        }
        if (error.code === grpc.status.RESOURCE_EXHAUSTED && Number.isFinite(retryAfter)) {
          await delay(retryAfter);
          continue;
        }
        if (error.code !== grpc.status.UNAVAILABLE && error.code !== grpc.status.DEADLINE_EXCEEDED) {
          throw last;
        }
        this.#moveOn();
        if ((attempt + 1) % this.#addresses.length === 0) {
          await delay(backoffMs(Math.floor(attempt / this.#addresses.length)));
        }
      }
    }
    throw last!;
  }

  #callOnce(address: string, service: ServiceName, method: string, request: object): Promise<unknown> {
    const options: grpc.CallOptions = { deadline: Date.now() + this.#callTimeoutMs };
    return new Promise((resolve, reject) => {
      this.#service(address, service)[method]!(request, new grpc.Metadata(), options, (error, response) => (error ? reject(error) : resolve(response)));
    });
  }

  /** The client of `service` on `address`; the three services of one node share one channel. */
  #service(address: string, name: ServiceName): Service {
    let services = this.#services.get(address);
    if (services === undefined) {
      const v1 = (grpcPackage()['aurigraph'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
      const make = (service: ServiceName, options: grpc.ClientOptions): Service =>
        new (v1[service] as grpc.ServiceClientConstructor)(address, this.#credentials(address), options) as unknown as Service;
      const first = make('TransactionService', { 'grpc.max_receive_message_length': -1 });
      const shared = { channelOverride: first.getChannel() };
      services = new Map([
        ['TransactionService', first],
        ['BlockService', make('BlockService', shared)],
        ['NodeService', make('NodeService', shared)],
      ]);
      this.#services.set(address, services);
    }
    return services.get(name)!;
  }

  #moveOn(): void {
    this.#current = (this.#current + 1) % this.#addresses.length;
  }

  /** Makes the leader a node names the current node (adding its address when it is new). */
  #follow(leader: string): void {
    const address = normalize(leader);
    if (leader.startsWith('https://')) {
      this.#https.add(address);
    }
    const known = this.#addresses.indexOf(address);
    this.#current = known >= 0 ? known : this.#addresses.push(address) - 1;
  }
}

type RawResult = { txId: string; state: string; height: string; index: number; receipt: Receipt | null; rejectReason: string };
type RawBlock = {
  header: Record<string, string | number | Buffer> | null;
  transactions: { body: Buffer; signature: Buffer }[];
  receipts: Receipt[];
};
type RawStatus = Record<string, unknown> & { peers: Record<string, unknown>[] };

function toResult(raw: RawResult): TransactionResult {
  return {
    txId: raw.txId,
    state: raw.state.replace(/^TRANSACTION_STATE_/, '') as TransactionState,
    height: BigInt(raw.height),
    index: raw.index,
    receipt: raw.receipt === null ? undefined : { success: raw.receipt.success, failureReason: raw.receipt.failureReason },
    rejectReason: raw.rejectReason,
  };
}

function toBlock(raw: RawBlock): Block {
  const h = raw.header ?? {};
  return {
    header: {
      height: BigInt((h['height'] as string | undefined) ?? 0),
      logIndex: BigInt((h['logIndex'] as string | undefined) ?? 0),
      term: BigInt((h['term'] as string | undefined) ?? 0),
      previousHash: h['previousHash'] as Buffer,
      transactionsRoot: h['transactionsRoot'] as Buffer,
      stateRoot: h['stateRoot'] as Buffer,
      transactionCount: h['transactionCount'] as number,
      hash: h['hash'] as Buffer,
    },
    transactions: raw.transactions.map((t) => ({ body: t.body, signature: t.signature, txId: txIdOf(t.body) })),
    receipts: raw.receipts.map((r) => ({ success: r.success, failureReason: r.failureReason })),
  };
}

function toStatus(raw: RawStatus): NodeStatus {
  const big = (name: string): bigint => BigInt(raw[name] as string);
  return {
    id: Number(raw['id']),
    role: raw['role'] as string,
    raftState: raw['raftState'] as string,
    term: big('term'),
    leader: Number(raw['leader']),
    commitIndex: big('commitIndex'),
    appliedIndex: big('appliedIndex'),
    height: big('height'),
    stateRoot: raw['stateRoot'] as Buffer,
    peers: raw.peers.map((p) => ({
      id: Number(p['id']),
      role: p['role'] as string,
      matchIndex: BigInt(p['matchIndex'] as string),
      recentActive: p['recentActive'] as boolean,
    })),
    chainId: raw['chainId'] as string,
    logFirstIndex: big('logFirstIndex'),
    snapshotIndex: big('snapshotIndex'),
    integrityAlarm: raw['integrityAlarm'] as string,
  };
}

function consistency(options: ReadOptions): string {
  return CONSISTENCY[options.consistency ?? 'linearizable'];
}

function indexesOf(results: readonly TransactionResult[], state: TransactionState): number[] {
  return results.flatMap((r, i) => (r.state === state ? [i] : []));
}

/** 100 ms, doubling per round, at most 2 s. */
function backoffMs(round: number): number {
  return Math.min(2_000, 100 * 2 ** round);
}

/** `host:port` of an address given as `host:port` or an http(s) URL. */
function normalize(address: string): string {
  return address.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return typeof error === 'object' && error !== null && 'code' in error && typeof (error as { code: unknown }).code === 'number';
}
