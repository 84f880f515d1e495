/**
 * The cache's response phases for a request that went to a backend: its head (a 304 serves the
 * stored body with refreshed metadata, a 5xx may serve a stale entry, 404/410 evicts, a Range
 * miss's 206 may start a whole fill), no head at all (stale-if-error), and our Cache-Status on
 * what is relayed.
 */
import type { Answer, RequestView, ResponseView } from '../proxy/pipeline.js';
import { mergeFields, textAnswer } from './answers.js';
import { formatCacheStatus, type CacheStatus } from './cache-status.js';
import type { Located } from './entries.js';
import type { Entry } from './entry.js';
import type { Evictions } from './evictions.js';
import type { FilterState, Pending } from './filter-state.js';
import { prepareResponse, StoredPolicy } from './policy.js';
import { varyFields } from './vary.js';

export class ResponsePhase {
  private readonly state: FilterState;
  private readonly evictions: Evictions;

  constructor(state: FilterState, evictions: Evictions) {
    this.state = state;
    this.evictions = evictions;
  }

  head(req: RequestView, head: ResponseView): Answer | null {
    const pending = this.state.pending.get(req);
    if (pending === undefined) return null;
    if (pending.mode === 'unsafe') {
      pending.locations = head.fields.filter(([n]) => /^(content-)?location$/i.test(n)).map(([, v]) => v);
      this.evictions.afterResponse(req, pending, head.status);
      return null;
    }
    if (pending.mode === 'revalidate') return this.revalidated(req, pending, head);
    if (pending.mode === 'range') this.fillAfterRange(req, pending, head);
    return null;
  }

  /**
   * A Range miss answered with a 206: when the whole object is cheap to read (no more than a fill
   * would go on reading for nobody, --cache-quick-abort-max), it is fetched whole in the
   * background, so the next ranges of it are hits (S3 clients read big objects as many ranges).
   */
  private fillAfterRange(req: RequestView, pending: Pending, head: ResponseView): void {
    const { options, flights, stats } = this.state;
    const contentRange = head.fields.find(([n]) => n.toLowerCase() === 'content-range')?.[1] ?? '';
    const total = Number(/\/(\d+)\s*$/.exec(contentRange)?.[1] ?? NaN);
    if (head.status !== 206 || !(total >= options.minSize && total <= options.quickAbort.maxLeft)) return;
    if (flights.has(pending.keys.url)) return;
    stats.rangeFills++;
    void options.refresh?.(req, varyFields(head.fields.find(([n]) => n.toLowerCase() === 'vary')?.[1]));
  }

  private revalidated(req: RequestView, pending: Pending, head: ResponseView): Answer | null {
    const { options, stats, entries } = this.state;
    const found = pending.found!;
    const policy = new StoredPolicy(found.entry.policy, options.clock);
    if (head.status >= 500 && policy.usableOnError(pending.facts, options.staleOnErrorMs)) {
      stats.staleOnError++;
      return this.answerNow(req, pending, found, policy, { fwd: pending.fwd, fwdStatus: head.status, detail: 'stale-if-error' });
    }
    if (head.status === 404 || head.status === 410) {
      void this.evictions.evict(pending.keys);
      return null;
    }
    if (head.status !== 304) return null; // a new response: the fill replaces the entry
    const result = policy.revalidated(pending.facts, prepareResponse(304, head.fields));
    if (!result.matches) {
      void this.evictions.evict(pending.keys);
      return textAnswer(502, 'the backend confirmed a response the cache does not hold');
    }
    stats.revalidated++;
    const entry: Entry = { ...found.entry, policy: result.policy, headers: mergeFields(found.entry.headers, head.fields) };
    void entries.update(found, entry).catch(() => undefined);
    const updated = new StoredPolicy(entry.policy, options.clock);
    return this.answerNow(req, pending, { ...found, entry }, updated, { fwd: pending.fwd, fwdStatus: 304, ttl: updated.ttl() });
  }

  /** No response came at all (connect refused or timed out, no backend): a stale entry may answer (stale-if-error). */
  failed(req: RequestView): Answer | null {
    const pending = this.state.pending.get(req);
    if (pending === undefined || pending.mode !== 'revalidate') return null;
    const found = pending.found!;
    const policy = new StoredPolicy(found.entry.policy, this.state.options.clock);
    if (!policy.usableOnError(pending.facts, this.state.options.staleOnErrorMs)) return null;
    this.state.stats.staleOnError++;
    return this.answerNow(req, pending, found, policy, { fwd: pending.fwd, detail: 'stale-if-error' });
  }

  /** A stored answer in a phase that answers synchronously, judged on the client's own conditionals (req.header() now shows ours). */
  private answerNow(req: RequestView, pending: Pending, found: Located, policy: StoredPolicy, status: CacheStatus): Answer {
    const own = pending.clientConditionals ?? {};
    const header = (name: string): string | undefined => (name in own ? own[name] : req.header(name));
    return this.state.hits.answerNow(req.method, header, found, policy, status);
  }

  /** Our Cache-Status member on a relayed response: why it went forward, and whether it is being stored. */
  fields(req: RequestView): readonly string[] | null {
    const status = this.state.relayed.get(req);
    if (status === undefined) return null;
    const stored = this.state.pending.get(req)?.fillStarted === true;
    return ['Cache-Status', formatCacheStatus(stored ? { ...status, stored } : status)];
  }
}
