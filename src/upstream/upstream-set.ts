import type { BackendSpec, Config, SiteSpec } from '../config/types.js';
import { pickerFor, type Picker, type PickerState } from '../balance/pickers.js';
import { Backend, type AddressBook, type StateSource } from './backend.js';
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
};

/**
 * The sites in failover order and the request-time choice among them: the first site with a
 * ready backend takes the request. Health producers report through `probeResult` and
 * `requestFailed`; everything that watches state changes subscribes with `onChange`.
 */
export class UpstreamSet {
  sites: readonly Site[] = [];
  private readonly picker: Picker;
  private readonly listeners: StateListener[] = [];
  private readonly options: UpstreamOptions;

  constructor(specs: readonly SiteSpec[], options: UpstreamOptions) {
    this.options = options;
    this.picker = pickerFor(options.hostBalance);
    this.sites = this.build(specs, new Map());
  }

  onChange(listener: StateListener): void {
    this.listeners.push(listener);
  }

  /** Every backend of every site, in configuration order. */
  backends(): Backend[] {
    return this.sites.flatMap((s) => s.backends);
  }

  /** A backend for the next attempt, skipping `exclude`; null when no site can serve. */
  pick(exclude: readonly Backend[] | null): Backend | null {
    const sites = this.sites;
    for (let i = 0; i < sites.length; i++) {
      const site = sites[i]!;
      if (site.ready.length === 0) continue;
      const b = this.picker(site.ready, exclude, site);
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
    const change = b.recordProbe(ok, reason, rise, fall);
    if (change !== null) this.publish(b, change, ok ? 'healthy' : reason, 'probe', change === 'up' ? b.stats.lastDowntimeMs : 0, initial);
  }

  /** A transport error on a real request: out of rotation at once. */
  requestFailed(b: Backend, reason: string): void {
    if (b.markDown(reason)) this.publish(b, 'down', reason, 'request', 0, false);
  }

  /**
   * Swap in a new site list (SIGHUP). Backends whose URL and site are unchanged keep their
   * object, pool and health state, so a reload opens no window of 502s; removed ones drain
   * (requests in flight on them finish, their idle connections close).
   */
  replace(specs: readonly SiteSpec[]): { added: Backend[]; removed: Backend[] } {
    const previous = this.backends();
    const sites = this.build(specs, new Map(previous.map((b) => [key(b.siteIndex, b.url, b.healthUrl), b])));
    const current = sites.flatMap((s) => s.backends);
    const removed = previous.filter((b) => !current.includes(b));
    const added = current.filter((b) => !previous.includes(b));
    this.sites = sites;
    for (const b of removed) b.drain();
    return { added, removed };
  }

  private build(specs: readonly SiteSpec[], reuse: Map<string, Backend>): Site[] {
    const last = specs.length - 1;
    return specs.map((site) => {
      const path = site.index === last ? this.options.readHealthPath : this.options.healthPath;
      const backends = site.backends.map((spec) => {
        const url = healthUrl(spec, this.options.healthPort, path);
        return reuse.get(key(site.index, spec.url, url)) ?? new Backend(spec, site.index, { insecure: this.options.insecure, healthUrl: url, addresses: this.options.addresses, tls: this.options.backendTls });
      });
      return new Site(site.index, backends);
    });
  }

  private publish(b: Backend, status: 'up' | 'down', reason: string, source: StateSource, downtimeMs: number, initial: boolean): void {
    this.sites[b.siteIndex]?.refresh();
    const change: StateChange = { backend: b, status, reason, source, downtimeMs, initial };
    for (const l of this.listeners) l(change);
  }
}

function key(site: number, url: string, health: string): string {
  return `${site} ${url} ${health}`;
}

function healthUrl(spec: BackendSpec, healthPort: number, path: string): string {
  const host = spec.hostname.includes(':') ? `[${spec.hostname}]` : spec.hostname;
  return `${spec.protocol}//${host}:${healthPort || spec.port}${path}`;
}
