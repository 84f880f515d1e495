import type { Config } from './config/types.js';
import { HealthChecker } from './health/checker.js';
import { Console } from './observe/console.js';
import { LiveConsole, LiveView, type Terminal } from './observe/live-view.js';
import { Metrics, METRICS_PATH } from './observe/metrics.js';
import { version } from './version.js';
import { UpstreamSet } from './upstream/upstream-set.js';
import type { ProxyContext, StartupGate } from './proxy/context.js';
import { backendDown, type LocalResponse } from './proxy/error-response.js';
import type { Engine } from './proxy/engine.js';
import { RawEngine } from './proxy/raw/raw-engine.js';
import { FilterChain } from './proxy/filters.js';
import { CacheSlot } from './cache/slot.js';
import { cacheSettings } from './cache/settings.js';
import type { CacheRuntime } from './cache/index.js';
import type { ProxyFilter } from './proxy/pipeline.js';
import { DnsDiscovery } from './discovery/dns-discovery.js';
import { Membership } from './upstream/membership.js';
import { BACKENDS_PATH, backendsJson } from './observe/backends-api.js';
import { StaticSource } from './upstream/sources.js';
import { SitesFileSource, type SitesFileRead } from './sites/sites-file.js';
import { lookupFor } from './discovery/lookup.js';
import { NO_TLS, type TlsSetup } from './tls/setup.js';
import type { GossipAgent } from './gossip/agent.js';
import { gossipSettings } from './gossip/settings.js';
import { Ambassador } from './ambassador/setup.js';
import { CatalogRuntime, catalogWanted } from './catalog/runtime.js';

/** Requests wait for the first round of health checks, but never longer than the health timeout. */
class FirstRound implements StartupGate {
  open = false;
  private readonly done: Promise<void>;
  private readonly boundMs: number;

  constructor(firstRound: Promise<void>, boundMs: number) {
    this.boundMs = boundMs;
    this.done = firstRound.then(() => { this.open = true; });
  }

  wait(): Promise<void> {
    if (this.open) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.boundMs);
      void this.done.then(() => { clearTimeout(timer); resolve(); });
    });
  }
}

/** --sites-file as main read it at start, and the file's signature before that read. */
export interface FirstSitesFile {
  readonly seen: string;
  readonly read: SitesFileRead;
}

/** The composition root: builds every part from the configuration and wires them together. */
export class App {
  readonly config: Config;
  readonly console: Console;
  readonly upstreams: UpstreamSet;
  /** Backend host names -> addresses (--dns-ttl, --dns-server): one backend per address. */
  readonly dns: DnsDiscovery;
  /** Backend sources (the SITE arguments, the sites file) merged into the upstream set. */
  readonly membership: Membership;
  readonly health: HealthChecker;
  readonly engine: Engine;
  readonly metrics: Metrics;
  /** Hash keys, sticky cookie, split, rate limits, outlier ejection, mirror: what the config turns on. */
  readonly ambassador: Ambassador;
  /** Sidekick's live table: on a terminal, without --log, --trace or --quiet. Started by main once listening. */
  readonly liveView: LiveView | null;
  /** Served certificate and backend TLS, loaded at start by main (src/tls/setup.ts). */
  readonly tls: TlsSetup;
  /** The gossip member (--gossip-bind, --join), started by main through startGossip(). */
  gossip: GossipAgent | null = null;
  /** The service catalog (src/catalog): with gossip, local services or a sidecar:// SITE; started by main through startCatalog(). */
  readonly catalog: CatalogRuntime | null;
  /** The cache's filter position (--cache-endpoint); filled by startCache(). Null when the cache is off. */
  readonly cacheSlot: CacheSlot | null;
  cache: CacheRuntime | null = null;

  /** `terminal`: stdout when it is a TTY, else null. */
  constructor(config: Config, terminal: Terminal | null, tls: TlsSetup = NO_TLS, sitesFile: FirstSitesFile | null = null) {
    this.config = config;
    this.tls = tls;
    this.dns = new DnsDiscovery({
      ttlMs: config.dnsTtl, rrDnsMode: config.rrDnsMode, lookup: lookupFor(config.dnsServers.flat()),
      log: (message) => { if (config.log) this.console.info(message); },
    });
    this.upstreams = new UpstreamSet(config.sites, { ...config, addresses: this.dns.cache, backendTls: tls.backend });
    this.membership = new Membership(this.upstreams, this.dns, config.healthTimeout);
    this.membership.add(new StaticSource(config.sites));
    this.catalog = catalogWanted(config) ? new CatalogRuntime(config, (message) => this.console.info(message)) : null;
    if (this.catalog !== null) this.membership.add(this.catalog.source);
    if (config.sitesFile !== undefined && sitesFile !== null) {
      this.membership.add(new SitesFileSource(config.sitesFile, config.address, sitesFile.read, sitesFile.seen, (m) => this.console.info(m)));
    }
    this.dns.onChange(() => void this.membership.apply());
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
    this.upstreams.onChange((c) => this.console.stateChange(c));
    this.health = new HealthChecker(this.upstreams, config);
    this.dns.follow(this.upstreams);
    if (this.console.tracing === 'all' || this.console.tracing === 'minio') {
      this.health.onProbe = (b, r) => {
        if (!this.console.wantsTrace('minio', r.status)) return;
        this.console.trace({
          kind: 'minio', time: Date.now() - r.durationMs, backend: b.url, method: 'GET', path: new URL(b.healthUrl).pathname,
          client: '', status: r.status, latencyMs: r.durationMs, ttfbMs: r.durationMs, rx: 0, tx: 0,
          ...(r.ok ? {} : { error: r.reason }),
        });
      };
    }
    // Names are resolved before the first health round, so its probes already go to addresses.
    const first = this.membership.start().then(() => {
      this.dns.start();
      return this.health.start();
    });
    const startup = new FirstRound(first, config.healthTimeout);
    this.cacheSlot = cacheSettings(config) === undefined ? null : new CacheSlot();
    const ctx = this.proxyContext(startup);
    this.engine = new RawEngine(ctx, { headerTimeoutMs: config.headerTimeout, idleTimeoutMs: config.idleTimeout }, tls.serving);
  }

  private proxyContext(startup: StartupGate): ProxyContext {
    const upstreams = this.upstreams;
    // Outrigger's own endpoints answer first; later filters (cache, rate limits) follow.
    const local: ProxyFilter = { name: 'local-endpoints', untraced: true, request: (req) => this.local(req.target) };
    return {
      upstreams,
      chooser: this.ambassador.chooser ?? { pick: (_req, exclude) => upstreams.pick(exclude) },
      // Local endpoints, then the cache lookup, then the ambassador's filters (rate limits, ...).
      filters: new FilterChain([local, ...(this.cacheSlot === null ? [] : [this.cacheSlot]), ...this.ambassador.filters]),
      connectionCap: this.ambassador.connectionCap,
      console: this.console,
      startup,
      maxRetries: this.config.maxRetries,
      connectTimeoutMs: this.config.connectTimeout,
      responseTimeoutMs: this.config.responseTimeout,
      readTimeoutMs: this.config.readTimeout,
      proto: this.tls.serving !== null ? 'https' : 'http',
    };
  }

  private local(path: string): LocalResponse | null {
    // Runs for every request: an exact compare first, prefix checks only for the rarer query forms.
    if (path === METRICS_PATH || (path.startsWith(METRICS_PATH) && path.charCodeAt(METRICS_PATH.length) === 63 /* ? */)) {
      const r = this.metrics.response();
      return this.gossip === null ? r : { ...r, body: r.body + this.gossip.metricsText() };
    }
    if (this.gossip !== null && (path === '/v1/members' || path.startsWith('/v1/members?'))) {
      return { status: 200, headers: { 'Content-Type': 'application/json' }, body: this.gossip.membersJson() };
    }
    if (path === BACKENDS_PATH || path.startsWith(`${BACKENDS_PATH}?`)) {
      return { status: 200, headers: { 'Content-Type': 'application/json' }, body: backendsJson(this.upstreams) };
    }
    if (path !== '/v1/health' && !path.startsWith('/v1/health?')) return this.certificates(path);
    if (this.upstreams.anyReady()) return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'OK\n' };
    return backendDown('/v1/health');
  }

  /** --auto-tls-host: the generated certificate's PEM, for clients to pin or trust. */
  private certificates(path: string): LocalResponse | null {
    const pem = this.tls.serving?.autoCertificate ?? null;
    if (pem === null || (path !== '/v1/certificates' && !path.startsWith('/v1/certificates?'))) return null;
    return { status: 200, headers: { 'Content-Type': 'application/x-pem-file' }, body: pem };
  }

  /**
   * SIGHUP: every backend name is looked up again and every source re-read (the sites file);
   * unchanged backends keep their health. Resolves with what changed.
   */
  async reload(): Promise<void> {
    const before = new Set(this.upstreams.backends());
    await this.dns.refresh();
    await this.membership.reload();
    const after = this.upstreams.backends();
    const added = after.filter((b) => !before.has(b)).length;
    const kept = new Set(after);
    const removed = [...before].filter((b) => !kept.has(b)).length;
    this.console.info(`reloaded: ${added} backends added, ${removed} removed`);
  }

  /**
   * Bind the gossip member and start joining; throws if the address cannot be bound. The service
   * catalog rides on it as memberlist's Delegate (meta, user messages, push/pull state) and
   * EventDelegate (a member that leaves or dies has its services tombstoned).
   */
  async startGossip(): Promise<void> {
    const settings = gossipSettings(this.config);
    if (settings === undefined) return;
    // Loaded only when gossip is on: the codec brings @msgpack/msgpack with it.
    const { GossipAgent } = await import('./gossip/agent.js');
    const catalog = this.catalog?.catalog ?? null;
    this.gossip = await GossipAgent.start(settings, (message) => { if (this.config.log) this.console.info(message); }, catalog, catalog);
  }

  /** Start the catalog's checks, listeners and API; resolves with the API's address (null: no API). Throws when it cannot listen. */
  async startCatalog(): Promise<{ host: string; port: number } | null> {
    return this.catalog === null ? null : this.catalog.start({
      members: () => this.gossip?.membersJson() ?? null,
      backends: () => backendsJson(this.upstreams),
    });
  }

  /**
   * Loads the cache (the AWS SDK only when it is on) once listening: `bound` is where the
   * stale-while-revalidate refreshes go. Until the store answers its first probe, requests bypass it.
   */
  async startCache(bound: { host: string; port: number }): Promise<void> {
    const settings = cacheSettings(this.config);
    if (settings === undefined || this.cacheSlot === null) return;
    const [{ createCache }, { selfRefresher }] = await Promise.all([import('./cache/index.js'), import('./cache/refresh.js')]);
    const scheme = this.tls.serving !== null ? 'https' : 'http';
    this.cache = createCache({
      settings, scheme,
      anyReady: () => this.upstreams.anyReady(),
      log: (message) => this.console.info(message),
      refresh: selfRefresher(scheme, bound.host, bound.port),
      secureContext: this.tls.backend.secureContext,
      insecure: this.config.insecure,
    });
    this.cacheSlot.inner = this.cache.filter;
    const stats = this.cache.stats;
    this.metrics.sections.push(() => stats.text());
  }

  async shutdown(timeoutMs: number): Promise<number> {
    this.liveView?.stop();
    // Leave first, so peers see "left" at once rather than a failure later.
    await this.gossip?.stop(Math.min(timeoutMs, 3000));
    await this.catalog?.stop();
    this.health.stop();
    this.ambassador.stop();
    this.membership.stop();
    this.dns.stop();
    const cut = await this.engine.drain(timeoutMs);
    this.cache?.stop();
    for (const b of this.upstreams.backends()) b.destroy();
    return cut;
  }
}
