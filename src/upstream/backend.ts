import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { BackendSpec } from '../config/types.js';
import { DEFAULT_BACKEND_TLS, type BackendTls } from '../tls/backend-tls.js';
import { HealthState } from './health-state.js';

/** Why a backend changed state, for logs. */
export type StateSource = 'probe' | 'request' | 'ejection';

/**
 * Upper bounds (milliseconds) of the fixed histogram buckets shared by every backend; the metrics
 * endpoint turns them into Prometheus `le` buckets in seconds. A last, implicit bucket holds the rest.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000];

/** A fixed-bucket histogram of durations: one array of counts, filled without allocating. */
export class DurationHistogram {
  /** counts[i]: observations <= LATENCY_BOUNDS_MS[i] and above the previous bound; the last slot is the overflow (+Inf). */
  readonly counts = new Float64Array(LATENCY_BOUNDS_MS.length + 1);
  sumMs = 0;
  count = 0;

  observe(ms: number): void {
    const bounds = LATENCY_BOUNDS_MS;
    let i = 0;
    while (i < bounds.length && ms > bounds[i]!) i++;
    this.counts[i]!++;
    this.sumMs += ms;
    this.count++;
  }
}

/** Live statistics of one backend: plain numbers written on the hot path, read by observers. */
export class BackendStats {
  requests = 0;
  errors = 0;
  /** Bytes received from the client and sent to this backend. */
  rxBytes = 0;
  /** Bytes received from this backend and sent to the client. */
  txBytes = 0;
  healthErrors = 0;
  latencyMinMs = Infinity;
  latencyMaxMs = 0;
  latencySumMs = 0;
  latencyCount = 0;
  totalDowntimeMs = 0;
  lastDowntimeMs = 0;
  /** Attempt durations (recordLatency). */
  readonly latency = new DurationHistogram();
  /** Time from the start of an attempt to the backend's response head (recordTtfb). */
  readonly ttfb = new DurationHistogram();
  /** Attempts on this backend that failed and were retried on another one. */
  retries = 0;
  healthChecksOk = 0;
  healthChecksFailed = 0;
  readonly healthDuration = new DurationHistogram();
  /** Times `online` flipped to true / to false. */
  transitionsUp = 0;
  transitionsDown = 0;

  /** One finished attempt on this backend (success or failure), its duration in milliseconds. */
  recordLatency(ms: number): void {
    if (ms < this.latencyMinMs) this.latencyMinMs = ms;
    if (ms > this.latencyMaxMs) this.latencyMaxMs = ms;
    this.latencySumMs += ms;
    this.latencyCount++;
    this.latency.observe(ms);
  }

  /** The backend's (final, non-1xx) response head arrived, `ms` after this attempt started. */
  recordTtfb(ms: number): void {
    this.ttfb.observe(ms);
  }

  /** An attempt on this backend failed and the request is being sent to another backend. */
  recordRetry(): void {
    this.retries++;
  }

  /** One finished health check: its verdict and how long it took. */
  recordHealthCheck(ok: boolean, ms: number): void {
    if (ok) this.healthChecksOk++;
    else this.healthChecksFailed++;
    this.healthDuration.observe(ms);
  }
}

export interface BackendOptions {
  readonly insecure: boolean;
  /** The health URL of this backend (path and port already chosen for its site). */
  readonly healthUrl: string;
  /** Resolved addresses of host names (src/discovery); without it, names go to the system resolver per connection. */
  readonly addresses?: AddressBook | undefined;
  /** --cacert and --client-cert/--client-key, loaded once at start (src/tls); Node's defaults when absent. */
  readonly tls?: BackendTls | undefined;
  /** The endpoint's health, carried over from an earlier backend of the same endpoint (HealthTable). */
  readonly health?: HealthState | undefined;
}

export interface ConnectAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Where connections to a backend host name get their address, resolved ahead of time (off the request path). */
export interface AddressBook {
  /** Addresses for the next new connection to `name`, to try in order (the first one changes per call), or why there is none. */
  next(name: string): readonly ConnectAddress[] | Error;
}

/**
 * One upstream server of one site: its connection pool, its counters, and the health flags of its
 * endpoint (HealthState, driven through UpstreamSet).
 */
export class Backend {
  readonly spec: BackendSpec;
  readonly siteIndex: number;
  readonly url: string;
  readonly healthUrl: string;
  /** scheme, connect address (or host name), port and health URL: the key of the endpoint's health (endpointKey). */
  readonly endpoint: string;
  /**
   * Resolves spec.hostname for a new connection (net/tls `lookup` option) from the address book,
   * or to spec.address when pinned; undefined for IP literals and when there is no book. The host
   * name itself stays the TLS servername and the health probe's Host.
   */
  readonly lookup: LookupFunction | undefined;
  /** Verify the backend's TLS certificate (https sites without --insecure). */
  readonly verifyTls: boolean;
  /** Roots and client certificate for https connections (pool, agent, health probes). */
  readonly tls: BackendTls;
  readonly stats = new BackendStats();

  /** The endpoint's health flags (src/upstream/health-state.ts), shared with any later backend of the same endpoint. */
  readonly health: HealthState;

  /** Whether requests may be sent here. */
  get online(): boolean { return this.health.online; }
  /** False until the first probe has answered. */
  get probed(): boolean { return this.health.probed; }
  /** Date.now() when the backend last went out of rotation (or was created). */
  get downSince(): number { return this.health.since; }
  get lastError(): string { return this.health.lastError; }

  /** Requests in flight, for least-request balancing. */
  inFlight = 0;
  /** performance.now() of the last finished request, the least-request tie breaker. */
  lastFinished = 0;

  constructor(spec: BackendSpec, siteIndex: number, options: BackendOptions) {
    this.spec = spec;
    this.siteIndex = siteIndex;
    this.url = spec.url;
    this.healthUrl = options.healthUrl;
    this.endpoint = endpointKey(spec, options.healthUrl);
    this.health = options.health ?? new HealthState(Date.now());
    this.verifyTls = !options.insecure;
    this.tls = options.tls ?? DEFAULT_BACKEND_TLS;
    this.lookup = backendLookup(spec, options.addresses);
  }

  /** The connection pool for this backend (src/proxy/raw/upstream-pool.ts), created on first use. */
  pool: { closeIdle(): void; drain(): void } | null = null;

  /** Bumped when the host name's addresses change; a connection from an older epoch is not pooled again. */
  addressEpoch = 0;

  /**
   * The host name now resolves differently: close idle connections now and busy ones when they
   * finish, so that new connections go to the new answer.
   */
  retireConnections(): void {
    this.addressEpoch++;
    this.pool?.closeIdle();
  }

  /**
   * The backend left the configuration: requests in flight on it finish, its idle connections
   * close now, and every connection in use closes when its exchange ends instead of going back
   * to the pool. Nothing is cut.
   */
  drain(): void {
    this.pool?.drain();
  }

  /** At shutdown: the same as drain (client connections still open are cut by the engine). */
  destroy(): void {
    this.pool?.drain();
  }
}

/** What makes two backends the same endpoint for health purposes: where connections and probes go. */
export function endpointKey(spec: BackendSpec, healthUrl: string): string {
  return `${spec.protocol}//${spec.address ?? spec.hostname}:${spec.port} ${healthUrl}`;
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

function backendLookup(spec: BackendSpec, book: AddressBook | undefined): LookupFunction | undefined {
  if (isIpLiteral(spec.hostname)) return undefined;
  if (spec.address !== undefined) {
    const pinned: readonly ConnectAddress[] = [{ address: spec.address, family: spec.address.includes(':') ? 6 : 4 }];
    return lookupFrom(spec.hostname, () => pinned);
  }
  return book === undefined ? undefined : lookupFrom(spec.hostname, () => book.next(spec.hostname));
}

/** A net `lookup` answering for `hostname` from `pick`; any other name (a health redirect) goes to the system resolver. */
function lookupFrom(hostname: string, pick: () => readonly ConnectAddress[] | Error): LookupFunction {
  return (host, options, callback) => {
    if (host !== hostname) {
      dns.lookup(host, options, callback);
      return;
    }
    const picked = pick();
    // Asynchronous like dns.lookup: net wires its handlers up after asking.
    process.nextTick(() => {
      if (picked instanceof Error || picked.length === 0) callback(picked instanceof Error ? picked : new Error(`${host}: no address`), '', 0);
      else if (options.all === true) callback(null, picked.map((a) => ({ address: a.address, family: a.family })));
      else callback(null, picked[0]!.address, picked[0]!.family);
    });
  };
}
