/**
 * RFC 9111 shared-cache decisions on top of http-cache-semantics, with the gaps measured in
 * s3-cache-facts.md §3 closed here: directive names are lower-cased (§5.2), targeted fields
 * (RFC 9213) replace Cache-Control, `no-cache="f"`/`private="f"` drop only the named fields,
 * Set-Cookie is never stored, Vary is handled by the variant key (so no request header value is
 * ever persisted), `immutable` does not invent a lifetime, a fresh `must-revalidate` entry is
 * served, `only-if-cached` is left to the caller (504) and HEAD is judged as a GET.
 * The clock is injected: every decision reads `clock()` rather than Date.now().
 */
import CachePolicy from 'http-cache-semantics';
import { effectiveControl, formatDirectives, parseDirectives, qualifiedFields, seconds, type Directives } from './directives.js';
import { varyFields } from './vary.js';

export type Clock = () => number;
export type PolicyObject = CachePolicy.CachePolicyObject;

/** What the policy needs to know about a request; nothing here is persisted but `host`. */
export interface RequestFacts {
  readonly method: string;
  readonly target: string;
  readonly host: string;
  /** Request Cache-Control, names lower-cased; `Pragma: no-cache` folded in when Cache-Control is absent. */
  readonly directives: Directives;
  readonly hasAuthorization: boolean;
}

/** A backend response, split into what is replayed to clients and what the freshness logic reads. */
export interface PreparedResponse {
  readonly status: number;
  /** End-to-end fields to replay from the cache: no Set-Cookie, no fields named by no-cache/private="...". */
  readonly replay: ReadonlyArray<readonly [string, string]>;
  /** Lower-case record for http-cache-semantics: the effective directives as Cache-Control, no Vary. */
  readonly policyHeaders: Readonly<Record<string, string>>;
  /** The Vary fields, normalised; ['*'] matches no request. */
  readonly vary: readonly string[];
  readonly directives: Directives;
  readonly hasSetCookie: boolean;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization']);
/** Never replayed from the cache: per-response or per-client fields, and our own markers. */
const NOT_REPLAYED = new Set(['set-cookie', 'set-cookie2', 'age', 'cache-status', 'outrigger-cache-control', 'x-proxy']);

export function requestFacts(method: string, target: string, header: (name: string) => string | undefined): RequestFacts {
  const cc = header('cache-control');
  const directives = parseDirectives(cc);
  if (cc === undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(header('pragma') ?? '')) directives.set('no-cache', true);
  return { method, target, host: header('host') ?? '', directives, hasAuthorization: header('authorization') !== undefined };
}

export function prepareResponse(status: number, fields: ReadonlyArray<readonly [string, string]>): PreparedResponse {
  const record: Record<string, string> = {};
  const hop = hopByHop(fields);
  for (const [name, value] of fields) {
    const lower = name.toLowerCase();
    if (hop.has(lower)) continue;
    record[lower] = record[lower] === undefined ? value : `${record[lower]}, ${value}`;
  }
  const control = effectiveControl((name) => record[name]);
  const directives = new Map(control.directives);
  const dropped = new Set<string>();
  for (const name of ['no-cache', 'private']) {
    const named = qualifiedFields(directives, name);
    if (named === undefined) continue;
    named.forEach((field) => dropped.add(field));
    directives.delete(name);
  }
  const replay = fields.filter(([name]) => {
    const lower = name.toLowerCase();
    return !hop.has(lower) && !NOT_REPLAYED.has(lower) && !dropped.has(lower);
  });
  const policyHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(record)) {
    if (name === 'vary' || name === 'set-cookie' || dropped.has(name)) continue;
    if (control.targeted !== undefined && name === 'expires') continue; // RFC 9213 §2.2
    policyHeaders[name] = value;
  }
  const formatted = formatDirectives(forLibrary(directives));
  if (formatted !== '') policyHeaders['cache-control'] = formatted;
  else delete policyHeaders['cache-control'];
  return { status, replay, policyHeaders, vary: varyFields(record.vary), directives, hasSetCookie: record['set-cookie'] !== undefined };
}

/**
 * The directives as http-cache-semantics is to read them. RFC 9111 §5.2.2.8: for a shared cache
 * proxy-revalidate means must-revalidate; the library instead gives such a response no lifetime.
 */
function forLibrary(directives: Directives): Directives {
  if (!directives.has('proxy-revalidate')) return directives;
  const mapped = new Map(directives);
  mapped.delete('proxy-revalidate');
  if (!mapped.has('must-revalidate')) mapped.set('must-revalidate', true);
  return mapped;
}

/** The hop-by-hop fields of a response: the fixed ones, and those its Connection field names (RFC 9110 §7.6.1). */
function hopByHop(fields: ReadonlyArray<readonly [string, string]>): ReadonlySet<string> {
  let hop: Set<string> | undefined;
  for (const [name, value] of fields) {
    if (name.toLowerCase() !== 'connection') continue;
    hop ??= new Set(HOP_BY_HOP);
    for (const named of value.split(',')) hop.add(named.trim().toLowerCase());
  }
  return hop ?? HOP_BY_HOP;
}

/** One subclass per clock: a class made per call would leave V8 a new shape for every entry. */
const classes = new WeakMap<Clock, typeof CachePolicy>();

/** A CachePolicy whose "now" is the injected clock (the library reads time only through now()). */
function policyClass(clock: Clock): typeof CachePolicy {
  let made = classes.get(clock);
  if (made === undefined) {
    made = class extends CachePolicy {
      // Not in the library's typings, but its only clock (index.js: `now() { return Date.now(); }`).
      now(): number {
        return clock();
      }
    };
    classes.set(clock, made);
  }
  return made;
}

function libRequest(req: RequestFacts): CachePolicy.Request {
  const headers: Record<string, string> = { host: req.host };
  const cc = formatDirectives(req.directives);
  if (cc !== '') headers['cache-control'] = cc;
  // Only the presence matters (RFC 9111 §3.5); the credential itself never reaches the policy.
  if (req.hasAuthorization) headers.authorization = 'present';
  return { method: 'GET', url: req.target, headers };
}

const OPTIONS = { shared: true, immutableMinTimeToLive: 0 };
/** The response directives that let a response to a request with Authorization be stored (RFC 9111 §3.5). */
const AUTHORIZED_STORE = ['public', 's-maxage', 'must-revalidate'];

export type StoreVerdict = { readonly store: true; readonly policy: PolicyObject } | { readonly store: false; readonly reason: string };

/** May this response to this request be stored, and under which policy? */
export function storeVerdict(req: RequestFacts, res: PreparedResponse, clock: Clock): StoreVerdict {
  if (req.method !== 'GET') return { store: false, reason: 'method' };
  if (res.status !== 200) return { store: false, reason: 'status' };
  if (res.vary.includes('*')) return { store: false, reason: 'vary-star' };
  if (res.hasSetCookie && !res.directives.has('public')) return { store: false, reason: 'set-cookie' };
  // §3.5 names must-revalidate, not proxy-revalidate (read as must-revalidate by the library, forLibrary()).
  if (req.hasAuthorization && res.directives.has('proxy-revalidate') && !AUTHORIZED_STORE.some((d) => res.directives.has(d))) {
    return { store: false, reason: 'not-storable' };
  }
  const Policy = policyClass(clock);
  const policy = new Policy(libRequest(req), { status: res.status, headers: res.policyHeaders }, OPTIONS);
  if (!policy.storable()) return { store: false, reason: 'not-storable' };
  const validator = res.policyHeaders.etag !== undefined || res.policyHeaders['last-modified'] !== undefined;
  // A response with no lifetime (explicit or heuristic) and no validator could never be used again.
  if (policy.maxAge() <= 0 && !validator) return { store: false, reason: 'no-lifetime' };
  return { store: true, policy: policy.toObject() };
}

export type Verdict =
  /** Serve from the cache as it is. `stale`: beyond its lifetime but the client accepts that (max-stale). */
  | { readonly use: 'fresh'; readonly stale: boolean }
  /** Serve it, and refresh it in the background (RFC 5861 stale-while-revalidate). */
  | { readonly use: 'stale-while-revalidate' }
  /** Ask the backend with the stored validators first. `reason` says why, for Cache-Status. */
  | { readonly use: 'revalidate'; readonly reason: 'stale' | 'request' };

export class StoredPolicy {
  private readonly policy: CachePolicy;
  /** The stored response's fields as the policy reads them. */
  private readonly fields: Readonly<Record<string, unknown>>;
  /**
   * Freshness lifetime in seconds. The library's maxAge() reads no clock (explicit lifetimes, or
   * Date/Last-Modified for a heuristic one), so it is worked out once, not on every hit.
   */
  private readonly lifetime: number;
  private own: Directives | undefined;

  constructor(object: PolicyObject, clock: Clock) {
    this.policy = policyClass(clock).fromObject(object);
    this.fields = object.resh as Record<string, unknown>;
    this.lifetime = this.policy.maxAge();
  }

  /** Seconds since the response was generated (Age plus time resident here). */
  age(): number {
    return this.policy.age();
  }

  /** Seconds of freshness left; negative when stale. */
  ttl(): number {
    return this.lifetime - this.policy.age();
  }

  /** The stored response's own directives (parsed once). */
  directives(): Directives {
    this.own ??= parseDirectives(this.field('cache-control'));
    return this.own;
  }

  private field(name: string): string | undefined {
    const value = this.fields[name];
    return typeof value === 'string' ? value : undefined;
  }

  evaluate(req: RequestFacts): Verdict {
    const ttl = this.ttl();
    const own = this.directives();
    const asked = req.directives;
    const fresh = ttl > 0;
    // RFC 8246: an immutable response is not revalidated while fresh, even when the client reloads.
    const reload = asked.has('no-cache') || seconds(asked, 'max-age') !== undefined && this.age() > seconds(asked, 'max-age')!;
    // RFC 9211 §2.2: fwd=request only for a fresh entry the request refused; a stale one goes forward as stale.
    const refused = fresh ? 'request' : 'stale';
    if (reload && !(fresh && own.has('immutable'))) return { use: 'revalidate', reason: refused };
    const minFresh = seconds(asked, 'min-fresh');
    if (minFresh !== undefined && ttl < minFresh) return { use: 'revalidate', reason: refused };
    if (fresh) return { use: 'fresh', stale: false };
    // §4.2.4: must-revalidate, proxy-revalidate and s-maxage (in a shared cache) forbid stale use.
    if (own.has('must-revalidate') || own.has('proxy-revalidate') || own.has('s-maxage') || own.has('no-cache')) {
      return { use: 'revalidate', reason: 'stale' };
    }
    const maxStale = asked.get('max-stale');
    if (maxStale === true || (maxStale !== undefined && -ttl <= (seconds(asked, 'max-stale') ?? -1))) return { use: 'fresh', stale: true };
    const swr = seconds(own, 'stale-while-revalidate');
    if (swr !== undefined && -ttl < swr) return { use: 'stale-while-revalidate' };
    return { use: 'revalidate', reason: 'stale' };
  }

  /**
   * When the backend cannot answer: RFC 5861 stale-if-error (response or request directive)
   * allows a stale response whatever else it says; the operator's limit only where stale use
   * is not forbidden.
   */
  usableOnError(req: RequestFacts, operatorMs: number): boolean {
    const staleness = Math.max(0, -this.ttl());
    const own = this.directives();
    const allowed = Math.max(seconds(own, 'stale-if-error') ?? -1, seconds(req.directives, 'stale-if-error') ?? -1);
    if (allowed >= 0 && staleness <= allowed) return true;
    const forbidden = own.has('must-revalidate') || own.has('proxy-revalidate') || own.has('s-maxage') || own.has('no-cache');
    return operatorMs > 0 && !forbidden && staleness * 1000 <= operatorMs;
  }

  /** Conditional fields for a revalidation request: the stored validators (RFC 9111 §4.3.1). */
  validators(): Record<string, string> {
    const out: Record<string, string> = {};
    const etag = this.field('etag');
    const lastModified = this.field('last-modified');
    if (etag !== undefined) out['if-none-match'] = etag;
    if (lastModified !== undefined) out['if-modified-since'] = lastModified;
    return out;
  }

  /**
   * A 304 (or any response) to a revalidation. `matches`: the stored body may be reused with the
   * updated policy; otherwise the entry is outdated (a changed validator).
   */
  revalidated(req: RequestFacts, res: PreparedResponse): { readonly policy: PolicyObject; readonly matches: boolean } {
    const result = this.policy.revalidatedPolicy(libRequest(req), { status: res.status, headers: res.policyHeaders });
    return { policy: result.policy.toObject(), matches: result.matches && !result.modified };
  }

  toObject(): PolicyObject {
    return this.policy.toObject();
  }

}
