import { compareVersions, Status, type Service, type StatusCode, type Version } from './types.js';

/**
 * Lifespans (Sidecar's, services_state.go) and the owner's refresh. An owner re-announces each of
 * its records with a new version every REANNOUNCE_MS; a peer that sees no new version of a record
 * for its lifespan tombstones it. Only a new version refreshes a record: the same version coming
 * back through another peer's push/pull does not, so state of a node that is gone cannot keep
 * itself alive by looping through the cluster (Sidecar's "old state sticks" bug, #71/#73).
 */
export const LIFESPANS = {
  REANNOUNCE_MS: 20_000,
  ALIVE_MS: 80_000,
  DRAINING_MS: 10 * 60_000,
  TOMBSTONE_MS: 3 * 60 * 60_000,
} as const;

/** One change of the catalog, as the watch stream and the listeners report it. */
export interface CatalogChange {
  readonly service: Service;
  /** null when the record is new here. */
  readonly previousStatus: StatusCode | null;
  /** ms since the epoch, this node's clock */
  readonly time: number;
}

interface Entry {
  service: Service;
  /** This node's clock when this version arrived (or was written here). */
  receivedAt: number;
}

/** What a local service looks like before the catalog stamps it. */
export type LocalService = Omit<Service, 'Hostname' | 'Updated' | 'Version' | 'TombstonedBy'>;

/**
 * The catalog's records and the rules that merge them. Who may write what:
 * - only the owner (`Hostname`) makes a new version of a record, including its tombstone when the
 *   service goes away; versions are ordered by the owner's own sequence, never by comparing clocks;
 * - a peer may only turn a record it holds into a tombstone at the same version (the owner left,
 *   died, or went silent past the lifespan); at equal versions a tombstone wins, so every peer
 *   converges, and any later version from the owner (it came back) wins over it;
 * - a forgotten tombstone leaves its version behind as a floor, so an old copy cannot come back.
 */
export class CatalogState {
  readonly self: string;
  private readonly servers = new Map<string, Map<string, Entry>>();
  private readonly floors = new Map<string, Version>();
  private readonly epoch: number;
  private seq = 0;
  private readonly now: () => number;
  private readonly onChange: (c: CatalogChange) => void;

  constructor(self: string, options: { now?: () => number; onChange?: (c: CatalogChange) => void } = {}) {
    this.self = self;
    this.now = options.now ?? Date.now;
    this.epoch = this.now();
    this.onChange = options.onChange ?? (() => {});
  }

  /** A record from a peer (a gossip message or a push/pull). True when it changed the catalog. */
  merge(incoming: Service): boolean {
    // Our own records are written here only; a peer's copy (or its tombstone of us) is old news.
    if (incoming.Hostname === this.self) return false;
    const floor = this.floors.get(key(incoming));
    if (floor !== undefined && compareVersions(incoming.Version, floor) <= 0) return false;
    const current = this.entry(incoming.Hostname, incoming.ID);
    if (current !== undefined) {
      const order = compareVersions(incoming.Version, current.service.Version);
      const tombstoneWinsTie = order === 0 && incoming.Status === Status.TOMBSTONE && current.service.Status !== Status.TOMBSTONE;
      if (order < 0 || (order === 0 && !tombstoneWinsTie)) return false;
    }
    this.put(incoming, current);
    return true;
  }

  /** Write (or rewrite) one of this node's own services: a new version. */
  setLocal(s: LocalService): Service {
    const current = this.entry(this.self, s.ID);
    const service: Service = { ...s, Hostname: this.self, Updated: this.timestamp(), Version: this.nextVersion() };
    this.put(service, current);
    return service;
  }

  /** One of this node's services went away: the owner's tombstone, a new version. */
  removeLocal(id: string): Service | null {
    const current = this.entry(this.self, id);
    if (current === undefined || current.service.Status === Status.TOMBSTONE) return null;
    const service: Service = { ...current.service, Status: Status.TOMBSTONE, TombstonedBy: this.self, Updated: this.timestamp(), Version: this.nextVersion() };
    this.put(service, current);
    return service;
  }

  /** Every live own record again, each with a new version (the owner's refresh; see LIFESPANS). */
  reannounce(): Service[] {
    const out: Service[] = [];
    for (const e of this.servers.get(this.self)?.values() ?? []) {
      if (e.service.Status === Status.TOMBSTONE) continue;
      const service: Service = { ...e.service, Updated: this.timestamp(), Version: this.nextVersion() };
      e.service = service;
      e.receivedAt = this.now();
      out.push(service);
    }
    return out;
  }

  /** The owner left or was declared dead: its records become tombstones written by this node, at the same versions. */
  expireServer(host: string): Service[] {
    if (host === this.self) return [];
    const out: Service[] = [];
    for (const e of this.servers.get(host)?.values() ?? []) {
      if (e.service.Status !== Status.TOMBSTONE) out.push(this.tombstoneHere(e));
    }
    return out;
  }

  /**
   * Lifespans, run every few seconds: a peer's record with no new version for its lifespan becomes
   * a tombstone here; a tombstone older than its lifespan is forgotten (its version kept as a floor).
   */
  expire(): Service[] {
    const now = this.now();
    const out: Service[] = [];
    for (const [host, services] of this.servers) {
      for (const [id, e] of services) {
        const s = e.service;
        if (s.Status === Status.TOMBSTONE) {
          if (now - e.receivedAt > LIFESPANS.TOMBSTONE_MS) {
            services.delete(id);
            this.floors.set(key(s), s.Version);
          }
        } else if (host !== this.self && now - e.receivedAt > (s.Status === Status.DRAINING ? LIFESPANS.DRAINING_MS : LIFESPANS.ALIVE_MS)) {
          out.push(this.tombstoneHere(e));
        }
      }
      if (services.size === 0) this.servers.delete(host);
    }
    return out;
  }

  get(host: string, id: string): Service | undefined {
    return this.entry(host, id)?.service;
  }

  /** Every record, by server. */
  all(): Map<string, Service[]> {
    const out = new Map<string, Service[]>();
    for (const [host, services] of this.servers) out.set(host, [...services.values()].map((e) => e.service));
    return out;
  }

  /** Server names that have (or had) records, with the time their latest record arrived here. */
  serverTimes(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [host, services] of this.servers) out.set(host, Math.max(0, ...[...services.values()].map((e) => e.receivedAt)));
    return out;
  }

  private tombstoneHere(e: Entry): Service {
    const service: Service = { ...e.service, Status: Status.TOMBSTONE, TombstonedBy: this.self, Updated: this.timestamp() };
    this.put(service, e);
    return service;
  }

  private put(service: Service, current: Entry | undefined): void {
    const previousStatus = current?.service.Status ?? null;
    if (current !== undefined) {
      current.service = service;
      current.receivedAt = this.now();
    } else {
      let services = this.servers.get(service.Hostname);
      if (services === undefined) this.servers.set(service.Hostname, services = new Map());
      services.set(service.ID, { service, receivedAt: this.now() });
    }
    this.onChange({ service, previousStatus, time: this.now() });
  }

  private entry(host: string, id: string): Entry | undefined {
    return this.servers.get(host)?.get(id);
  }

  private nextVersion(): Version {
    return { epoch: this.epoch, seq: ++this.seq };
  }

  private timestamp(): string {
    return new Date(this.now()).toISOString();
  }
}

function key(s: Service): string {
  return `${s.Hostname}\n${s.ID}`;
}
