import type { Config } from './config/types.js';
import { Console } from './observe/console.js';
import { LiveConsole, LiveView, type Terminal } from './observe/live-view.js';
import { Metrics, METRICS_CONTENT_TYPE, METRICS_PATH } from './observe/metrics.js';
import { version } from './version.js';
import type { UpstreamSet } from './upstream/upstream-set.js';
import { FirstRound, forwardingContext, type ProxyContext, type StartupGate } from './proxy/context.js';
import { backendDown, type LocalResponse } from './proxy/error-response.js';
import type { Engine } from './proxy/engine.js';
import { RawEngine } from './proxy/raw/raw-engine.js';
import { CacheSlot } from './cache/slot.js';
import { cacheSettings } from './cache/settings.js';
import type { CacheRuntime } from './cache/index.js';
import type { CacheNews, CacheNewsOptions } from './cache/cache-news.js';
import type { HashPair } from './cache/bloom.js';
import { gossipSettings } from './gossip/settings.js';
import type { RemovalNotice } from './cache/removals.js';
import type { ProxyFilter } from './proxy/pipeline.js';
import { BACKENDS_PATH, backendsJson } from './observe/backends-api.js';
import { BackendPlane, type FirstSitesFile } from './control/plane.js';
import type { SnapshotFollower } from './control/follower.js';
import type { GroupView } from './control/messages.js';
import { NO_TLS, type TlsSetup } from './tls/setup.js';
import { Ambassador } from './ambassador/setup.js';
import { ServiceDiscovery } from './catalog/service-discovery.js';
import { servicePortsOpener } from './service-ports.js';

export type { FirstSitesFile };

/**
 * Where the backend set comes from: this process runs the control plane itself (one process, or
 * the primary of `--workers N`), or it is a worker following the primary's snapshots; then
 * `group` answers a scrape or /v1/backends on the main port for every process together.
 */
export type Control =
  | { readonly kind: 'own'; readonly sitesFile: FirstSitesFile | null }
  | {
    readonly kind: 'follow'; readonly follower: SnapshotFollower; readonly group: (what: GroupView) => Promise<string>; readonly gossip: boolean;
    /** Tells the other workers of a cache removal (through the primary). */
    readonly announce: (notice: RemovalNotice) => void;
    /** Tells the primary of this worker's cache fills (h1, h2 pairs): the other workers and, by gossip, sidecars learn them. */
    readonly fills?: (keys: readonly number[]) => void;
  };

const OPEN: StartupGate = { open: true, wait: () => Promise.resolve() };

/** --trace minio: every health probe as a trace line. */
export function traceProbes(plane: BackendPlane, out: Console): void {
  if (out.tracing !== 'all' && out.tracing !== 'minio') return;
  plane.onProbe((b, r) => {
    if (!out.wantsTrace('minio', r.status)) return;
    out.trace({
      kind: 'minio', time: Date.now() - r.durationMs, backend: b.url, method: 'GET', path: new URL(b.healthUrl).pathname,
      client: '', status: r.status, latencyMs: r.durationMs, ttfbMs: r.durationMs, rx: 0, tx: 0,
      ...(r.ok ? {} : { error: r.reason }),
    });
  });
}

/** The composition root: builds every part from the configuration and wires them together. */
export class App {
  readonly config: Config;
  readonly console: Console;
  readonly upstreams: UpstreamSet;
  /** DNS, the membership merge and health checks; null in a worker of `--workers N` (the primary runs them). */
  readonly plane: BackendPlane | null;
  /** A worker's view of the primary's plane; null otherwise. */
  readonly follower: SnapshotFollower | null;
  private readonly group: ((what: GroupView) => Promise<string>) | null;
  /** With --workers N: tells the other workers of this worker's cache removals. */
  private readonly announce: ((notice: RemovalNotice) => void) | undefined;
  /** With --workers N: tells the primary of this worker's cache fills. */
  private readonly fills: ((keys: readonly number[]) => void) | undefined;
  readonly engine: Engine;
  readonly metrics: Metrics;
  /** Hash keys, sticky cookie, split, rate limits, outlier ejection, mirror: what the config turns on. */
  readonly ambassador: Ambassador;
  /** Sidekick's live table: on a terminal, without --log, --trace or --quiet. Started by main once listening. */
  readonly liveView: LiveView | null;
  /** Served certificate and backend TLS, loaded at start by main (src/tls/setup.ts). */
  readonly tls: TlsSetup;
  /** Gossip and the service catalog, started by main (discovery.start); null in a worker (the primary runs them) or when off. */
  readonly discovery: ServiceDiscovery | null;
  /** A worker whose primary gossips: /v1/members is the primary's. */
  private readonly groupGossip: boolean;
  /** The cache's filter position (--cache-endpoint); filled by startCache(). Null when the cache is off. */
  readonly cacheSlot: CacheSlot | null;
  cache: CacheRuntime | null = null;

  /** `terminal`: stdout when it is a TTY, else null. `control`: run the backend plane here, or follow a primary's. */
  constructor(config: Config, terminal: Terminal | null, tls: TlsSetup = NO_TLS, control: Control = { kind: 'own', sitesFile: null }) {
    this.config = config;
    this.tls = tls;
    // Once per host: in a worker of --workers N the primary runs them.
    this.discovery = control.kind === 'own' ? new ServiceDiscovery(config, (message) => this.console.info(message)) : null;
    this.plane = control.kind === 'own' ? new BackendPlane(config, tls.backend, control.sitesFile, {
      info: (message) => this.console.info(message),
      dns: (message) => { if (config.log) this.console.info(message); },
    }, this.discovery!.sources) : null;
    this.follower = control.kind === 'follow' ? control.follower : null;
    this.group = control.kind === 'follow' ? control.group : null;
    this.announce = control.kind === 'follow' ? control.announce : undefined;
    this.fills = control.kind === 'follow' ? control.fills : undefined;
    this.groupGossip = control.kind === 'follow' && control.gossip;
    this.upstreams = control.kind === 'own' ? this.plane!.upstreams : control.follower.upstreams;
    const live = terminal !== null && !config.log && config.trace === undefined && !config.quiet;
    this.liveView = live
      ? new LiveView(this.upstreams, terminal, { title: `Outrigger ${version()}`, color: terminal.hasColors?.() ?? false })
      : null;
    this.console = this.liveView !== null ? new LiveConsole(config, this.liveView) : new Console(config, config.log);
    this.metrics = new Metrics(this.upstreams);
    this.ambassador = new Ambassador(config, this.upstreams);
    const section = this.ambassador.metricsSection(this.upstreams);
    if (section !== null) this.metrics.sections.push(section);
    this.ambassador.start();
    // A worker's set changes only by the primary's word: the primary logs state changes, once.
    this.upstreams.onChange((c) => this.console.stateChange(c));
    if (this.plane !== null) traceProbes(this.plane, this.console);
    // A worker listens only once it has the primary's snapshot (taken after its first round).
    const startup = this.plane === null ? OPEN : new FirstRound(this.plane.start(), config.healthTimeout);
    this.cacheSlot = cacheSettings(config) === undefined ? null : new CacheSlot();
    const ctx = this.proxyContext(startup);
    this.engine = new RawEngine(ctx, { headerTimeoutMs: config.headerTimeout, idleTimeoutMs: config.idleTimeout }, tls.serving);
  }

  private proxyContext(startup: StartupGate): ProxyContext {
    // Outrigger's own endpoints answer first; later filters (cache, rate limits) follow.
    const local: ProxyFilter = { name: 'local-endpoints', untraced: true, request: (req) => this.local(req.target) };
    return forwardingContext(this.config, this.upstreams, this.console, startup, {
      chooser: this.ambassador.chooser,
      // Local endpoints, then the cache lookup, then the ambassador's filters (rate limits, ...).
      filters: [local, ...(this.cacheSlot === null ? [] : [this.cacheSlot]), ...this.ambassador.filters],
      connectionCap: this.ambassador.connectionCap,
      proto: this.tls.serving !== null ? 'https' : 'http',
    });
  }

  private local(path: string): LocalResponse | Promise<LocalResponse> | null {
    // Runs for every request: an exact compare first, prefix checks only for the rarer query forms.
    if (path === METRICS_PATH || (path.startsWith(METRICS_PATH) && path.charCodeAt(METRICS_PATH.length) === 63 /* ? */)) {
      if (this.group !== null) return this.groupMetricsResponse(this.group);
      const r = this.metrics.response();
      const gossip = this.discovery?.metricsText() ?? '';
      return gossip === '' ? r : { ...r, body: r.body + gossip };
    }
    if (path === '/v1/members' || path.startsWith('/v1/members?')) return this.members();
    if (path === BACKENDS_PATH || path.startsWith(`${BACKENDS_PATH}?`)) {
      if (this.group !== null) return this.group('backends').then((body) => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body }));
      return { status: 200, headers: { 'Content-Type': 'application/json' }, body: backendsJson(this.upstreams) };
    }
    if (path !== '/v1/health' && !path.startsWith('/v1/health?')) return this.certificates(path);
    if (this.upstreams.anyReady()) return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'OK\n' };
    return backendDown('/v1/health');
  }

  /** A worker's scrape: every process's backend counters summed by the primary, then this worker's own families. */
  private async groupMetricsResponse(group: (what: GroupView) => Promise<string>): Promise<LocalResponse> {
    const summed = await group('metrics');
    const body = summed + this.metrics.ownText();
    return { status: 200, headers: { 'Content-Type': METRICS_CONTENT_TYPE }, body };
  }

  /** GET /v1/members, with gossip on: this process's member list, or a worker's primary's. */
  private members(): LocalResponse | Promise<LocalResponse> | null {
    const json = (body: string): LocalResponse => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body });
    if (this.group !== null) {
      // '' when the primary did not answer in time (it is stopping).
      const silent: LocalResponse = { status: 503, headers: { 'Content-Type': 'application/json' }, body: '{"error":"the primary process did not answer"}\n' };
      return this.groupGossip ? this.group('members').then((body) => body === '' ? silent : json(body)) : null;
    }
    const body = this.discovery?.membersJson() ?? null;
    return body === null ? null : json(body);
  }

  /** --auto-tls-host: the generated certificate's PEM, for clients to pin or trust. */
  private certificates(path: string): LocalResponse | null {
    const pem = this.tls.serving?.autoCertificate ?? null;
    if (pem === null || (path !== '/v1/certificates' && !path.startsWith('/v1/certificates?'))) return null;
    return { status: 200, headers: { 'Content-Type': 'application/x-pem-file' }, body: pem };
  }

  /** SIGHUP: names looked up again, sources re-read (a worker has nothing to reload: the primary does it). */
  async reload(): Promise<void> {
    await this.plane?.reload();
  }

  /** Gossip, then the catalog's checks, listeners and API; resolves with the API's address (null: no API). Throws a DiscoveryStartError. */
  async startDiscovery(): Promise<{ host: string; port: number } | null> {
    if (this.discovery === null) return null;
    const api = await this.discovery.start(() => backendsJson(this.upstreams));
    this.discovery.openServicePorts(servicePortsOpener(this.config, this.tls.backend, this.console));
    return api;
  }

  /**
   * Loads the cache (its store client only when it is on) once listening: `bound` is where the
   * stale-while-revalidate refreshes go. Until the store answers its first probe, requests bypass it.
   */
  async startCache(bound: { host: string; port: number }): Promise<void> {
    const settings = cacheSettings(this.config);
    if (settings === undefined || this.cacheSlot === null) return;
    const [{ createCache }, { selfRefresher }] = await Promise.all([import('./cache/index.js'), import('./cache/refresh.js')]);
    const scheme = this.tls.serving !== null ? 'https' : 'http';
    const news = this.discovery === null ? null : await openCacheNews(this.config, this.discovery, {
      learnFills: (keys) => this.cache?.learn(keys),
      learnRemoval: (removal) => this.cache?.removedByPeer(removal),
    });
    // One process: its fills and removals to the cluster; a worker: to the primary, which relays them to the others and the cluster.
    const stored = news !== null ? (key: HashPair) => news.tellFill(key) : await this.fillsToPrimary();
    const announce = news !== null ? (notice: RemovalNotice) => news.tellRemoval(notice) : this.announce;
    this.cache = createCache({
      settings, scheme,
      anyReady: () => this.upstreams.anyReady(),
      log: (message) => this.console.info(message),
      refresh: selfRefresher(scheme, bound.host, bound.port),
      secureContext: this.tls.backend.secureContext,
      insecure: this.config.insecure,
      announce,
      stored,
    });
    this.cacheSlot.inner = this.cache.filter;
    const stats = this.cache.stats;
    if (news !== null) this.metrics.sections.push(() => news.metricsText());
    this.metrics.sections.push(() => stats.text());
  }

  /** A worker's fills (only --cache-index reports them), for the primary to tell the other workers and, with gossip, the cluster. */
  private async fillsToPrimary(): Promise<((key: HashPair) => void) | undefined> {
    if (this.fills === undefined) return undefined;
    const { batchedFills } = await import('./cache/worker-news.js');
    return batchedFills(this.fills);
  }

  async shutdown(timeoutMs: number): Promise<number> {
    this.liveView?.stop();
    await this.discovery?.stop(timeoutMs);
    this.plane?.stop();
    this.ambassador.stop();
    const cut = await this.engine.drain(timeoutMs);
    this.cache?.stop();
    for (const b of this.upstreams.backends()) b.destroy();
    return cut;
  }
}

/**
 * With the cache and gossip on (one process, or the primary of --workers N): the news of the store
 * this process tells the cluster and learns from it (cache/cache-news.ts: fills, for --cache-index,
 * and removals), as a gossip channel beside the catalog. Null otherwise.
 */
export async function openCacheNews(config: Config, discovery: ServiceDiscovery, learn: Pick<CacheNewsOptions, 'learnFills' | 'learnRemoval'>): Promise<CacheNews | null> {
  const settings = cacheSettings(config);
  if (settings === undefined || gossipSettings(config) === undefined) return null;
  const { CacheNews, storeIdOf } = await import('./cache/cache-news.js');
  const news = new CacheNews({
    storeId: storeIdOf(settings.bucket, settings.prefix), dirPrefix: `${settings.prefix}hh/`,
    transmits: () => discovery.gossip?.retransmits() ?? 1, ...learn,
  });
  discovery.addChannel(news);
  return news;
}
