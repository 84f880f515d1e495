import { fail, ok, type Result } from '../config/result.js';

/** Who shares a bucket: each client address, or each value of a header (an API key, a tenant). */
export type LimitScope = { readonly kind: 'client' } | { readonly kind: 'header'; readonly name: string };

/** One --rate-limit rule: a token bucket per scope value, for requests whose path starts with `prefix`. */
export interface RateLimitRule {
  /** Tokens added per second. */
  readonly rate: number;
  /** Bucket size: the most requests let through at once after a quiet spell. */
  readonly burst: number;
  readonly by: LimitScope;
  /** Path prefix the rule applies to ('/' for every request). */
  readonly prefix: string;
  /** The rule as written, for logs. */
  readonly text: string;
}

const PER: Record<string, number> = { s: 1, m: 60, h: 3600 };
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * "100/s,burst=200,by=header:X-Api-Key,prefix=/upload;10/m,prefix=/login": rules separated by ";"
 * (the most specific prefix applies). Rate per s, m or h; burst defaults to the rate (one
 * second's worth at /s); by defaults to the client address; prefix to every path.
 */
export function parseRateLimits(text: string): Result<readonly RateLimitRule[]> {
  const rules: RateLimitRule[] = [];
  for (const part of text.split(';').map((p) => p.trim()).filter((p) => p !== '')) {
    const rule = parseRule(part);
    if (!rule.ok) return rule;
    if (rules.some((r) => r.prefix === rule.value.prefix)) return fail(`two rules for prefix ${rule.value.prefix}`);
    rules.push(rule.value);
  }
  if (rules.length === 0) return fail('expected a rule such as 100/s,burst=200');
  return ok(rules);
}

function parseRule(text: string): Result<RateLimitRule> {
  const [head = '', ...options] = text.split(',').map((p) => p.trim());
  const m = /^(\d+(?:\.\d+)?)\/([smh])$/.exec(head);
  if (m === null) return fail(`"${text}": a rule starts with a rate such as 100/s, 600/m or 1000/h`);
  const rate = Number(m[1]) / PER[m[2]!]!;
  if (!(rate > 0)) return fail(`"${text}": the rate must be above 0`);
  let burst = Math.max(1, Math.ceil(Number(m[1])));
  let by: LimitScope = { kind: 'client' };
  let prefix = '/';
  for (const option of options) {
    const eq = option.indexOf('=');
    const name = option.slice(0, eq);
    const value = option.slice(eq + 1);
    if (name === 'burst' && /^\d+$/.test(value) && Number(value) >= 1) burst = Number(value);
    else if (name === 'by' && value === 'client') by = { kind: 'client' };
    else if (name === 'by' && value.startsWith('header:') && TOKEN.test(value.slice(7))) by = { kind: 'header', name: value.slice(7).toLowerCase() };
    else if (name === 'prefix' && value.startsWith('/') && !/[\s\u0000-\u001f]/.test(value)) prefix = value;
    else return fail(`"${text}": bad option "${option}" (burst=N, by=client, by=header:NAME, prefix=/path)`);
  }
  return ok({ rate, burst, by, prefix, text });
}
