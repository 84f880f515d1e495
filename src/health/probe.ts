import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { BackendTls } from '../tls/backend-tls.js';
import { describeSocketError } from '../tls/errors.js';

export interface ProbeResult {
  readonly ok: boolean;
  /** HTTP status, or 0 when no response arrived. */
  readonly status: number;
  /** Why it failed ('' when ok). */
  readonly reason: string;
  readonly durationMs: number;
}

export interface ProbeOptions {
  readonly timeoutMs: number;
  readonly insecure: boolean;
  /** How the backend's host name gets its address (Backend.lookup); undefined: the system resolver. */
  readonly lookup?: LookupFunction | undefined;
  /** --cacert, --client-cert/--client-key (Backend.tls); undefined: Node's defaults. */
  readonly tls?: BackendTls | undefined;
}

const MAX_REDIRECTS = 10;

/**
 * One readiness check: GET the URL on a fresh connection (a pooled socket could hide a dead
 * listener), following redirects like sidekick; healthy means exactly 200.
 */
export function probe(url: string, options: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  return follow(new URL(url), options, deadline, 0).then(
    (status) => ({ ok: status === 200, status, reason: status === 200 ? '' : `health check returned status ${status}`, durationMs: performance.now() - started }),
    (err: Error) => ({ ok: false, status: 0, reason: describe(err), durationMs: performance.now() - started }),
  );
}

function follow(url: URL, options: ProbeOptions, deadline: number, hops: number): Promise<number> {
  return get(url, options, deadline).then(({ status, location }) => {
    if (location === undefined || status < 300 || status > 399 || hops >= MAX_REDIRECTS) return status;
    return follow(new URL(location, url), options, deadline, hops + 1);
  });
}

function get(url: URL, options: ProbeOptions, deadline: number): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method: 'GET',
      agent: false,
      headers: { 'user-agent': 'outrigger-health', connection: 'close' },
      rejectUnauthorized: !options.insecure,
      lookup: options.lookup,
      ...(options.tls?.secureContext !== undefined ? { secureContext: options.tls.secureContext } : {}),
    });
    const timer = setTimeout(() => req.destroy(new ProbeTimeout(options.timeoutMs)), Math.max(1, deadline - performance.now()));
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, location: res.headers.location });
      });
      res.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
    req.once('error', (err) => { clearTimeout(timer); reject(err); });
    req.end();
  });
}

class ProbeTimeout extends Error {
  constructor(ms: number) {
    super(`health check timed out after ${ms} ms`);
  }
}

function describe(err: Error & { code?: string }): string {
  if (err instanceof ProbeTimeout) return err.message;
  return describeSocketError(err);
}
