import { fail, ok, type Result } from '../config/result.js';
import { hash32 } from './hash.js';

/** A seed of its own, so the split and the choice of backend within a site are independent. */
const SPLIT_SEED = 0x5b1170;

/**
 * Weighted splitting across sites (--split 95/5): each request goes first to one site drawn by
 * weight, then fails over to the others in their usual order. With a hash key the draw is a
 * hash of the key, so a client stays on its side of an experiment; without one it is random.
 */
export class Split {
  /** cumulative[i]: the sum of weights 0..i, divided by the total. */
  private readonly cumulative: Float64Array;
  /** orders[i]: the site order when site i is drawn (i first, then the others). Built once. */
  private readonly orders: readonly (readonly number[])[];

  constructor(weights: readonly number[]) {
    const total = weights.reduce((a, b) => a + b, 0);
    let sum = 0;
    this.cumulative = Float64Array.from(weights, (w) => (sum += w) / total);
    this.orders = weights.map((_, i) => [i, ...weights.map((__, j) => j).filter((j) => j !== i)]);
  }

  /** The number of sites weighed. */
  get size(): number {
    return this.orders.length;
  }

  /** The order in which to try the sites for this request. */
  order(key: string | null, random: () => number = Math.random): readonly number[] {
    const u = key === null ? random() : hash32(key, SPLIT_SEED) / 0x1_0000_0000;
    const c = this.cumulative;
    let i = 0;
    while (i < c.length - 1 && u >= c[i]!) i++;
    return this.orders[i]!;
  }
}

/** "95/5" or "90/5/5": one positive integer weight per site, in site order. */
export function parseSplit(text: string): Result<readonly number[]> {
  const parts = text.split('/');
  if (parts.length < 2 || parts.some((p) => !/^\d+$/.test(p))) {
    return fail(`"${text}": expected weights per site separated by "/", as in 95/5`);
  }
  const weights = parts.map(Number);
  if (weights.every((w) => w === 0)) return fail(`"${text}": at least one weight must be above 0`);
  return ok(weights);
}
