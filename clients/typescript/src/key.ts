import { createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';

// PKCS#8 DER of an Ed25519 private key is this fixed prefix followed by the 32-byte seed (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
// SubjectPublicKeyInfo DER of an Ed25519 public key: this prefix, then the 32-byte key.
const SPKI_PREFIX_LENGTH = 12;

/**
 * An Ed25519 key pair (RFC 8032). The public key is the account id; the private key is its 32-byte seed, which the
 * node's `keygen` command writes to a file as 64 lowercase hex characters.
 */
export class Key {
  readonly #privateKey: KeyObject;
  readonly #seed: Buffer;
  /** The 32-byte public key: the account id. */
  readonly publicKey: Buffer;

  private constructor(seed: Buffer) {
    if (seed.length !== 32) {
      throw new Error(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
    }
    this.#seed = Buffer.from(seed);
    this.#privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    this.publicKey = createPublicKey(this.#privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX_LENGTH);
  }

  /** A new random key. */
  static generate(): Key {
    return new Key(randomBytes(32));
  }

  /** The key of a 32-byte seed. */
  static fromSeed(seed: Uint8Array): Key {
    return new Key(Buffer.from(seed));
  }

  /** The key of a seed written as 64 hex characters (surrounding whitespace ignored). */
  static fromSeedHex(hex: string): Key {
    const text = hex.trim();
    if (!/^[0-9a-fA-F]{64}$/.test(text)) {
      throw new Error('an Ed25519 seed is 64 hex characters');
    }
    return new Key(Buffer.from(text, 'hex'));
  }

  /** Reads a key file in the format `keygen --out` writes: the seed as hex. */
  static async load(file: string): Promise<Key> {
    const text = await readFile(file, 'utf8');
    try {
      return Key.fromSeedHex(text);
    } catch (error) {
      throw new Error(`${file}: not a key file (${(error as Error).message})`);
    }
  }

  /** Writes the seed as hex, the format `keygen --out` writes, readable only by the owner. */
  async save(file: string): Promise<void> {
    await writeFile(file, this.#seed.toString('hex'), { mode: 0o600 });
  }

  /** The public key (account id) as 64 lowercase hex characters. */
  get publicKeyHex(): string {
    return this.publicKey.toString('hex');
  }

  /** The 64-byte pure Ed25519 signature of exactly `message`. */
  sign(message: Uint8Array): Buffer {
    return sign(null, message, this.#privateKey);
  }
}
