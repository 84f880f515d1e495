/**
 * What the cache filter's phases share: its options, the per-request state a request carries from
 * one phase to the next, and the parts every phase consults (entries, flights, passes, hits).
 */
import type { RequestView } from '../proxy/pipeline.js';
import type { CacheStatus } from './cache-status.js';
import type { Entries, Located } from './entries.js';
import type { Flight } from './flight.js';
import { Flights } from './flights.js';
import { Hits } from './hits.js';
import { StoreDeadline } from './deadline.js';
import type { EntryKeys } from './key.js';
import type { Clock, RequestFacts } from './policy.js';
import { Passes } from './passes.js';
import type { QuickAbort } from './quick-abort.js';
import { Refreshes, type Refresh } from './refreshes.js';
import type { CacheStats } from './stats.js';
import type { StoreHealth } from './store-health.js';

export interface CacheFilterOptions {
  readonly prefix: string;
  /** 'http' or 'https': the scheme of the URLs this listener serves (part of the key). */
  readonly scheme: string;
  readonly minSize: number;
  readonly staleOnErrorMs: number;
  /** How long a URL whose response was not stored skips the store lookup (passes.ts); 0: never. */
  readonly passTtlMs: number;
  /** How long a request waits for the store (a lookup, the start of a hit's body) before it goes on without the cache (deadline.ts); 0: no deadline. */
  readonly lookupTimeoutMs: number;
  /** Whether a fill goes on when its client leaves mid-body. */
  readonly quickAbort: QuickAbort;
  /** Bytes a fill may hold waiting for the store before it is abandoned. */
  readonly maxBuffered: number;
  /** Bytes of a fetch kept for followers that join late or read slowly. */
  readonly flightWindow: number;
  readonly clock: Clock;
  /** Some backend is ready (else a request would get a 502: a stale entry may answer instead). */
  readonly anyReady: () => boolean;
  /** stale-while-revalidate, and whole fills after Range misses: ask for the URL again in the background (null: none). */
  readonly refresh: Refresh | null;
}

/** What the request phase decided about a request that went to a backend, for the later phases. */
export interface Pending {
  /** range: a Range request on a miss, relayed as it is (its 206 may start a whole fill in the background). */
  readonly mode: 'miss' | 'revalidate' | 'unsafe' | 'range';
  readonly facts: RequestFacts;
  readonly keys: EntryKeys;
  /** The entry being revalidated (or kept for stale-if-error). */
  readonly found: Located | null;
  /** The fetch this request leads. */
  readonly flight: Flight | null;
  /** The removal token when the request was looked up (Entries.token()): a fill of its response saves with it. */
  readonly token: number;
  locations: string[];
  fillStarted: boolean;
  /** An unsafe request's invalidation has started (at its response head). */
  invalidated?: boolean;
  /** The client's own conditional fields, before our validators replaced them. */
  clientConditionals?: Record<string, string | undefined>;
  /** Why a revalidation went forward (RFC 9211 fwd): the entry was stale, or the request refused a fresh one. */
  fwd?: 'stale' | 'request';
}

export function pendingOf(mode: Pending['mode'], facts: RequestFacts, keys: EntryKeys, token: number, found: Located | null = null, flight: Flight | null = null): Pending {
  return { mode, facts, keys, token, found, flight, locations: [], fillStarted: false };
}

export class FilterState {
  readonly entries: Entries;
  readonly health: StoreHealth;
  readonly stats: CacheStats;
  readonly options: CacheFilterOptions;
  readonly flights: Flights;
  readonly passes: Passes;
  readonly hits: Hits;
  /** --cache-lookup-timeout on every store wait of a request. */
  readonly deadline: StoreDeadline;
  /** Which stale-while-revalidate hits refresh their entry (null: no refresher). */
  readonly refreshes: Refreshes | null;
  /** Requests that went to a backend, and what the later phases need to know of them. */
  readonly pending = new WeakMap<RequestView, Pending>();
  /** Cache-Status of requests relayed from a backend (added to its head in phase 5). */
  readonly relayed = new WeakMap<RequestView, CacheStatus>();

  constructor(entries: Entries, health: StoreHealth, stats: CacheStats, options: CacheFilterOptions) {
    this.entries = entries;
    this.health = health;
    this.stats = stats;
    this.options = options;
    this.flights = new Flights(options.flightWindow, stats);
    this.passes = new Passes(options.passTtlMs, options.clock);
    this.deadline = new StoreDeadline(options.lookupTimeoutMs, () => {
      stats.lookupTimeouts++;
      health.slow(`got no answer in ${options.lookupTimeoutMs} ms`);
    });
    this.hits = new Hits(entries, stats, this.deadline);
    this.refreshes = options.refresh === null ? null : new Refreshes(options.refresh, options.clock);
  }
}
