/**
 * URLs whose last response was not stored for a reason of the response's own (not storable, no
 * lifetime, a status that is not stored, smaller than --cache-min-size), remembered for a while so
 * their next requests skip the store lookup: Varnish's "hit-for-miss". Without it every request
 * for an API answer that is never cached (most of them, with the default 1 MiB minimum) pays a
 * store round trip (4-20 ms on Swift here) before the backend is even asked.
 *
 * It cannot serve a wrong byte: a pass only skips the lookup. The backend answers, and a response
 * that has become storable is stored as on any miss (and the pass is forgotten). What a pass can
 * cost is a hit: an entry another sidecar stored meanwhile is not looked for until the pass ends.
 */
import type { Clock } from './policy.js';

/** How many URLs are remembered (least recently passed out first): ~100 bytes each. */
const MAX_PASSES = 50_000;

export class Passes {
  /** URL -> when its pass ends (ms, from the clock). Insertion order is the eviction order. */
  private readonly until = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly max: number;

  constructor(ttlMs: number, clock: Clock, max = MAX_PASSES) {
    this.ttlMs = ttlMs;
    this.clock = clock;
    this.max = max;
  }

  /** `url` is passed now (its pass has not ended). */
  has(url: string): boolean {
    const until = this.until.get(url);
    if (until === undefined) return false;
    if (until > this.clock()) return true;
    this.until.delete(url);
    return false;
  }

  /** Remembers `url` as passed for the configured time (nothing when that is 0). */
  add(url: string): void {
    if (this.ttlMs <= 0) return;
    this.until.delete(url);
    this.until.set(url, this.clock() + this.ttlMs);
    if (this.until.size > this.max) this.until.delete(this.until.keys().next().value as string);
  }

  forget(url: string): void {
    this.until.delete(url);
  }

  get size(): number {
    return this.until.size;
  }
}
