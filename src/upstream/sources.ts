/**
 * Where backends come from. A source emits the complete set of SITEs it knows, in failover order,
 * each time that set changes: the command line (once), the sites file (on every good read), and
 * later the gossip catalog. Sources never diff: the membership merge (membership.ts) does, per
 * site, and the upstream set keeps the health of every endpoint across changes.
 *
 * To add a source: implement BackendSource, give it a short `name` (shown as a backend's origin in
 * /v1/backends), call `emit` with every backend it wants now (also to remove some), and hand it to
 * Membership.add(). Site indices are failover tiers shared by all sources: a source's site 0 is
 * merged with every other source's site 0.
 */
import type { SiteSpec } from '../config/types.js';

export type EmitSites = (sites: readonly SiteSpec[]) => void;

export interface BackendSource {
  /** Short and stable: 'argv', 'sites-file', 'catalog'. */
  readonly name: string;
  /** Begin; `emit` must be called once soon with the current set (possibly empty), then on each change. */
  start(emit: EmitSites): void;
  /** SIGHUP: read the source again if it can be re-read (a file); emit only if the set changed. */
  reload(): void;
  stop(): void;
}

/** The SITEs of the command line (or OUTRIGGER_SITES): one set, fixed for the life of the process. */
export class StaticSource implements BackendSource {
  readonly name = 'argv';
  private readonly sites: readonly SiteSpec[];

  constructor(sites: readonly SiteSpec[]) {
    this.sites = sites;
  }

  start(emit: EmitSites): void {
    emit(this.sites);
  }

  reload(): void {
    // The arguments cannot change; SIGHUP re-resolves their names (DNS) instead.
  }

  stop(): void {}
}
