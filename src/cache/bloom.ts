/**
 * A Bloom filter of sha256 digests (the URL directories of store-index.ts). The keys are already
 * uniform hashes, so no further hashing is needed: two 32-bit words of the digest give the k bit
 * positions by double hashing (Kirsch and Mitzenmacher: g_i = h1 + i·h2 mod m), which keeps the
 * false-positive rate of k independent hashes.
 *
 * A false positive only costs a store lookup (what every miss did before the index), and a
 * false negative cannot happen: so the filter needs no removal, and a key dropped from the store
 * simply stays "maybe present" until the filter is rebuilt.
 */

/** A key as the filter reads it: two 32-bit words of its digest. */
export interface HashPair {
  readonly h1: number;
  readonly h2: number;
}

/** The first 64 bits of a sha256 given in hex (64 hex digits), as the filter reads them. */
export function hashPair(hex: string): HashPair {
  // An even h2 would walk only half the positions when m is even; odd h2 reaches them all.
  return { h1: Number.parseInt(hex.slice(0, 8), 16) >>> 0, h2: (Number.parseInt(hex.slice(8, 16), 16) | 1) >>> 0 };
}

export class BloomFilter {
  /** Bits in the filter (m). */
  readonly bits: number;
  /** Bit positions per key (k). */
  readonly hashes: number;
  private readonly words: Uint32Array;

  /** Sized for `capacity` keys at a false-positive rate of `rate` (m = -n ln p / ln² 2, k = m/n ln 2). */
  constructor(capacity: number, rate = 0.01) {
    const n = Math.max(1, capacity);
    this.bits = Math.max(64, Math.ceil((-n * Math.log(rate)) / (Math.LN2 * Math.LN2)));
    this.hashes = Math.max(1, Math.round((this.bits / n) * Math.LN2));
    this.words = new Uint32Array(Math.ceil(this.bits / 32));
  }

  add(key: HashPair): void {
    const step = key.h2 % this.bits || 1;
    for (let i = 0, at = key.h1 % this.bits; i < this.hashes; i++, at = (at + step) % this.bits) {
      this.words[at >>> 5]! |= 1 << (at & 31);
    }
  }

  /** false: the key was never added. true: it probably was (false positives at about the sized rate). */
  has(key: HashPair): boolean {
    const step = key.h2 % this.bits || 1;
    for (let i = 0, at = key.h1 % this.bits; i < this.hashes; i++, at = (at + step) % this.bits) {
      if ((this.words[at >>> 5]! & (1 << (at & 31))) === 0) return false;
    }
    return true;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.words.byteLength;
  }
}
