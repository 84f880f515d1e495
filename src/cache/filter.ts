/**
 * The cache as one pipeline filter, the same for HTTP/1.1 and HTTP/2 clients:
 *   request       look the entry up (memory tier, then store); answer a usable one; on a miss
 *                 lead a fetch or follow one already running; add validators (request-phase.ts)
 *   response head a 304 serves the stored body with refreshed metadata; a 5xx may serve a stale
 *                 entry (stale-if-error); a Range miss's 206 may start a whole fill (response-phase.ts)
 *   no response   (connect refused, timeout, no backend) a stale entry may answer
 *   body          a storable response is filled into the store as it passes (fill-decision.ts)
 *   done          unsafe methods invalidate (evictions.ts); a leader's fetch is released
 */
import type { Answer, BodyTap, ProxyFilter, RequestEdit, RequestView, ResponseView } from '../proxy/pipeline.js';
import type { Entries } from './entries.js';
import { Evictions } from './evictions.js';
import { fillOrPass } from './fill-decision.js';
import { FilterState, type CacheFilterOptions } from './filter-state.js';
import { isPurgePath } from './purge.js';
import { RequestPhase } from './request-phase.js';
import { ResponsePhase } from './response-phase.js';
import type { CacheStats } from './stats.js';
import type { StoreHealth } from './store-health.js';
import type { RemovalNotice } from './removals.js';

export type { CacheFilterOptions } from './filter-state.js';

export class CacheFilter implements ProxyFilter {
  readonly name = 'cache';
  private readonly state: FilterState;
  private readonly requests: RequestPhase;
  private readonly responses: ResponsePhase;
  private readonly evictions: Evictions;

  constructor(entries: Entries, health: StoreHealth, stats: CacheStats, options: CacheFilterOptions) {
    this.state = new FilterState(entries, health, stats, options);
    this.evictions = new Evictions(this.state);
    this.requests = new RequestPhase(this.state);
    this.responses = new ResponsePhase(this.state, this.evictions);
  }

  /** Another worker removed a URL (or purged a prefix): follow it here (memory tier, fills, fetches). */
  removedElsewhere(notice: RemovalNotice): void {
    this.state.entries.removedElsewhere(notice);
    if (notice.phase === 'end' || notice.url === '') return;
    if (notice.dir === '') this.state.flights.dropPrefix(notice.url);
    else this.state.flights.drop(notice.url);
  }

  // ---- phase 2 ----

  request(req: RequestView, edit: RequestEdit): Answer | null | Promise<Answer | null> {
    if (isPurgePath(req.target)) return this.evictions.purge(req);
    return this.requests.memoryHit(req) ?? this.requests.lookup(req, edit);
  }

  // ---- phase 5 ----

  responseHead(req: RequestView, head: ResponseView): Answer | null {
    return this.responses.head(req, head);
  }

  failed(req: RequestView): Answer | null {
    return this.responses.failed(req);
  }

  responseFields(req: RequestView): readonly string[] | null {
    return this.responses.fields(req);
  }

  // ---- phase 6 ----

  responseBody(req: RequestView, head: ResponseView): BodyTap | null {
    return fillOrPass(this.state, req, head);
  }

  // ---- phase 7 ----

  done(req: RequestView, outcome: { readonly status: number }): void {
    const pending = this.state.pending.get(req);
    if (pending === undefined) return;
    this.state.pending.delete(req);
    if (pending.flight !== null) this.state.flights.release(pending.keys.url, pending.flight);
    this.evictions.afterResponse(req, pending, outcome.status);
  }
}
