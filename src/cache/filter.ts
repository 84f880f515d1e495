/**
 * The cache as one pipeline filter, the same for HTTP/1.1 and HTTP/2 clients:
 *   request       look the entry up (memory tier, then store); answer a usable one (hits.ts); on
 *                 a miss lead a fetch or follow one already running (flights.ts); add validators
 *   response head a 304 serves the stored body with refreshed metadata; a 5xx may serve a stale
 *                 entry (stale-if-error); a Range miss's 206 may start a whole fill
 *   no response   (connect refused, timeout, no backend) a stale entry may answer
 *   body          a storable response is filled into the store as it passes (fill-start.ts)
 *   done          unsafe methods invalidate; a leader's fetch is released
 */
import type { Answer, BodyTap, ProxyFilter, RequestEdit, RequestView, ResponseView } from '../proxy/pipeline.js';
import { mergeFields, textAnswer } from './answers.js';
import { formatCacheStatus, type CacheStatus } from './cache-status.js';
import type { Entries, Located } from './entries.js';
import type { Entry } from './entry.js';
import { startFill } from './fill-start.js';
import type { Flight } from './flight.js';
import { Flights } from './flights.js';
import { GONE, Hits } from './hits.js';
import { invalidates, invalidationTargets } from './invalidate.js';
import { Invalidations } from './invalidations.js';
import { entryKeys, urlOf, type EntryKeys } from './key.js';
import { memoryAnswer, plainRequest } from './memory-hit.js';
import { prepareResponse, requestFacts, storeVerdict, StoredPolicy, type Clock, type RequestFacts } from './policy.js';
import { Passes } from './passes.js';
import { isPurgePath, purge } from './purge.js';
import type { QuickAbort } from './quick-abort.js';
import type { CacheStats } from './stats.js';
import type { StoreHealth } from './store-health.js';
import { varyFields } from './vary.js';

export interface CacheFilterOptions {
  readonly prefix: string;
  /** 'http' or 'https': the scheme of the URLs this listener serves (part of the key). */
  readonly scheme: string;
  readonly minSize: number;
  readonly staleOnErrorMs: number;
  /** How long a URL whose response was not stored skips the store lookup (passes.ts); 0: never. */
  readonly passTtlMs: number;
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
  readonly refresh: ((req: RequestView, vary: readonly string[]) => void) | null;
}

interface Pending {
  /** range: a Range request on a miss, relayed as it is (its 206 may start a whole fill in the background). */
  readonly mode: 'miss' | 'revalidate' | 'unsafe' | 'range';
  readonly facts: RequestFacts;
  readonly keys: EntryKeys;
  /** The entry being revalidated (or kept for stale-if-error). */
  readonly found: Located | null;
  /** The fetch this request leads. */
  readonly flight: Flight | null;
  locations: string[];
  fillStarted: boolean;
  /** The client's own conditional fields, before our validators replaced them. */
  clientConditionals?: Record<string, string | undefined>;
  /** Why a revalidation went forward (RFC 9211 fwd): the entry was stale, or the request refused a fresh one. */
  fwd?: 'stale' | 'request';
}

const CACHEABLE_METHODS = new Set(['GET', 'HEAD']);
/** Conditional request fields of the client that must not reach the backend beside our validators. */
const CLIENT_CONDITIONALS = ['if-none-match', 'if-modified-since'];

function pendingOf(mode: Pending['mode'], facts: RequestFacts, keys: EntryKeys, found: Located | null = null, flight: Flight | null = null): Pending {
  return { mode, facts, keys, found, flight, locations: [], fillStarted: false };
}

export class CacheFilter implements ProxyFilter {
  readonly name = 'cache';
  private readonly pending = new WeakMap<RequestView, Pending>();
  /** Cache-Status of requests relayed from a backend (added to its head in phase 5). */
  private readonly relayed = new WeakMap<RequestView, CacheStatus>();
  private readonly flights: Flights;
  private readonly invalidations: Invalidations;
  private readonly passes: Passes;
  private readonly hits: Hits;
  private readonly entries: Entries;
  private readonly health: StoreHealth;
  private readonly stats: CacheStats;
  private readonly options: CacheFilterOptions;

  constructor(entries: Entries, health: StoreHealth, stats: CacheStats, options: CacheFilterOptions) {
    this.entries = entries;
    this.health = health;
    this.stats = stats;
    this.options = options;
    this.flights = new Flights(options.flightWindow, stats);
    this.invalidations = new Invalidations(options.clock);
    this.passes = new Passes(options.passTtlMs, options.clock);
    this.hits = new Hits(entries, stats);
  }

  // ---- phase 2 ----

  request(req: RequestView, edit: RequestEdit): Answer | null | Promise<Answer | null> {
    if (isPurgePath(req.target)) return this.purge(req);
    return this.memoryHit(req) ?? this.lookup(req, edit);
  }

  /** The fast path (memory-hit.ts): a fresh entry held in memory, answered synchronously; null otherwise. */
  private memoryHit(req: RequestView): Answer | null {
    const memory = this.entries.memory;
    if (memory === null || !this.health.up || !plainRequest(req.method, (name) => req.header(name))) return null;
    const held = memory.plain(urlOf(this.options.scheme, req.authority, req.target));
    const answer = held === undefined ? null : memoryAnswer(held, this.options.clock);
    if (answer === null) return null;
    this.stats.hits++;
    this.stats.memoryHits++;
    if (req.method !== 'HEAD') this.stats.bytesServed += answer.body.length;
    return answer;
  }

  private async lookup(req: RequestView, edit: RequestEdit): Promise<Answer | null> {
    const keys = this.keysOf(req);
    const facts = requestFacts(req.method, req.target, (name) => req.header(name));
    if (!CACHEABLE_METHODS.has(req.method)) {
      this.pending.set(req, pendingOf('unsafe', facts, keys));
      return null;
    }
    if (!this.health.up) return this.bypass(req, 'store-down');
    if (this.passes.has(keys.url) && !facts.directives.has('only-if-cached')) return this.pass(req, facts, keys);
    let found: Located | null;
    let detail: string | undefined;
    try {
      const whole = req.method === 'GET' && req.header('range') === undefined;
      found = await this.entries.find(keys, (name) => req.header(name), whole, () => { detail = 'index'; });
    } catch {
      return this.bypass(req, 'store-error');
    }
    if (found === null) return this.miss(req, facts, keys, detail);
    return this.stored(req, edit, facts, keys, found);
  }

  private keysOf(req: RequestView): EntryKeys {
    return entryKeys(this.options.prefix, this.options.scheme, req.authority, req.target);
  }

  private bypass(req: RequestView, why: string): null {
    this.stats.bypassed++;
    this.relayed.set(req, { fwd: 'bypass', detail: why });
    return null;
  }

  /** A URL passed (its last response was not stored): to the backend without a lookup, stored if its response now may be. */
  private pass(req: RequestView, facts: RequestFacts, keys: EntryKeys): null {
    this.stats.passes++;
    this.stats.misses++;
    this.relayed.set(req, { fwd: 'uri-miss', detail: 'pass' });
    if (req.method === 'GET' && !facts.directives.has('no-store') && req.header('range') === undefined) this.pending.set(req, pendingOf('miss', facts, keys));
    return null;
  }

  private async stored(req: RequestView, edit: RequestEdit, facts: RequestFacts, keys: EntryKeys, found: Located): Promise<Answer | null> {
    const policy = new StoredPolicy(found.entry.policy, this.options.clock);
    const verdict = policy.evaluate(facts);
    if (verdict.use === 'fresh') return this.hit(req, found, policy, { hit: true, ttl: policy.ttl() });
    if (verdict.use === 'stale-while-revalidate') {
      this.options.refresh?.(req, found.entry.vary);
      return this.hit(req, found, policy, { hit: true, ttl: policy.ttl(), detail: 'stale-while-revalidate' });
    }
    if (!this.options.anyReady() && policy.usableOnError(facts, this.options.staleOnErrorMs)) {
      this.stats.staleOnError++;
      return this.hit(req, found, policy, { hit: true, ttl: policy.ttl(), detail: 'stale-if-error' });
    }
    if (facts.directives.has('only-if-cached')) return onlyIfCachedMiss();
    const fwd = verdict.reason === 'request' ? 'request' : 'stale';
    this.relayed.set(req, { fwd });
    // A range of a stale entry goes to the backend as asked; the stored entry stays as it is.
    if (req.header('range') !== undefined) return null;
    const validators = policy.validators();
    const clientConditionals: Record<string, string | undefined> = {};
    for (const name of CLIENT_CONDITIONALS) {
      clientConditionals[name] = req.header(name);
      edit.setHeader(name, validators[name] ?? null);
    }
    this.pending.set(req, { ...pendingOf('revalidate', facts, keys, found), clientConditionals, fwd });
    return null;
  }

  /** `detail`: 'index' when the store index answered the lookup. */
  private async miss(req: RequestView, facts: RequestFacts, keys: EntryKeys, detail?: string): Promise<Answer | null> {
    if (facts.directives.has('only-if-cached')) return onlyIfCachedMiss();
    this.stats.misses++;
    this.relayed.set(req, detail === undefined ? { fwd: 'uri-miss' } : { fwd: 'uri-miss', detail });
    // Only a plain GET can fill the cache; HEAD and ranges go on as they are (§3.3: no partial storage).
    if (req.method !== 'GET' || facts.directives.has('no-store')) return null;
    if (req.header('range') !== undefined) {
      this.pending.set(req, pendingOf('range', facts, keys));
      return null;
    }
    const joined = await this.flights.join(req, facts, keys.url);
    if ('answer' in joined) return joined.answer;
    this.pending.set(req, pendingOf('miss', facts, keys, null, joined.lead));
    return null;
  }

  /** An answer from a stored entry; a body that cannot be read (gone, or replaced) is a miss after all. */
  private async hit(req: RequestView, found: Located, policy: StoredPolicy, status: CacheStatus): Promise<Answer | null> {
    const answer = await this.hits.answer(req, found, policy, status);
    if (answer !== GONE) return answer;
    return this.miss(req, requestFacts(req.method, req.target, (name) => req.header(name)), this.keysOf(req));
  }

  private purge(req: RequestView): Promise<Answer> {
    return purge(req, this.entries, this.options.prefix, (url) => {
      this.stats.invalidations++;
      this.invalidations.mark(url);
    });
  }

  // ---- phase 5 ----

  responseHead(req: RequestView, head: ResponseView): Answer | null {
    const pending = this.pending.get(req);
    if (pending === undefined) return null;
    if (pending.mode === 'unsafe') {
      pending.locations = head.fields.filter(([n]) => /^(content-)?location$/i.test(n)).map(([, v]) => v);
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
    const contentRange = head.fields.find(([n]) => n.toLowerCase() === 'content-range')?.[1] ?? '';
    const total = Number(/\/(\d+)\s*$/.exec(contentRange)?.[1] ?? NaN);
    if (head.status !== 206 || !(total >= this.options.minSize && total <= this.options.quickAbort.maxLeft)) return;
    if (this.flights.has(pending.keys.url)) return;
    this.stats.rangeFills++;
    this.options.refresh?.(req, varyFields(head.fields.find(([n]) => n.toLowerCase() === 'vary')?.[1]));
  }

  private revalidated(req: RequestView, pending: Pending, head: ResponseView): Answer | null {
    const found = pending.found!;
    const policy = new StoredPolicy(found.entry.policy, this.options.clock);
    if (head.status >= 500 && policy.usableOnError(pending.facts, this.options.staleOnErrorMs)) {
      this.stats.staleOnError++;
      return this.answerNow(req, pending, found, policy, { fwd: pending.fwd, fwdStatus: head.status, detail: 'stale-if-error' });
    }
    if (head.status === 404 || head.status === 410) {
      void this.evict(pending.keys);
      return null;
    }
    if (head.status !== 304) return null; // a new response: the fill replaces the entry
    const result = policy.revalidated(pending.facts, prepareResponse(304, head.fields));
    if (!result.matches) {
      void this.evict(pending.keys);
      return textAnswer(502, 'the backend confirmed a response the cache does not hold');
    }
    this.stats.revalidated++;
    const entry: Entry = { ...found.entry, policy: result.policy, headers: mergeFields(found.entry.headers, head.fields) };
    void this.entries.update(found, entry).catch(() => undefined);
    const updated = new StoredPolicy(entry.policy, this.options.clock);
    return this.answerNow(req, pending, { ...found, entry }, updated, { fwd: pending.fwd, fwdStatus: 304, ttl: updated.ttl() });
  }

  /** No response came at all (connect refused or timed out, no backend): a stale entry may answer (stale-if-error). */
  failed(req: RequestView): Answer | null {
    const pending = this.pending.get(req);
    if (pending === undefined || pending.mode !== 'revalidate') return null;
    const found = pending.found!;
    const policy = new StoredPolicy(found.entry.policy, this.options.clock);
    if (!policy.usableOnError(pending.facts, this.options.staleOnErrorMs)) return null;
    this.stats.staleOnError++;
    return this.answerNow(req, pending, found, policy, { fwd: pending.fwd, detail: 'stale-if-error' });
  }

  /** A stored answer in a phase that answers synchronously, judged on the client's own conditionals (req.header() now shows ours). */
  private answerNow(req: RequestView, pending: Pending, found: Located, policy: StoredPolicy, status: CacheStatus): Answer {
    const own = pending.clientConditionals ?? {};
    const header = (name: string): string | undefined => (name in own ? own[name] : req.header(name));
    return this.hits.answerNow(req.method, header, found, policy, status);
  }

  /** Our Cache-Status member on a relayed response: why it went forward, and whether it is being stored. */
  responseFields(req: RequestView): readonly string[] | null {
    const status = this.relayed.get(req);
    if (status === undefined) return null;
    const stored = this.pending.get(req)?.fillStarted === true;
    return ['Cache-Status', formatCacheStatus(stored ? { ...status, stored } : status)];
  }

  // ---- phase 6 ----

  responseBody(req: RequestView, head: ResponseView): BodyTap | null {
    const pending = this.pending.get(req);
    if (pending === undefined || (pending.mode !== 'miss' && pending.mode !== 'revalidate') || pending.fillStarted) return null;
    const prepared = prepareResponse(head.status, head.fields);
    const verdict = storeVerdict(pending.facts, prepared, this.options.clock);
    const lengthText = head.fields.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
    const expected = lengthText === undefined ? -1 : Number(lengthText);
    const partial = head.fields.some(([n]) => /^content-range$/i.test(n));
    const tooSmall = expected >= 0 && expected < this.options.minSize;
    if (!verdict.store || partial || tooSmall || !this.health.up) {
      pending.flight?.cancel();
      if (pending.mode === 'miss' && (!verdict.store || tooSmall) && passable(req, head.status, verdict)) this.passes.add(pending.keys.url);
      return null;
    }
    this.passes.forget(pending.keys.url);
    pending.fillStarted = true;
    const { entries, stats, invalidations, options } = this;
    return startFill({ entries, stats, invalidations, clock: options.clock, minSize: options.minSize, maxBuffered: options.maxBuffered, quickAbort: options.quickAbort },
      { req, keys: pending.keys, prepared, policy: verdict.policy, expected, flight: pending.flight });
  }

  // ---- phase 7 ----

  done(req: RequestView, outcome: { readonly status: number }): void {
    const pending = this.pending.get(req);
    if (pending === undefined) return;
    this.pending.delete(req);
    if (pending.flight !== null) this.flights.release(pending.keys.url, pending.flight);
    if (pending.mode === 'unsafe' && invalidates(req.method, outcome.status)) void this.invalidate(req, pending);
  }

  private async invalidate(req: RequestView, pending: Pending): Promise<void> {
    const targets = invalidationTargets(this.options.scheme, req.authority, req.target, pending.locations);
    await Promise.all(targets.map((target) => this.evict(entryKeys(this.options.prefix, this.options.scheme, req.authority, target))));
  }

  private async evict(keys: EntryKeys): Promise<void> {
    this.invalidations.mark(keys.url);
    this.flights.drop(keys.url);
    this.stats.invalidations++;
    await this.entries.remove(keys).catch(() => undefined);
  }
}

/**
 * Whether a response not stored makes its URL a pass: only for reasons of the response's own. A
 * request with credentials is refused storage for its own sake (RFC 9111 §3.5), which says nothing
 * about the same URL asked without them; a 304 answers the client's own conditional request.
 */
function passable(req: RequestView, status: number, verdict: ReturnType<typeof storeVerdict>): boolean {
  return status !== 304 && req.header('authorization') === undefined && (verdict.store || verdict.reason !== 'method');
}

function onlyIfCachedMiss(): Answer {
  return { status: 504, headers: { 'Content-Type': 'text/plain', 'Cache-Status': 'Outrigger; fwd=miss; detail=only-if-cached' }, body: 'not in the cache (only-if-cached)\n' };
}
