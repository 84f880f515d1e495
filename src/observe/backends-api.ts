/**
 * GET /v1/backends: every site and every backend as JSON, for people, scripts, the live view and
 * later the dashboard. Read-only; built on request (admin traffic, not the hot path).
 */
import type { Backend } from '../upstream/backend.js';
import type { UpstreamSet } from '../upstream/upstream-set.js';
import type { BackendReading } from './metrics.js';

export const BACKENDS_PATH = '/v1/backends';

export interface BackendView {
  readonly url: string;
  /** The source that listed it ('argv', 'sites-file', ...). */
  readonly source: string;
  /** The one address it connects to, when its name has several (one backend per address). */
  readonly address: string | null;
  readonly status: 'up' | 'down' | 'pending';
  /** What holds it out of rotation ('' when up). */
  readonly reason: string;
  /** When the status last changed (ISO 8601). */
  readonly since: string;
  readonly inFlight: number;
  readonly lastError: string;
  /** The independent health flags (src/upstream/health-state.ts). */
  readonly checks: { readonly active: boolean; readonly passive: boolean; readonly ejectedUntil: string | null };
  readonly requests: number;
  readonly errors: number;
}

export interface SiteView {
  readonly site: number;
  readonly backends: readonly BackendView[];
}

/** A backend's traffic figures; in the --workers primary, summed over every worker. */
export interface BackendCounts {
  readonly inFlight: number;
  readonly requests: number;
  readonly errors: number;
}

const own = (b: Backend): BackendCounts => ({ inFlight: b.inFlight, requests: b.stats.requests, errors: b.stats.errors });

export function viewBackend(b: Backend, now: number, counts: (b: Backend) => BackendCounts = own): BackendView {
  const h = b.health;
  const c = counts(b);
  return {
    url: b.url,
    source: b.spec.origin ?? 'argv',
    address: b.spec.address ?? null,
    status: h.online ? 'up' : h.probed ? 'down' : 'pending',
    reason: h.reason(now),
    since: new Date(h.since).toISOString(),
    inFlight: c.inFlight,
    lastError: h.lastError,
    checks: { active: h.activeUp, passive: !h.passiveOut, ejectedUntil: h.ejectedUntil > now ? new Date(h.ejectedUntil).toISOString() : null },
    requests: c.requests,
    errors: c.errors,
  };
}

/** Traffic figures of each backend summed over several workers' readings (matched by site and URL). */
export function summedCounts(perWorker: readonly (readonly BackendReading[])[]): (b: Backend) => BackendCounts {
  const sums = new Map<string, { inFlight: number; requests: number; errors: number }>();
  for (const readings of perWorker) {
    for (const r of readings) {
      const key = `${r.siteIndex} ${r.url}`;
      const s = sums.get(key) ?? { inFlight: 0, requests: 0, errors: 0 };
      s.inFlight += r.inFlight;
      s.requests += r.stats.requests;
      s.errors += r.stats.errors;
      sums.set(key, s);
    }
  }
  return (b) => sums.get(`${b.siteIndex} ${b.url}`) ?? { inFlight: 0, requests: 0, errors: 0 };
}

export function backendsJson(upstreams: UpstreamSet, now = Date.now(), counts?: (b: Backend) => BackendCounts): string {
  const sites: SiteView[] = upstreams.sites.map((s) => ({ site: s.index + 1, backends: s.backends.map((b) => viewBackend(b, now, counts)) }));
  return `${JSON.stringify({ sites }, null, 2)}\n`;
}
