import { BroadcastQueue } from './broadcasts.js';
import type { CatalogDelegate, CatalogEvents, CatalogMember } from './membership.js';
import { CatalogState, type CatalogChange, type LocalService } from './state.js';
import { Status, type Service } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sidecar's /api/state.json document (and the push/pull payload). */
export interface StateDocument {
  Servers: Record<string, { Name: string; Services: Record<string, Service>; LastUpdated: string; LastChanged: string }>;
  LastChanged: string;
  ClusterName: string;
  Hostname: string;
}

/**
 * The service catalog of one node: its records (CatalogState), their bounded dissemination
 * (BroadcastQueue), and memberlist's delegate methods, so a gossip member can carry it exactly as
 * memberlist carried Sidecar's. Changes go to subscribers (the watch stream, the listeners).
 */
export class Catalog implements CatalogDelegate, CatalogEvents {
  readonly state: CatalogState;
  readonly clusterName: string;
  private readonly queue: BroadcastQueue;
  private readonly members = new Set<string>();
  private readonly subscribers = new Set<(c: CatalogChange) => void>();
  private lastChanged: number;
  private readonly now: () => number;

  constructor(self: string, options: { clusterName?: string; now?: () => number } = {}) {
    this.clusterName = options.clusterName ?? 'default';
    this.now = options.now ?? Date.now;
    this.lastChanged = this.now();
    this.members.add(self);
    this.queue = new BroadcastQueue(() => this.members.size);
    this.state = new CatalogState(self, { now: this.now, onChange: (c) => this.changed(c) });
  }

  /** Calls `fn` on every change until the returned function is called. */
  subscribe(fn: (c: CatalogChange) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  setLocal(s: LocalService): Service { return this.state.setLocal(s); }
  removeLocal(id: string): Service | null { return this.state.removeLocal(id); }
  /** Run every LIFESPANS.REANNOUNCE_MS. */
  reannounce(): void { this.state.reannounce(); }
  /** Run every few seconds. */
  expire(): void { this.state.expire(); }

  // memberlist Delegate

  nodeMeta(limit: number): Uint8Array {
    const meta = encoder.encode(JSON.stringify({ ClusterName: this.clusterName, State: 'Running' }));
    return meta.length <= limit ? meta : new Uint8Array(0);
  }

  notifyMsg(buf: Uint8Array): void {
    const service = parseService(buf);
    if (service !== null) this.state.merge(service);
  }

  getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    return this.queue.take(overhead, limit);
  }

  localState(_join: boolean): Uint8Array {
    return encoder.encode(JSON.stringify(this.stateDocument()));
  }

  mergeRemoteState(buf: Uint8Array, _join: boolean): void {
    let doc: Partial<StateDocument> | null;
    try { doc = JSON.parse(decoder.decode(buf)) as Partial<StateDocument> | null; } catch { return; }
    if (typeof doc !== 'object' || doc === null || (doc.ClusterName !== undefined && doc.ClusterName !== this.clusterName)) return;
    if (typeof doc.Servers !== 'object' || doc.Servers === null) return;
    for (const server of Object.values(doc.Servers)) {
      for (const s of Object.values(server?.Services ?? {})) if (isService(s)) this.state.merge(s);
    }
  }

  // memberlist EventDelegate

  notifyJoin(member: CatalogMember): void { this.members.add(member.name); }
  notifyUpdate(member: CatalogMember): void { this.members.add(member.name); }
  notifyLeave(member: CatalogMember): void {
    this.members.delete(member.name);
    this.state.expireServer(member.name);
  }

  /** Sidecar's /api/state.json. */
  stateDocument(): StateDocument {
    const servers: StateDocument['Servers'] = {};
    const times = this.state.serverTimes();
    for (const [host, services] of this.state.all()) {
      const at = new Date(times.get(host) ?? 0).toISOString();
      servers[host] = { Name: host, Services: Object.fromEntries(services.map((s) => [s.ID, s])), LastUpdated: at, LastChanged: at };
    }
    return { Servers: servers, LastChanged: new Date(this.lastChanged).toISOString(), ClusterName: this.clusterName, Hostname: this.state.self };
  }

  /** Sidecar's /api/services.json `Services`: instances by service name, each list by `Updated`. */
  servicesByName(): Record<string, Service[]> {
    const out: Record<string, Service[]> = {};
    for (const services of this.state.all().values()) for (const s of services) (out[s.Name] ??= []).push(s);
    for (const list of Object.values(out)) list.sort((a, b) => a.Updated.localeCompare(b.Updated));
    return out;
  }

  /** Sidecar's /api/services.json `ClusterMembers`. */
  clusterMembers(): Record<string, { Name: string; LastUpdated: string; ServiceCount: number }> {
    const out: Record<string, { Name: string; LastUpdated: string; ServiceCount: number }> = {};
    const times = this.state.serverTimes();
    const all = this.state.all();
    for (const name of new Set([...this.members, ...all.keys()])) {
      const live = (all.get(name) ?? []).filter((s) => s.Status !== Status.TOMBSTONE).length;
      out[name] = { Name: name, LastUpdated: new Date(times.get(name) ?? 0).toISOString(), ServiceCount: live };
    }
    return out;
  }

  private changed(c: CatalogChange): void {
    this.lastChanged = c.time;
    this.queue.enqueue(`${c.service.Hostname}\n${c.service.ID}`, encoder.encode(JSON.stringify(c.service)));
    for (const fn of this.subscribers) fn(c);
  }
}

function parseService(buf: Uint8Array): Service | null {
  try {
    const s = JSON.parse(decoder.decode(buf)) as unknown;
    return isService(s) ? s : null;
  } catch {
    return null;
  }
}

/** Enough of a Service to merge safely: what a hostile or old peer sends otherwise is dropped. */
function isService(s: unknown): s is Service {
  if (typeof s !== 'object' || s === null) return false;
  const r = s as Record<string, unknown>;
  const v = r['Version'] as Record<string, unknown> | undefined;
  return typeof r['ID'] === 'string' && typeof r['Name'] === 'string' && typeof r['Hostname'] === 'string'
    && typeof r['Status'] === 'number' && [0, 1, 2, 3, 4].includes(r['Status']) && Array.isArray(r['Ports'])
    && typeof v === 'object' && v !== null && Number.isSafeInteger(v['epoch']) && Number.isSafeInteger(v['seq']);
}
