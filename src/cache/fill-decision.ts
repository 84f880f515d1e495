/**
 * The cache's body phase: whether a relayed response is filled into the store as it passes
 * (fill-start.ts), or not stored, and then whether its URL becomes a pass (passes.ts).
 */
import type { BodyTap, RequestView, ResponseView } from '../proxy/pipeline.js';
import { startFill } from './fill-start.js';
import type { FilterState } from './filter-state.js';
import { prepareResponse, storeVerdict } from './policy.js';

/** The tap that fills the store with this response, or null when it is not stored. */
export function fillOrPass(state: FilterState, req: RequestView, head: ResponseView): BodyTap | null {
  const { entries, stats, options, passes, health } = state;
  const pending = state.pending.get(req);
  if (pending === undefined || (pending.mode !== 'miss' && pending.mode !== 'revalidate') || pending.fillStarted) return null;
  const prepared = prepareResponse(head.status, head.fields);
  const verdict = storeVerdict(pending.facts, prepared, options.clock);
  const lengthText = head.fields.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
  const expected = lengthText === undefined ? -1 : Number(lengthText);
  const partial = head.fields.some(([n]) => /^content-range$/i.test(n));
  const tooSmall = expected >= 0 && expected < options.minSize;
  // A URL whose removal runs or failed, or began since the lookup: a fill would only be deleted again.
  if (!verdict.store || partial || tooSmall || !health.up || entries.stale(pending.keys, pending.token)) {
    pending.flight?.cancel();
    if (pending.mode === 'miss' && (!verdict.store || tooSmall) && passable(req, head.status, verdict)) passes.add(pending.keys.url);
    return null;
  }
  passes.forget(pending.keys.url);
  pending.fillStarted = true;
  return startFill({ entries, stats, minSize: options.minSize, maxBuffered: options.maxBuffered, quickAbort: options.quickAbort },
    { req, keys: pending.keys, prepared, policy: verdict.policy, expected, flight: pending.flight, token: pending.token });
}

/**
 * Whether a response not stored makes its URL a pass: only for reasons of the response's own. A
 * request with credentials is refused storage for its own sake (RFC 9111 §3.5), which says nothing
 * about the same URL asked without them; a 304 answers the client's own conditional request.
 */
function passable(req: RequestView, status: number, verdict: ReturnType<typeof storeVerdict>): boolean {
  return status !== 304 && req.header('authorization') === undefined && (verdict.store || verdict.reason !== 'method');
}
