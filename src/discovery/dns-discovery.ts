/**
 * DNS as the membership's name resolution stage: every backend host name is resolved before its
 * backends are applied, and a name with several addresses of one family becomes one backend per
 * address (without --rr-dns-mode; with it, as in sidekick, every name is, even with one address).
 *
 * Why one backend per address: each address then has its own health check, pool, in-flight count
 * and metrics, so a dead address of a round-robin name stops being chosen while the others serve,
 * and a request that cannot connect to it is retried on the next address within the same request
 * (connect errors are always retried). One backend per name with addresses rotated per connection
 * gave ~100% 502s when one of two addresses was dead: the dead address took the whole backend
 * down, then the live one brought it back.
 *
 * Why not for a name with at most one address per family (a per-pod name, `localhost` with ::1 and
 * 127.0.0.1): the backend keeps its name (in logs and metrics labels, stable across pod restarts)
 * and connects through the address book, one family falling back to the other, so a server bound
 * to one family only is reached and not shown as a second backend that is down.
 *
 * Names are looked up again every --dns-ttl, sooner when the record's TTL is shorter
 * (DnsCache.period), at once (rate-limited) when a probe or request to one of its addresses fails,
 * and on SIGHUP. A name that has never resolved stays as one backend with the name, down with the
 * DNS reason.
 */
import net from 'node:net';
import type { BackendSpec, SiteSpec } from '../config/types.js';
import type { NameResolution } from '../upstream/membership.js';
import type { UpstreamSet } from '../upstream/upstream-set.js';
import { DnsCache, type DnsEvent, type LookupAll, type ResolvedAddress, type Schedule } from './dns-cache.js';

export interface DnsDiscoveryOptions {
  readonly ttlMs: number;
  /** --rr-dns-mode (sidekick's): every name is one backend per address, even with a single one. */
  readonly rrDnsMode?: boolean;
  readonly lookup: LookupAll;
  readonly schedule?: Schedule;
  /** Name-level news (first answer, changes, failures once per streak, recovery). */
  readonly log: (message: string) => void;
}

export class DnsDiscovery implements NameResolution {
  readonly cache: DnsCache;
  private readonly listeners: ((names: readonly string[]) => void)[] = [];
  private readonly rrDnsMode: boolean;

  constructor(options: DnsDiscoveryOptions) {
    this.rrDnsMode = options.rrDnsMode ?? false;
    this.cache = new DnsCache({
      lookup: options.lookup,
      ttlMs: options.ttlMs,
      ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
      onEvent: (event) => options.log(describeEvent(event)),
      onChange: (names) => { for (const l of this.listeners) l(names); },
    });
  }

  /** Called with the names whose addresses changed (the membership applies its sets again). */
  onChange(listener: (names: readonly string[]) => void): void {
    this.listeners.push(listener);
  }

  /**
   * A failed probe or request to a backend of a name makes that name be looked up again
   * (rate-limited); when a name's answer changes, pooled connections of its backends that connect
   * through the book are renewed, so new connections go to the new answer.
   */
  follow(upstreams: UpstreamSet): void {
    upstreams.onFailure((b) => {
      if (net.isIP(b.spec.hostname) === 0) this.cache.refreshSoon(b.spec.hostname);
    });
    this.listeners.unshift((names) => {
      const moved = new Set(names);
      for (const b of upstreams.backends()) if (b.spec.address === undefined && moved.has(b.spec.hostname)) b.retireConnections();
    });
  }

  /** Track the names of `sites`; waits for the first answer of new names, at most `boundMs`. */
  async prepare(sites: readonly SiteSpec[], boundMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => { timer = setTimeout(resolve, boundMs); });
    await Promise.race([this.cache.track(hostNames(sites)), bound]);
    clearTimeout(timer);
  }

  /** One backend per address for a name with several addresses of one family; the name itself otherwise. */
  expand(sites: readonly SiteSpec[]): SiteSpec[] {
    return sites.map((site) => ({ ...site, backends: site.backends.flatMap((b) => this.expandOne(b)) }));
  }

  private expandOne(spec: BackendSpec): BackendSpec[] {
    if (net.isIP(spec.hostname) !== 0) return [spec];
    const addresses = this.cache.addresses(spec.hostname);
    const v4 = addresses.filter((a) => a.family === 4).length;
    if (addresses.length === 0 || (!this.rrDnsMode && v4 < 2 && addresses.length - v4 < 2)) return [spec];
    return addresses.map((a) => pinned(spec, a));
  }

  /** Start the refresh timer (after the first application of the sites). */
  start(): void {
    this.cache.start();
  }

  /** SIGHUP: look every name up again now. */
  refresh(): Promise<void> {
    return this.cache.refresh();
  }

  stop(): void {
    this.cache.stop();
  }
}

/** Every host name (not IP literal) that some backend connects to. */
export function hostNames(sites: readonly SiteSpec[]): string[] {
  const names = new Set<string>();
  for (const site of sites) for (const b of site.backends) if (net.isIP(b.hostname) === 0) names.add(b.hostname);
  return [...names];
}

/** One backend of one address: the URL (and metrics endpoint label) shows the address, the host name stays for TLS and Host of probes. */
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
