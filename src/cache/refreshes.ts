/**
 * stale-while-revalidate (RFC 5861 §3): which stale hits start a background refresh. One refresh
 * per stored version of a URL variant at a time: the refresh's answer reaches the sidecar before
 * the new version is in the store (a fill writes it once the body has passed, a 304's metadata is
 * written after), and every stale hit in between would otherwise ask the backend again.
 *
 * A version is its variant's directory and the time its response was received (a fill and a
 * 304 alike store a new one), so a refreshed entry that goes stale again is refreshed at once.
 * After a refresh ends, its version waits SETTLE_MS before another: long enough for the new
 * version to be written, and a refresh that stored nothing (the backend failed, the answer was
 * not storable) is not retried by every stale hit.
 */
import type { RequestView } from '../proxy/pipeline.js';
import type { Clock } from './policy.js';

/** What the refresh of a stale entry needs to know of it. */
export interface StaleEntry {
  /** The variant's directory in the bucket. */
  readonly dir: string;
  /** When the stored response was received (the policy's `t`), in ms. */
  readonly receivedAt: number;
  /** The entry's Vary fields: the refresh carries the client's values of them. */
  readonly vary: readonly string[];
}

/** Asks for the URL again in the background; settles when that request is over. */
export type Refresh = (req: RequestView, vary: readonly string[]) => Promise<void>;

export const SETTLE_MS = 10_000;

export class Refreshes {
  /** Versions being refreshed (Infinity) or whose refresh ended at that time. */
  private readonly versions = new Map<string, number>();
  private readonly refresh: Refresh;
  private readonly clock: Clock;
  private lastSweep = 0;

  constructor(refresh: Refresh, clock: Clock) {
    this.refresh = refresh;
    this.clock = clock;
  }

  /** A stale hit on `entry`: refreshes it unless its version is being (or was just) refreshed. */
  start(req: RequestView, entry: StaleEntry): void {
    const now = this.clock();
    this.sweep(now);
    const version = `${entry.dir}\n${entry.receivedAt}`;
    const ended = this.versions.get(version);
    if (ended !== undefined && now - ended < SETTLE_MS) return;
    this.versions.set(version, Infinity);
    const over = (): void => { this.versions.set(version, this.clock()); };
    this.refresh(req, entry.vary).then(over, over);
  }

  /** How many versions are remembered (for tests). */
  get size(): number {
    return this.versions.size;
  }

  /** Forgets versions whose refresh ended more than SETTLE_MS ago, at most once per SETTLE_MS. */
  private sweep(now: number): void {
    if (now - this.lastSweep < SETTLE_MS) return;
    this.lastSweep = now;
    for (const [version, ended] of this.versions) if (now - ended >= SETTLE_MS) this.versions.delete(version);
  }
}
