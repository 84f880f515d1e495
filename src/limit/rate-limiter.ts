import type { RateLimitRule } from './rate-spec.js';
import { TokenBuckets } from './token-buckets.js';

/** The request facts a limit reads (a view the proxy pipeline provides). */
export interface LimitedRequest {
  readonly clientIp: string;
  /** Origin-form target, query included. */
  readonly target: string;
  /** A header's value, undefined when absent; name in lower case. */
  header(name: string): string | undefined;
}

/** A refusal: 429 with the fields that tell the client when to come back. */
export interface Refusal {
  readonly status: 429;
  readonly headers: Record<string, string>;
  readonly body: string;
}

interface Rule {
  readonly spec: RateLimitRule;
  readonly buckets: TokenBuckets;
}

/**
 * --rate-limit: the rule with the longest matching path prefix applies; its bucket for this
 * request's scope value (client address or header value) gives a token or the request is
 * refused with 429, Retry-After and the RateLimit / RateLimit-Policy fields of
 * draft-ietf-httpapi-ratelimit-headers. A request without the header a rule keys on shares
 * one bucket with the others that lack it. Built only when configured: off costs nothing.
 */
export class RateLimiter {
  /** Requests refused so far (read by the metrics). */
  refused = 0;
  private readonly rules: readonly Rule[];
  private readonly now: () => number;

  constructor(specs: readonly RateLimitRule[], now: () => number = Date.now) {
    // Longest prefix first, so the first match is the most specific.
    this.rules = [...specs].sort((a, b) => b.prefix.length - a.prefix.length)
      .map((spec) => ({ spec, buckets: new TokenBuckets(spec.rate, spec.burst) }));
    this.now = now;
  }

  /** null: go on; otherwise the 429 to answer. */
  check(req: LimitedRequest): Refusal | null {
    const rule = this.ruleFor(req.target);
    if (rule === null) return null;
    const key = rule.spec.by.kind === 'client' ? req.clientIp : (req.header(rule.spec.by.name) ?? '');
    const now = this.now();
    if (rule.buckets.take(key, now) >= 0) return null;
    this.refused++;
    return refusal(rule.buckets, Math.max(1, Math.ceil(rule.buckets.waitMs(key, now) / 1000)));
  }

  private ruleFor(path: string): Rule | null {
    for (const r of this.rules) if (path.startsWith(r.spec.prefix)) return r;
    return null;
  }
}

function refusal(b: TokenBuckets, retryAfter: number): Refusal {
  return {
    status: 429,
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Retry-After': String(retryAfter),
      'RateLimit-Policy': `"outrigger";q=${b.burst};w=${b.windowSeconds}`,
      'RateLimit': `"outrigger";r=0;t=${retryAfter}`,
    },
    body: 'Too Many Requests\n',
  };
}
