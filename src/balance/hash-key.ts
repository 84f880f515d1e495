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

/**
 * The parts of a request a key can come from: a subset of the proxy pipeline's RequestView,
 * declared here so that balancing does not depend on the proxy.
 */
export interface KeySource {
  readonly clientIp: string;
  /** Origin-form target, query included. */
  readonly target: string;
  /** A header's first value by lower-case name, undefined when absent. */
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
  /** A query parameter's raw value, undefined when absent. */
  query(name: string): string | undefined;
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
      const q = req.target.indexOf('?');
      return q < 0 ? req.target : req.target.slice(0, q);
    }
    case 'header': return req.header(spec.name) ?? null;
    case 'cookie': return req.cookie(spec.name) ?? null;
    case 'query': return req.query(spec.name) ?? null;
  }
}
