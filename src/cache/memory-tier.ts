/**
 * The memory tier: small hot entries with their bodies, in front of the store, so a hot small
 * object is answered without a store round trip. Bounded in bytes, least recently used out first
 * (a Map keeps insertion order; a hit re-inserts).
 *
 * Entries are keyed by their variant's directory in the bucket. Those of responses without Vary
 * are also found by their URL (plain()), so the common hit needs no key hashing at all; each such
 * entry carries a slot for what a hit needs, prepared on its first hit (memory-hit.ts).
 */
import { olderThan, type Entry } from './entry.js';

export interface Held<P = unknown> {
  readonly key: string;
  readonly entry: Entry;
  readonly body: Buffer;
  readonly bytes: number;
  /** What a hit of this entry needs, prepared once by whoever answers from it. */
  prepared: P | undefined;
}

/** Rough cost of an entry's metadata, so many tiny bodies cannot blow the bound. */
const META_COST = 1024;

export class MemoryTier {
  readonly capacity: number;
  /** Largest body held: a sixteenth of the tier, so one object never evicts everything. */
  readonly maxObject: number;
  private readonly held = new Map<string, Held>();
  /** Entries of responses without Vary, by URL (the same objects as in `held`). */
  private readonly byUrl = new Map<string, Held>();
  private used = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.maxObject = Math.floor(capacity / 16);
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.held.size;
  }

  get(key: string): Held | undefined {
    const found = this.held.get(key);
    if (found !== undefined) this.touch(found);
    return found;
  }

  /** The entry of `url` when its response has no Vary (so it answers every request for the URL). */
  plain(url: string): Held | undefined {
    const found = this.byUrl.get(url);
    if (found !== undefined) this.touch(found);
    return found;
  }

  private touch(found: Held): void {
    this.held.delete(found.key);
    this.held.set(found.key, found);
  }

  /** Holds `entry` with its body, unless the entry held under `key` is of a newer response. */
  set(key: string, entry: Entry, body: Buffer): void {
    if (olderThan(entry, this.held.get(key)?.entry)) return;
    this.delete(key);
    if (body.length > this.maxObject) return;
    this.add({ key, entry, body, bytes: body.length + META_COST, prepared: undefined });
    for (const [oldest] of this.held) {
      if (this.used <= this.capacity) break;
      this.delete(oldest);
    }
  }

  private add(held: Held): void {
    this.held.set(held.key, held);
    this.used += held.bytes;
    if (held.entry.vary.length === 0) this.byUrl.set(held.entry.url, held);
  }

  /** Replaces the metadata only (after a 304), keeping the body; what was prepared is dropped. */
  update(key: string, entry: Entry): void {
    const found = this.held.get(key);
    if (found === undefined) return;
    this.delete(key);
    this.add({ key, entry, body: found.body, bytes: found.bytes, prepared: undefined });
  }

  delete(key: string): void {
    const found = this.held.get(key);
    if (found === undefined) return;
    this.held.delete(key);
    this.used -= found.bytes;
    if (this.byUrl.get(found.entry.url) === found) this.byUrl.delete(found.entry.url);
  }

  /** Drops every entry whose key starts with `prefix`; returns how many. */
  deletePrefix(prefix: string): number {
    let count = 0;
    for (const key of [...this.held.keys()]) {
      if (key.startsWith(prefix)) {
        this.delete(key);
        count++;
      }
    }
    return count;
  }

  /** Drops entries whose URL starts with `urlPrefix`. */
  deleteUrlPrefix(urlPrefix: string): number {
    let count = 0;
    for (const [key, held] of [...this.held]) {
      if (held.entry.url.startsWith(urlPrefix)) {
        this.delete(key);
        count++;
      }
    }
    return count;
  }
}
