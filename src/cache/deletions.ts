/**
 * Deleting URL directories from the store (a LIST, then DELETEs), each guarded by the removal
 * guard (removals.ts) while it runs, and after it if it fails: a failed deletion is retried in the
 * background, RETRY_MS after the failure and doubling to RETRY_MAX_MS while retries fail, until
 * one succeeds. Every start and end is told to `onRemoval` (the other workers of --workers N).
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

  /** Deletes a URL directory (`url`: its URL, '' when not known), blocked meanwhile, and after if it fails. */
  async deleteDir(dir: string, url: string): Promise<number> {
    const { removals, stats, store, forget } = this.parts;
    removals.begin(dir);
    this.onRemoval?.({ phase: 'begin', dir, url, ok: false });
    forget(dir);
    let ok = false;
    try {
      const deleted = await this.parts.call(() => store.deletePrefix(dir));
      ok = true;
      return deleted;
    } finally {
      removals.end(dir, ok);
      this.onRemoval?.({ phase: 'end', dir, url, ok });
      if (!ok) this.scheduleRetry();
      // Lookups that ran during the deletion may have remembered the entry again.
      forget(dir);
      stats.removalsFailed = removals.failed;
      stats.removalsOverflowed = removals.overflowed ? 1 : 0;
    }
  }

  /** Deletes every entry whose URL starts with `urlPrefix` on one host (an admin purge); `forgetUrls` drops them from memory. */
  async deleteUrlPrefix(prefix: string, authority: string, urlPrefix: string, forgetUrls: (urlPrefix: string) => void): Promise<number> {
    const { removals, store } = this.parts;
    removals.beginPrefix(urlPrefix);
    this.onRemoval?.({ phase: 'begin', dir: '', url: urlPrefix, ok: false });
    forgetUrls(urlPrefix);
    const host = hostDir(prefix, authority);
    // Each URL directory once (its body object, or the meta.json of an older layout's Vary index).
    const seen = new Set<string>();
    for await (const key of store.list(host)) seen.add(key.slice(0, host.length + 65));
    const dirs = new Map<string, string>();
    for (const dir of seen) {
      const url = await this.parts.urlOf(dir);
      if (url !== null && url.startsWith(urlPrefix)) dirs.set(dir, url);
    }
    // Every listed URL is deleted (or blocked and retried) even when one deletion fails.
    let removed = 0;
    let failure: unknown;
    for (const [dir, url] of dirs) removed += await this.deleteDir(dir, url).catch((err: unknown) => { failure ??= err; return 0; });
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
