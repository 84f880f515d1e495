import type { Backend } from '../upstream/backend.js';
import { MaglevTable } from './maglev.js';

/**
 * Sends each key to the same backend of a site while the site's ready set stays the same (a
 * Maglev table, rebuilt only when that set changes), and, with a balance factor c > 1, never to a
 * backend already carrying more than c times the average load: consistent hashing with bounded
 * loads (Mirrokni, Thorup, Zadimoghaddam, 2018). Load is requests in flight. An overloaded or
 * excluded backend's keys walk on through the table's next slots, so they too land somewhere
 * stable, and come back as soon as the load falls.
 */
export class ConsistentHash {
  private readonly factor: number;
  private builtFor: readonly Backend[] | null = null;
  private table: MaglevTable<Backend> = new MaglevTable([], []);

  /** `factor`: the bound c (e.g. 1.25); 0 turns bounded loads off. */
  constructor(factor: number) {
    this.factor = factor;
  }

  /** The backend for a key hash among `ready`, skipping `exclude`; null when all are excluded. */
  pick(ready: readonly Backend[], exclude: readonly Backend[] | null, keyHash: number): Backend | null {
    if (ready.length === 0) return null;
    if (ready !== this.builtFor) this.rebuild(ready);
    const first = this.table.lookup(keyHash)!;
    if (exclude === null && this.factor === 0) return first;
    const cap = this.factor === 0 ? Infinity : capacity(ready, this.factor);
    if (fits(first, exclude, cap)) return first;
    // Consecutive slots belong to backends in a pseudo-random order: walk until one fits.
    const limit = Math.min(this.table.size, 64 * ready.length);
    for (let i = 1; i < limit; i++) {
      const b = this.table.at(keyHash, i);
      if (fits(b, exclude, cap)) return b;
    }
    return leastLoaded(ready, exclude);
  }

  private rebuild(ready: readonly Backend[]): void {
    this.table = new MaglevTable(ready, ready.map((b) => b.url));
    this.builtFor = ready;
  }
}

/** ceil(c × (in flight + 1) / n): the most one backend may carry, counting the request being placed. */
export function capacity(ready: readonly Backend[], factor: number): number {
  let total = 1;
  for (let i = 0; i < ready.length; i++) total += ready[i]!.inFlight;
  return Math.ceil((factor * total) / ready.length);
}

function fits(b: Backend, exclude: readonly Backend[] | null, cap: number): boolean {
  return b.inFlight < cap && (exclude === null || !exclude.includes(b));
}

function leastLoaded(ready: readonly Backend[], exclude: readonly Backend[] | null): Backend | null {
  let best: Backend | null = null;
  for (const b of ready) {
    if (exclude !== null && exclude.includes(b)) continue;
    if (best === null || b.inFlight < best.inFlight) best = b;
  }
  return best;
}
