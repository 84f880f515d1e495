/**
 * Entries as the rest of the cache sees them: found through the memory tier, then the store;
 * saved (metadata after body); removed. Every store call is timed, and a failing one marks the
 * store down so later requests bypass the cache rather than wait on it.
 *
 * The metadata of entries whose bodies are too big for the memory tier is remembered too (for a
 * few thousand URLs, least recently used out first), so a repeat hit of a large object makes one store
 * call, the body's, not two. That is safe because the body is read only with If-Match on the ETag
 * the remembered metadata names: a body replaced or removed behind this process's back (by another
 * sidecar) is not served; the request becomes a miss and the remembered metadata is dropped. What
 * a remembered copy can miss is another sidecar's revalidation, which only makes it stale sooner.
 *
 * Removals are guarded per URL (removals.ts): a URL is a miss while its removal runs or after it
 * failed (the failed ones are retried in the background until the store has nothing of them left),
 * and nothing that began before a removal of its URL started is kept in memory or saved.
 */
import type { Readable } from 'node:stream';
import { isVaryIndex, parseStored, type Entry, type VaryIndex } from './entry.js';
import { BODY, META, variantDir, type EntryKeys } from './key.js';
import { EarlyBody, dropRead } from './early-body.js';
import type { MemoryTier } from './memory-tier.js';
import type { CacheStats } from './stats.js';
import type { StoreHealth } from './store-health.js';
import type { StoreIndex } from './store-index.js';
import type { ByteRange, S3Store } from './store/s3-store.js';
import { PartedBody, partsOf, type ReadAheadBudget } from './store/parted-body.js';
import { Deletions } from './deletions.js';
import { Removals, type RemovalNotice } from './removals.js';
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
  /** The whole body, read beside the metadata (early-body.ts). */
  readonly early?: EarlyBody;
}

/** How large bodies are read: parts of `partSize`, `lanes` of them open at once, the read-ahead bounded by `budget`. */
export interface ReadAhead {
  readonly partSize: number;
  readonly lanes: number;
  readonly budget: ReadAheadBudget;
}

/** How many URLs' Vary fields are remembered, so a memory-tier hit needs no store call. */
const VARY_MEMORY = 10_000;
/** How many URLs have their variants' metadata remembered (a few KiB per variant at most: a few MiB). */
const META_MEMORY = 2_000;

export class Entries {
  readonly store: S3Store;
  readonly memory: MemoryTier | null;
  private readonly health: StoreHealth;
  private readonly stats: CacheStats;
  private readonly varyOf = new Map<string, readonly string[]>();
  /** URL directory -> its variants' metadata, for entries the memory tier does not hold. */
  private readonly metaOf = new Map<string, Map<string, Entry>>();
  private readonly removals = new Removals();
  private readonly deletions: Deletions;

  private readonly readAhead: ReadAhead | null;
  private readonly index: StoreIndex | null;

  constructor(store: S3Store, memory: MemoryTier | null, health: StoreHealth, stats: CacheStats, readAhead: ReadAhead | null = null, index: StoreIndex | null = null, retryMs?: number) {
    this.store = store;
    const call = <T>(work: () => Promise<T>): Promise<T> => this.call(work);
    this.deletions = new Deletions({ store, removals: this.removals, stats, call, forget: (dir) => this.forget(dir) }, retryMs);
    this.readAhead = readAhead;
    this.index = index;
    this.memory = memory;
    this.health = health;
    this.stats = stats;
  }

  /** Runs a store call, timed; a failure marks the store down and is rethrown. */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await this.stats.timed(work());
      this.health.answered(performance.now() - started);
      return result;
    } catch (err) {
      this.stats.storeErrors++;
      this.health.failed(err);
      throw err;
    }
  }

  /** The removal token of work beginning now (a fill saves with it). */
  token(): number {
    return this.removals.token();
  }

  /** Keeps a body read from the store in the memory tier, unless a removal of its URL started since it was looked up. */
  keep(found: Located, body: Buffer): void {
    if (!this.removals.stale(found.urlDir, found.entry.url, found.token)) this.memory?.set(found.dir, found.entry, body);
  }

  /**
   * The entry for a request; `whole`: a GET of the whole body (its body may then be read beside the
   * metadata). None while the URL's removal runs or after it failed: its deletion (a LIST, then
   * DELETEs) ends after the answer to the request that invalidated it, and the next request must
   * not find the old entry. None either when a removal of the URL started during the lookup.
   * `unlisted` is called when the store index answered the miss (no store call).
   */
  async find(keys: EntryKeys, header: (name: string) => string | undefined, whole = false, unlisted?: () => void): Promise<Located | null> {
    const token = this.removals.token();
    if (this.removals.blocked(keys.dir)) return null;
    const found = await this.lookup(keys, header, whole, token, unlisted);
    if (found === null || !this.removals.stale(keys.dir, keys.url, token)) return found;
    found.early?.drop();
    return null;
  }

  private async lookup(keys: EntryKeys, header: (name: string) => string | undefined, whole: boolean, token: number, unlisted?: () => void): Promise<Located | null> {
    const known = this.varyOf.get(keys.dir);
    if (known !== undefined && this.memory !== null) {
      const dir = variantDir(keys, variantId(known, header));
      const held = this.memory.get(dir);
      if (held !== undefined) return { entry: held.entry, dir, urlDir: keys.dir, body: held.body, token };
    }
    if (known !== undefined) {
      const dir = variantDir(keys, variantId(known, header));
      const entry = this.metaOf.get(keys.dir)?.get(dir);
      if (entry !== undefined) return { entry, dir, urlDir: keys.dir, body: undefined, token };
    }
    if (this.index?.absent(keys.dir) === true) {
      this.stats.indexSkips++;
      unlisted?.();
      return null;
    }
    // Known without Vary, but no tier remembers its metadata: its body is read at the same time.
    const early = whole && known?.length === 0 ? this.call(() => this.store.getWhole(keys.dir + BODY)).catch(() => null) : null;
    const top = await this.readMeta(keys.dir).catch((err: unknown) => {
      dropRead(early);
      throw err;
    });
    if (top !== null && !isVaryIndex(top)) {
      // No Vary: remembered too, so the next memory-tier hit of this URL needs no store call.
      this.rememberVary(keys.dir, []);
      const paired = early === null ? undefined : EarlyBody.paired(await early, top.bodyEtag);
      return this.located(keys.dir, keys.dir, top, token, paired);
    }
    dropRead(early);
    if (top === null) {
      this.varyOf.delete(keys.dir);
      return null;
    }
    // The URL varies now: an entry held from before, without Vary, must not answer it by URL.
    this.memory?.delete(keys.dir);
    this.rememberVary(keys.dir, top.varyIndex);
    const dir = variantDir(keys, variantId(top.varyIndex, header));
    const variant = await this.readMeta(dir);
    return variant === null || isVaryIndex(variant) ? null : this.located(keys.dir, dir, variant, token);
  }

  private located(urlDir: string, dir: string, entry: Entry, token: number, early?: EarlyBody): Located {
    this.rememberMeta(urlDir, dir, entry);
    const held = this.memory?.get(dir);
    if (held !== undefined && held.entry.bodyEtag === entry.bodyEtag) {
      early?.drop();
      return { entry, dir, urlDir, body: held.body, token };
    }
    if (held !== undefined) this.memory!.delete(dir); // replaced in the store (by another sidecar): the held body is outdated
    return { entry, dir, urlDir, body: undefined, token, early };
  }

  private async readMeta(dir: string): Promise<Entry | VaryIndex | null> {
    const text = await this.call(() => this.store.getText(dir + META));
    return text === null ? null : parseStored(text);
  }

  /** Remembers an entry's metadata when the memory tier will not hold its body (least recently used URLs out first). */
  private rememberMeta(urlDir: string, dir: string, entry: Entry): void {
    const variants = this.metaOf.get(urlDir) ?? new Map<string, Entry>();
    this.metaOf.delete(urlDir);
    if (this.memory !== null && entry.size <= this.memory.maxObject) variants.delete(dir);
    else variants.set(dir, entry);
    if (variants.size === 0) return;
    this.metaOf.set(urlDir, variants);
    if (this.metaOf.size > META_MEMORY) this.metaOf.delete(this.metaOf.keys().next().value as string);
  }

  /** The URL's stored entry varies (its Vary index was read or written last): a miss of it is a vary-miss (RFC 9211). */
  varies(dir: string): boolean {
    return (this.varyOf.get(dir)?.length ?? 0) > 0;
  }

  private rememberVary(dir: string, fields: readonly string[]): void {
    this.varyOf.delete(dir);
    this.varyOf.set(dir, fields);
    if (this.varyOf.size > VARY_MEMORY) this.varyOf.delete(this.varyOf.keys().next().value as string);
  }

  /** The stored body (or a range of it), only while it is the one the entry names; null otherwise. */
  async openBody(located: Located, range?: ByteRange): Promise<Readable | null> {
    const early = range === undefined ? located.early?.take() : undefined;
    if (early !== undefined && early !== null) {
      this.stats.earlyBodies++;
      return early;
    }
    const parted = await this.parted(located, range ?? { start: 0, end: located.entry.size - 1 });
    if (parted !== undefined) return parted;
    return this.openRange(located, range, 0);
  }

  /**
   * A large body as consecutive ranges read ahead (parted-body.ts), null when it is gone, undefined
   * when it is not large or no read-ahead is left (one GET then).
   */
  private async parted(located: Located, span: ByteRange): Promise<Readable | null | undefined> {
    const plan = this.readAhead;
    if (plan === null) return undefined;
    const parts = partsOf(span, plan.partSize);
    const reserved = (plan.lanes - 1) * plan.partSize;
    if (parts.length <= 2 || !plan.budget.take(reserved)) return undefined;
    const first = await this.openRange(located, parts[0], 0).catch((err: unknown) => {
      plan.budget.give(reserved);
      throw err;
    });
    if (first === null) {
      plan.budget.give(reserved);
      return null;
    }
    this.stats.readAheads++;
    const open = (range: ByteRange): Promise<Readable | null> => this.openRange(located, range, plan.partSize);
    return new PartedBody(parts, first, plan.lanes, open, () => plan.budget.give(reserved));
  }

  /** One GET of the body (or a range of it) with If-Match; `buffer`: bytes read ahead of the consumer. */
  private async openRange(located: Located, range: ByteRange | undefined, buffer: number): Promise<Readable | null> {
    const body = await this.call(() => this.store.getBody(located.dir + BODY, located.entry.bodyEtag, range, buffer));
    // Replaced or removed behind our back: what we remember of it is outdated too.
    if (body === null) this.metaOf.get(located.urlDir)?.delete(located.dir);
    return body;
  }

  bodyKey(dir: string): string {
    return dir + BODY;
  }

  /**
   * Writes an entry's metadata (its body is already stored), and the Vary index above it; false
   * when a removal of the URL started since `token` (when the request that fetched the response
   * was looked up): that response may be the very one the removal meant to drop. Its body is then
   * deleted (a removal's listing cannot see an upload still running); a removal that started
   * while the metadata was written may have listed the URL before it: the URL is removed again.
   */
  async save(keys: EntryKeys, dir: string, entry: Entry, body: Buffer | undefined, token: number): Promise<boolean> {
    if (this.removals.stale(keys.dir, keys.url, token)) {
      await this.call(() => this.store.deleteKeys([dir + BODY])).catch(() => undefined);
      return false;
    }
    this.index?.add(keys.dir); // before the metadata exists: a lookup meanwhile finds nothing, a plain miss
    await this.call(() => this.store.putText(dir + META, JSON.stringify(entry)));
    if (dir !== keys.dir) {
      const index: VaryIndex = { v: 1, url: entry.url, varyIndex: entry.vary };
      await this.call(() => this.store.putText(keys.dir + META, JSON.stringify(index)));
    }
    if (this.removals.stale(keys.dir, keys.url, token)) {
      await this.deleteDir(keys.dir, keys.url).catch(() => undefined);
      return false;
    }
    this.rememberVary(keys.dir, dir === keys.dir ? [] : entry.vary);
    this.rememberMeta(keys.dir, dir, entry);
    if (dir !== keys.dir) this.memory?.delete(keys.dir); // an entry without Vary held from before
    if (body !== undefined) this.memory?.set(dir, entry, body);
    this.stats.memoryBytes = this.memory?.bytes ?? 0;
    return true;
  }

  /** Rewrites the metadata only (after a 304), unless a removal of the URL started since it was looked up. */
  async update(found: Located, entry: Entry): Promise<void> {
    const dir = found.dir;
    if (this.removals.stale(found.urlDir, entry.url, found.token)) return;
    this.memory?.update(dir, entry);
    this.rememberMeta(found.urlDir, dir, entry);
    await this.call(() => this.store.putText(dir + META, JSON.stringify(entry)));
    // The removal's listing may have missed the rewritten metadata (its body is gone: a miss, but an orphan).
    if (this.removals.stale(found.urlDir, entry.url, found.token)) await this.deleteDir(found.urlDir, entry.url).catch(() => undefined);
  }

  /** Drops every variant of a URL. */
  async remove(keys: EntryKeys): Promise<number> {
    return this.deleteDir(keys.dir, keys.url);
  }

  /** Another worker's removal: the same blocks and stale tokens here, and what memory holds of it forgotten. */
  removedElsewhere(notice: RemovalNotice): void {
    if (notice.dir === '') {
      this.removals.beginPrefix(notice.url);
      this.memory?.deleteUrlPrefix(notice.url);
    } else if (notice.phase === 'begin') this.removals.begin(notice.dir);
    else this.removals.end(notice.dir, notice.ok);
    if (notice.dir !== '') this.forget(notice.dir);
  }

  /** Told of every removal's start and end (the other workers of --workers N follow them). */
  set onRemoval(tell: ((notice: RemovalNotice) => void) | null) {
    this.deletions.onRemoval = tell;
  }

  private deleteDir(dir: string, url: string): Promise<number> {
    return this.deletions.deleteDir(dir, url);
  }

  /** Stops retrying failed removals. */
  stop(): void {
    this.deletions.stop();
  }

  private forget(dir: string): void {
    this.memory?.deletePrefix(dir);
    this.varyOf.delete(dir);
    this.metaOf.delete(dir);
    this.stats.memoryBytes = this.memory?.bytes ?? 0;
  }

  /** Drops every entry whose URL starts with `urlPrefix` on one host (an admin purge). */
  removeUrlPrefix(prefix: string, authority: string, urlPrefix: string): Promise<number> {
    return this.deletions.deleteUrlPrefix(prefix, authority, urlPrefix, (urls) => this.memory?.deleteUrlPrefix(urls));
  }
}
