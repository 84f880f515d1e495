import type { Backend } from '../upstream/backend.js';
import type { OutlierCounters } from '../outlier/detector.js';
import type { MirrorStats } from '../mirror/mirror.js';
import { escapeLabel, family, histogramSeries, num } from './metrics.js';

/** What the ambassador features expose; null for a feature that is off (its families are then left out). */
export interface AmbassadorReadings {
  readonly rateLimiter: { readonly refused: number } | null;
  readonly connectionCap: { readonly refused: number } | null;
  readonly outlier: { readonly counters: OutlierCounters; ejected(b: Backend): boolean } | null;
  readonly mirror: MirrorStats | null;
  backends(): readonly Backend[];
}

/** The ambassador families of the exposition, read at scrape time. */
export function renderAmbassador(r: AmbassadorReadings): string {
  const out: string[] = [];
  const counter = (name: string, help: string, value: number): void => {
    family(out, name, 'counter', help);
    out.push(`${name} ${num(value)}`);
  };
  if (r.rateLimiter !== null) counter('outrigger_rate_limited_total', 'Requests answered 429 by --rate-limit', r.rateLimiter.refused);
  if (r.connectionCap !== null) {
    counter('outrigger_connections_refused_total', 'Client connections closed by --max-conns-per-client', r.connectionCap.refused);
  }
  if (r.outlier !== null) renderOutlier(out, r.outlier, r.backends());
  if (r.mirror !== null) renderMirror(out, r.mirror);
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

function renderOutlier(out: string[], o: NonNullable<AmbassadorReadings['outlier']>, backends: readonly Backend[]): void {
  family(out, 'outrigger_outlier_ejections_total', 'counter', 'Outlier ejections: done, ended, or refused by --outlier-max-share');
  out.push(`outrigger_outlier_ejections_total{event="ejected"} ${num(o.counters.ejections)}`);
  out.push(`outrigger_outlier_ejections_total{event="returned"} ${num(o.counters.returns)}`);
  out.push(`outrigger_outlier_ejections_total{event="refused"} ${num(o.counters.refused)}`);
  family(out, 'outrigger_backend_ejected', 'gauge', 'Whether outlier detection holds the backend out of rotation now');
  for (const b of backends) {
    out.push(`outrigger_backend_ejected{site="${b.siteIndex + 1}",endpoint="${escapeLabel(b.url)}"} ${o.ejected(b) ? 1 : 0}`);
  }
}

function renderMirror(out: string[], m: MirrorStats): void {
  family(out, 'outrigger_mirror_requests_total', 'counter', 'Mirrored requests by the mirror\'s status (0: no answer)');
  for (const [status, n] of [...m.statuses].sort((a, b) => a[0] - b[0])) out.push(`outrigger_mirror_requests_total{status="${status}"} ${num(n)}`);
  family(out, 'outrigger_mirror_skipped_total', 'counter', 'Requests not mirrored: body over the limit, too many in flight, client request incomplete');
  out.push(`outrigger_mirror_skipped_total{reason="body"} ${num(m.skippedBody)}`);
  out.push(`outrigger_mirror_skipped_total{reason="busy"} ${num(m.skippedBusy)}`);
  out.push(`outrigger_mirror_skipped_total{reason="incomplete"} ${num(m.skippedAborted)}`);
  family(out, 'outrigger_mirror_duration_seconds', 'histogram', 'Duration of mirrored requests, until the mirror\'s answer ended');
  histogramSeries(out, 'outrigger_mirror_duration_seconds', '', m.latency);
}
