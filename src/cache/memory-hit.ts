/**
 * The memory tier's fast path. A plain GET or HEAD (none of the request fields that change which
 * stored response is chosen or how it is used) for a URL whose response, without Vary, is held in
 * memory and fresh is answered at once, from what was prepared on the entry's first hit: its
 * policy (the http-cache-semantics object is not re-made per hit) and its replayed fields. No key
 * is hashed, no store is asked, no stream is made. Anything else, a stale entry included, takes
 * the full path (filter.ts, hits.ts), which gives these requests the same answer: a fresh entry
 * and a request without directives can only be a whole hit (memory-hit.test.ts compares them).
 */
import type { BufferAnswer } from '../proxy/pipeline.js';
import { replayedFields, withHitFields } from './answers.js';
import type { Entry } from './entry.js';
import type { Held } from './memory-tier.js';
import { StoredPolicy, type Clock } from './policy.js';

/**
 * Request fields that send a request down the full path: request directives (RFC 9111 §5.2.1,
 * Pragma), the client's own conditionals and ranges (answered by planHit), and Authorization.
 */
const FULL_PATH_FIELDS = ['cache-control', 'pragma', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since',
  'if-range', 'range', 'authorization'];

/** May this request take the fast path? */
export function plainRequest(method: string, header: (name: string) => string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  for (const name of FULL_PATH_FIELDS) if (header(name) !== undefined) return false;
  return true;
}

/** What every hit of one held entry shares. */
export interface PreparedHit {
  readonly policy: StoredPolicy;
  /** The replayed fields (no Age, Cache-Status, Content-Length). */
  readonly fields: Record<string, string>;
  readonly upstreamStatus: string | undefined;
}

export function prepareHit(entry: Entry, clock: Clock): PreparedHit {
  const { fields, upstreamStatus } = replayedFields(entry);
  return { policy: new StoredPolicy(entry.policy, clock), fields, upstreamStatus };
}

/**
 * The answer to a plain request from `held`, or null when the entry is not fresh (the full path
 * then decides: stale-while-revalidate, revalidation...). A HEAD gets the same head; the core
 * sends no body for it.
 */
export function memoryAnswer(held: Held, clock: Clock): BufferAnswer | null {
  held.prepared ??= prepareHit(held.entry, clock);
  const prepared = held.prepared as PreparedHit;
  const ttl = prepared.policy.ttl();
  if (!(ttl > 0)) return null;
  const headers = withHitFields(prepared.fields, prepared.upstreamStatus, prepared.policy.age(), { hit: true, ttl });
  if (held.entry.status === 200) headers['accept-ranges'] = 'bytes';
  return { status: held.entry.status, headers, body: held.body };
}
