/** SITE arguments -> validated backends, in failover order. */
import type { BackendSpec, CatalogRef, ListenAddress, SiteSpec } from '../config/types.js';
import { parseBackendUrl } from './backend-url.js';
import { expandEllipsis } from './ellipsis.js';
import { pointsAtSelf } from './self-loop.js';
import { isSidecarRef, parseSidecarRef } from './sidecar-ref.js';

export interface SitesParse {
  /** Meaningful only when `errors` is empty; sites keep their valid backends otherwise. */
  readonly sites: SiteSpec[];
  /** One message per problem, each naming the SITE argument. */
  readonly errors: string[];
}

/** State shared across all sites: duplicates are an error across sites too. */
interface Context {
  readonly listen: ListenAddress;
  /** Normalised URL -> the 0-based site that first listed it. */
  readonly seen: Map<string, number>;
  readonly errors: string[];
}

/**
 * Each argument is a site; commas split it into zones whose backends are pooled;
 * each zone is ellipsis-expanded; each name must be an http(s) URL. Sidekick
 * accepted duplicates (silently doubling a backend's weight) and its own address
 * (an infinite loop): both are errors here. A `sidecar://NAME` zone names a catalog service
 * instead: its instances come and go with the catalog (src/catalog/source.ts).
 */
export function parseSites(args: readonly string[], listen: ListenAddress): SitesParse {
  const ctx: Context = { listen, seen: new Map(), errors: [] };
  const sites = args.map((arg, index) => parseSite(arg, index, ctx));
  return { sites, errors: ctx.errors };
}

/** How messages name a site: its position and the argument as given. */
interface SiteRef {
  readonly index: number;
  readonly arg: string;
  readonly label: string;
}

function parseSite(arg: string, index: number, ctx: Context): SiteSpec {
  const label = `site ${index + 1} "${arg}"`;
  const backends: BackendSpec[] = [];
  const catalog: CatalogRef[] = [];
  for (const rawZone of arg.split(',')) {
    const zone = rawZone.trim();
    if (zone === '') {
      ctx.errors.push(`${label}: empty zone (a stray comma?)`);
      continue;
    }
    if (isSidecarRef(zone)) {
      const ref = parseSidecarRef(zone);
      if (ref.ok) catalog.push(ref.value);
      else ctx.errors.push(`${label}: ${ref.reason}`);
      continue;
    }
    const names = expandEllipsis(zone);
    if (!names.ok) ctx.errors.push(`${label}: ${names.reason}`);
    else backends.push(...zoneBackends(names.value, { index, arg, label }, ctx));
  }
  if (new Set(backends.map((backend) => backend.protocol)).size > 1) {
    ctx.errors.push(`${label}: mixes http and https; use one scheme per site`);
  }
  return catalog.length > 0 ? { index, source: arg, backends, catalog } : { index, source: arg, backends };
}

/** Parses the expanded names of one zone. A bad pattern fails every name alike, so each reason is reported once. */
function zoneBackends(names: readonly string[], site: SiteRef, ctx: Context): BackendSpec[] {
  const backends: BackendSpec[] = [];
  const reported = new Set<string>();
  const report = (name: string, reason: string): void => {
    // Name the expanded backend only when it differs from the argument already quoted.
    if (!reported.has(reason)) ctx.errors.push(`${site.label}: ${name === site.arg ? '' : `${name}: `}${reason}`);
    reported.add(reason);
  };
  for (const name of names) {
    const parsed = parseBackendUrl(name);
    if (!parsed.ok) {
      report(name, parsed.reason);
      continue;
    }
    const problem = conflict(parsed.value, site.index, ctx);
    if (problem === undefined) backends.push(parsed.value);
    else ctx.errors.push(`${site.label}: ${parsed.value.url} ${problem}`);
  }
  return backends;
}

/** Why this backend may not be used (a duplicate, or Outrigger itself); undefined when it may. */
function conflict(backend: BackendSpec, site: number, ctx: Context): string | undefined {
  if (pointsAtSelf(ctx.listen, backend)) {
    return `is Outrigger's own listen address (${formatListen(ctx.listen)}): requests would loop`;
  }
  const first = ctx.seen.get(backend.url);
  if (first === undefined) {
    ctx.seen.set(backend.url, site);
    return undefined;
  }
  return first === site ? 'is listed twice in this site' : `is already listed in site ${first + 1}`;
}

function formatListen(listen: ListenAddress): string {
  return listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}
