/**
 * Keeps the backend set in step with DNS: every backend host name is resolved at start, before
 * the first health round, then every --dns-ttl. Connections take their address from the cache
 * (Backend.lookup); with --rr-dns-mode a site given as one DNS name becomes one backend per
 * address, and UpstreamSet.replace() follows the answer, so addresses that stay keep their
 * Backend object, health state and counters.
 */
import net from 'node:net';
import type { BackendSpec, SiteSpec } from '../config/types.js';
import type { Backend } from '../upstream/backend.js';
import type { UpstreamSet } from '../upstream/upstream-set.js';
import { DnsCache, type DnsEvent, type LookupAll, type ResolvedAddress, type Schedule } from './dns-cache.js';

export interface DnsDiscoveryOptions {
  readonly rrDnsMode: boolean;
  readonly ttlMs: number;
  readonly lookup: LookupAll;
  readonly schedule?: Schedule;
  /** Name-level news (first answer, changes, failures once per streak, recovery). */
  readonly log: (message: string) => void;
}

export type BackendChange = { readonly added: Backend[]; readonly removed: Backend[] };

export class DnsDiscovery {
  readonly cache: DnsCache;
  private readonly options: DnsDiscoveryOptions;
  private configured: readonly SiteSpec[];
  private upstreams: UpstreamSet | null = null;
  /** Until start() has applied the first answers, changes are left to it. */
  private live = false;
  /** A reload applies the answers itself once its new names are looked up. */
  private reloading = 0;

  constructor(sites: readonly SiteSpec[], options: DnsDiscoveryOptions) {
    this.configured = sites;
    this.options = options;
    this.cache = new DnsCache({
      lookup: options.lookup,
      ttlMs: options.ttlMs,
      ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
      onEvent: (event) => options.log(describeEvent(event)),
      onChange: (names) => this.changed(names),
    });
  }

  /**
   * The sites as the UpstreamSet should hold them now: with --rr-dns-mode, a one-name site has
   * one backend per address of the last good answer (the name itself while it has none, so the
   * site shows as down with the DNS reason).
   */
  sites(): SiteSpec[] {
    return this.configured.map((site) => {
      const only = site.backends.length === 1 ? site.backends[0]! : undefined;
      if (!this.options.rrDnsMode || only === undefined || net.isIP(only.hostname) !== 0) return site;
      const addresses = this.cache.addresses(only.hostname);
      if (addresses.length === 0) return site;
      return { ...site, backends: addresses.map((a) => pinned(only, a)) };
    });
  }

  /** The set to keep in step (the health checker follows the set's membership itself). */
  follow(upstreams: UpstreamSet): void {
    this.upstreams = upstreams;
  }

  /**
   * The first lookup of every name, bounded by `boundMs` (a slow resolver must not hold the first
   * health round back for ever: answers arriving later are applied as refreshes). Then the
   * refresh timer starts. Resolves once the set holds the answers.
   */
  async start(boundMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => { timer = setTimeout(resolve, boundMs); });
    await Promise.race([this.cache.track(hostNames(this.configured)), bound]);
    clearTimeout(timer);
    this.cache.start();
    this.upstreams?.replace(this.sites());
    this.live = true;
  }

  /** SIGHUP: new sites; new names are looked up first, then the set is swapped. */
  async reload(sites: readonly SiteSpec[]): Promise<BackendChange> {
    this.configured = sites;
    this.reloading++;
    try {
      await this.cache.track(hostNames(sites));
    } finally {
      this.reloading--;
    }
    return this.upstreams?.replace(this.sites()) ?? { added: [], removed: [] };
  }

  stop(): void {
    this.cache.stop();
  }

  /** Names whose address set changed in a lookup round. */
  private changed(names: readonly string[]): void {
    const upstreams = this.upstreams;
    if (upstreams === null) return;
    const set = new Set(names);
    // Pooled connections to a name may go to an address no longer in the answer: renew them.
    for (const b of upstreams.backends()) {
      if (b.spec.address === undefined && set.has(b.spec.hostname)) b.retireConnections();
    }
    if (!this.options.rrDnsMode || !this.live || this.reloading > 0) return;
    upstreams.replace(this.sites());
  }
}

/** Every host name (not IP literal) that some backend connects to. */
export function hostNames(sites: readonly SiteSpec[]): string[] {
  const names = new Set<string>();
  for (const site of sites) for (const b of site.backends) if (net.isIP(b.hostname) === 0) names.add(b.hostname);
  return [...names];
}

/** One --rr-dns-mode backend: the URL (and metrics endpoint label) shows the address, the host name stays for TLS. */
export function pinned(spec: BackendSpec, a: ResolvedAddress): BackendSpec {
  const host = a.family === 6 ? `[${a.address}]` : a.address;
  const defaultPort = spec.protocol === 'https:' ? 443 : 80;
  const port = spec.port === defaultPort ? '' : `:${spec.port}`;
  return { ...spec, url: `${spec.protocol}//${host}${port}${spec.basePath}`, address: a.address };
}

function list(addresses: readonly ResolvedAddress[]): string {
  return addresses.map((a) => a.address).join(', ');
}

export function describeEvent(event: DnsEvent): string {
  switch (event.kind) {
    case 'changed':
      return event.previous.length === 0
        ? `dns: ${event.name} resolves to ${list(event.addresses)}`
        : `dns: ${event.name} now resolves to ${list(event.addresses)} (was ${list(event.previous)})`;
    case 'failed':
      return event.kept.length === 0
        ? `dns: ${event.name} did not resolve (${event.error}); its backends stay down until it does`
        : `dns: ${event.name} did not resolve (${event.error}); keeping ${list(event.kept)}`;
    case 'recovered':
      return `dns: ${event.name} resolves again`;
  }
}
