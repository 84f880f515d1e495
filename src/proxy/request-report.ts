/**
 * Phase 7's report of a finished request: its trace line and the done filters (metrics, the
 * access log of the ambassador features). Called once per request, after its byte counts are final.
 */
import { traceExchange } from './attempts.js';
import type { ProxyContext } from './context.js';
import type { Outcome } from './pipeline.js';
import type { ProxyRequest } from './request.js';

export function reportRequest(ctx: ProxyContext, req: ProxyRequest): void {
  // The summary object is only built when a trace can be written at all.
  if (req.answeredBy?.untraced !== true && ctx.console.tracing !== undefined) {
    traceExchange(ctx.console, {
      backend: req.lastBackend, method: req.method, path: req.target, client: req.clientIp, status: req.status,
      startedWall: req.startedWall, startedAt: req.startedAt, ttfbMs: req.ttfb, rx: req.rx, tx: req.tx, error: req.error?.message,
    }, req.debugHeaders === null ? undefined : req.debugHeaders);
  }
  const done = ctx.filters.done;
  if (done.length === 0) return;
  const outcome: Outcome = {
    status: req.status, backend: req.backend, attempts: req.attempts, failedOn: req.tried, rxBytes: req.rx, txBytes: req.tx, error: req.error,
  };
  for (let i = 0; i < done.length; i++) done[i]!.done!(req, outcome);
}
