import { hash32 } from './hash.js';

/**
 * A consistent-hash ring (Karger et al.; ketama's layout): each backend is placed at `points`
 * pseudo-random positions and a key belongs to the first point at or after its hash. Only the
 * keys of a backend that leaves move. Kept beside the Maglev table for the comparison in
 * hash-measure.ts, which chose Maglev (see README: 5-10x cheaper lookups and builds, better
 * balance, at the price of slightly more than 1/N of the keys moving).
 */
/** Points per backend, as ketama places them. */
export const RING_POINTS = 160;

export class HashRing<T> {
  readonly members: readonly T[];
  private readonly positions: Uint32Array;
  private readonly owners: Uint32Array;

  constructor(members: readonly T[], names: readonly string[], points = RING_POINTS) {
    this.members = members;
    // Each point packed as position × 2^20 + owner in one float, so a typed sort orders them.
    const packed = new Float64Array(members.length * points);
    for (let i = 0; i < members.length; i++) {
      for (let p = 0; p < points; p++) packed[i * points + p] = hash32(`${names[i]!}#${p}`) * 0x100000 + i;
    }
    packed.sort();
    this.positions = Uint32Array.from(packed, (x) => Math.floor(x / 0x100000));
    this.owners = Uint32Array.from(packed, (x) => x % 0x100000);
  }

  lookup(hash: number): T | null {
    const n = this.positions.length;
    if (n === 0) return null;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.positions[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.members[this.owners[lo === n ? 0 : lo]!]!;
  }
}
