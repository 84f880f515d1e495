/**
 * A local index of the URL directories the store holds (--cache-index), so that a miss for a URL
 * the store does not hold skips the store lookup: Squid's cache digests, for one process. On Swift
 * here a lookup that finds nothing (GET meta.json → 404) costs more than a whole cache-off request
 * of 1 MiB from a local backend.
 *
 * It is a Bloom filter (bloom.ts) of the sha256 part of `<prefix>hh/<authority>/<sha256>/…`
 * (key.ts), built by listing the bucket under `<prefix>hh/` at start and every DURATION after. It
 * answers "absent" only while it is trustworthy: built, the last listing succeeded, and that listing
 * started no more than 2 × DURATION ago. Otherwise (not built yet, a listing failed, too old, or
 * abandoned because the bucket holds more than --cache-index-max URL directories) every miss is
 * looked up in the store, as without the index.
 *
 * An abandoned index is not gone for good: buckets shrink (lifecycle expiry, purges), so the bucket
 * is listed again every hour (or DURATION, when longer), each time only as far as the limit, and
 * the index returns once the bucket holds at most 90% of --cache-index-max (below the limit, so
 * a bucket near it does not switch the index on and off at every listing).
 *
 * It can never serve a wrong byte: "absent" only sends a request to the backend. What it costs: a
 * URL another sidecar stored since this process's last listing is fetched from the backend once more
 * (and stored again), unless gossip told this process of it first (fill-news.ts). This process's
 * own fills, and those gossip tells of, are added at once (so they are hits here at once), and
 * during a listing also to the filter being built, so a swap never forgets one. Removals need
 * nothing: a removed URL stays "maybe present", its lookup finds nothing, a plain miss.
 */
import { BloomFilter, hashPair, type HashPair } from './bloom.js';

export interface StoreIndexOptions {
  /** How often the store is listed (ms, more than 0). */
  readonly everyMs: number;
  /** Most URL directories indexed: a bucket with more abandons the index (ABANDONED_EVERY_MS). */
  readonly max: number;
  /** When a listing fails, the next one starts after this (at most everyMs). */
  readonly retryMs: number;
  /** The prefix listed, `<prefix>hh/`: every key below it starts with `<authority>/<sha256>/`. */
  readonly prefix: string;
  /** Every key under `prefix`, in the store's (sorted) order. */
  readonly list: () => AsyncIterable<string>;
  readonly clock: () => number;
  /** One line on the first build, on each failure after a success (and recovery), and on abandonment. */
  readonly log: (message: string) => void;
  /** Told of each URL directory this process stores (fill-news.ts tells the other sidecars). */
  readonly stored?: (key: HashPair) => void;
  readonly setTimer?: (fn: () => void, ms: number) => { unref?(): void } & object;
  readonly clearTimer?: (timer: unknown) => void;
}

/** The filter is sized for twice the URL directories listed (room for fills until the next listing), at least this many. */
const MIN_CAPACITY = 1024;
const FALSE_POSITIVES = 0.01;
/** How often an abandoned index lists the bucket again (or everyMs, when longer). */
export const ABANDONED_EVERY_MS = 60 * 60 * 1000;
/** The share of `max` a bucket must be back under for an abandoned index to return. */
export const RETURN_SHARE = 0.9;

export class StoreIndex {
  private filter: BloomFilter | null = null;
  /** When the listing the filter was built from started. */
  private listedAt = 0;
  /** URL directories in the filter (own fills counted once they were new to it). */
  private count = 0;
  private lastFailed = false;
  private abandoned = false;
  /** This process's fills while a listing runs, added to its filter too. */
  private pending: HashPair[] | null = null;
  private running: Promise<void> | null = null;
  private timer: unknown = null;
  private stopped = false;
  private readonly options: StoreIndexOptions;

  constructor(options: StoreIndexOptions) {
    this.options = options;
  }

  /** Lists now, then every everyMs. */
  start(): void {
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) (this.options.clearTimer ?? clearTimeout)(this.timer as NodeJS.Timeout);
    this.timer = null;
  }

  /** Whether "absent" may be believed now. */
  trusted(): boolean {
    return this.filter !== null && !this.lastFailed && !this.abandoned && this.options.clock() - this.listedAt <= 2 * this.options.everyMs;
  }

  /** True only when the index is trustworthy and the store does not hold the URL directory `dir` (key.ts). */
  absent(dir: string): boolean {
    const digest = digestOf(this.options.prefix, dir);
    return digest !== null && this.trusted() && !this.filter!.has(hashPair(digest));
  }

  /** This process stores an entry in `dir`: present from now on (and in the filter a running listing builds). */
  add(dir: string): void {
    const digest = digestOf(this.options.prefix, dir);
    if (digest === null) return;
    const key = hashPair(digest);
    this.insert(key);
    // An abandoned index tells no one (its peers, on the same bucket, have abandoned theirs too).
    if (!this.abandoned) this.options.stored?.(key);
  }

  /** Another sidecar stored entries under these URL directories (fill-news.ts): present from now on. */
  learn(keys: readonly HashPair[]): void {
    for (const key of keys) this.insert(key);
  }

  /** Into the filter, if there is one (not while abandoned), and the one a running listing builds. */
  private insert(key: HashPair): void {
    if (this.filter !== null && !this.filter.has(key)) {
      this.filter.add(key);
      this.count++;
    }
    this.pending?.push(key);
  }

  /** URL directories in the filter (0 before the first listing). */
  get entries(): number {
    return this.filter === null ? 0 : this.count;
  }

  /** Milliseconds since the listing the filter was built from started; null before the first. */
  ageMs(): number | null {
    return this.filter === null ? null : this.options.clock() - this.listedAt;
  }

  /** One listing (the one running, if any); the next is scheduled when it ends. */
  refresh(): Promise<void> {
    this.running ??= this.listing().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async listing(): Promise<void> {
    if (this.stopped) return;
    const startedAt = this.options.clock();
    this.pending = [];
    let next = this.options.everyMs;
    try {
      const listed = await this.collect();
      if (listed === null) {
        next = this.abandonedEveryMs();
        return;
      }
      this.swap(listed, startedAt);
    } catch (err) {
      if (this.stopped) return;
      if (this.abandoned) {
        next = this.abandonedEveryMs();
        return;
      }
      next = Math.min(this.options.retryMs, this.options.everyMs);
      if (!this.lastFailed) this.options.log(`cache index: listing the store failed, every miss is looked up until a listing succeeds: ${(err as Error).message ?? String(err)}`);
      this.lastFailed = true;
    } finally {
      this.pending = null;
      this.schedule(Math.max(0, startedAt + next - this.options.clock()));
    }
  }

  /**
   * The listed URL directories' hash pairs (h1, h2, h1, h2, …); null when there are more than `max`
   * (RETURN_SHARE of it for an abandoned index), or when stopped.
   */
  private async collect(): Promise<{ pairs: Uint32Array; count: number; objects: number } | null> {
    const limit = this.abandoned ? Math.floor(this.options.max * RETURN_SHARE) : this.options.max;
    let pairs: Uint32Array = new Uint32Array(2 * MIN_CAPACITY);
    let count = 0;
    let objects = 0;
    let previous = '';
    for await (const key of this.options.list()) {
      if (this.stopped) return null;
      objects++;
      const digest = digestOf(this.options.prefix, key);
      // Keys come sorted, so the objects of one URL directory are next to each other.
      if (digest === null || digest === previous) continue;
      previous = digest;
      if (++count > limit) return this.abandon(count, objects);
      if (2 * count > pairs.length) pairs = grown(pairs);
      const { h1, h2 } = hashPair(digest);
      pairs[2 * count - 2] = h1;
      pairs[2 * count - 1] = h2;
    }
    return { pairs, count, objects };
  }

  private swap(listed: { pairs: Uint32Array; count: number; objects: number }, startedAt: number): void {
    const own = this.pending ?? [];
    const filter = new BloomFilter(Math.max(MIN_CAPACITY, 2 * (listed.count + own.length)), FALSE_POSITIVES);
    for (let i = 0; i < listed.count; i++) filter.add({ h1: listed.pairs[2 * i]!, h2: listed.pairs[2 * i + 1]! });
    let count = listed.count;
    for (const key of own) {
      if (filter.has(key)) continue;
      filter.add(key);
      count++;
    }
    if (this.filter === null || this.lastFailed) {
      const took = this.options.clock() - startedAt;
      this.options.log(`cache index: ${listed.count} URL directories listed (${listed.objects} objects, ${took} ms); misses for others skip the store lookup`);
    }
    this.filter = filter;
    this.count = count;
    this.listedAt = startedAt;
    this.lastFailed = false;
    this.abandoned = false;
  }

  /** Logged once: a later listing still over the limit says nothing new. */
  private abandon(count: number, objects: number): null {
    if (this.abandoned) return null;
    this.abandoned = true;
    this.filter = null;
    const every = this.abandonedEveryMs();
    this.options.log(`cache index abandoned: the store holds more than --cache-index-max ${this.options.max} URL directories `
      + `(${count} found in the first ${objects} objects); every miss is looked up in the store. Listed again every ${every / 1000} s, `
      + `the index returns when it holds at most ${Math.floor(this.options.max * RETURN_SHARE)}`);
    return null;
  }

  private abandonedEveryMs(): number {
    return Math.max(ABANDONED_EVERY_MS, this.options.everyMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    const set = this.options.setTimer ?? ((fn: () => void, delay: number) => setTimeout(fn, delay));
    const timer = set(() => { void this.refresh(); }, ms);
    timer.unref?.();
    this.timer = timer;
  }
}

/** The sha256 (hex) of the URL directory a key or directory `<prefix><authority>/<sha256>/…` belongs to; null for other keys. */
export function digestOf(prefix: string, key: string): string | null {
  if (!key.startsWith(prefix)) return null;
  const slash = key.indexOf('/', prefix.length);
  if (slash < 0 || key.charCodeAt(slash + 65) !== 0x2f) return null;
  const digest = key.slice(slash + 1, slash + 65);
  return /^[0-9a-f]{64}$/.test(digest) ? digest : null;
}

function grown(pairs: Uint32Array): Uint32Array {
  const bigger = new Uint32Array(pairs.length * 2);
  bigger.set(pairs);
  return bigger;
}
