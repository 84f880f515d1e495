/**
 * The membership merge: every source's latest set of SITEs, merged per site index, names turned
 * into addresses by the resolution stage (DNS), applied to the upstream set. Changes are applied
 * one at a time, in order; UpstreamSet.replace keeps unchanged backends and carries endpoint
 * health over, and its membership listeners (the health checker, pool drain) follow.
 */
import type { BackendSpec, SiteSpec } from '../config/types.js';
import type { BackendSource } from './sources.js';
import type { MembershipChange, UpstreamSet } from './upstream-set.js';
import type { Backend } from './backend.js';

/** Turns host names into addresses before the set is applied (src/discovery/dns-discovery.ts). */
export interface NameResolution {
  /** Look up names not known yet; resolves once each had its first answer, or after `boundMs`. */
  prepare(sites: readonly SiteSpec[], boundMs: number): Promise<void>;
  /** The sites as the upstream set should hold them now (one backend per address of a name). */
  expand(sites: readonly SiteSpec[]): SiteSpec[];
}

const NO_CHANGE: MembershipChange = { added: [], removed: [] };
/** How often a make-before-break change looks whether the new backends have been probed. */
const PROBE_POLL_MS = 20;

export class Membership {
  private readonly upstreams: UpstreamSet;
  private readonly resolution: NameResolution | null;
  private readonly sources: BackendSource[] = [];
  private readonly latest = new Map<BackendSource, readonly SiteSpec[]>();
  private queue: Promise<MembershipChange> = Promise.resolve(NO_CHANGE);
  private readonly boundMs: number;
  private started = false;

  /** `boundMs`: how long a change waits for the first answer of a new name before applying without it. */
  constructor(upstreams: UpstreamSet, resolution: NameResolution | null, boundMs: number) {
    this.upstreams = upstreams;
    this.resolution = resolution;
    this.boundMs = boundMs;
  }

  add(source: BackendSource): void {
    this.sources.push(source);
  }

  /** Start every source; resolves once their first sets are applied. Later emits apply by themselves. */
  start(): Promise<MembershipChange> {
    for (const source of this.sources) {
      source.start((sites) => {
        this.latest.set(source, sites);
        if (this.started) void this.apply();
      });
    }
    this.started = true;
    return this.apply();
  }

  /** Re-apply the current sets (the resolution's answers changed). */
  apply(): Promise<MembershipChange> {
    if (!this.started) return Promise.resolve(NO_CHANGE);
    this.queue = this.queue.then(() => this.applyNow(), () => this.applyNow());
    return this.queue;
  }

  /** SIGHUP: every source reads itself again; the result is applied. */
  reload(): Promise<MembershipChange> {
    for (const source of this.sources) source.reload();
    return this.apply();
  }

  stop(): void {
    for (const source of this.sources) source.stop();
  }

  /** The merged sites before name resolution (for tests and /v1/backends). */
  merged(): SiteSpec[] {
    return mergeSites(this.sources.map((s) => ({ name: s.name, sites: this.latest.get(s) ?? [] })));
  }

  private async applyNow(): Promise<MembershipChange> {
    const merged = this.merged();
    if (this.resolution !== null) await this.resolution.prepare(merged, this.boundMs);
    const target = this.resolution === null ? merged : this.resolution.expand(merged);
    const leaving = this.leavingReady(target);
    if (leaving.length === 0) return this.upstreams.replace(target);
    // Make before break: ready backends that leave keep serving until the new ones have had their
    // first probe (at most boundMs), so replacing a site's only backend opens no window of 502s.
    const interim = target.map((site, i) => ({ ...site, backends: [...site.backends, ...leaving.filter((b) => b.site === i).map((b) => b.spec)] }));
    const first = this.upstreams.replace(interim);
    await this.firstProbes(first.added, this.boundMs);
    const last = this.upstreams.replace(target);
    return { added: first.added.filter((b) => !last.removed.includes(b)), removed: [...first.removed, ...last.removed] };
  }

  /** Backends in rotation now that `target` drops, with their site. */
  private leavingReady(target: readonly SiteSpec[]): { site: number; spec: BackendSpec }[] {
    const staying = new Set(target.flatMap((s) => s.backends.map((b) => `${s.index} ${b.url}`)));
    const out: { site: number; spec: BackendSpec }[] = [];
    for (const site of this.upstreams.sites) {
      for (const b of site.ready) if (site.index < target.length && !staying.has(`${site.index} ${b.url}`)) out.push({ site: site.index, spec: b.spec });
    }
    return out;
  }

  /** Until every backend in `added` has a first verdict (or `boundMs` passed). */
  private async firstProbes(added: readonly Backend[], boundMs: number): Promise<void> {
    const deadline = Date.now() + boundMs;
    while (added.some((b) => !b.probed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, PROBE_POLL_MS));
  }
}

/**
 * Per site index, the backends of every source in the order sources were added; a backend URL
 * listed twice (by two sources, or in two sites) is kept where it appears first.
 */
export function mergeSites(sets: readonly { name: string; sites: readonly SiteSpec[] }[]): SiteSpec[] {
  const count = Math.max(0, ...sets.map((s) => s.sites.length));
  const seen = new Set<string>();
  const out: SiteSpec[] = [];
  for (let index = 0; index < count; index++) {
    const backends: BackendSpec[] = [];
    const texts: string[] = [];
    for (const set of sets) {
      const site = set.sites[index];
      if (site === undefined) continue;
      if (site.source !== '') texts.push(site.source);
      for (const b of site.backends) {
        if (seen.has(b.url)) continue;
        seen.add(b.url);
        backends.push({ ...b, origin: b.origin ?? set.name });
      }
    }
    out.push({ index, source: texts.join(','), backends });
  }
  return out;
}
