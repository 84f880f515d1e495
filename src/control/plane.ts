/**
 * The backend control plane: DNS resolution, the membership merge of every backend source (the
 * SITE arguments, --sites-file) and the active health checks, over one upstream set. One per host:
 * the single process runs it next to its forwarding engine; with `--workers N` the primary runs it
 * and workers follow its snapshots (publisher.ts, follower.ts).
 */
import type { Config } from '../config/types.js';
import { HealthChecker } from '../health/checker.js';
import type { ProbeResult } from '../health/probe.js';
import { DnsDiscovery } from '../discovery/dns-discovery.js';
import { lookupFor } from '../discovery/lookup.js';
import { Membership } from '../upstream/membership.js';
import { StaticSource, type BackendSource } from '../upstream/sources.js';
import { UpstreamSet } from '../upstream/upstream-set.js';
import type { Backend } from '../upstream/backend.js';
import type { BackendTls } from '../tls/backend-tls.js';
import { SitesFileSource, type SitesCheck, type SitesFileRead } from '../sites/sites-file.js';

/** --sites-file as main read it at start, the file's signature before that read, and the rules every later read must keep. */
export interface FirstSitesFile {
  readonly seen: string;
  readonly read: SitesFileRead;
  readonly check: SitesCheck;
}

export interface PlaneLogs {
  /** Sites-file problems, reloads: always shown. */
  info(message: string): void;
  /** DNS news: shown with --log. */
  dns(message: string): void;
}

export class BackendPlane {
  readonly upstreams: UpstreamSet;
  /** Backend host names -> addresses (--dns-ttl, --dns-server): one backend per address. */
  readonly dns: DnsDiscovery;
  /** Backend sources (the SITE arguments, the sites file) merged into the upstream set. */
  readonly membership: Membership;
  readonly health: HealthChecker;
  private readonly logs: PlaneLogs;

  /** `sources`: more backend sources (the catalog), merged after the SITE arguments and before the sites file. */
  constructor(config: Config, backendTls: BackendTls, sitesFile: FirstSitesFile | null, logs: PlaneLogs, sources: readonly BackendSource[] = []) {
    this.logs = logs;
    this.dns = new DnsDiscovery({
      ttlMs: config.dnsTtl, rrDnsMode: config.rrDnsMode, lookup: lookupFor(config.dnsServers.flat()), log: (m) => logs.dns(m),
    });
    this.upstreams = new UpstreamSet(config.sites, { ...config, addresses: this.dns.cache, backendTls });
    this.membership = new Membership(this.upstreams, this.dns, config.healthTimeout);
    this.membership.add(new StaticSource(config.sites));
    for (const source of sources) this.membership.add(source);
    if (config.sitesFile !== undefined && sitesFile !== null) {
      this.membership.add(new SitesFileSource(config.sitesFile, config.address, sitesFile.read, sitesFile.seen, (m) => logs.info(m), {}, sitesFile.check));
    }
    this.dns.onChange(() => void this.membership.apply());
    this.health = new HealthChecker(this.upstreams, config);
    this.dns.follow(this.upstreams);
  }

  /** Resolves when the first round of health checks has answered. Names are resolved before it, so its probes go to addresses. */
  start(): Promise<void> {
    return this.membership.start().then(() => {
      this.dns.start();
      return this.health.start();
    });
  }

  /** start(), but resolved after `boundMs` at the latest (a hung backend does not hold everything up). */
  firstRound(boundMs: number): Promise<void> {
    const started = this.start();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, boundMs);
      void started.then(() => { clearTimeout(timer); resolve(); });
    });
  }

  /** Every finished probe (for --trace minio). */
  onProbe(listener: (b: Backend, r: ProbeResult) => void): void {
    this.health.onProbe = listener;
  }

  /**
   * SIGHUP: every backend name is looked up again and every source re-read (the sites file);
   * unchanged backends keep their health.
   */
  async reload(): Promise<void> {
    const before = new Set(this.upstreams.backends());
    await this.dns.refresh();
    await this.membership.reload();
    const after = this.upstreams.backends();
    const added = after.filter((b) => !before.has(b)).length;
    const kept = new Set(after);
    const removed = [...before].filter((b) => !kept.has(b)).length;
    this.logs.info(`reloaded: ${added} backends added, ${removed} removed`);
  }

  stop(): void {
    this.health.stop();
    this.membership.stop();
    this.dns.stop();
  }
}
