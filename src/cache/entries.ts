/**
 * Entries as the rest of the cache sees them: found (entry-lookup.ts: the memory tier, what this
 * process remembers, then the store), their bodies opened, saved (the metadata with the body, or
 * after it when it does not fit), refreshed after a 304, removed. Every store call is timed, and a
 * failing one marks the store down so later requests bypass the cache rather than wait on it.
 *
 * Removals are guarded per URL (removals.ts): a URL is a miss while its removal runs or after it
 * failed (the failed ones are retried in the background until the store has nothing of them left),
 * and nothing that began before a removal of its URL started is kept in memory or saved.
 */
import type { Readable } from 'node:stream';
import type { Entry, VaryIndex } from './entry.js';
import { BODY, META, type EntryKeys } from './key.js';
import { EntryLookup, type Located } from './entry-lookup.js';
import { SIDECAR_FIELDS, inlineFields } from './store-meta.js';
import { StoreReader, type ReadKind } from './store-read.js';
import type { MemoryTier } from './memory-tier.js';
import type { CacheStats } from './stats.js';
import type { StoreHealth } from './store-health.js';
import type { StoreIndex } from './store-index.js';
import type { ByteRange, S3Store } from './store/s3-store.js';
import { readAhead, type ReadAhead } from './store/parted-body.js';
import { Deletions } from './deletions.js';
import { Removals, type RemovalNotice } from './removals.js';
import { LateFills } from './late-fills.js';
import { Recall } from './recall.js';

export type { Located } from './entry-lookup.js';

export class Entries {
  readonly store: S3Store;
  readonly memory: MemoryTier | null;
  private readonly health: StoreHealth;
  private readonly stats: CacheStats;
  private readonly recall = new Recall();
  private readonly removals = new Removals();
  /** Saved lately: a removal another sidecar tells of deletes them again (late-fills.ts). */
  private readonly late = new LateFills();
  private readonly deletions: Deletions;
  private readonly reader: StoreReader;
  private readonly finder: EntryLookup;

  private readonly readAhead: ReadAhead | null;
  private readonly index: StoreIndex | null;

  constructor(store: S3Store, memory: MemoryTier | null, health: StoreHealth, stats: CacheStats, readAhead: ReadAhead | null = null, index: StoreIndex | null = null, retryMs?: number) {
    this.store = store;
    const call = <T>(work: () => Promise<T>): Promise<T> => this.call(work);
    this.reader = new StoreReader(store, call);
    this.deletions = new Deletions({ store, removals: this.removals, stats, call, forget: (dir) => this.forget(dir), urlOf: (dir) => this.reader.urlOf(dir) }, retryMs);
    this.readAhead = readAhead;
    this.index = index;
    this.memory = memory;
    this.finder = new EntryLookup({ reader: this.reader, recall: this.recall, memory, index, stats });
    this.health = health;
    this.stats = stats;
  }

  /** Runs a store call, timed; a failure marks the store down and is rethrown. */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await this.stats.timed(work(), (ms) => this.health.answered(ms));
    } catch (err) {
      this.stats.storeErrors++;
      this.health.failed(err);
      throw err;
    }
  }

  /** Work on `keys` that began at `token` may keep or save nothing: a removal of its URL runs, failed, or started since. */
  stale(keys: EntryKeys, token: number): boolean {
    return this.removals.stale(keys.dir, keys.url, token);
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
   * The entry for a request; `kind`: how the body object is read (store-read.ts: a GET of the whole
   * body or of a range brings the bytes beside the metadata, a HEAD only the metadata). None while the URL's removal runs or after it failed: its deletion (a LIST, then
   * DELETEs) ends after the answer to the request that invalidated it, and the next request must
   * not find the old entry. None either when a removal of the URL started during the lookup.
   * `unlisted` is called when the store index answered the miss (no store call).
   */
  async find(keys: EntryKeys, header: (name: string) => string | undefined, kind: ReadKind = 'head', unlisted?: () => void): Promise<Located | null> {
    const token = this.removals.token();
    if (this.removals.blocked(keys.dir)) return null;
    const found = await this.finder.find(keys, header, kind, token, unlisted);
    if (found === null || (!this.removals.stale(keys.dir, keys.url, token) && !this.removals.staleFill(keys.dir, keys.url))) return found;
    found.early?.drop();
    return null;
  }

  /** A fill of `dir` that began at `token` runs; the function returned says it is over (Removals.staleFill says why). */
  filling(dir: string, token: number): () => void {
    return this.removals.filling(dir, token);
  }

  /** The URL's stored entry varies (its Vary index was read or written last): a miss of it is a vary-miss (RFC 9211). */
  varies(dir: string): boolean {
    return (this.recall.vary(dir)?.length ?? 0) > 0;
  }

  /** The stored body (or a range of it), only while it is the one the entry names; null otherwise. */
  async openBody(located: Located, range?: ByteRange): Promise<Readable | null> {
    // The lookup's own GET of the whole body: a large one is read ahead from its first part on.
    // The lookup's own GET of the whole body, or of the range asked.
    const early = (await located.early?.take(range)) ?? undefined;
    if (early !== undefined) this.stats.earlyBodies++;
    const span = range ?? { start: 0, end: located.entry.size - 1 };
    const open = (part: ByteRange, buffer: number): Promise<Readable | null> => this.openRange(located, part, buffer);
    const parted = this.readAhead === null ? undefined : await readAhead(this.readAhead, span, open, () => this.stats.readAheads++, early);
    if (parted !== undefined) return parted;
    return early ?? this.openRange(located, range, 0);
  }

  /** One GET of the body (or a range of it) with If-Match; `buffer`: bytes read ahead of the consumer. */
  private async openRange(located: Located, range: ByteRange | undefined, buffer: number): Promise<Readable | null> {
    const body = await this.call(() => this.store.getBody(located.dir + BODY, located.entry.bodyEtag, range, buffer));
    // Replaced or removed behind our back: what we remember of it is outdated too.
    if (body === null) this.recall.forgetMeta(located.urlDir, located.dir);
    return body;
  }

  bodyKey(dir: string): string {
    return dir + BODY;
  }

  /**
   * Completes an entry whose body is stored: its metadata is written beside it unless it rode in
   * the body object itself (entry.inline: nothing to write), and the Vary index above it. False
   * when a removal of the URL started since `token` (when the request that fetched the response
   * was looked up): that response may be the very one the removal meant to drop. Its body is then
   * deleted (a removal's listing cannot see an upload still running; until the fill is over its
   * URL is a miss: staleFill()); a removal that started while the metadata was written may have
   * listed the URL before it: the URL is removed again.
   */
  async save(keys: EntryKeys, dir: string, entry: Entry, body: Buffer | undefined, token: number): Promise<boolean> {
    // Its body object is an entry others may already read (its metadata rides in it): removed as
    // any entry is, so the other workers and sidecars drop what they took of it.
    if (this.removals.stale(keys.dir, keys.url, token)) {
      await this.deleteDir(keys.dir, keys.url).catch(() => undefined);
      return false;
    }
    this.index?.add(keys.dir); // before the metadata exists: a lookup meanwhile finds nothing, a plain miss
    if (entry.inline !== true) await this.call(() => this.store.putText(dir + META, JSON.stringify(entry)));
    if (dir !== keys.dir) await this.saveVaryIndex(keys, { v: 1, url: entry.url, varyIndex: entry.vary });
    if (this.removals.stale(keys.dir, keys.url, token)) {
      await this.deleteDir(keys.dir, keys.url).catch(() => undefined);
      return false;
    }
    this.recall.rememberVary(keys.dir, dir === keys.dir ? [] : entry.vary);
    this.finder.rememberMeta(keys.dir, dir, entry);
    if (dir !== keys.dir) this.memory?.delete(keys.dir); // an entry without Vary held from before
    if (body !== undefined) this.memory?.set(dir, entry, body);
    this.stats.memoryBytes = this.memory?.bytes ?? 0;
    this.late.add(keys.dir, keys.url);
    return true;
  }

  /**
   * The URL's Vary index, as the (empty) object at the URL's body key, so the lookup's one GET of
   * that key finds it; one too large for user metadata is in meta.json, written first.
   */
  private async saveVaryIndex(keys: EntryKeys, index: VaryIndex): Promise<void> {
    const fields = inlineFields(index);
    if (fields === null) await this.call(() => this.store.putText(keys.dir + META, JSON.stringify(index)));
    await this.call(() => this.store.putText(keys.dir + BODY, '', fields ?? SIDECAR_FIELDS));
  }

  /**
   * Rewrites the metadata only (after a 304), unless a removal of the URL started since it was
   * looked up. Inline metadata is replaced by copying the body object onto itself, only while it
   * is the body the entry names (store-meta.ts); the entry remembers the copy's ETag. Metadata
   * that no longer fits inline, or a copy the store refuses (the body was replaced meanwhile), is
   * kept by this process only: the store's entry stays as it was, and is revalidated again.
   */
  async update(found: Located, entry: Entry): Promise<void> {
    const dir = found.dir;
    if (this.removals.stale(found.urlDir, entry.url, found.token)) return;
    this.remember(found, entry);
    if (entry.inline !== true) await this.call(() => this.store.putText(dir + META, JSON.stringify(entry)));
    else {
      const fields = inlineFields(entry);
      const etag = fields === null ? entry.bodyEtag : await this.call(() => this.store.copyFields(dir + BODY, entry.bodyEtag, fields));
      if (etag === null) this.forgetVariant(found);
      else if (etag !== entry.bodyEtag) this.remember(found, { ...entry, bodyEtag: etag });
    }
    // The removal's listing may have missed the rewritten metadata (its body is gone: a miss, but an orphan).
    if (this.removals.stale(found.urlDir, entry.url, found.token)) await this.deleteDir(found.urlDir, entry.url).catch(() => undefined);
  }

  private remember(found: Located, entry: Entry): void {
    this.memory?.update(found.dir, entry);
    this.finder.rememberMeta(found.urlDir, found.dir, entry);
  }

  /** The store's body of a variant is not the one remembered: what this process holds of it goes. */
  private forgetVariant(found: Located): void {
    this.memory?.delete(found.dir);
    this.recall.forgetMeta(found.urlDir, found.dir);
    this.stats.memoryBytes = this.memory?.bytes ?? 0;
  }

  /** Drops every variant of a URL. */
  async remove(keys: EntryKeys): Promise<number> {
    return this.deleteDir(keys.dir, keys.url);
  }

  /** Another worker's removal (phase peer: another sidecar's): the same blocks or stale tokens here, and what memory holds of it forgotten. */
  removedElsewhere(notice: RemovalNotice): void {
    if (notice.dir === '') {
      // A worker's purge ended: its directories' own notices were followed.
      if (notice.phase === 'end') return;
      this.removals.beginPrefix(notice.url);
      this.memory?.deleteUrlPrefix(notice.url);
      this.recall.forgetUrlPrefix(notice.url);
      this.stats.memoryBytes = this.memory?.bytes ?? 0;
    } else if (notice.phase === 'begin') this.removals.begin(notice.dir);
    else if (notice.phase === 'peer') this.removals.heard(notice.dir);
    else this.removals.end(notice.dir, notice.ok);
    if (notice.dir !== '') this.forget(notice.dir);
    if (notice.phase !== 'peer') return;
    // Not told to other sidecars (RemovalNotice.local): their own late fills answer the first removal, not this one.
    for (const [dir, url] of this.late.take(notice.dir, notice.url)) void this.deletions.deleteDir(dir, url, { local: true }).catch(() => undefined);
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
    this.recall.forget(dir);
    this.stats.memoryBytes = this.memory?.bytes ?? 0;
  }

  /** Drops every entry whose URL starts with `urlPrefix` on one host (an admin purge). */
  removeUrlPrefix(prefix: string, authority: string, urlPrefix: string): Promise<number> {
    return this.deletions.deleteUrlPrefix(prefix, authority, urlPrefix, (urls) => this.memory?.deleteUrlPrefix(urls));
  }
}
