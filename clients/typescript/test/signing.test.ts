// Signing and encoding, checked against RFC 8032's test vectors and protobuf's wire format written out by hand.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Key, signPut, signTransfer, txIdOf } from '../src/index.js';
import { transactionBodyType } from '../src/protos.js';

// RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte, 0x72).
const vectors = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

test('keys and signatures match RFC 8032 test vectors', () => {
  for (const v of vectors) {
    const key = Key.fromSeedHex(v.seed);
    assert.equal(key.publicKeyHex, v.publicKey);
    assert.equal(key.sign(Buffer.from(v.message, 'hex')).toString('hex'), v.signature);
  }
});

test('a key file in the keygen format (hex seed, whitespace around it) loads, and save writes that format', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'aurigraph-key-'));
  try {
    const file = path.join(dir, 'dev.key');
    await writeFile(file, `${vectors[0]!.seed}\n`);
    assert.equal((await Key.load(file)).publicKeyHex, vectors[0]!.publicKey);
    const fresh = Key.generate();
    await fresh.save(file);
    assert.match(await readFile(file, 'utf8'), /^[0-9a-f]{64}$/);
    assert.equal((await Key.load(file)).publicKeyHex, fresh.publicKeyHex);
    await writeFile(file, 'not a key');
    await assert.rejects(Key.load(file), /not a key file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a transfer body is the protobuf encoding of TransactionBody, signed as is, its id the SHA-256 of it', () => {
  const key = Key.fromSeedHex(vectors[0]!.seed);
  const to = Buffer.alloc(32, 0xab);
  const signed = signTransfer(key, { chainId: 'aurigraph-devnet', nonce: 300, to, amount: (1n << 64n) - 1n });
  const expected = Buffer.concat([
    Buffer.from('0a20', 'hex'), key.publicKey, // 1: sender, 32 bytes
    Buffer.from('10ac02', 'hex'), // 2: nonce 300 as a varint
    Buffer.from('1a10', 'hex'), Buffer.from('aurigraph-devnet'), // 3: chain_id, 16 bytes
    Buffer.from('522d', 'hex'), // 10: transfer, 45 bytes
    Buffer.from('0a20', 'hex'), to, // Transfer.to
    Buffer.from('10ffffffffffffffffff01', 'hex'), // Transfer.amount 2^64-1
  ]);
  assert.equal(Buffer.from(signed.body).toString('hex'), expected.toString('hex'));
  assert.equal(signed.txId, createHash('sha256').update(expected).digest('hex'));
  assert.equal(txIdOf(signed.body), signed.txId);
  assert.equal(Buffer.from(signed.signature).toString('hex'), key.sign(expected).toString('hex'));
});

test('a put body decodes to its fields with protobuf', () => {
  const key = Key.generate();
  const signed = signPut(key, { chainId: 'c', nonce: 7n, key: 'colour', value: new Uint8Array([1, 2, 3]) });
  const decoded = transactionBodyType().toObject(transactionBodyType().decode(signed.body), { longs: String, bytes: Buffer, oneofs: true });
  assert.deepEqual(decoded, {
    sender: key.publicKey,
    nonce: '7',
    chain_id: 'c',
    put: { key: Buffer.from('colour'), value: Buffer.from([1, 2, 3]) },
    operation: 'put',
  });
});

test('out-of-range numbers and malformed account ids are refused before signing', () => {
  const key = Key.generate();
  assert.throws(() => signTransfer(key, { chainId: 'c', nonce: -1, to: key.publicKey, amount: 1 }), /nonce/);
  assert.throws(() => signTransfer(key, { chainId: 'c', nonce: 0, to: key.publicKey, amount: 1n << 64n }), /amount/);
  assert.throws(() => signTransfer(key, { chainId: 'c', nonce: 2 ** 60, to: key.publicKey, amount: 1 }), /safe integer/);
  assert.throws(() => signTransfer(key, { chainId: 'c', nonce: 0, to: 'abcd', amount: 1 }), /64 hex/);
  assert.throws(() => Key.fromSeedHex('00'), /64 hex/);
});
