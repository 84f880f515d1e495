import type { Console } from '../observe/console.js';
import type { UpstreamSet } from '../upstream/upstream-set.js';
import type { LocalResponse } from './error-response.js';

/** Holds requests that arrive before the first round of health checks has finished. */
export interface StartupGate {
  readonly open: boolean;
  /** Resolves when the first round is done or the wait bound (the health timeout) passes. */
  wait(): Promise<void>;
}

/**
 * Everything a forwarding engine needs from the rest of Outrigger. This is the narrow interface
 * between policy (which backend, when to retry, what to log) and the engine that moves bytes, so
 * the engine can be replaced without touching balancing, health or observability.
 */
export interface ProxyContext {
  readonly upstreams: UpstreamSet;
  readonly console: Console;
  readonly startup: StartupGate;
  /** Attempts per request, the first included. */
  readonly maxAttempts: number;
  readonly connectTimeoutMs: number;
  /** 'http' or 'https', for X-Forwarded-Proto. */
  readonly proto: string;
  /** Outrigger's own endpoints (/v1/health, ...): a response, or null to proxy the request. */
  local(method: string, path: string): LocalResponse | null;
}

/** Origin-form path for a request target; absolute-form is reduced to its path so traffic only ever goes to our backends. */
export function originForm(target: string): string | null {
  if (target.charCodeAt(0) === 47 /* / */) return target;
  if (target === '*') return target;
  const authority = /^https?:\/\/[^/?#]+/i.exec(target);
  if (authority === null) return null;
  try {
    new URL(target);
  } catch {
    return null;
  }
  // The rest is kept byte for byte, as an origin-form target would be: URL's pathname resolves dot
  // segments and re-encodes, which would change what the backend (and an S3 signature) sees.
  const rest = target.slice(authority[0].length);
  return rest.charCodeAt(0) === 47 /* / */ ? rest : `/${rest}`;
}
