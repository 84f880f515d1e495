/**
 * The fetches running in this process, by URL (single flight): a miss leads a new one or follows
 * a running one that can still be read from its first byte. A finished fetch stays joinable for
 * a short grace after its fill settled, for lookups that began before its metadata was written.
 * A URL whose response has Vary may run one fetch per variant at once: a miss whose request
 * selects another variant than a fetch's leader tries the URL's next fetch, and leads its own
 * only when none fits, so concurrent misses ask the backend once per variant.
 */
import type { Answer, RequestView } from '../proxy/pipeline.js';
import { Flight, type FlightHead } from './flight.js';
import type { RequestFacts } from './policy.js';
import type { CacheStats } from './stats.js';
import { variantId } from './vary.js';

const GRACE_MS = 2000;

/** How a miss goes on: with the answer of a running fetch it follows, or leading a new fetch. */
export type Joined = { readonly answer: Answer } | { readonly lead: Flight };

export class Flights {
  /** Running fetches by URL, oldest first (more than one only for a URL whose variants are fetched at once). */
  private readonly running = new Map<string, Flight[]>();
  private readonly window: number;
  private readonly stats: CacheStats;

  constructor(window: number, stats: CacheStats) {
    this.window = window;
    this.stats = stats;
  }

  has(url: string): boolean {
    return this.running.has(url);
  }

  /**
   * Follows a running fetch of `url` whose response selects the same variant as `req`, or leads
   * a new one. The lead is taken in the same turn as the last check, so two misses for one new
   * variant that wake together do not both lead.
   */
  async join(req: RequestView, facts: RequestFacts, url: string): Promise<Joined> {
    const tried = new Set<Flight>();
    for (;;) {
      const flight = this.running.get(url)?.find((f) => f.joinable && !tried.has(f));
      if (flight === undefined) return { lead: this.lead(url) };
      tried.add(flight);
      const head = await flight.head;
      // A response not to be shared (not storable, failed), or a request that refuses a shared one: its own fetch.
      if (head === null || facts.directives.has('no-cache')) return { lead: this.lead(url) };
      if (variantId(head.vary, (name) => req.header(name)) === head.variant) return { answer: this.follow(head, flight) };
    }
  }

  /** A new fetch of `url`, led by the caller. */
  private lead(url: string): Flight {
    const flight = new Flight(this.window);
    this.running.set(url, [...this.running.get(url) ?? [], flight]);
    return flight;
  }

  /** A miss answered with the body `flight` is fetching. */
  private follow(head: FlightHead, flight: Flight): Answer {
    this.stats.collapsed++;
    const headers = { ...head.headers, 'cache-status': `${head.headers['cache-status'] ?? 'Outrigger'}; collapsed` };
    return { status: head.status, headers, body: flight.reader(), length: head.length };
  }

  /** The leader's request is over: forget the fetch once its fill settled (and a grace passed). */
  release(url: string, flight: Flight): void {
    flight.cancel();
    const forget = (): void => {
      const left = (this.running.get(url) ?? []).filter((f) => f !== flight);
      if (left.length === (this.running.get(url)?.length ?? 0)) return;
      if (left.length === 0) this.running.delete(url);
      else this.running.set(url, left);
    };
    void flight.stored.then(() => setTimeout(forget, GRACE_MS).unref());
  }

  /** The URL was invalidated: no new reader joins its running fetches. */
  drop(url: string): void {
    this.running.delete(url);
  }

  /** Every URL starting with `urlPrefix` was purged: no new reader joins their fetches. */
  dropPrefix(urlPrefix: string): void {
    for (const url of this.running.keys()) if (url.startsWith(urlPrefix)) this.running.delete(url);
  }
}
