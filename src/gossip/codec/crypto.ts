/**
 * memberlist's AES-GCM encryption and keyring (memberlist-wire.md §5.5).
 * A block is version(1) + nonce(12) + ciphertext + tag(16). Version 1 is
 * unpadded (every ProtocolVersion ≥ 2 node); version 0 pads with PKCS#7 first
 * and is only decrypted here. The first key encrypts; every key is tried to
 * decrypt, which is what lets a cluster rotate keys.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const NONCE = 12;
const TAG = 16;
export const ENCRYPT_OVERHEAD = 1 + NONCE + TAG;

export class CryptoError extends Error {}

export function validateKey(key: Uint8Array): void {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new CryptoError(`key must be 16, 24 or 32 bytes, not ${key.length}`);
  }
}

const algorithm = (key: Uint8Array): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' =>
  (key.length === 16 ? 'aes-128-gcm' : key.length === 24 ? 'aes-192-gcm' : 'aes-256-gcm');

export class Keyring {
  private keys: Uint8Array[];

  /** The first key is the primary: it encrypts. */
  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new CryptoError('a keyring needs at least one key');
    keys.forEach(validateKey);
    this.keys = [...keys];
  }

  get primary(): Uint8Array { return this.keys[0]!; }
  get all(): readonly Uint8Array[] { return this.keys; }

  /** Rotation, as memberlist's keyring: add, make primary, remove a non-primary key. */
  add(key: Uint8Array): void {
    validateKey(key);
    if (!this.keys.some((k) => equal(k, key))) this.keys.push(key);
  }

  use(key: Uint8Array): void {
    const i = this.keys.findIndex((k) => equal(k, key));
    if (i < 0) throw new CryptoError('key is not in the keyring');
    this.keys.unshift(...this.keys.splice(i, 1));
  }

  remove(key: Uint8Array): void {
    if (equal(this.primary, key)) throw new CryptoError('cannot remove the primary key');
    this.keys = this.keys.filter((k) => !equal(k, key));
  }

  encrypt(plain: Uint8Array, aad: Uint8Array | null): Uint8Array {
    const key = this.primary;
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv(algorithm(key), key, nonce);
    if (aad !== null && aad.length > 0) cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.from([1]), nonce, body, cipher.getAuthTag()]);
  }

  decrypt(block: Uint8Array, aad: Uint8Array | null): Uint8Array {
    if (block.length < ENCRYPT_OVERHEAD) throw new CryptoError('encrypted block too short');
    const version = block[0];
    if (version !== 0 && version !== 1) throw new CryptoError(`unknown encryption version ${version}`);
    const nonce = block.subarray(1, 1 + NONCE);
    const body = block.subarray(1 + NONCE, block.length - TAG);
    const tag = block.subarray(block.length - TAG);
    for (const key of this.keys) {
      const plain = tryKey(key, nonce, body, tag, aad);
      if (plain !== null) return version === 0 ? unpad(plain) : plain;
    }
    throw new CryptoError('no installed key could decrypt the message');
  }
}

function tryKey(key: Uint8Array, nonce: Uint8Array, body: Uint8Array, tag: Uint8Array, aad: Uint8Array | null): Uint8Array | null {
  try {
    const d = createDecipheriv(algorithm(key), key, nonce);
    if (aad !== null && aad.length > 0) d.setAAD(aad);
    d.setAuthTag(tag);
    return Buffer.concat([d.update(body), d.final()]);
  } catch {
    return null;
  }
}

function unpad(b: Uint8Array): Uint8Array {
  const n = b[b.length - 1] ?? 0;
  if (n === 0 || n > 16 || n > b.length) throw new CryptoError('bad padding');
  return b.subarray(0, b.length - n);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** --gossip-key text: base64 (as memberlist/Serf tools print keys) or hex, 16/24/32 bytes. */
export function parseKey(text: string): Uint8Array {
  const t = text.trim();
  const hex = /^[0-9a-fA-F]+$/.test(t) && [32, 48, 64].includes(t.length);
  const raw = hex ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  // Buffer.from skips characters that are not base64, so check the round trip.
  if (!hex && raw.toString('base64').replace(/=+$/, '') !== t.replace(/=+$/, '')) {
    throw new CryptoError('key must be base64 or hex');
  }
  validateKey(raw);
  return new Uint8Array(raw);
}
