/**
 * The one guard between removals of entries (invalidations, purges, evictions) and everything
 * else that touches the same URLs, per URL directory, so no invalidated response is served,
 * kept in memory or saved again:
 *   - while a URL's removal runs, or after it failed (until a retry succeeds), the URL is blocked:
 *     a lookup is a miss (the store may still hold the old objects), nothing is saved there;
 *   - work that began before a removal of its URL started (a lookup whose body is about to be kept
 *     in memory, a fill, a revalidation) is stale: it is not kept or saved; while a stale fill
 *     runs, its URL is a miss (its object, metadata and all, may be in the store until it is deleted).
 * "Before" is a token, the count of removals started when the work began; a removal of one URL
 * makes no other URL's work stale.
 *
 * Bounded (RemovalBounds): the start tokens of the last 10,000 URLs (and 100 prefix purges) are
 * kept, and for any other URL the newest forgotten token stands in (work older than it is taken as
 * stale: a needless miss at worst). At most 10,000 failed removals are remembered; past that,
 * which URLs hold invalidated entries is no longer known, so every URL is blocked until the
 * process restarts (`overflowed`): a cache that answers nothing beats one that may answer wrong.
 */
/** How much a Removals remembers (the defaults; tests give small ones). */
export interface RemovalBounds {
  /** URL directories whose last removal's start is remembered. */
  readonly remembered: number;
  /** URL prefix purges remembered. */
  readonly prefixes: number;
  /** Failed removals remembered (and retried) before every URL is blocked. */
  readonly failed: number;
}

const BOUNDS: RemovalBounds = { remembered: 10_000, prefixes: 100, failed: 10_000 };

/**
 * A removal as the other workers of `--workers N` hear of it, so their memory tiers, fills and
 * lookups follow: `begin` blocks the URL directory (`dir`; '' with `url` a URL prefix: a purge
 * begins, its directories follow one by one), `end` unblocks it when `ok`, else leaves it blocked
 * until the retry that succeeds ends (a purge's end: every directory it listed was tried). `peer`:
 * another sidecar removed it, and its deletion is over (cache-news.ts): work here that began
 * before is stale, and nothing of this process's own removals changes.
 */
export interface RemovalNotice {
  readonly phase: 'begin' | 'end' | 'peer';
  readonly dir: string;
  /** The URL (or URL prefix) removed; '' when not known (a retry). */
  readonly url: string;
  readonly ok: boolean;
  /**
   * Followed by the other workers of this sidecar, never told to other sidecars (cache-news.ts): a
   * directory deleted by a purge by URL prefix (the purge is told as its prefix, when it begins and
   * ends), or a fill deleted again because another sidecar's removal of its URL arrived after it
   * was saved (late-fills.ts: told, it would make every sidecar that saved the URL since delete
   * its fill in turn, and each of those deletions would do the same, for as long as the URL is asked).
   */
  readonly local?: boolean;
}


export class Removals {
  private started = 0;
  /** URL directory → the token its last removal started at (oldest first). */
  private readonly lastStarted = new Map<string, number>();
  /** URL prefix purges: URL prefix → the token it started at (oldest first). */
  private readonly prefixes = new Map<string, number>();
  /** The token the newest prefix purge started at: work begun after it needs no look at `prefixes`. */
  private newestPrefix = 0;
  /** The newest token forgotten from the maps: any URL may have been removed as late as this. */
  private forgotten = 0;
  /** URL directory → how many removals of it run now. */
  private readonly running = new Map<string, number>();
  /** URL directories whose removal failed, oldest first (retried until one succeeds). */
  private readonly failedDirs = new Set<string>();
  /** More removals failed than are remembered: every URL is blocked. */
  overflowed = false;
  /** URL directory → the tokens of the fills of it running now (filling()). */
  private readonly fills = new Map<string, number[]>();
  private readonly bounds: RemovalBounds;

  constructor(bounds: RemovalBounds = BOUNDS) {
    this.bounds = bounds;
  }

  /** The token of work beginning now. */
  token(): number {
    return this.started;
  }

  /** A removal of `dir` starts. */
  begin(dir: string): void {
    this.heard(dir);
    this.running.set(dir, (this.running.get(dir) ?? 0) + 1);
  }

  /** Another sidecar removed `dir`: what began here before is stale; this process's own removals of it go on as they were. */
  heard(dir: string): void {
    this.started++;
    this.forget(this.lastStarted, dir, this.bounds.remembered);
  }

  /** A removal of `dir` ended; `ok`: the store has nothing of it left. */
  end(dir: string, ok: boolean): void {
    const left = this.running.get(dir)! - 1;
    if (left > 0) this.running.set(dir, left);
    else this.running.delete(dir);
    if (ok) this.failedDirs.delete(dir);
    else if (this.failedDirs.has(dir) || this.failedDirs.size < this.bounds.failed) this.failedDirs.add(dir);
    else this.overflowed = true;
  }

  /** A purge of every URL starting with `urlPrefix` starts (its directories are removed one by one after a listing). */
  beginPrefix(urlPrefix: string): void {
    this.started++;
    this.forget(this.prefixes, urlPrefix, this.bounds.prefixes);
    this.newestPrefix = this.started;
  }

  /** Records `key`'s start at the current token, the oldest key out past `bound`. */
  private forget(map: Map<string, number>, key: string, bound: number): void {
    map.delete(key);
    map.set(key, this.started);
    if (map.size <= bound) return;
    const [oldest, token] = map.entries().next().value as [string, number];
    map.delete(oldest);
    this.forgotten = Math.max(this.forgotten, token);
  }

  /** Nothing may be found or saved under `dir` now: its removal runs or failed. */
  blocked(dir: string): boolean {
    return this.overflowed || this.running.has(dir) || this.failedDirs.has(dir);
  }

  /** Work on `url` (in `dir`) that began at `token` must not keep or save what it has. */
  stale(dir: string, url: string, token: number): boolean {
    if (this.blocked(dir) || Math.max(this.lastStarted.get(dir) ?? 0, this.forgotten) > token) return true;
    if (this.newestPrefix <= token) return false;
    for (const [prefix, started] of this.prefixes) if (started > token && url.startsWith(prefix)) return true;
    return false;
  }

  /** A fill of `dir` that began at `token` runs; the function returned says it is over (saved, or given up). */
  filling(dir: string, token: number): () => void {
    const tokens = this.fills.get(dir) ?? [];
    tokens.push(token);
    this.fills.set(dir, tokens);
    let over = false;
    return () => {
      if (over) return;
      over = true;
      tokens.splice(tokens.indexOf(token), 1);
      if (tokens.length === 0) this.fills.delete(dir);
    };
  }

  /**
   * A fill of the URL runs that began before a removal of it: the object it writes may already be
   * in the store (an S3 object appears, its metadata with it, the moment its last byte or its
   * Complete arrives) and stays there until the fill's save deletes it. Until then the URL is a miss.
   */
  staleFill(dir: string, url: string): boolean {
    return this.fills.get(dir)?.some((token) => this.stale(dir, url, token)) ?? false;
  }

  /** Failed removals to retry, oldest first, at most `count`. */
  toRetry(count: number): string[] {
    const dirs: string[] = [];
    for (const dir of this.failedDirs) {
      if (dirs.length === count) break;
      if (!this.running.has(dir)) dirs.push(dir);
    }
    return dirs;
  }

  get failed(): number {
    return this.failedDirs.size;
  }
}
