/**
 * Token buckets, one per key (a client address, a header value), refilled lazily from the clock
 * when a key is seen: nothing runs between requests. Memory is bounded: a bucket that has been
 * idle long enough to be full again says nothing a new bucket would not, so the oldest such
 * buckets are dropped when the table grows past `maxKeys`; if none is idle, the oldest goes.
 */
export class TokenBuckets {
  readonly rate: number;
  readonly burst: number;
  private readonly maxKeys: number;
  /** key -> [tokens, last refill time in ms]; Map order is insertion order (oldest first). */
  private readonly buckets = new Map<string, Float64Array>();

  /** `rate`: tokens per second; `burst`: bucket size. */
  constructor(rate: number, burst: number, maxKeys = 100_000) {
    this.rate = rate;
    this.burst = burst;
    this.maxKeys = maxKeys;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Take one token for `key` at time `now` (ms). Returns the tokens left (>= 0), or -1 when empty. */
  take(key: string, now: number): number {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this.evict(now);
      b = Float64Array.of(this.burst, now);
      this.buckets.set(key, b);
    } else {
      b[0] = Math.min(this.burst, b[0]! + ((now - b[1]!) / 1000) * this.rate);
      b[1] = now;
    }
    if (b[0]! < 1) return -1;
    b[0]!--;
    return Math.floor(b[0]!);
  }

  /** Milliseconds until `key` has a whole token again (0 when it has one). */
  waitMs(key: string, now: number): number {
    const b = this.buckets.get(key);
    if (b === undefined) return 0;
    const tokens = Math.min(this.burst, b[0]! + ((now - b[1]!) / 1000) * this.rate);
    return tokens >= 1 ? 0 : ((1 - tokens) / this.rate) * 1000;
  }

  /** Seconds for an empty bucket to fill up: the window of the policy. */
  get windowSeconds(): number {
    return Math.ceil(this.burst / this.rate);
  }

  private evict(now: number): void {
    const fullAfterMs = (this.burst / this.rate) * 1000;
    for (const [key, b] of this.buckets) {
      if (now - b[1]! >= fullAfterMs) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
