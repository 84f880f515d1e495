/**
 * `sidecar://NAME[:SERVICEPORT]` SITEs as a live backend source: each such site gets one backend
 * per ALIVE instance of the named service anywhere in the cluster, following the catalog. An
 * instance that turns UNHEALTHY, DRAINING or TOMBSTONE leaves the site; the membership merge
 * removes its backend and the upstream set drains it (requests in flight finish, no new ones go).
 * Outrigger's own health checks, passive health, retries and failover apply on top.
 */
import type { BackendSpec, CatalogRef, SiteSpec } from '../config/types.js';
import { parseBackendUrl } from '../sites/backend-url.js';
import type { BackendSource, EmitSites } from '../upstream/sources.js';
import type { Catalog } from './catalog.js';
import { Status, type Service, type ServicePort } from './types.js';

export class CatalogSource implements BackendSource {
  readonly name = 'catalog';
  private readonly catalog: Catalog;
  private readonly sites: readonly SiteSpec[];
  private unsubscribe: (() => void) | null = null;
  /** The backend URLs last emitted, per site, to emit only on a change. */
  private last = '';

  /** `sites`: the configured SITEs; only those with catalog refs get backends from here. */
  constructor(catalog: Catalog, sites: readonly SiteSpec[]) {
    this.catalog = catalog;
    this.sites = sites;
  }

  start(emit: EmitSites): void {
    const update = (): void => {
      const sites = catalogSites(this.catalog.servicesByName(), this.sites);
      const key = JSON.stringify(sites.map((s) => s.backends.map((b) => b.url)));
      if (key === this.last && this.unsubscribe !== null) return;
      this.last = key;
      emit(sites);
    };
    update();
    this.unsubscribe = this.catalog.subscribe(update);
  }

  reload(): void {
    // The catalog is live: there is nothing to read again.
  }

  stop(): void {
    this.unsubscribe?.();
  }
}

/** Every configured site index, with the backends of its catalog refs (none for plain sites). */
export function catalogSites(byName: Readonly<Record<string, readonly Service[]>>, sites: readonly SiteSpec[]): SiteSpec[] {
  return sites.map((site) => {
    const seen = new Set<string>();
    const backends: BackendSpec[] = [];
    for (const ref of site.catalog ?? []) {
      for (const s of byName[ref.name] ?? []) {
        const spec = instanceBackend(s, ref);
        if (spec === null || seen.has(spec.url)) continue;
        seen.add(spec.url);
        backends.push(spec);
      }
    }
    backends.sort((a, b) => a.url.localeCompare(b.url));
    return { index: site.index, source: '', backends };
  });
}

/** Where an ALIVE instance takes TCP connections for `servicePort` (undefined: its first TCP port). */
export function alivePort(s: Service, servicePort: number | undefined): ServicePort | undefined {
  if (s.Status !== Status.ALIVE) return undefined;
  return s.Ports.find((p) => p.Type === 'tcp' && (servicePort === undefined || p.ServicePort === servicePort));
}

/** The HTTP backend of one instance, or null when it must get no new requests (or is not HTTP). */
export function instanceBackend(s: Service, ref: CatalogRef): BackendSpec | null {
  if (s.ProxyMode === 'tcp') return null;
  const port = alivePort(s, ref.servicePort);
  if (port === undefined) return null;
  const host = port.IP.includes(':') ? `[${port.IP}]` : port.IP;
  const parsed = parseBackendUrl(`http://${host}:${port.Port}`);
  return parsed.ok ? parsed.value : null;
}
