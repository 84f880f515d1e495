/**
 * The fetches running in this process, by URL (single flight): a miss leads a new one or follows
 * a running one that can still be read from its first byte. A finished fetch stays joinable for
 * a short grace after its fill settled, for lookups that began before its metadata was written.
 */
import type { Answer, RequestView } from '../proxy/pipeline.js';
import { Flight } from './flight.js';
import type { RequestFacts } from './policy.js';
import type { CacheStats } from './stats.js';
import { variantId } from './vary.js';

const GRACE_MS = 2000;

export class Flights {
  private readonly running = new Map<string, Flight>();
  private readonly window: number;
  private readonly stats: CacheStats;

  constructor(window: number, stats: CacheStats) {
    this.window = window;
    this.stats = stats;
  }

  has(url: string): boolean {
    return this.running.has(url);
  }

  /** A running fetch of `url` a new reader can still join, or undefined. */
  joinable(url: string): Flight | undefined {
    const flight = this.running.get(url);
    return flight !== undefined && flight.joinable ? flight : undefined;
  }

  /** A new fetch of `url`, led by the caller. */
  lead(url: string): Flight {
    const flight = new Flight(this.window);
    this.running.set(url, flight);
    return flight;
  }

  /** A miss answered with the body `flight` is fetching; null when its response is not to be shared with `req`. */
  async follow(req: RequestView, facts: RequestFacts, flight: Flight): Promise<Answer | null> {
    const head = await flight.head;
    if (head === null || facts.directives.has('no-cache') || variantId(head.vary, (name) => req.header(name)) !== head.variant) {
      return null;
    }
    this.stats.collapsed++;
    const headers = { ...head.headers, 'cache-status': `${head.headers['cache-status'] ?? 'Outrigger'}; collapsed` };
    return { status: head.status, headers, body: flight.reader(), length: head.length };
  }

  /** The leader's request is over: forget the fetch once its fill settled (and a grace passed). */
  release(url: string, flight: Flight): void {
    flight.cancel();
    const forget = (): void => { if (this.running.get(url) === flight) this.running.delete(url); };
    void flight.stored.then(() => setTimeout(forget, GRACE_MS).unref());
  }

  /** The URL was invalidated: no new reader joins its running fetch. */
  drop(url: string): void {
    this.running.delete(url);
  }
}
