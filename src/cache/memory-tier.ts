/**
 * The memory tier: small hot entries with their bodies, in front of the store, so a hot small
 * object is answered without a store round trip. Bounded in bytes, least recently used out first
 * (a Map keeps insertion order; a hit re-inserts).
 */
import type { Entry } from './entry.js';

interface Held {
  readonly entry: Entry;
  readonly body: Buffer;
  readonly bytes: number;
}

/** Rough cost of an entry's metadata, so many tiny bodies cannot blow the bound. */
const META_COST = 1024;

export class MemoryTier {
  readonly capacity: number;
  /** Largest body held: a sixteenth of the tier, so one object never evicts everything. */
  readonly maxObject: number;
  private readonly held = new Map<string, Held>();
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

  get(key: string): { entry: Entry; body: Buffer } | undefined {
    const found = this.held.get(key);
    if (found === undefined) return undefined;
    this.held.delete(key);
    this.held.set(key, found);
    return found;
  }

  set(key: string, entry: Entry, body: Buffer): void {
    this.delete(key);
    if (body.length > this.maxObject) return;
    const bytes = body.length + META_COST;
    this.held.set(key, { entry, body, bytes });
    this.used += bytes;
    for (const [oldest, held] of this.held) {
      if (this.used <= this.capacity) break;
      this.held.delete(oldest);
      this.used -= held.bytes;
    }
  }

  /** Replaces the metadata only (after a 304), keeping the body. */
  update(key: string, entry: Entry): void {
    const found = this.held.get(key);
    if (found !== undefined) this.held.set(key, { ...found, entry });
  }

  delete(key: string): void {
    const found = this.held.get(key);
    if (found === undefined) return;
    this.held.delete(key);
    this.used -= found.bytes;
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
