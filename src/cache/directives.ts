/**
 * Cache directives (RFC 9111 §5.2) and the targeted fields of RFC 9213. Directive names are
 * case-insensitive (§5.2), so they are lower-cased here before any other code sees them;
 * http-cache-semantics compares them exactly.
 */
import { parseDictionary } from 'structured-headers';

/** Directive name (lower case) -> its argument, or true when it has none. */
export type Directives = Map<string, string | true>;

/** Splits on commas outside quoted strings: `no-cache="a, b", max-age=5` is two directives. */
function splitList(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted;
    else if (c === ',' && !quoted) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

/** The first occurrence of a directive wins, as RFC 9111 §4.2.1 asks for duplicated ones. */
export function parseDirectives(value: string | undefined): Directives {
  const found: Directives = new Map();
  if (value === undefined) return found;
  for (const part of splitList(value)) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '' || found.has(name)) continue;
    if (eq < 0) {
      found.set(name, true);
      continue;
    }
    let arg = part.slice(eq + 1).trim();
    if (arg.startsWith('"') && arg.endsWith('"') && arg.length >= 2) arg = arg.slice(1, -1).replace(/\\(.)/g, '$1');
    found.set(name, arg);
  }
  return found;
}

export function formatDirectives(directives: Directives): string {
  const parts: string[] = [];
  for (const [name, arg] of directives) {
    if (arg === true) parts.push(name);
    else parts.push(/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(arg) ? `${name}=${arg}` : `${name}="${arg.replace(/["\\]/g, '\\$&')}"`);
  }
  return parts.join(', ');
}

/** A delta-seconds argument (RFC 9111 §1.2.2), or undefined when absent or malformed. */
export function seconds(directives: Directives, name: string): number | undefined {
  const arg = directives.get(name);
  if (typeof arg !== 'string' || !/^\d+$/.test(arg)) return undefined;
  return Math.min(Number(arg), 2 ** 31);
}

/** The field names a qualified `no-cache="a, b"` or `private="a"` lists (lower case). */
export function qualifiedFields(directives: Directives, name: string): string[] | undefined {
  const arg = directives.get(name);
  if (typeof arg !== 'string') return undefined;
  return arg.split(',').map((field) => field.trim().toLowerCase()).filter((field) => field !== '');
}

/**
 * RFC 9213: our own field, then CDN-Cache-Control, in that order; the first with a non-empty
 * value decides the caching policy and Cache-Control (and Expires) are then ignored.
 */
export const TARGETED_FIELDS = ['outrigger-cache-control', 'cdn-cache-control'] as const;

export interface EffectiveControl {
  /** The directives this cache obeys. */
  readonly directives: Directives;
  /** The targeted field used, or undefined when Cache-Control applies. */
  readonly targeted: string | undefined;
}

export function effectiveControl(header: (name: string) => string | undefined): EffectiveControl {
  for (const field of TARGETED_FIELDS) {
    const directives = targetedDirectives(header(field));
    if (directives.size > 0) return { directives, targeted: field };
  }
  return { directives: parseDirectives(header('cache-control')), targeted: undefined };
}

/**
 * A targeted field's directives. RFC 9213 §2.2: its value is a Structured Fields Dictionary (RFC
 * 9651: lower-case keys, integer or token or string values), and a value that does not parse as one
 * is ignored as a whole: none (Cache-Control then applies), never a guess at what was meant.
 */
function targetedDirectives(value: string | undefined): Directives {
  if (value === undefined) return new Map();
  try {
    parseDictionary(value);
  } catch {
    return new Map();
  }
  return parseDirectives(value);
}
