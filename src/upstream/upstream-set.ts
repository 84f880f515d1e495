import type { BackendSpec, Config, SiteSpec } from '../config/types.js';
import { pickerFor, type Picker, type PickerState } from '../balance/pickers.js';
import { Backend, endpointKey, type AddressBook, type StateSource } from './backend.js';
import { HealthTable, PASSIVE_EVIDENCE, type HealthState, type PassiveEvidence, type Transition } from './health-state.js';
import type { BackendTls } from '../tls/backend-tls.js';

export interface StateChange {
  readonly backend: Backend;
  readonly status: 'up' | 'down';
  readonly reason: string;
  readonly source: StateSource;
  /** For 'up' after a real outage: how long the backend was down. */
  readonly downtimeMs: number;
  /** The first verdict on a backend at start or after a reload (it was not known before). */
  readonly initial: boolean;
}

export type StateListener = (change: StateChange) => void;

/** What a membership change did to the set: new backends (probe them) and backends that left (drain them). */
export interface MembershipChange {
  readonly added: Backend[];
  readonly removed: Backend[];
}

export type MembershipListener = (change: MembershipChange) => void;

export type FailureListener = (backend: Backend, source: 'probe' | 'request') => void;

/** After every probe result, request failure and ejection: the backend whose health flags may have changed. */
export type VerdictListener = (backend: Backend) => void;

/** One failover tier: its backends and the snapshot of the ready ones. */
export class Site implements PickerState {
  readonly index: number;
  readonly backends: readonly Backend[];
  /** Rebuilt when a backend of this site changes state; read on every request. */
  ready: readonly Backend[] = [];
  cursor = 0;

  constructor(index: number, backends: readonly Backend[]) {
    this.index = index;
    this.backends = backends;
    this.refresh();
  }

  refresh(): void {
    this.ready = this.backends.filter((b) => b.online);
  }
}

type UpstreamOptions = Pick<Config, 'healthPath' | 'readHealthPath' | 'healthPort' | 'insecure' | 'hostBalance'> & {
  /** Resolved addresses of backend host names (src/discovery). */
  readonly addresses?: AddressBook | undefined;
  /** --cacert, --client-cert/--client-key for https backends (src/tls). */
  readonly backendTls?: BackendTls | undefined;
  /** Request-error evidence that takes a backend out (default PASSIVE_EVIDENCE). */
  readonly passive?: PassiveEvidence | undefined;
  /** Date.now by default; injected by tests. */
  readonly now?: (() => number) | undefined;
  /**
   * A worker of `--workers N`: request failures and ejections are evidence sent to the primary,
   * which decides; the verdicts come back through adoptHealth. Absent: this set decides itself.
   */
  readonly reports?: HealthReports | undefined;
};

/** Where a worker's upstream set sends its evidence instead of acting on it. */
export interface HealthReports {
  requestFailed(b: Backend, reason: string): void;
  eject(b: Backend, until: number, reason: string): void;
}

/**
 * The sites in failover order and the request-time choice among them: the first site with a
 * ready backend takes the request. Health producers report through `probeResult`,
 * `requestFailed` and `eject`; state watchers subscribe with `onChange`, membership watchers
 * (the health checker, pool drain) with `onMembership`.
 */
export class UpstreamSet {
  sites: readonly Site[] = [];
  private readonly picker: Picker;
  private readonly listeners: StateListener[] = [];
  private readonly membershipListeners: MembershipListener[] = [];
  private readonly failureListeners: FailureListener[] = [];
  private readonly verdictListeners: VerdictListener[] = [];
  private readonly options: UpstreamOptions;
  private readonly now: () => number;
  private readonly table = new HealthTable();
  private readonly ejections = new Map<Backend, NodeJS.Timeout>();
  /** Round-robin state of panic routing (see pick). */
  private readonly panicState: PickerState = { cursor: 0 };

  constructor(specs: readonly SiteSpec[], options: UpstreamOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.picker = pickerFor(options.hostBalance);
    this.sites = this.build(specs, new Map());
  }

  onChange(listener: StateListener): void {
    this.listeners.push(listener);
  }

  /** Called after every replace() that added or removed backends. */
  onMembership(listener: MembershipListener): void {
    this.membershipListeners.push(listener);
  }

  /** Called after every verdict, changed or not (the --workers primary sends changed flags to its workers). */
  onVerdict(listener: VerdictListener): void {
    this.verdictListeners.push(listener);
  }

  /** Every backend of every site, in configuration order. */
  backends(): Backend[] {
    return this.sites.flatMap((s) => s.backends);
  }

  /**
   * A backend for the next attempt, skipping `exclude`; null when none is left. When no backend
   * of any site is ready, backends held out only by request errors or outlier ejection (their
   * health check passing) are tried anyway: panic routing, as Envoy does, rather than answering
   * BackendDown while nothing is known to be dead.
   */
  pick(exclude: readonly Backend[] | null): Backend | null {
    const sites = this.sites;
    let anyReady = false;
    for (let i = 0; i < sites.length; i++) {
      const site = sites[i]!;
      if (site.ready.length === 0) continue;
      anyReady = true;
      const b = this.picker(site.ready, exclude, site);
      if (b !== null) return b;
    }
    return anyReady ? null : this.panicPick(exclude);
  }

  private panicPick(exclude: readonly Backend[] | null): Backend | null {
    for (const site of this.sites) {
      const suspected = site.backends.filter((b) => b.health.merelySuspected());
      const b = suspected.length === 0 ? null : this.picker(suspected, exclude, this.panicState);
      if (b !== null) return b;
    }
    return null;
  }

  anyReady(): boolean {
    return this.sites.some((s) => s.ready.length > 0);
  }

  /** Size of the largest site: the default retry budget tries each backend of a site once. */
  largestSite(): number {
    return Math.max(0, ...this.sites.map((s) => s.backends.length));
  }

  probeResult(b: Backend, ok: boolean, reason: string, rise: number, fall: number): void {
    const initial = !b.probed;
    if (!ok) b.stats.healthErrors++;
    const change = b.health.recordProbe(ok, reason, rise, fall, this.now());
    this.publish(b, change, ok ? 'healthy' : reason, 'probe', initial);
    if (!ok) for (const l of this.failureListeners) l(b, 'probe');
    this.verdict(b);
  }

  /**
   * A request to `b` failed on the transport or timed out waiting for the backend. It is taken
   * out only on enough evidence (PassiveEvidence); every failure makes the checker probe it soon.
   */
  requestFailed(b: Backend, reason: string): void {
    if (this.options.reports !== undefined) {
      this.options.reports.requestFailed(b, reason);
      return;
    }
    const change = b.health.recordRequestFailure(reason, this.now(), this.options.passive ?? PASSIVE_EVIDENCE);
    this.publish(b, change, reason, 'request', false);
    for (const l of this.failureListeners) l(b, 'request');
    this.verdict(b);
  }

  /**
   * Called on every failed probe and failed request, whether or not it changed the state: the
   * health checker probes at once after a request failure, DNS looks the name up again.
   */
  onFailure(listener: FailureListener): void {
    this.failureListeners.push(listener);
  }

  /**
   * Outlier ejection (for src/balance): keep `b` out of rotation until `until` (a Date.now()
   * time), whatever its health checks say; it comes back by itself then. A later call replaces
   * the deadline; `until` in the past lifts the ejection now.
   */
  eject(b: Backend, until: number, reason: string): void {
    if (this.options.reports !== undefined) {
      this.options.reports.eject(b, until, reason);
      return;
    }
    const timer = this.ejections.get(b);
    if (timer !== undefined) clearTimeout(timer);
    this.ejections.delete(b);
    const now = this.now();
    this.publish(b, b.health.eject(until, reason, now), reason, 'ejection', false);
    this.verdict(b);
    if (until <= now) return;
    const lift = setTimeout(() => {
      this.ejections.delete(b);
      this.publish(b, b.health.settle(this.now()), 'ejection over', 'ejection', false);
      this.verdict(b);
    }, until - now);
    lift.unref();
    this.ejections.set(b, lift);
  }

  /**
   * A worker takes the primary's verdict on an endpoint (`assign` writes the flags into its shared
   * state); the sites holding it refresh their ready lists. No listener hears it: logs, counters of
   * transitions and probes belong to the primary. False when no backend here has that endpoint.
   */
  adoptHealth(endpoint: string, assign: (h: HealthState) => void): boolean {
    let found = false;
    for (const site of this.sites) {
      const matches = site.backends.filter((b) => b.endpoint === endpoint);
      if (matches.length === 0) continue;
      if (!found) assign(matches[0]!.health);
      found = true;
      site.refresh();
    }
    return found;
  }

  /** The backend of an endpoint (the first one listing it), or undefined. */
  byEndpoint(endpoint: string): Backend | undefined {
    for (const site of this.sites) for (const b of site.backends) if (b.endpoint === endpoint) return b;
    return undefined;
  }

  /**
   * Swap in a new site list (membership change). Backends whose URL, address, health URL and site
   * are unchanged keep their object and pool; new backends take the health their endpoint had
   * (a move between sites, a return), so a change opens no window of 502s. Removed backends are
   * handed to onMembership listeners, then drain (requests in flight finish, idle connections close).
   */
  replace(specs: readonly SiteSpec[]): MembershipChange {
    const previous = this.backends();
    const sites = this.build(specs, new Map(previous.map((b) => [reuseKey(b.siteIndex, b.spec, b.healthUrl), b])));
    const current = sites.flatMap((s) => s.backends);
    const kept = new Set(current);
    const removed = previous.filter((b) => !kept.has(b));
    const before = new Set(previous);
    const added = current.filter((b) => !before.has(b));
    this.sites = sites;
    const inUse = new Set(current.map((b) => b.endpoint));
    const now = this.now();
    for (const b of removed) {
      if (!inUse.has(b.endpoint)) this.table.release(b.endpoint, now);
      const t = this.ejections.get(b);
      if (t !== undefined) clearTimeout(t);
      this.ejections.delete(b);
    }
    const change = { added, removed };
    if (added.length > 0 || removed.length > 0) for (const l of this.membershipListeners) l(change);
    for (const b of removed) b.drain();
    return change;
  }

  private build(specs: readonly SiteSpec[], reuse: Map<string, Backend>): Site[] {
    const last = specs.length - 1;
    const now = this.now();
    return specs.map((site, i) => {
      const path = i === last ? this.options.readHealthPath : this.options.healthPath;
      const backends = site.backends.map((spec) => {
        const url = healthUrl(spec, this.options.healthPort, path);
        return reuse.get(reuseKey(i, spec, url)) ?? new Backend(spec, i, {
          insecure: this.options.insecure, healthUrl: url, addresses: this.options.addresses, tls: this.options.backendTls,
          health: this.table.take(endpointKey(spec, url), now),
        });
      });
      return new Site(i, backends);
    });
  }

  private verdict(b: Backend): void {
    for (const l of this.verdictListeners) l(b);
  }

  private publish(b: Backend, change: Transition, reason: string, source: StateSource, initial: boolean): void {
    if (change === null) return;
    const downtimeMs = change === 'up' ? recordUp(b, initial) : 0;
    if (change === 'down' && !initial) b.stats.transitionsDown++;
    this.sites[b.siteIndex]?.refresh();
    const event: StateChange = { backend: b, status: change, reason, source, downtimeMs, initial };
    for (const l of this.listeners) l(event);
  }

}

/** Counters of a backend coming up; its downtime unless this is the first verdict. */
function recordUp(b: Backend, initial: boolean): number {
  b.stats.transitionsUp++;
  if (initial) return 0;
  const down = b.health.lastDowntimeMs;
  b.stats.lastDowntimeMs = down;
  b.stats.totalDowntimeMs += down;
  return down;
}

function reuseKey(site: number, spec: BackendSpec, health: string): string {
  return `${site} ${spec.url} ${spec.address ?? ''} ${health}`;
}

/** The probe URL: the backend's own path prefix (a SITE may carry one) followed by the health path. */
export function healthUrl(spec: BackendSpec, healthPort: number, path: string): string {
  const host = spec.hostname.includes(':') ? `[${spec.hostname}]` : spec.hostname;
  return `${spec.protocol}//${host}:${healthPort || spec.port}${spec.basePath}${path}`;
}
