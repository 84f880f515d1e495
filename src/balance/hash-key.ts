import { fail, ok, type Result } from '../config/result.js';

/**
 * What a request is hashed on (--hash-key): a header, a cookie, the client address, the path
 * (without its query) or one query parameter. Parsed once at start; read per request.
 */
export type HashKeySpec =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string }
  | { readonly kind: 'query'; readonly name: string }
  | { readonly kind: 'client' }
  | { readonly kind: 'path' };

/** The parts of a request a key can come from (a view the proxy pipeline provides). */
export interface KeySource {
  readonly clientIp: string;
  /** The origin-form target, query included. */
  readonly path: string;
  /** A header's value (several lines joined with ", "), undefined when absent. Name in lower case. */
  header(name: string): string | undefined;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** "header:X-User", "cookie:session", "query:key", "client", "path". */
export function parseHashKey(text: string): Result<HashKeySpec> {
  if (text === 'client' || text === 'path') return ok({ kind: text });
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const name = colon < 0 ? '' : text.slice(colon + 1);
  if (kind !== 'header' && kind !== 'cookie' && kind !== 'query') {
    return fail(`"${text}": expected header:NAME, cookie:NAME, query:NAME, client or path`);
  }
  if (!TOKEN.test(name)) return fail(`"${text}": ${kind} needs a name, as in ${kind}:session`);
  return ok({ kind, name: kind === 'header' ? name.toLowerCase() : name });
}

/** The request's key, or null when it has none (no such header, cookie or parameter). */
export function keyOf(spec: HashKeySpec, req: KeySource): string | null {
  switch (spec.kind) {
    case 'client': return req.clientIp;
    case 'path': {
      const q = req.path.indexOf('?');
      return q < 0 ? req.path : req.path.slice(0, q);
    }
    case 'header': return req.header(spec.name) ?? null;
    case 'cookie': {
      const cookies = req.header('cookie');
      return cookies === undefined ? null : cookieValue(cookies, spec.name);
    }
    case 'query': return queryValue(req.path, spec.name);
  }
}

/** The value of cookie `name` in a Cookie header ("a=1; b=2"), null when absent. */
export function cookieValue(header: string, name: string): string | null {
  let at = 0;
  while (at < header.length) {
    const end = header.indexOf(';', at);
    const stop = end < 0 ? header.length : end;
    const eq = header.indexOf('=', at);
    if (eq > 0 && eq < stop && header.slice(at, eq).trim() === name) return header.slice(eq + 1, stop).trim();
    at = stop + 1;
  }
  return null;
}

/** The first value of query parameter `name` (percent-decoded), null when absent. */
export function queryValue(path: string, name: string): string | null {
  const q = path.indexOf('?');
  if (q < 0) return null;
  return new URLSearchParams(path.slice(q + 1)).get(name);
}
