import type { Backend } from '../upstream/backend.js';
import type { Console } from '../observe/console.js';

/** Per-attempt accounting and the trace line of a finished request (the retry decision is in retry.ts). */

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
