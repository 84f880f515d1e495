/**
 * The URL directories this process saved entries in lately, so a removal another sidecar tells of
 * (cache-news.ts) also reaches a fill saved here after that sidecar's deletion listed the URL and
 * before its news arrived. Such a fill may hold the very response the removal was for (its request
 * reached the backend before the PUT did), the remover's deletion could not see it, and the news
 * only stops fills not yet saved: without this it would be served, by every sidecar, until it went
 * stale. A removal heard of a URL saved here within WINDOW_MS is therefore deleted here again; at
 * worst that drops a newer response stored meanwhile (a miss). That deletion is not told to the
 * other sidecars (RemovalNotice.local): each would delete its own fill saved since, and tell that,
 * and the URL would never stay stored while it is asked. Bounded in time and in count.
 */

/** Longer than a store deletion (a LIST, then DELETEs) plus gossip's delay, with relaying, on a loaded cluster. */
const WINDOW_MS = 10_000;
/** Directories remembered at most (the oldest go first). */
const MAX = 10_000;

export class LateFills {
  /** URL directory → its URL and when its entry was saved, oldest first. */
  private readonly saved = new Map<string, { readonly url: string; readonly at: number }>();
  private readonly clock: () => number;
  private readonly windowMs: number;

  constructor(clock: () => number = Date.now, windowMs = WINDOW_MS) {
    this.clock = clock;
    this.windowMs = windowMs;
  }

  /** An entry of `url` was saved in `dir` now. */
  add(dir: string, url: string): void {
    this.saved.delete(dir);
    this.saved.set(dir, { url, at: this.clock() });
    this.trim();
  }

  /**
   * Another sidecar removed `dir` (or, dir '', every URL starting with `url`): the directories
   * saved here within the window that it covers, with their URLs, forgotten here (their deletion is the caller's).
   */
  take(dir: string, url: string): Array<readonly [dir: string, url: string]> {
    this.trim();
    const taken: Array<readonly [string, string]> = [];
    if (dir !== '') {
      const entry = this.saved.get(dir);
      if (entry !== undefined) taken.push([dir, entry.url]);
    } else {
      for (const [saved, entry] of this.saved) if (entry.url.startsWith(url)) taken.push([saved, entry.url]);
    }
    for (const [saved] of taken) this.saved.delete(saved);
    return taken;
  }

  private trim(): void {
    const oldest = this.clock() - this.windowMs;
    for (const [dir, entry] of this.saved) {
      if (entry.at >= oldest && this.saved.size <= MAX) break;
      this.saved.delete(dir);
    }
  }
}
