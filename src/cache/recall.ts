/**
 * What one process remembers of the store's entries, so a repeat hit asks the store less: each
 * URL's Vary fields (a memory-tier hit then needs no store call), and the metadata of entries
 * whose bodies are too large for the memory tier (a repeat hit is then one store call, the body's
 * GET with If-Match on the remembered ETag: a body replaced behind this process's back is not
 * served, and what is remembered of it is dropped). Both bounded, least recently used out first.
 */
import { olderThan, type Entry } from './entry.js';

/** How many URLs' Vary fields are remembered. */
const VARY_MEMORY = 10_000;
/** How many URLs have their variants' metadata remembered (a few KiB per variant at most: a few MiB). */
const META_MEMORY = 2_000;

export class Recall {
  private readonly varyOf = new Map<string, readonly string[]>();
  /** URL directory -> its variants' metadata, for entries the memory tier does not hold. */
  private readonly metaOf = new Map<string, Map<string, Entry>>();

  /** The Vary fields of the URL in `dir` ([] for none), if known. */
  vary(dir: string): readonly string[] | undefined {
    return this.varyOf.get(dir);
  }

  rememberVary(dir: string, fields: readonly string[]): void {
    this.varyOf.delete(dir);
    this.varyOf.set(dir, fields);
    if (this.varyOf.size > VARY_MEMORY) this.varyOf.delete(this.varyOf.keys().next().value as string);
  }

  forgetVary(dir: string): void {
    this.varyOf.delete(dir);
  }

  /** The remembered metadata of a variant (`dir`) of the URL in `urlDir`. */
  meta(urlDir: string, dir: string): Entry | undefined {
    return this.metaOf.get(urlDir)?.get(dir);
  }

  /**
   * Remembers an entry's metadata unless the memory tier takes bodies of its size (`memoryMax`, -1
   * without one), or what is remembered of the variant is of a newer response.
   */
  rememberMeta(urlDir: string, dir: string, entry: Entry, memoryMax: number): void {
    const variants = this.metaOf.get(urlDir) ?? new Map<string, Entry>();
    if (olderThan(entry, variants.get(dir))) return;
    this.metaOf.delete(urlDir);
    if (entry.size <= memoryMax) variants.delete(dir);
    else variants.set(dir, entry);
    if (variants.size === 0) return;
    this.metaOf.set(urlDir, variants);
    if (this.metaOf.size > META_MEMORY) this.metaOf.delete(this.metaOf.keys().next().value as string);
  }

  /** The store no longer has the body a variant's remembered metadata names. */
  forgetMeta(urlDir: string, dir: string): void {
    this.metaOf.get(urlDir)?.delete(dir);
  }

  /**
   * The metadata of every URL starting with `urlPrefix` (a purge). Vary fields name no URL and
   * stay: they only pick which variant to look up, and a purged one is then not found.
   */
  forgetUrlPrefix(urlPrefix: string): void {
    for (const [urlDir, variants] of this.metaOf) {
      if ([...variants.values()].some((entry) => entry.url.startsWith(urlPrefix))) this.metaOf.delete(urlDir);
    }
  }

  /** Everything remembered of a URL directory. */
  forget(dir: string): void {
    this.varyOf.delete(dir);
    this.metaOf.delete(dir);
  }
}
