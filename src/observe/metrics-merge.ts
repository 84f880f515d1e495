import { renderBackends, type BackendReading, type HistogramReading } from './metrics.js';

type Stats = BackendReading['stats'];

function sumHistogram(a: HistogramReading, b: HistogramReading): HistogramReading {
  const counts = Array.from(a.counts, (c, i) => c + (b.counts[i] ?? 0));
  return { counts, sumMs: a.sumMs + b.sumMs, count: a.count + b.count };
}

function sumStats(a: Stats, b: Stats): Stats {
  return {
    requests: a.requests + b.requests, errors: a.errors + b.errors, rxBytes: a.rxBytes + b.rxBytes, txBytes: a.txBytes + b.txBytes,
    healthErrors: a.healthErrors + b.healthErrors,
    // JSON turns an unset minimum (Infinity) into null on its way from a worker.
    latencyMinMs: Math.min(a.latencyMinMs ?? Infinity, b.latencyMinMs ?? Infinity),
    latencyMaxMs: Math.max(a.latencyMaxMs, b.latencyMaxMs), latencySumMs: a.latencySumMs + b.latencySumMs,
    latencyCount: a.latencyCount + b.latencyCount, totalDowntimeMs: Math.max(a.totalDowntimeMs, b.totalDowntimeMs),
    lastDowntimeMs: Math.max(a.lastDowntimeMs, b.lastDowntimeMs), retries: a.retries + b.retries,
    healthChecksOk: a.healthChecksOk + b.healthChecksOk, healthChecksFailed: a.healthChecksFailed + b.healthChecksFailed,
    transitionsUp: a.transitionsUp + b.transitionsUp, transitionsDown: a.transitionsDown + b.transitionsDown,
    latency: sumHistogram(a.latency, b.latency), ttfb: sumHistogram(a.ttfb, b.ttfb), healthDuration: sumHistogram(a.healthDuration, b.healthDuration),
  };
}

/**
 * One reading per backend from the readings of several workers (`--workers N`): traffic counters
 * and histograms add up; a backend is up when any worker can send to it; downtime is the longest
 * any worker saw (each worker checks health on its own).
 */
export function mergeReadings(perWorker: readonly (readonly BackendReading[])[]): BackendReading[] {
  const merged = new Map<string, BackendReading>();
  for (const readings of perWorker) {
    for (const r of readings) {
      const key = `${r.siteIndex} ${r.url}`;
      const seen = merged.get(key);
      merged.set(key, seen === undefined ? r : {
        ...seen, online: seen.online || r.online, probed: seen.probed || r.probed, inFlight: seen.inFlight + r.inFlight,
        downSince: Math.min(seen.downSince, r.downSince), stats: sumStats(seen.stats, r.stats),
      });
    }
  }
  return [...merged.values()];
}

/** What the primary serves on --metrics-address: the workers' backend metrics, summed. */
export class WorkerMetrics {
  private readonly collect: () => Promise<BackendReading[][]>;

  constructor(collect: () => Promise<BackendReading[][]>) {
    this.collect = collect;
  }

  async text(): Promise<string> {
    return renderBackends(mergeReadings(await this.collect()), Date.now());
  }
}
