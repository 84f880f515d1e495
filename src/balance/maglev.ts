import { hash32 } from './hash.js';

/**
 * Maglev's lookup table (Eisenbud et al., NSDI 2016): every backend walks its own permutation of
 * the M slots and the backends take turns claiming the next free slot of theirs. Each backend ends
 * up with M/N slots (±1), a lookup is one array read, and when a backend leaves, almost only its
 * slots change owner. M is fixed (not derived from N), so a change of N cannot reshuffle everything.
 */
export const MAGLEV_SIZE = 65_537;

export class MaglevTable<T> {
  readonly members: readonly T[];
  /** slot -> index into members. */
  private readonly slots: Uint16Array | Int32Array;

  /** `names` give each member a stable identity (its URL); build cost is O(M log M), paid on change only. */
  constructor(members: readonly T[], names: readonly string[], size = MAGLEV_SIZE) {
    this.members = members;
    this.slots = members.length <= 0xffff ? new Uint16Array(size) : new Int32Array(size);
    if (members.length > 0) fill(this.slots, names, size);
  }

  get size(): number {
    return this.slots.length;
  }

  /** The member owning `hash`, null when there are none. */
  lookup(hash: number): T | null {
    if (this.members.length === 0) return null;
    return this.members[this.slots[hash % this.slots.length]!]!;
  }

  /** The member of the i-th slot after `hash`'s own: the order bounded loads walk. */
  at(hash: number, i: number): T {
    return this.members[this.slots[(hash + i) % this.slots.length]!]!;
  }
}

function fill(slots: Uint16Array | Int32Array, names: readonly string[], m: number): void {
  const n = names.length;
  // pos[i]: backend i's current place in its permutation (offset + j*skip mod m, stepped by adding).
  const pos = new Int32Array(n);
  const skip = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    pos[i] = hash32(names[i]!, 0x6d61) % m;
    skip[i] = (hash32(names[i]!, 0x676c) % (m - 1)) + 1;
  }
  const taken = new Uint8Array(m);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      let c = pos[i]!;
      const step = skip[i]!;
      while (taken[c] === 1) c = c + step >= m ? c + step - m : c + step;
      taken[c] = 1;
      slots[c] = i;
      pos[i] = c + step >= m ? c + step - m : c + step;
      if (++filled === m) return;
    }
  }
}
