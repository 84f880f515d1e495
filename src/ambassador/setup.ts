/**
 * Builds the ambassador features that the configuration turns on (and nothing for the others):
 * the backend chooser, the pipeline filters, the per-client connection cap, the outlier timer and
 * the metrics section. app.ts hands the pieces to the proxy context and the metrics.
 */
import type { Config } from '../config/types.js';
import type { Backend } from '../upstream/backend.js';
import type { UpstreamSet } from '../upstream/upstream-set.js';
import type { BackendChooser, ProxyFilter } from '../proxy/pipeline.js';
import { Chooser } from '../balance/chooser.js';
import { RateLimiter } from '../limit/rate-limiter.js';
import { ConnectionCap } from '../limit/connection-cap.js';
import { OutlierDetector, type EjectionTarget } from '../outlier/detector.js';
import { Mirror } from '../mirror/mirror.js';
import { renderAmbassador } from '../observe/ambassador-metrics.js';
import { mirrorFilter, outlierFilter, rateLimitFilter, stickyFilter } from './filters.js';

/** Success-rate ejection judges a backend only on this many answers per interval... */
const SUCCESS_RATE_MIN_REQUESTS = 20;
/** ...and only in a site with at least this many such backends. */
const SUCCESS_RATE_MIN_HOSTS = 3;
/** Mirror requests in flight at most, and how long one may take. */
const MIRROR_MAX_IN_FLIGHT = 64;
const MIRROR_TIMEOUT_MS = 30_000;

export class Ambassador {
  /** null: the upstream set picks (sites in failover order, --host-balance). */
  readonly chooser: BackendChooser | null;
  /** In phase order: rate limits answer before anything else is done for a request. */
  readonly filters: readonly ProxyFilter[];
  readonly connectionCap: ConnectionCap | null;
  readonly rateLimiter: RateLimiter | null;
  readonly outlier: OutlierDetector | null;
  readonly mirror: Mirror | null;
  private timer: NodeJS.Timeout | null = null;

  constructor(config: Config, upstreams: UpstreamSet) {
    const chooser = usesChooser(config) ? new Chooser(upstreams, config) : null;
    this.chooser = chooser;
    this.rateLimiter = config.rateLimit === undefined ? null : new RateLimiter(config.rateLimit);
    this.connectionCap = config.maxConnsPerClient > 0 ? new ConnectionCap(config.maxConnsPerClient) : null;
    this.outlier = outlierOn(config) ? new OutlierDetector(outlierSettings(config), ejectionTarget(upstreams)) : null;
    this.mirror = config.mirror === undefined ? null : new Mirror(config.mirror, {
      sample: config.mirrorSample, maxBodyBytes: config.mirrorBodyLimit, maxInFlight: MIRROR_MAX_IN_FLIGHT, timeoutMs: MIRROR_TIMEOUT_MS,
    }, { insecure: config.insecure });
    const filters: ProxyFilter[] = [];
    if (this.rateLimiter !== null) filters.push(rateLimitFilter(this.rateLimiter));
    if (chooser?.sticky) filters.push(stickyFilter(chooser.sticky));
    if (this.mirror !== null) filters.push(mirrorFilter(this.mirror));
    if (this.outlier !== null) filters.push(outlierFilter(this.outlier));
    this.filters = filters;
  }

  /** The metrics families of the features that are on, or null when none is. */
  metricsSection(upstreams: UpstreamSet): (() => string) | null {
    if (this.rateLimiter === null && this.connectionCap === null && this.outlier === null && this.mirror === null) return null;
    const outlier = this.outlier;
    const readings = {
      rateLimiter: this.rateLimiter, connectionCap: this.connectionCap, mirror: this.mirror?.stats ?? null,
      outlier: outlier === null ? null : { counters: outlier.counters, ejected: (b: Backend) => outlier.ejected(b) },
      backends: () => upstreams.backends(),
    };
    return () => renderAmbassador(readings);
  }

  /** Starts the outlier detector's interval. */
  start(): void {
    const outlier = this.outlier;
    if (outlier === null || this.timer !== null) return;
    this.timer = setInterval(() => outlier.tick(), outlier.settings.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.mirror?.close();
  }
}

function usesChooser(c: Config): boolean {
  return c.hostBalance === 'hash' || c.stickyCookie !== undefined || c.split !== undefined;
}

function outlierOn(c: Config): boolean {
  return c.outlier5xx > 0 || c.outlierGateway > 0 || c.outlierSuccessRate > 0;
}

function outlierSettings(c: Config): OutlierDetector['settings'] {
  return {
    consecutive5xx: c.outlier5xx, consecutiveGateway: c.outlierGateway, successRateStdev: c.outlierSuccessRate,
    successRateMinRequests: SUCCESS_RATE_MIN_REQUESTS, successRateMinHosts: SUCCESS_RATE_MIN_HOSTS,
    intervalMs: c.outlierInterval, baseEjectionMs: c.outlierEjection, maxEjectionMs: c.outlierMaxEjection, maxEjectedShare: c.outlierMaxShare,
  };
}

/** Ejections take effect in the upstream set's health flags (its `ready` snapshots leave ejected backends out). */
function ejectionTarget(upstreams: UpstreamSet): EjectionTarget {
  return {
    eject: (b, until, reason) => upstreams.eject(b, until, `outlier: ${reason}`),
    restore: (b) => upstreams.eject(b, 0, 'outlier: ejection over'),
    siteOf: (b) => upstreams.sites[b.siteIndex]?.backends ?? [],
  };
}
