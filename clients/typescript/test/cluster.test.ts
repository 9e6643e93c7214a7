// The client against a real cluster. The cluster is named by the environment:
//   AURIGRAPH_NODES     gRPC API addresses, comma-separated (devnet: 127.0.0.1:7201,127.0.0.1:7202,127.0.0.1:7203)
//   AURIGRAPH_REST      REST addresses, comma-separated (devnet: http://127.0.0.1:7301,...)
//   AURIGRAPH_CHAIN_ID  the cluster's chain id (devnet: aurigraph-devnet)
//   AURIGRAPH_DEV_KEY   a funded key file (devnet: devnet/keys/dev-1.key)
//   AURIGRAPH_CA_FILE   optional: the CA certificate of a node API served over TLS (devnet --api-tls: devnet/certs/ca.pem)
// The tests run one after another (one file): each reads the dev account's next nonce before it signs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { AurigraphClient, AurigraphError, Key, RejectedError, signTransfer, type Block, type SignedTransaction, type TransactionResult } from '../src/index.js';

const TIMEOUT = { timeout: 120_000 };

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`${name} is not set: the cluster tests need AURIGRAPH_NODES, AURIGRAPH_REST, AURIGRAPH_CHAIN_ID and AURIGRAPH_DEV_KEY (see test/cluster.test.ts)`);
  }
  return value.trim();
}

const list = (name: string): string[] => required(name).split(',').map((s) => s.trim()).filter((s) => s !== '');

describe('against a real cluster', () => {
  let nodes: string[];
  let rest: string[];
  let chainId: string;
  let dev: Key;
  let tls: { caFile: string } | undefined;
  let client: AurigraphClient;
  const opened: AurigraphClient[] = [];

  const connect = (addresses: string[]): AurigraphClient => {
    const c = new AurigraphClient({ nodes: addresses, ...(tls === undefined ? {} : { tls }) });
    opened.push(c);
    return c;
  };

  before(async () => {
    nodes = list('AURIGRAPH_NODES');
    rest = list('AURIGRAPH_REST');
    chainId = required('AURIGRAPH_CHAIN_ID');
    dev = await Key.load(required('AURIGRAPH_DEV_KEY'));
    const ca = process.env['AURIGRAPH_CA_FILE'];
    tls = ca === undefined || ca === '' ? undefined : { caFile: ca };
    client = connect(nodes);
  });

  after(() => opened.forEach((c) => c.close()));

  /** Signs a transfer of `amount` from the dev account at its next nonce (read linearizably) to a new account. */
  async function signNext(amount: bigint, options: { chain?: string } = {}): Promise<{ signed: SignedTransaction; recipient: Key; nonce: bigint }> {
    const recipient = Key.generate();
    const { nonce } = await client.getAccount(dev.publicKeyHex, { consistency: 'linearizable' });
    return { signed: signTransfer(dev, { chainId: options.chain ?? chainId, nonce, to: recipient.publicKey, amount }), recipient, nonce };
  }

  function assertCommitted(result: TransactionResult | undefined, signed: SignedTransaction): asserts result is TransactionResult {
    assert.ok(result !== undefined, 'no result');
    assert.equal(result.state, 'COMMITTED', `state ${result.state}: ${result.rejectReason}`);
    assert.ok(result.height > 0n, `committed at height ${result.height}`);
    assert.equal(result.txId, signed.txId, 'the node names the transaction by the id computed here');
    assert.deepEqual(result.receipt, { success: true, failureReason: '' });
  }

  /** Reads blocks from `iterator` until one holds `txId` or the deadline passes; checks heights follow one another from `first`. */
  async function blocksUntil(iterator: AsyncIterator<Block>, first: bigint, txId: string, deadlineMs: number, seen: bigint[] = []): Promise<Block> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      const remaining = until - Date.now();
      assert.ok(remaining > 0, `no block with ${txId} within ${deadlineMs} ms; heights seen ${seen.join(', ')}`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no block within ${deadlineMs} ms; heights seen ${seen.join(', ')}`)), remaining)));
      const next = await Promise.race([iterator.next(), timeout]).finally(() => clearTimeout(timer));
      assert.ok(!next.done, 'the subscription ended');
      const block = next.value;
      assert.equal(block.header.height, first + BigInt(seen.length), `heights seen ${seen.join(', ')}, then ${block.header.height}`);
      seen.push(block.header.height);
      if (block.transactions.some((t) => t.txId === txId)) {
        return block;
      }
    }
  }

  test('the node is on the expected chain and knows a leader', TIMEOUT, async () => {
    const status = await client.getStatus();
    assert.equal(status.chainId, chainId);
    assert.ok(status.leader > 0, `leader ${status.leader}`);
  });

  test('a transfer signed here commits, and the recipient balance shows it in a linearizable read on every node', TIMEOUT, async () => {
    const before = await client.getAccount(dev.publicKeyHex, { consistency: 'linearizable' });
    const amount = 1_000n + BigInt(Math.floor(Math.random() * 1_000));
    const { signed, recipient } = await signNext(amount);
    const [result] = await client.submit([signed]);
    assertCommitted(result, signed);
    for (const node of nodes) {
      const one = connect([node]);
      const account = await one.getAccount(recipient.publicKeyHex, { consistency: 'linearizable' });
      assert.equal(account.balance, amount, `recipient balance on ${node}`);
      assert.ok(account.height >= result.height, `read at height ${account.height} on ${node}, committed at ${result.height}`);
    }
    const after = await client.getAccount(dev.publicKeyHex, { consistency: 'linearizable' });
    assert.equal(after.nonce, before.nonce + 1n);
    assert.equal(after.balance, before.balance - amount);
  });

  test('the tx id computed here is the node id, and the block holds the signed bytes as sent', TIMEOUT, async () => {
    const { signed } = await signNext(3n);
    const [result] = await client.submit([signed]);
    assertCommitted(result, signed);
    const looked = await client.getTransaction(signed.txId, { consistency: 'linearizable' });
    assert.equal(looked.txId, signed.txId);
    assert.equal(looked.state, 'COMMITTED');
    assert.equal(looked.height, result.height);
    assert.equal(looked.index, result.index);
    const block = await client.getBlock(result.height);
    const carried = block.transactions[result.index];
    assert.ok(carried !== undefined, `block ${result.height} has ${block.transactions.length} transactions, no index ${result.index}`);
    assert.equal(carried.txId, signed.txId);
    assert.deepEqual(Buffer.from(carried.body), Buffer.from(signed.body));
    assert.deepEqual(Buffer.from(carried.signature), Buffer.from(signed.signature));
  });

  test('submitting the same signed bytes again is answered as the same transaction: no double spend, one nonce', TIMEOUT, async () => {
    const before = await client.getAccount(dev.publicKeyHex, { consistency: 'linearizable' });
    const { signed, recipient } = await signNext(11n);
    const [first] = await client.submit([signed]);
    assertCommitted(first, signed);
    for (const node of nodes) {
      const [again] = await connect([node]).submit([signed]);
      assertCommitted(again, signed);
      assert.equal(again.height, first.height, `answered on ${node}`);
      assert.equal(again.index, first.index, `answered on ${node}`);
    }
    const twice = await client.submit([signed, signed]);
    twice.forEach((r) => assert.equal(r.height, first.height));
    assert.equal((await client.getAccount(recipient.publicKeyHex, { consistency: 'linearizable' })).balance, 11n);
    const after = await client.getAccount(dev.publicKeyHex, { consistency: 'linearizable' });
    assert.equal(after.nonce, before.nonce + 1n);
    assert.equal(after.balance, before.balance - 11n);
  });

  test('a bad signature is rejected with a reason, and its nonce stays free', TIMEOUT, async () => {
    const { signed, nonce } = await signNext(5n);
    const forged = Buffer.from(signed.signature);
    forged[10]! ^= 0x01;
    const error = await client.submit([{ ...signed, signature: forged }]).then(
      () => assert.fail('a forged signature was accepted'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RejectedError, `expected RejectedError, got ${String(error)}`);
    assert.equal(error.txId, signed.txId);
    assert.match(error.reason, /signature/i);
    assert.equal(error.results[0]?.state, 'REJECTED');
    assert.equal((await client.getAccount(dev.publicKeyHex, { consistency: 'linearizable' })).nonce, nonce);
    const [result] = await client.submit([signed]);
    assertCommitted(result, signed);
  });

  test('a wrong chain id is rejected with a reason', TIMEOUT, async () => {
    const { signed, nonce } = await signNext(5n, { chain: `${chainId}-other` });
    await assert.rejects(client.submit([signed]), (e: unknown) => {
      assert.ok(e instanceof RejectedError, `expected RejectedError, got ${String(e)}`);
      assert.match(e.reason, /chain id/i);
      return true;
    });
    assert.equal((await client.getAccount(dev.publicKeyHex, { consistency: 'linearizable' })).nonce, nonce);
  });

  test('with an unreachable node first in the list, submit and reads go to the next', TIMEOUT, async () => {
    const closed = await closedPort();
    const failover = connect([`127.0.0.1:${closed}`, ...nodes]);
    const recipient = Key.generate();
    const { nonce } = await failover.getAccount(dev.publicKeyHex);
    const signed = signTransfer(dev, { chainId, nonce, to: recipient.publicKeyHex, amount: 13n });
    const [result] = await failover.submit([signed]);
    assertCommitted(result, signed);
    assert.equal((await failover.getAccount(recipient.publicKeyHex)).balance, 13n);
  });

  test('a node call that cannot succeed fails with a typed error naming the code', TIMEOUT, async () => {
    const { height } = await client.getStatus();
    const error = await client.getBlock(height + 1_000_000n).then(
      () => assert.fail('a block past the tip was answered'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AurigraphError, `expected AurigraphError, got ${String(error)}`);
    assert.equal(error.codeName, 'NOT_FOUND');
    assert.match(error.reason, /no block/);
    assert.equal((await client.getTransaction('ab'.repeat(32))).state, 'UNKNOWN');
  });

  test('subscribeBlocks yields the committed block, heights in order from the one asked for', TIMEOUT, async () => {
    const from = (await client.getStatus()).height + 1n;
    const controller = new AbortController();
    const iterator = client.subscribeBlocks(from, { signal: controller.signal })[Symbol.asyncIterator]();
    try {
      const { signed } = await signNext(17n);
      const [result] = await client.submit([signed]);
      assertCommitted(result, signed);
      const block = await blocksUntil(iterator, from, signed.txId, 30_000);
      assert.equal(block.header.height, result.height);
    } finally {
      controller.abort();
      await iterator.return?.();
    }
  });

  test('subscribeBlocks resumes on another node after the stream breaks, from the height after the last one seen', TIMEOUT, async () => {
    const proxy = await tcpProxy(nodes[0]!);
    const through = connect([proxy.address, ...nodes.slice(1)]);
    const from = (await client.getStatus()).height + 1n;
    const iterator = through.subscribeBlocks(from)[Symbol.asyncIterator]();
    const seen: bigint[] = [];
    try {
      const firstTx = (await signNext(19n)).signed;
      assertCommitted((await client.submit([firstTx]))[0], firstTx);
      await blocksUntil(iterator, from, firstTx.txId, 30_000, seen);
      assert.ok(proxy.connections() > 0, 'the subscription went through the proxy');
      assert.ok(proxy.cut() > 0, 'the cut broke a live connection');
      const secondTx = (await signNext(23n)).signed;
      const [second] = await client.submit([secondTx]);
      assertCommitted(second, secondTx);
      const block = await blocksUntil(iterator, from, secondTx.txId, 60_000, seen);
      assert.equal(block.header.height, second.height);
    } finally {
      await iterator.return?.();
      proxy.cut();
    }
  });

  test('REST shows the transaction committed at the same height on every node', TIMEOUT, async () => {
    const { signed } = await signNext(29n);
    const [result] = await client.submit([signed]);
    assertCommitted(result, signed);
    for (const base of rest) {
      const url = `${base.replace(/\/+$/, '')}/api/v11/transactions/${signed.txId}?consistency=READ_CONSISTENCY_LINEARIZABLE`;
      const response = await fetch(url);
      const text = await response.text();
      assert.equal(response.status, 200, `${url}: ${text}`);
      const json = JSON.parse(text) as { txId: string; state: string; height: string };
      assert.equal(json.txId, signed.txId, text);
      assert.equal(json.state, 'TRANSACTION_STATE_COMMITTED', text);
      assert.equal(json.height, result.height.toString(), text);
    }
  });

  test('the README example (examples/transfer.mjs) commits a transfer on the cluster', TIMEOUT, async () => {
    const recipient = Key.generate();
    const example = fileURLToPath(new URL('../../examples/transfer.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [example, recipient.publicKeyHex, '31'], { env: process.env, timeout: 60_000 });
    const txId = /tx ([0-9a-f]{64})/.exec(stdout)?.[1];
    assert.ok(txId !== undefined, `no tx id in the example's output:\n${stdout}`);
    assert.match(stdout, /COMMITTED at height \d+/);
    assert.match(stdout, /ours included/);
    assert.equal((await client.getTransaction(txId)).state, 'COMMITTED', stdout);
    assert.equal((await client.getAccount(recipient.publicKeyHex)).balance, 31n, stdout);
  });
});

/** A loopback port nothing listens on: bound once by the system's choice, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP relay to `target` on a loopback port; `cut()` closes it and every connection through it (answers how many sockets it destroyed). */
async function tcpProxy(target: string): Promise<{ address: string; connections: () => number; cut: () => number }> {
  const [host, port] = target.replace(/^https?:\/\//, '').split(':') as [string, string];
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((inbound) => {
    count++;
    const outbound = net.connect(Number(port), host);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: local } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${local}`,
    connections: () => count,
    cut: () => {
      server.close();
      const live = sockets.size;
      sockets.forEach((s) => s.destroy());
      return live;
    },
  };
}
