/**
 * The cache's request phase: look the entry up (memory tier, then store) and decide. A usable
 * entry answers (hits.ts); a stale one is revalidated with its validators; a miss leads a fetch
 * or follows one already running (flights.ts); a store that is down or failing is bypassed.
 */
import type { Answer, RequestEdit, RequestView } from '../proxy/pipeline.js';
import type { CacheStatus } from './cache-status.js';
import type { Located } from './entries.js';
import { pendingOf, type FilterState } from './filter-state.js';
import { TIMED_OUT } from './deadline.js';
import { GONE } from './hits.js';
import { entryKeys, urlOf, type EntryKeys } from './key.js';
import { memoryAnswer, plainRequest } from './memory-hit.js';
import { requestFacts, StoredPolicy, type RequestFacts } from './policy.js';
import { absoluteRange } from './range.js';
import type { ReadKind } from './store-read.js';

const CACHEABLE_METHODS = new Set(['GET', 'HEAD']);
/** Conditional request fields of the client that must not reach the backend beside our validators. */
const CLIENT_CONDITIONALS = ['if-none-match', 'if-modified-since'];

export class RequestPhase {
  private readonly state: FilterState;

  constructor(state: FilterState) {
    this.state = state;
  }

  /** The fast path (memory-hit.ts): a fresh entry held in memory, answered synchronously; null otherwise. */
  memoryHit(req: RequestView): Answer | null {
    const { entries, health, options, stats } = this.state;
    const memory = entries.memory;
    if (memory === null || !health.up || !plainRequest(req.method, (name) => req.header(name))) return null;
    const held = memory.plain(urlOf(options.scheme, req.authority, req.target));
    const answer = held === undefined ? null : memoryAnswer(held, options.clock);
    if (answer === null) return null;
    stats.hits++;
    stats.memoryHits++;
    if (req.method !== 'HEAD') stats.bytesServed += answer.body.length;
    return answer;
  }

  async lookup(req: RequestView, edit: RequestEdit): Promise<Answer | null> {
    const keys = this.keysOf(req);
    const facts = requestFacts(req.method, req.target, (name) => req.header(name));
    // Before anything is asked: a removal of the URL from now on makes the response stale to store.
    const token = this.state.entries.token();
    if (!CACHEABLE_METHODS.has(req.method)) {
      this.state.pending.set(req, pendingOf('unsafe', facts, keys, token));
      return null;
    }
    if (!this.state.health.up) return this.bypass(req, 'store-down');
    if (this.state.passes.has(keys.url) && !facts.directives.has('only-if-cached')) return this.pass(req, facts, keys, token);
    let found: Located | null | typeof TIMED_OUT;
    let detail: string | undefined;
    try {
      const finding = this.state.entries.find(keys, (name) => req.header(name), readKind(req), () => { detail = 'index'; });
      found = await this.inTime(finding, (late) => late?.early?.drop());
    } catch {
      return this.bypass(req, 'store-error');
    }
    if (found === TIMED_OUT) return this.bypass(req, 'store-timeout');
    if (found !== null) return this.stored(req, edit, facts, keys, found);
    // RFC 9211 §2.2: the URL has responses stored, but none for this request's Vary'd fields.
    const fwd = this.state.entries.varies(keys.dir) ? 'vary-miss' : 'uri-miss';
    return this.miss(req, facts, keys, token, detail === undefined ? { fwd } : { fwd, detail });
  }

  /** Store work within --cache-lookup-timeout, or TIMED_OUT (the store's health hears of both). */
  private inTime<T>(work: Promise<T>, discard: (late: T) => void): Promise<T | typeof TIMED_OUT> {
    return this.state.deadline.within(work, discard);
  }

  private keysOf(req: RequestView): EntryKeys {
    return entryKeys(this.state.options.prefix, this.state.options.scheme, req.authority, req.target);
  }

  private bypass(req: RequestView, why: string): null {
    this.state.stats.bypassed++;
    this.state.relayed.set(req, { fwd: 'bypass', detail: why });
    return null;
  }

  /** A URL passed (its last response was not stored): to the backend without a lookup, stored if its response now may be. */
  private pass(req: RequestView, facts: RequestFacts, keys: EntryKeys, token: number): null {
    this.state.stats.passes++;
    this.state.stats.misses++;
    this.state.relayed.set(req, { fwd: 'uri-miss', detail: 'pass' });
    if (req.method === 'GET' && !facts.directives.has('no-store') && req.header('range') === undefined) this.state.pending.set(req, pendingOf('miss', facts, keys, token));
    return null;
  }

  private async stored(req: RequestView, edit: RequestEdit, facts: RequestFacts, keys: EntryKeys, found: Located): Promise<Answer | null> {
    const { options, stats } = this.state;
    const policy = new StoredPolicy(found.entry.policy, options.clock);
    const verdict = policy.evaluate(facts);
    if (verdict.use === 'fresh') return this.hit(req, found, policy, { hit: true, ttl: policy.ttl() });
    if (verdict.use === 'stale-while-revalidate') {
      this.state.refreshes?.start(req, { dir: found.dir, receivedAt: found.entry.policy.t, vary: found.entry.vary });
      return this.hit(req, found, policy, { hit: true, ttl: policy.ttl(), detail: 'stale-while-revalidate' });
    }
    if (!options.anyReady() && policy.usableOnError(facts, options.staleOnErrorMs)) {
      stats.staleOnError++;
      return this.hit(req, found, policy, { hit: true, ttl: policy.ttl(), detail: 'stale-if-error' });
    }
    if (facts.directives.has('only-if-cached')) return onlyIfCachedMiss();
    const fwd = verdict.reason === 'request' ? 'request' : 'stale';
    this.state.relayed.set(req, { fwd });
    // A range of a stale entry goes to the backend as asked; the stored entry stays as it is.
    if (req.header('range') !== undefined) return null;
    // Its body, if the lookup opened it, may answer the 304 (early-body.ts).
    found.early?.hold();
    const validators = policy.validators();
    const clientConditionals: Record<string, string | undefined> = {};
    for (const name of CLIENT_CONDITIONALS) {
      clientConditionals[name] = req.header(name);
      edit.setHeader(name, validators[name] ?? null);
    }
    this.state.pending.set(req, { ...pendingOf('revalidate', facts, keys, found.token, found), clientConditionals, fwd });
    return null;
  }

  /** `status`: why it is a miss (vary-miss, or detail=index when the store index answered the lookup). */
  private async miss(req: RequestView, facts: RequestFacts, keys: EntryKeys, token: number, status: CacheStatus = { fwd: 'uri-miss' }): Promise<Answer | null> {
    if (facts.directives.has('only-if-cached')) return onlyIfCachedMiss();
    const { flights, pending } = this.state;
    this.state.stats.misses++;
    this.state.relayed.set(req, status);
    // Only a plain GET can fill the cache; HEAD and ranges go on as they are (§3.3: no partial storage).
    if (req.method !== 'GET' || facts.directives.has('no-store')) return null;
    if (req.header('range') !== undefined) {
      pending.set(req, pendingOf('range', facts, keys, token));
      return null;
    }
    const joined = await flights.join(req, facts, keys.url);
    if ('answer' in joined) return joined.answer;
    pending.set(req, pendingOf('miss', facts, keys, token, null, joined.lead));
    return null;
  }

  /** An answer from a stored entry; a body that cannot be read (gone, or replaced) is a miss after all. */
  private async hit(req: RequestView, found: Located, policy: StoredPolicy, status: CacheStatus): Promise<Answer | null> {
    const hits = this.state.hits;
    const answer = await this.inTime(hits.answer(req, found, policy, status), (late) => hits.withdraw(late));
    if (answer === TIMED_OUT) return this.bypass(req, 'store-timeout');
    if (answer !== GONE) return answer;
    return this.miss(req, requestFacts(req.method, req.target, (name) => req.header(name)), this.keysOf(req), found.token);
  }
}

/**
 * How the lookup reads the body object (store-read.ts): a GET's lookup opens the body too (one
 * store call), or the range asked when it is absolute; a conditional one is likely answered 304
 * without it; a HEAD, a suffix range or an If-Range (the size or validator decides the bytes) read
 * the head only.
 */
function readKind(req: RequestView): ReadKind {
  if (req.method !== 'GET' || req.header('if-none-match') !== undefined || req.header('if-modified-since') !== undefined) return 'head';
  const range = req.header('range');
  if (range === undefined) return 'whole';
  return (req.header('if-range') === undefined ? absoluteRange(range) : undefined) ?? 'head';
}

function onlyIfCachedMiss(): Answer {
  return { status: 504, headers: { 'Content-Type': 'text/plain', 'Cache-Status': 'Outrigger; fwd=miss; detail=only-if-cached' }, body: 'not in the cache (only-if-cached)\n' };
}
