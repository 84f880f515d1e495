/**
 * Finding an entry, as a lookup does it: the memory tier, what this process remembers (recall.ts),
 * then the store (one call for the body object, its metadata riding in it: store-read.ts,
 * store-meta.ts), following the URL's Vary index to the variant the request selects. What a
 * remembered copy of metadata can miss is another sidecar's revalidation, which only makes it
 * stale sooner. Removals are not this module's concern: entries.ts guards every lookup.
 */
import { isVaryIndex, type Entry } from './entry.js';
import { variantDir, type EntryKeys } from './key.js';
import { bytesOf, EarlyBody, release } from './early-body.js';
import type { ReadKind, StoreReader, StoredRead } from './store-read.js';
import type { MemoryTier } from './memory-tier.js';
import type { CacheStats } from './stats.js';
import type { StoreIndex } from './store-index.js';
import type { Recall } from './recall.js';
import { variantId } from './vary.js';

export interface Located {
  readonly entry: Entry;
  /** The variant's directory in the bucket (also its memory-tier key). */
  readonly dir: string;
  /** The URL's directory (the variant's, or the one above it when the response varies). */
  readonly urlDir: string;
  /** The body, when the memory tier holds it. */
  readonly body: Buffer | undefined;
  /** The removal token when the lookup began (removals.ts): a removal of the URL since makes what it read stale. */
  readonly token: number;
  /** The body (or the range asked), from the lookup's GET of the body object (early-body.ts). */
  readonly early?: EarlyBody;
}

export interface LookupParts {
  readonly reader: StoreReader;
  readonly recall: Recall;
  readonly memory: MemoryTier | null;
  readonly index: StoreIndex | null;
  readonly stats: CacheStats;
}

export class EntryLookup {
  private readonly parts: LookupParts;

  constructor(parts: LookupParts) {
    this.parts = parts;
  }

  /** The entry for a request; `kind`: how its body object is read (store-read.ts). `unlisted`: the store index answered the miss. */
  async find(keys: EntryKeys, header: (name: string) => string | undefined, kind: ReadKind, token: number, unlisted?: () => void): Promise<Located | null> {
    const { recall, index, stats, reader, memory } = this.parts;
    const known = recall.vary(keys.dir);
    if (known !== undefined) {
      const remembered = this.remembered(keys, known, header, token);
      if (remembered !== null) return remembered;
    }
    if (index?.absent(keys.dir) === true) {
      stats.indexSkips++;
      unlisted?.();
      return null;
    }
    // One call: the URL's body object (or its Vary index) with its metadata (store-read.ts).
    const top = await reader.read(keys.dir, kind);
    if (top === null) {
      recall.forgetVary(keys.dir);
      return null;
    }
    if (!isVaryIndex(top.stored)) {
      // No Vary: remembered too, so the next memory-tier hit of this URL needs no store call.
      recall.rememberVary(keys.dir, []);
      return this.located(keys.dir, keys.dir, top.stored, top, token);
    }
    // The URL varies now: an entry held from before, without Vary, must not answer it by URL.
    memory?.delete(keys.dir);
    recall.rememberVary(keys.dir, top.stored.varyIndex);
    const remembered = this.remembered(keys, top.stored.varyIndex, header, token);
    if (remembered !== null) return remembered;
    const dir = variantDir(keys, variantId(top.stored.varyIndex, header));
    const variant = await reader.read(dir, kind);
    if (variant === null || isVaryIndex(variant.stored)) return null;
    return this.located(keys.dir, dir, variant.stored, variant, token);
  }

  /** The variant `vary` selects, when the memory tier holds it or its metadata is remembered (no store call then). */
  private remembered(keys: EntryKeys, vary: readonly string[], header: (name: string) => string | undefined, token: number): Located | null {
    const dir = variantDir(keys, variantId(vary, header));
    const held = this.parts.memory?.get(dir);
    if (held !== undefined) return { entry: held.entry, dir, urlDir: keys.dir, body: held.body, token };
    const entry = this.parts.recall.meta(keys.dir, dir);
    return entry === undefined ? null : { entry, dir, urlDir: keys.dir, body: undefined, token };
  }

  /** `entry`: what `read` found; its body (if opened) is the hit's early body, or released. */
  private located(urlDir: string, dir: string, entry: Entry, read: StoredRead, token: number): Located {
    const { body, span } = read;
    const memory = this.parts.memory;
    this.rememberMeta(urlDir, dir, entry);
    const held = memory?.get(dir);
    if (held !== undefined && held.entry.bodyEtag === entry.bodyEtag) {
      if (body !== null) release(body, bytesOf(entry.size, span));
      return { entry, dir, urlDir, body: held.body, token };
    }
    if (held !== undefined) memory!.delete(dir); // replaced in the store (by another sidecar): the held body is outdated
    return { entry, dir, urlDir, body: undefined, token, early: body === null ? undefined : new EarlyBody(body, entry.size, span) };
  }

  /** Remembers an entry's metadata (recall.ts keeps only those the memory tier would not hold). */
  rememberMeta(urlDir: string, dir: string, entry: Entry): void {
    this.parts.recall.rememberMeta(urlDir, dir, entry, this.parts.memory?.maxObject ?? -1);
  }
}
