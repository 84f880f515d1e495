/** The cache's counters, plain fields read at scrape time, and their Prometheus exposition. */

/** What the store index (store-index.ts) shows at scrape time. */
export interface IndexGauges {
  readonly entries: number;
  /** Milliseconds since its last successful listing started; null before the first. */
  ageMs(): number | null;
}

export class CacheStats {
  hits = 0;
  /** Hits answered from the memory tier (also counted in hits). */
  memoryHits = 0;
  misses = 0;
  /** Misses that joined another request's fetch (single flight). */
  collapsed = 0;
  revalidated = 0;
  /** Stale entries served because the backend could not answer (stale-if-error, --cache-serve-stale-on-error). */
  staleOnError = 0;
  /** Requests sent on without the cache because the store was down. */
  bypassed = 0;
  fillsCompleted = 0;
  fillsAborted = 0;
  /** Fills given up because the store fell a fill's memory bound behind the client (also counted in fillsAborted). */
  fillsStoreTooSlow = 0;
  /** Fills whose client left mid-body and that went on (quick-abort policy, or followers reading). */
  fillsFinishedWithoutClient = 0;
  /** Whole fills started in the background by a Range miss. */
  rangeFills = 0;
  /** Requests that skipped the store lookup because their URL's last response was not stored (passes.ts). */
  passes = 0;
  /** Misses that skipped the store lookup because the store index says the store lacks the URL (store-index.ts). */
  indexSkips = 0;
  /** The store index, when --cache-index is on. */
  index: IndexGauges | null = null;
  /** Requests that gave up waiting for the store (--cache-lookup-timeout) and went on without the cache. */
  lookupTimeouts = 0;
  /** Store hits whose body came with the lookup's own GET of the body object (early-body.ts): one store call. */
  earlyBodies = 0;
  /** Hits of large bodies read as consecutive ranges with read-ahead (store/parted-body.ts). */
  readAheads = 0;
  bytesServed = 0;
  bytesStored = 0;
  invalidations = 0;
  storeErrors = 0;
  storeUp = 0;
  storeLatencySumMs = 0;
  storeLatencyCount = 0;
  /** Store calls started and not yet ended. */
  storeCallsInFlight = 0;
  memoryBytes = 0;
  /** URLs whose removal failed and is being retried (removals.ts); their lookups are misses meanwhile. */
  removalsFailed = 0;
  /** 1 once more removals failed than are remembered: every lookup is a miss until a restart (removals.ts). */
  removalsOverflowed = 0;

  /** Times one store call; `answered` is told how long it took when it succeeded. */
  async timed<T>(work: Promise<T>, answered?: (ms: number) => void): Promise<T> {
    const started = performance.now();
    this.storeCallsInFlight++;
    let ok = false;
    try {
      const result = await work;
      ok = true;
      return result;
    } finally {
      const ms = performance.now() - started;
      this.storeCallsInFlight--;
      this.storeLatencySumMs += ms;
      this.storeLatencyCount++;
      if (ok) answered?.(ms);
    }
  }

  text(): string {
    const out: string[] = [];
    const counter = (name: string, help: string, value: number): void => {
      out.push(`# HELP outrigger_cache_${name} ${help}`, `# TYPE outrigger_cache_${name} counter`, `outrigger_cache_${name} ${value}`);
    };
    const gauge = (name: string, help: string, value: number): void => {
      out.push(`# HELP outrigger_cache_${name} ${help}`, `# TYPE outrigger_cache_${name} gauge`, `outrigger_cache_${name} ${value}`);
    };
    counter('hits_total', 'responses served from the cache', this.hits);
    counter('memory_hits_total', 'hits served from the memory tier', this.memoryHits);
    counter('misses_total', 'cacheable requests not answered from the cache', this.misses);
    counter('collapsed_total', 'misses that shared another request\'s upstream fetch', this.collapsed);
    counter('revalidated_total', 'stored responses confirmed by a 304', this.revalidated);
    counter('stale_on_error_total', 'stale responses served because the backend failed', this.staleOnError);
    counter('bypassed_total', 'requests sent on without the cache while the store was down', this.bypassed);
    counter('fills_completed_total', 'bodies stored completely', this.fillsCompleted);
    counter('fills_aborted_total', 'fills abandoned (body cut short, wrong length, slow store, client left)', this.fillsAborted);
    counter('fills_store_too_slow_total', 'fills given up because the store fell a fill\'s memory bound (32 MiB) behind the client', this.fillsStoreTooSlow);
    counter('fills_without_client_total', 'fills that went on after their client left (quick-abort policy or followers)', this.fillsFinishedWithoutClient);
    counter('range_fills_total', 'whole fills started in the background by a Range miss', this.rangeFills);
    counter('lookup_timeouts_total', 'requests that waited --cache-lookup-timeout for the store and went on without the cache', this.lookupTimeouts);
    counter('passes_total', 'requests that skipped the store lookup: their URL\'s last response was not stored', this.passes);
    counter('index_skips_total', 'misses that skipped the store lookup: the store index says the store lacks the URL', this.indexSkips);
    counter('early_bodies_total', 'store hits whose body came with the lookup GET (one store call)', this.earlyBodies);
    counter('read_ahead_total', 'hits of large bodies read as consecutive store ranges, the next ones read ahead', this.readAheads);
    counter('served_bytes_total', 'body bytes served from the cache', this.bytesServed);
    counter('stored_bytes_total', 'body bytes stored', this.bytesStored);
    counter('invalidations_total', 'entries dropped after unsafe requests or purges', this.invalidations);
    counter('store_errors_total', 'failed store operations', this.storeErrors);
    counter('store_latency_ms_sum', 'time spent in store calls', Math.round(this.storeLatencySumMs));
    counter('store_latency_ms_count', 'store calls timed', this.storeLatencyCount);
    gauge('store_calls_in_flight', 'store calls started and not yet answered', this.storeCallsInFlight);
    gauge('store_up', '1 while the store answers its probe', this.storeUp);
    gauge('memory_bytes', 'bytes held by the memory tier', this.memoryBytes);
    if (this.index !== null) {
      gauge('index_entries', 'URL directories in the store index (--cache-index)', this.index.entries);
      gauge('index_age_seconds', 'age of the store listing the index was built from (-1: none yet)', ageSeconds(this.index.ageMs()));
    }
    gauge('removals_failed', 'URLs whose removal from the store failed and is retried (their lookups are misses)', this.removalsFailed);
    gauge('removals_overflowed', '1 once too many removals failed to remember: every lookup is a miss until a restart', this.removalsOverflowed);
    return `${out.join('\n')}\n`;
  }
}

function ageSeconds(ms: number | null): number {
  return ms === null ? -1 : Math.round(ms / 100) / 10;
}
