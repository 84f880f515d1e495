/**
 * The cache as one pipeline filter, the same for HTTP/1.1 and HTTP/2 clients:
 *   request       look the entry up (memory tier, then store); answer a usable one; on a miss
 *                 lead a fetch or follow one already running; add validators to revalidate
 *   response head a 304 serves the stored body with refreshed metadata; a 5xx may serve a
 *                 stale entry (stale-if-error); a storable 200 starts a fill
 *   body          the fill tap (fill-tap.ts)
 *   done          unsafe methods invalidate; a leader's flight is closed
 */
import type { Answer, BodyTap, ProxyFilter, RequestEdit, RequestView, ResponseView, TapFlow } from '../proxy/pipeline.js';
import { plainResponse } from '../proxy/error-response.js';
import { bufferBody, deferredBody, mergeFields, planHit, storedHeaders } from './answers.js';
import { formatCacheStatus, type CacheStatus } from './cache-status.js';
import { Entries, type Located } from './entries.js';
import type { Entry } from './entry.js';
import { Fill } from './fill.js';
import { fillTap } from './fill-tap.js';
import { Flight } from './flight.js';
import { invalidates, invalidationTargets } from './invalidate.js';
import { entryKeys, variantDir, type EntryKeys } from './key.js';
import { prepareResponse, requestFacts, storeVerdict, StoredPolicy, type Clock, type PreparedResponse, type RequestFacts } from './policy.js';
import { finishWithoutClient, type QuickAbort } from './quick-abort.js';
import { isPurgePath, parsePurge, purgeAnswer } from './purge.js';
import type { CacheStats } from './stats.js';
import type { StoreHealth } from './store-health.js';
import { variantId } from './vary.js';

export interface CacheFilterOptions {
  readonly prefix: string;
  /** 'http' or 'https': the scheme of the URLs this listener serves (part of the key). */
  readonly scheme: string;
  readonly minSize: number;
  readonly staleOnErrorMs: number;
  /** Whether a fill goes on when its client leaves mid-body. */
  readonly quickAbort: QuickAbort;
  /** Bytes a fill may hold waiting for the store before it is abandoned. */
  readonly maxBuffered: number;
  /** Bytes of a fetch kept for followers that join late or read slowly. */
  readonly flightWindow: number;
  readonly clock: Clock;
  /** Some backend is ready (else a request would get a 502: a stale entry may answer instead). */
  readonly anyReady: () => boolean;
  /** stale-while-revalidate: ask for the URL again in the background (null: no background refresh). */
  readonly refresh: ((req: RequestView) => void) | null;
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
}

const CACHEABLE_METHODS = new Set(['GET', 'HEAD']);
const FLIGHT_GRACE_MS = 2000;
/** Conditional request fields of the client that must not reach the backend beside our validators. */
const CLIENT_CONDITIONALS = ['if-none-match', 'if-modified-since'];

export class CacheFilter implements ProxyFilter {
  readonly name = 'cache';
  private readonly pending = new WeakMap<RequestView, Pending>();
  /** Cache-Status of requests relayed from a backend (added to its head in phase 5). */
  private readonly relayed = new WeakMap<RequestView, CacheStatus>();
  private readonly flights = new Map<string, Flight>();
  /** URL -> time of its last invalidation, so a fill that started before it is not saved. */
  private readonly invalidatedAt = new Map<string, number>();
  private readonly entries: Entries;
  private readonly health: StoreHealth;
  private readonly stats: CacheStats;
  private readonly options: CacheFilterOptions;

  constructor(entries: Entries, health: StoreHealth, stats: CacheStats, options: CacheFilterOptions) {
    this.entries = entries;
    this.health = health;
    this.stats = stats;
    this.options = options;
  }

  // ---- phase 2 ----

  async request(req: RequestView, edit: RequestEdit): Promise<Answer | null> {
    if (isPurgePath(req.target)) return this.purge(req);
    const keys = entryKeys(this.options.prefix, this.options.scheme, req.authority, req.target);
    const facts = requestFacts(req.method, req.target, (name) => req.header(name));
    if (!CACHEABLE_METHODS.has(req.method)) {
      this.pending.set(req, { mode: 'unsafe', facts, keys, found: null, flight: null, locations: [], fillStarted: false });
      return null;
    }
    if (!this.health.up) {
      this.stats.bypassed++;
      this.relayed.set(req, { fwd: 'bypass', detail: 'store-down' });
      return null;
    }
    let found: Located | null;
    try {
      found = await this.entries.find(keys, (name) => req.header(name));
    } catch {
      this.stats.bypassed++;
      this.relayed.set(req, { fwd: 'bypass', detail: 'store-error' });
      return null;
    }
    if (found === null) return this.miss(req, facts, keys);
    return this.stored(req, edit, facts, keys, found);
  }

  private async stored(req: RequestView, edit: RequestEdit, facts: RequestFacts, keys: EntryKeys, found: Located): Promise<Answer | null> {
    const policy = new StoredPolicy(found.entry.policy, this.options.clock);
    const verdict = policy.evaluate(facts);
    if (verdict.use === 'fresh') return this.hit(req, found, policy, { hit: true, ttl: policy.ttl() });
    if (verdict.use === 'stale-while-revalidate') {
      this.options.refresh?.(req);
      return this.hit(req, found, policy, { hit: true, ttl: policy.ttl(), detail: 'stale-while-revalidate' });
    }
    if (!this.options.anyReady() && policy.usableOnError(facts, this.options.staleOnErrorMs)) {
      this.stats.staleOnError++;
      return this.hit(req, found, policy, { hit: true, ttl: policy.ttl(), detail: 'stale-if-error' });
    }
    if (facts.directives.has('only-if-cached')) return gatewayTimeout();
    this.relayed.set(req, { fwd: verdict.reason === 'request' ? 'request' : 'stale' });
    // A range of a stale entry goes to the backend as asked; the stored entry stays as it is.
    if (req.header('range') !== undefined) return null;
    const validators = policy.validators();
    const clientConditionals: Record<string, string | undefined> = {};
    for (const name of CLIENT_CONDITIONALS) {
      clientConditionals[name] = req.header(name);
      edit.setHeader(name, validators[name] ?? null);
    }
    this.pending.set(req, { mode: 'revalidate', facts, keys, found, flight: null, locations: [], fillStarted: false, clientConditionals });
    return null;
  }

  private async miss(req: RequestView, facts: RequestFacts, keys: EntryKeys): Promise<Answer | null> {
    if (facts.directives.has('only-if-cached')) return gatewayTimeout();
    this.stats.misses++;
    this.relayed.set(req, { fwd: 'uri-miss' });
    // Only a plain GET can fill the cache; HEAD and ranges go on as they are (§3.3: no partial storage).
    if (req.method !== 'GET' || facts.directives.has('no-store')) return null;
    if (req.header('range') !== undefined) {
      this.pending.set(req, { mode: 'range', facts, keys, found: null, flight: null, locations: [], fillStarted: false });
      return null;
    }
    const running = this.flights.get(keys.url);
    if (running !== undefined && running.joinable) return this.follow(req, facts, running);
    const flight = new Flight(this.options.flightWindow);
    this.flights.set(keys.url, flight);
    this.pending.set(req, { mode: 'miss', facts, keys, found: null, flight, locations: [], fillStarted: false });
    return null;
  }

  /** A miss that reads the body another request is fetching. */
  private async follow(req: RequestView, facts: RequestFacts, flight: Flight): Promise<Answer | null> {
    const head = await flight.head;
    if (head === null || facts.directives.has('no-cache') || variantId(head.vary, (name) => req.header(name)) !== head.variant) {
      return null;
    }
    this.stats.collapsed++;
    const headers = { ...head.headers, 'cache-status': `${head.headers['cache-status'] ?? 'Outrigger'}; collapsed` };
    return { status: head.status, headers, body: flight.reader(), length: head.length };
  }

  /** An answer from a stored entry; a body that cannot be read (gone, or replaced) is a miss. */
  private async hit(req: RequestView, found: Located, policy: StoredPolicy, status: CacheStatus): Promise<Answer | null> {
    const headers = storedHeaders(found.entry, policy.age(), status);
    const plan = planHit(req.method, (name) => req.header(name), found.entry, headers);
    this.stats.hits++;
    if (plan.kind === 'empty') return plan.answer;
    let body = found.body;
    if (body === undefined && this.entries.memory !== null && found.entry.size <= this.entries.memory.maxObject) {
      const whole = await this.readWhole(found);
      if (whole === null) return this.missAfterAll(req);
      body = whole;
    }
    if (body !== undefined) {
      if (found.body !== undefined) this.stats.memoryHits++;
      this.stats.bytesServed += plan.length;
      return { status: plan.status, headers: plan.headers, body: bufferBody(body, plan.range), length: plan.length };
    }
    let stream;
    try {
      stream = await this.entries.openBody(found, plan.range);
    } catch {
      stream = null;
    }
    if (stream === null) return this.missAfterAll(req);
    this.stats.bytesServed += plan.length;
    return { status: plan.status, headers: plan.headers, body: stream, length: plan.length };
  }

  /** A small body read whole from the store and kept in the memory tier; null when it cannot be read. */
  private async readWhole(found: Located): Promise<Buffer | null> {
    try {
      const stream = await this.entries.openBody(found);
      if (stream === null) return null;
      const body = Buffer.concat(await stream.toArray() as Buffer[]);
      if (body.length !== found.entry.size) return null;
      this.entries.memory?.set(found.dir, found.entry, body);
      return body;
    } catch {
      return null;
    }
  }

  /** The metadata named a body the store no longer has (or has replaced): a miss after all. */
  private missAfterAll(req: RequestView): Promise<Answer | null> {
    this.stats.hits--;
    const facts = requestFacts(req.method, req.target, (name) => req.header(name));
    return this.miss(req, facts, entryKeys(this.options.prefix, this.options.scheme, req.authority, req.target));
  }

  private async purge(req: RequestView): Promise<Answer> {
    const asked = parsePurge(req.method, req.target, req.clientIp);
    if (asked.kind === 'refused') return asked.answer;
    const target = `${asked.url.pathname}${asked.url.search}`;
    const keys = entryKeys(this.options.prefix, asked.url.protocol.slice(0, -1), asked.url.host, target);
    try {
      const deleted = asked.kind === 'url'
        ? await this.entries.remove(keys)
        : await this.entries.removeUrlPrefix(this.options.prefix, asked.url.host, keys.url);
      this.stats.invalidations++;
      this.markInvalidated(keys.url);
      return purgeAnswer(deleted);
    } catch (err) {
      return plainResponse(503, `the cache store failed: ${String(err)}`);
    }
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
    this.options.refresh?.(req);
  }

  private revalidated(req: RequestView, pending: Pending, head: ResponseView): Answer | null {
    const found = pending.found!;
    const policy = new StoredPolicy(found.entry.policy, this.options.clock);
    if (head.status >= 500 && policy.usableOnError(pending.facts, this.options.staleOnErrorMs)) {
      this.stats.staleOnError++;
      return this.answerLater(req, pending, found, policy, { fwd: 'stale', fwdStatus: head.status, detail: 'stale-if-error' });
    }
    if (head.status === 404 || head.status === 410) {
      void this.evict(pending.keys);
      return null;
    }
    if (head.status !== 304) return null; // a new response: the fill replaces the entry
    const result = policy.revalidated(pending.facts, prepareResponse(304, head.fields));
    if (!result.matches) {
      void this.evict(pending.keys);
      return plainResponse(502, 'the backend confirmed a response the cache does not hold');
    }
    this.stats.revalidated++;
    const entry: Entry = { ...found.entry, policy: result.policy, headers: mergeFields(found.entry.headers, head.fields) };
    void this.entries.update(found.dir, entry).catch(() => undefined);
    const updated = new StoredPolicy(entry.policy, this.options.clock);
    return this.answerLater(req, pending, { ...found, entry }, updated, { fwd: 'stale', fwdStatus: 304, ttl: updated.ttl() });
  }

  /** No response came at all (connect refused or timed out, no backend): a stale entry may answer (stale-if-error). */
  failed(req: RequestView): Answer | null {
    const pending = this.pending.get(req);
    if (pending === undefined || pending.mode !== 'revalidate') return null;
    const found = pending.found!;
    const policy = new StoredPolicy(found.entry.policy, this.options.clock);
    if (!policy.usableOnError(pending.facts, this.options.staleOnErrorMs)) return null;
    this.stats.staleOnError++;
    return this.answerLater(req, pending, found, policy, { fwd: 'stale', detail: 'stale-if-error' });
  }

  /**
   * responseHead must answer synchronously, but a stored body is opened asynchronously: the
   * answer's body is a pass-through that the store stream is piped into once it opens.
   */
  private answerLater(req: RequestView, pending: Pending, found: Located, policy: StoredPolicy, status: CacheStatus): Answer {
    const headers = storedHeaders(found.entry, policy.age(), status);
    // The client's conditionals as it sent them: req.header() now shows our validators.
    const own = pending.clientConditionals ?? {};
    const header = (name: string): string | undefined => (name in own ? own[name] : req.header(name));
    const plan = planHit(req.method, header, found.entry, headers);
    if (plan.kind === 'empty') return plan.answer;
    this.stats.hits++;
    this.stats.bytesServed += plan.length;
    if (found.body !== undefined) return { status: plan.status, headers: plan.headers, body: bufferBody(found.body, plan.range), length: plan.length };
    return { status: plan.status, headers: plan.headers, body: deferredBody(this.entries.openBody(found, plan.range)), length: plan.length };
  }

  /** Our Cache-Status member on a relayed response: why it went forward, and whether it is being stored. */
  responseFields(req: RequestView): readonly string[] | null {
    const status = this.relayed.get(req);
    if (status === undefined) return null;
    const stored = this.pending.get(req)?.fillStarted === true;
    return ['Cache-Status', formatCacheStatus(stored ? { ...status, stored } : status)];
  }

  // ---- phase 6 ----

  responseBody(req: RequestView, head: ResponseView, _flow: TapFlow): BodyTap | null {
    const pending = this.pending.get(req);
    if (pending === undefined || pending.mode === 'unsafe' || pending.mode === 'range' || pending.fillStarted) return null;
    const prepared = prepareResponse(head.status, head.fields);
    const verdict = storeVerdict(pending.facts, prepared, this.options.clock);
    const lengthText = head.fields.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
    const expected = lengthText === undefined ? -1 : Number(lengthText);
    const encoded = head.fields.some(([n]) => /^content-range$/i.test(n));
    if (!verdict.store || encoded || (expected >= 0 && expected < this.options.minSize) || !this.health.up) {
      pending.flight?.cancel();
      return null;
    }
    pending.fillStarted = true;
    return this.startFill(req, pending, prepared, verdict.policy, expected);
  }

  private startFill(req: RequestView, pending: Pending, prepared: PreparedResponse, policy: Entry['policy'], expected: number): BodyTap {
    const variant = variantId(prepared.vary, (name) => req.header(name));
    const dir = variantDir(pending.keys, variant);
    const startedAt = this.options.clock();
    const fill = new Fill((source) => this.entries.store.upload(this.entries.bodyKey(dir), source),
      { expected, minSize: this.options.minSize, maxBuffered: this.options.maxBuffered });
    const headers = storedHeaders({ headers: prepared.replay } as Entry, 0, { fwd: 'miss', stored: true });
    pending.flight?.start({ status: prepared.status, headers, length: expected, vary: prepared.vary, variant });
    const flight = pending.flight;
    return fillTap({
      fill, flight,
      keepUpTo: this.entries.memory?.maxObject ?? 0,
      aborted: () => { this.stats.fillsAborted++; flight?.settle(null); },
      keepGoing: (received) => {
        const followers = flight?.followers ?? 0;
        const finish = followers > 0 || (fill.state === 'writing' && finishWithoutClient(this.options.quickAbort, received, expected, 0));
        if (finish) this.stats.fillsFinishedWithoutClient++;
        return finish;
      },
      ended: (body) => {
        void fill.finish().then(async (etag) => {
          const invalidated = (this.invalidatedAt.get(pending.keys.url) ?? -1) >= startedAt;
          if (etag === null || invalidated) {
            this.stats.fillsAborted++;
            flight?.settle(null);
            return;
          }
          const entry: Entry = { v: 1, url: pending.keys.url, status: prepared.status, headers: prepared.replay, vary: prepared.vary, policy, size: fill.bytes, bodyEtag: etag };
          await this.entries.save(pending.keys, dir, entry, body);
          this.stats.fillsCompleted++;
          this.stats.bytesStored += fill.bytes;
          flight?.settle((from) => this.entries.openBody({ entry, dir, body: undefined }, { start: from, end: entry.size - 1 }));
        }).catch(() => { this.stats.fillsAborted++; flight?.settle(null); });
      },
    });
  }

  // ---- phase 7 ----

  done(req: RequestView, outcome: { readonly status: number }): void {
    const pending = this.pending.get(req);
    if (pending === undefined) return;
    this.pending.delete(req);
    const flight = pending.flight;
    if (flight !== null) {
      flight.cancel();
      // Late followers may still join a finished fetch whose bytes are all in the window, until its fill is settled.
      // A short grace after that covers requests whose store lookup began before the metadata was written.
      const forget = (): void => { if (this.flights.get(pending.keys.url) === flight) this.flights.delete(pending.keys.url); };
      void flight.stored.then(() => setTimeout(forget, FLIGHT_GRACE_MS).unref());
    }
    if (pending.mode === 'unsafe' && invalidates(req.method, outcome.status)) void this.invalidate(req, pending);
  }

  private async invalidate(req: RequestView, pending: Pending): Promise<void> {
    const targets = invalidationTargets(this.options.scheme, req.authority, req.target, pending.locations);
    await Promise.all(targets.map((target) => this.evict(entryKeys(this.options.prefix, this.options.scheme, req.authority, target))));
  }

  private async evict(keys: EntryKeys): Promise<void> {
    this.markInvalidated(keys.url);
    this.flights.delete(keys.url);
    this.stats.invalidations++;
    await this.entries.remove(keys).catch(() => undefined);
  }

  private markInvalidated(url: string): void {
    this.invalidatedAt.delete(url);
    this.invalidatedAt.set(url, this.options.clock());
    // Only fills running now can be affected: forget invalidations older than any fill could be.
    if (this.invalidatedAt.size > 10_000) this.invalidatedAt.delete(this.invalidatedAt.keys().next().value as string);
  }
}

function gatewayTimeout(): Answer {
  return { status: 504, headers: { 'Content-Type': 'text/plain', 'Cache-Status': 'Outrigger; fwd=miss; detail=only-if-cached' }, body: 'not in the cache (only-if-cached)\n' };
}
