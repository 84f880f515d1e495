/**
 * Deleting URL directories from the store (a LIST, then DELETEs), each guarded by the removal
 * guard (removals.ts) while it runs, and after it if it fails: a failed deletion is retried in the
 * background, RETRY_MS after the failure and doubling to RETRY_MAX_MS while retries fail, until
 * one succeeds. Every start and end is told to `onRemoval` (the other workers of --workers N, and
 * the other sidecars: cache-news.ts). A purge by URL prefix lists the host once and deletes the
 * keys it found, directory by directory.
 */
import { hostDir } from './key.js';
import type { RemovalNotice, Removals } from './removals.js';
import type { CacheStats } from './stats.js';
import type { S3Store } from './store/s3-store.js';

/** Failed deletions retried per round. */
const RETRY_BATCH = 32;
const RETRY_MS = 1000;
const RETRY_MAX_MS = 60_000;

export interface DeletionParts {
  readonly store: S3Store;
  readonly removals: Removals;
  readonly stats: CacheStats;
  /** Runs a store call (timed; a failure marks the store down and is rethrown). */
  readonly call: <T>(work: () => Promise<T>) => Promise<T>;
  /** Drops what this process remembers of a URL directory (memory tier, Vary fields, metadata). */
  readonly forget: (dir: string) => void;
  /** The URL a URL directory's entry answers (store-read.ts), null when none is readable. */
  readonly urlOf: (dir: string) => Promise<string | null>;
}

export class Deletions {
  onRemoval: ((notice: RemovalNotice) => void) | null = null;
  private readonly parts: DeletionParts;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;

  constructor(parts: DeletionParts, retryMs = RETRY_MS) {
    this.parts = parts;
    this.retryDelay = retryMs;
  }

  /**
   * Deletes a URL directory (`url`: its URL, '' when not known), blocked meanwhile, and after if it
   * fails. `listed`: its keys, as a purge's one listing of the host found them (deleted without
   * listing the directory again); else the directory is listed here. `local`: not told to other
   * sidecars (RemovalNotice.local; a purge's directories never are).
   */
  async deleteDir(dir: string, url: string, how: { readonly listed?: readonly string[]; readonly local?: boolean } = {}): Promise<number> {
    const { removals, stats, store, forget } = this.parts;
    const { listed } = how;
    const local = listed !== undefined || how.local === true ? { local: true } : {};
    removals.begin(dir);
    this.onRemoval?.({ phase: 'begin', dir, url, ok: false, ...local });
    forget(dir);
    let ok = false;
    try {
      const deleted = await this.parts.call(() => listed === undefined ? store.deletePrefix(dir) : store.deleteKeys(listed).then(() => listed.length));
      ok = true;
      return deleted;
    } finally {
      removals.end(dir, ok);
      this.onRemoval?.({ phase: 'end', dir, url, ok, ...local });
      if (!ok) this.scheduleRetry();
      // Lookups that ran during the deletion may have remembered the entry again.
      forget(dir);
      stats.removalsFailed = removals.failed;
      stats.removalsOverflowed = removals.overflowed ? 1 : 0;
    }
  }

  /**
   * Deletes every entry whose URL starts with `urlPrefix` on one host (an admin purge), from one
   * listing of the host; `forgetUrls` drops them from memory. Its start and its end are told (the
   * end once every directory it listed was tried: `ok` when all were deleted).
   */
  async deleteUrlPrefix(prefix: string, authority: string, urlPrefix: string, forgetUrls: (urlPrefix: string) => void): Promise<number> {
    this.parts.removals.beginPrefix(urlPrefix);
    this.onRemoval?.({ phase: 'begin', dir: '', url: urlPrefix, ok: false });
    forgetUrls(urlPrefix);
    let ok = false;
    try {
      const removed = await this.deleteListed(await this.urlDirs(hostDir(prefix, authority), urlPrefix));
      ok = true;
      return removed;
    } finally {
      this.onRemoval?.({ phase: 'end', dir: '', url: urlPrefix, ok });
    }
  }

  /** The URL directories under `host` whose URL starts with `urlPrefix`, with their URL and keys (one listing). */
  private async urlDirs(host: string, urlPrefix: string): Promise<Map<string, { url: string; keys: string[] }>> {
    const keysOf = new Map<string, string[]>();
    for await (const key of this.parts.store.list(host)) {
      const dir = key.slice(0, host.length + 65);
      const keys = keysOf.get(dir);
      if (keys === undefined) keysOf.set(dir, [key]);
      else keys.push(key);
    }
    const dirs = new Map<string, { url: string; keys: string[] }>();
    for (const [dir, keys] of keysOf) {
      // Its body object, or the meta.json of an older layout's Vary index.
      const url = await this.parts.urlOf(dir);
      if (url !== null && url.startsWith(urlPrefix)) dirs.set(dir, { url, keys });
    }
    return dirs;
  }

  /** Every listed URL is deleted (or blocked and retried) even when one deletion fails; the first failure is thrown. */
  private async deleteListed(dirs: Map<string, { url: string; keys: string[] }>): Promise<number> {
    let removed = 0;
    let failure: unknown;
    for (const [dir, { url, keys }] of dirs) removed += await this.deleteDir(dir, url, { listed: keys }).catch((err: unknown) => { failure ??= err; return 0; });
    if (failure !== undefined) throw failure;
    return removed;
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => { void this.retryFailed(); }, this.retryDelay);
    this.retryTimer.unref();
  }

  private async retryFailed(): Promise<void> {
    const dirs = this.parts.removals.toRetry(RETRY_BATCH);
    const results = await Promise.allSettled(dirs.map((dir) => this.deleteDir(dir, '')));
    this.retryTimer = undefined;
    const failed = results.some((r) => r.status === 'rejected');
    this.retryDelay = failed ? Math.min(this.retryDelay * 2, RETRY_MAX_MS) : RETRY_MS;
    if (this.parts.removals.failed > 0) this.scheduleRetry();
  }

  /** Stops retrying failed deletions. */
  stop(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
