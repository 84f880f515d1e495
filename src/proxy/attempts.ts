import type { Backend } from '../upstream/backend.js';
import type { Console } from '../observe/console.js';
import { isConnectError, isIdempotent } from './context.js';

/**
 * The retry and health policy both forwarding engines share: what a failed attempt says about the
 * backend, and whether the request may go to another one.
 */

/** What an engine knows when an attempt fails before any response byte reached the client. */
export interface FailedAttempt {
  /** Node error code (ECONNREFUSED, ECONNRESET, ...), or an engine code such as 'ECONNECTTIMEOUT'. */
  readonly code: string | undefined;
  /** The connection came from the idle pool rather than a fresh connect. */
  readonly reusedConnection: boolean;
  /** Some of the client's body was handed to this connection (it cannot be sent again). */
  readonly bodySent: boolean;
  readonly hasBody: boolean;
  readonly method: string;
  /** The backend sent something that is not HTTP: that response's fault, not the backend's health. */
  readonly malformedResponse: boolean;
}

export interface Verdict {
  /** Take the backend out of rotation until a probe brings it back. */
  readonly markDown: boolean;
  /** The request may be sent to another backend. */
  readonly retry: boolean;
  /**
   * The failure was a pooled connection the backend had closed: try the same backend once more
   * on a fresh connection before counting it as tried.
   */
  readonly staleConnection: boolean;
}

export function judge(f: FailedAttempt): Verdict {
  if (f.malformedResponse) return { markDown: false, retry: false, staleConnection: false };
  const retry = !f.bodySent && (isConnectError(f.code) || !f.hasBody || isIdempotent(f.method));
  // A pooled socket the backend closed just as we reused it says nothing about the backend.
  const stale = retry && f.reusedConnection && (f.code === 'ECONNRESET' || f.code === 'EPIPE' || f.code === 'ECONNCLOSED');
  return { markDown: !stale, retry, staleConnection: stale };
}

export function beginAttempt(b: Backend): void {
  b.inFlight++;
  b.stats.requests++;
}

/** Account a finished attempt: in-flight count, tie-breaker clock, bytes, latency, errors. */
export function endAttempt(b: Backend, startedAt: number, rx: number, tx: number, failed: boolean): void {
  const now = performance.now();
  b.inFlight--;
  b.lastFinished = now;
  b.stats.rxBytes += rx;
  b.stats.txBytes += tx;
  b.stats.recordLatency(now - startedAt);
  if (failed) b.stats.errors++;
}

/** Error text for logs and the 502 body. */
export function describeError(err: Error & { code?: string }): string {
  if (err.code === 'ECONNECTTIMEOUT') return err.message;
  if (err.code?.startsWith('HPE_') === true) return `malformed response from backend: ${err.message}`;
  return err.code !== undefined ? `${err.code}: ${err.message}` : err.message;
}

/** Everything a trace line needs about one finished request. */
export interface ExchangeSummary {
  readonly backend: string;
  readonly method: string;
  readonly path: string;
  readonly client: string;
  readonly status: number;
  /** Date.now() and performance.now() when the request arrived. */
  readonly startedWall: number;
  readonly startedAt: number;
  readonly ttfbMs: number;
  readonly rx: number;
  readonly tx: number;
  readonly error: string | undefined;
}

/** Emit the trace line for a finished request, if tracing wants it. Cheap when tracing is off. */
export function traceExchange(console: Console, s: ExchangeSummary, headers?: { requestHeaders: Record<string, unknown>; responseHeaders: Record<string, unknown> }): void {
  if (console.tracing === undefined || !console.wantsTrace('application', s.status)) return;
  console.trace({
    kind: 'application', time: s.startedWall, backend: s.backend, method: s.method, path: s.path, client: s.client,
    status: s.status, latencyMs: performance.now() - s.startedAt, ttfbMs: s.ttfbMs, rx: s.rx, tx: s.tx,
    ...(s.error !== undefined ? { error: s.error } : {}),
    ...(console.debug && headers !== undefined ? headers : {}),
  });
}
