import { LATENCY_BOUNDS_MS, type Backend } from '../upstream/backend.js';
import type { UpstreamSet } from '../upstream/upstream-set.js';
import { ProcessMetrics } from './process-metrics.js';

/** Sidekick's metrics path, served on the main port (and on --metrics-address). */
export const METRICS_PATH = '/.prometheus/metrics';
/** The Prometheus text format, version 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A fixed-bucket histogram as observers read it (DurationHistogram, or a plain copy of one). */
export interface HistogramReading {
  readonly counts: ArrayLike<number>;
  readonly sumMs: number;
  readonly count: number;
}

/**
 * What the metrics and the live view read of a backend. A live `Backend` is one; so is the plain
 * copy `readBackend` makes, which can cross a process boundary (for summing the workers of
 * `--workers N` in their primary, say).
 */
export interface BackendReading {
  readonly url: string;
  readonly siteIndex: number;
  readonly online: boolean;
  readonly probed: boolean;
  readonly inFlight: number;
  readonly downSince: number;
  /** Why the backend last failed (a probe or a request); shown while it is down. */
  readonly lastError: string;
  readonly stats: {
    readonly requests: number;
    readonly errors: number;
    readonly rxBytes: number;
    readonly txBytes: number;
    readonly healthErrors: number;
    readonly latencyMinMs: number;
    readonly latencyMaxMs: number;
    readonly latencySumMs: number;
    readonly latencyCount: number;
    readonly totalDowntimeMs: number;
    readonly lastDowntimeMs: number;
    readonly retries: number;
    readonly healthChecksOk: number;
    readonly healthChecksFailed: number;
    readonly transitionsUp: number;
    readonly transitionsDown: number;
    readonly latency: HistogramReading;
    readonly ttfb: HistogramReading;
    readonly healthDuration: HistogramReading;
  };
}

/** A plain, JSON-safe copy of a backend's readings (latencyMinMs is Infinity before the first request: JSON turns that into null). */
export function readBackend(b: Backend): BackendReading {
  const s = b.stats;
  const h = (x: HistogramReading): HistogramReading => ({ counts: Array.from(x.counts), sumMs: x.sumMs, count: x.count });
  return {
    url: b.url, siteIndex: b.siteIndex, online: b.online, probed: b.probed, inFlight: b.inFlight, downSince: b.downSince, lastError: b.lastError,
    stats: {
      requests: s.requests, errors: s.errors, rxBytes: s.rxBytes, txBytes: s.txBytes, healthErrors: s.healthErrors,
      latencyMinMs: s.latencyMinMs, latencyMaxMs: s.latencyMaxMs, latencySumMs: s.latencySumMs, latencyCount: s.latencyCount,
      totalDowntimeMs: s.totalDowntimeMs, lastDowntimeMs: s.lastDowntimeMs, retries: s.retries,
      healthChecksOk: s.healthChecksOk, healthChecksFailed: s.healthChecksFailed, transitionsUp: s.transitionsUp, transitionsDown: s.transitionsDown,
      latency: h(s.latency), ttfb: h(s.ttfb), healthDuration: h(s.healthDuration),
    },
  };
}

/**
 * Downtime of a backend as people read it: the total includes an outage still going on, and
 * "last" is the current outage while the backend is down, else the most recent finished one.
 * A backend not yet probed has no downtime.
 */
export function downtimeOf(b: BackendReading, now: number): { totalMs: number; lastMs: number } {
  const s = b.stats;
  if (b.online || !b.probed) return { totalMs: s.totalDowntimeMs, lastMs: s.lastDowntimeMs };
  const current = Math.max(0, now - b.downSince);
  return { totalMs: s.totalDowntimeMs + current, lastMs: current };
}

/** Histogram `le` labels in seconds, computed once. */
const LE = [...LATENCY_BOUNDS_MS.map((ms) => String(ms / 1000)), '+Inf'];

/**
 * The Prometheus exposition. Backend counters are plain numbers on BackendStats, written by the
 * engines; they are read here only when someone scrapes, from whatever backend set is current
 * (so a SIGHUP reload is followed by the next scrape). Nothing here runs per request.
 *
 * Everything is formatted synchronously (the main port answers through the engine's synchronous
 * `local()` hook), process families included (ProcessMetrics, started with the process).
 */
export class Metrics {
  private readonly upstreams: UpstreamSet;
  /** Null when process metrics are off. */
  private readonly process: ProcessMetrics | null;

  constructor(upstreams: UpstreamSet, options: { processMetrics?: boolean } = {}) {
    this.upstreams = upstreams;
    this.process = options.processMetrics === false ? null : new ProcessMetrics();
  }

  /** More families, rendered after the backends' on every scrape (the ambassador features' counters). */
  readonly sections: (() => string)[] = [];

  /** Every backend metric, read now. */
  backendText(now = Date.now()): string {
    const text = renderBackends(this.upstreams.backends(), now);
    return this.sections.length === 0 ? text : text + this.sections.map((render) => render()).join('');
  }

  /**
   * Debug only (OUTRIGGER_DEBUG_GC_ON_SCRAPE, set by the memory tests): a full garbage collection
   * before each scrape, so the heap figures of two scrapes compare live objects, not garbage.
   */
  beforeScrape: (() => void) | null = null;

  /** Everything but the backend families: the extra sections and this process's own families. */
  ownText(): string {
    return this.sections.map((render) => render()).join('') + (this.process?.text() ?? '');
  }

  /** The whole exposition, everything read now. */
  textNow(): string {
    this.beforeScrape?.();
    return this.backendText() + (this.process?.text() ?? '');
  }

  /** The same, for the separate metrics server. */
  text(): Promise<string> {
    return Promise.resolve(this.textNow());
  }

  /** The answer for App.local(). */
  response(): { status: number; headers: Record<string, string>; body: string } {
    return { status: 200, headers: { 'Content-Type': METRICS_CONTENT_TYPE }, body: this.textNow() };
  }

  /** Stops sampling the event loop and garbage collections. */
  stop(): void {
    this.process?.stop();
  }
}

/** Starts one metric family in `out`. */
export function family(out: string[], name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

export function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

export function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  return String(n);
}

/** The five counters sidekick exports, labelled by endpoint only. */
const SIDEKICK: ReadonlyArray<readonly [name: string, help: string, read: (b: BackendReading) => number]> = [
  ['sidekick_requests_total', 'Total number of calls in current SideKick server instance', (b) => b.stats.requests],
  ['sidekick_errors_total', 'Total number of failed calls in current SideKick server instance', (b) => b.stats.errors],
  ['sidekick_rx_bytes_total', 'Total number of bytes received by current SideKick server instance', (b) => b.stats.rxBytes],
  ['sidekick_tx_bytes_total', 'Total number of bytes sent by current SideKick server instance', (b) => b.stats.txBytes],
  ['sidekick_health_error_counts', 'Total number of failed health checks in current SideKick server instance', (b) => b.stats.healthErrors],
];

/** Every backend family of the exposition, for these backends at time `now`. */
export function renderBackends(backends: readonly BackendReading[], now: number): string {
  const out: string[] = [];
  // Sidekick's series carry only `endpoint`; that is unique because a URL may appear in one site only (parseSites).
  const endpointLabels = backends.map((b) => `{endpoint="${escapeLabel(b.url)}"}`);
  for (const [name, help, read] of SIDEKICK) {
    family(out, name, 'counter', help);
    backends.forEach((b, i) => out.push(`${name}${endpointLabels[i]} ${num(read(b))}`));
  }

  const labels = backends.map((b) => `site="${b.siteIndex + 1}",endpoint="${escapeLabel(b.url)}"`);
  const downtime = backends.map((b) => downtimeOf(b, now));
  const simple = (name: string, type: 'counter' | 'gauge', help: string, read: (b: BackendReading, i: number) => number): void => {
    family(out, name, type, help);
    backends.forEach((b, i) => out.push(`${name}{${labels[i]}} ${num(read(b, i))}`));
  };
  simple('outrigger_backend_up', 'gauge', 'Whether the backend is in rotation (1) or not (0)', (b) => (b.online ? 1 : 0));
  simple('outrigger_backend_in_flight', 'gauge', 'Requests to the backend in flight now', (b) => b.inFlight);
  {
    const name = 'outrigger_backend_state_transitions_total';
    family(out, name, 'counter', 'Times the backend went into (to="up") or out of (to="down") rotation');
    backends.forEach((b, i) => {
      out.push(`${name}{${labels[i]},to="up"} ${num(b.stats.transitionsUp)}`);
      out.push(`${name}{${labels[i]},to="down"} ${num(b.stats.transitionsDown)}`);
    });
  }
  simple('outrigger_backend_downtime_seconds_total', 'counter', 'Time the backend has been out of rotation, an outage in progress included',
    (_, i) => downtime[i]!.totalMs / 1000);
  simple('outrigger_backend_last_downtime_seconds', 'gauge', 'Length of the outage in progress, or else of the last one',
    (_, i) => downtime[i]!.lastMs / 1000);
  simple('outrigger_upstream_retries_total', 'counter', 'Attempts on the backend that failed and were retried on another backend',
    (b) => b.stats.retries);
  {
    const name = 'outrigger_health_checks_total';
    family(out, name, 'counter', 'Health checks of the backend by result');
    backends.forEach((b, i) => {
      out.push(`${name}{${labels[i]},result="ok"} ${num(b.stats.healthChecksOk)}`);
      out.push(`${name}{${labels[i]},result="fail"} ${num(b.stats.healthChecksFailed)}`);
    });
  }
  histogram(out, 'outrigger_upstream_request_duration_seconds', 'Duration of requests to the backend', backends, labels, (b) => b.stats.latency);
  histogram(out, 'outrigger_upstream_time_to_first_byte_seconds', 'Time until the backend\'s response head arrived', backends, labels, (b) => b.stats.ttfb);
  histogram(out, 'outrigger_health_check_duration_seconds', 'Duration of health checks of the backend', backends, labels, (b) => b.stats.healthDuration);
  return out.join('\n') + '\n';
}

function histogram(out: string[], name: string, help: string, backends: readonly BackendReading[], labels: readonly string[],
  read: (b: BackendReading) => HistogramReading): void {
  family(out, name, 'histogram', help);
  backends.forEach((b, i) => histogramSeries(out, name, labels[i]!, read(b)));
}

/** The _bucket, _sum and _count lines of one histogram series; `l` is its label list without braces. */
export function histogramSeries(out: string[], name: string, l: string, h: HistogramReading): void {
  let cumulative = 0;
  const sep = l === '' ? '' : ',';
  for (let k = 0; k < LE.length; k++) {
    cumulative += h.counts[k]!;
    out.push(`${name}_bucket{${l}${sep}le="${LE[k]}"} ${num(cumulative)}`);
  }
  const braces = l === '' ? '' : `{${l}}`;
  out.push(`${name}_sum${braces} ${num(h.sumMs / 1000)}`, `${name}_count${braces} ${num(h.count)}`);
}
