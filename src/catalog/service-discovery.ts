/**
 * Gossip membership and the service catalog together: what runs once per host. The single process
 * runs it beside its forwarding engine; with `--workers N` the primary runs it beside the backend
 * control plane, and the workers learn the `sidecar://` backends from the primary's snapshots like
 * any other backend change.
 */
import type { Config } from '../config/types.js';
import type { GossipAgent } from '../gossip/agent.js';
import { DelegateMux, type GossipChannel } from '../gossip/delegate-mux.js';
import { gossipSettings } from '../gossip/settings.js';
import type { BackendSource } from '../upstream/sources.js';
import type { Catalog } from './catalog.js';
import { CatalogRuntime, catalogWanted } from './runtime.js';

/** Which part could not start, for main's start-up error. */
export class DiscoveryStartError extends Error {
  constructor(readonly part: 'gossip' | 'api', cause: Error) {
    super(cause.message);
  }
}

export class ServiceDiscovery {
  /** The catalog (with gossip, local services or a sidecar:// SITE); null when none is configured. */
  readonly catalog: CatalogRuntime | null;
  /** The gossip member (--gossip-bind, --join); set by start(). */
  gossip: GossipAgent | null = null;
  /** Gossip's delegate: the catalog, and channels of other user messages beside its own (the cache's news). */
  private readonly mux: DelegateMux;
  private ports: { stop(graceMs: number): Promise<void> } | null = null;
  private readonly config: Config;
  private readonly info: (message: string) => void;

  constructor(config: Config, info: (message: string) => void) {
    this.config = config;
    this.info = info;
    this.catalog = catalogWanted(config) ? new CatalogRuntime(config, info) : null;
    this.mux = new DelegateMux(this.catalog?.catalog ?? null);
  }

  /** Another kind of user message to ride on gossip beside the catalog's; at any time, before or after start(). */
  addChannel(channel: GossipChannel): void {
    this.mux.add(channel);
  }

  /** Backend sources for the control plane: the catalog's sidecar:// sites. */
  get sources(): BackendSource[] {
    return this.catalog === null ? [] : [this.catalog.source];
  }

  /**
   * Binds the gossip member and starts joining, then the catalog's checks, listeners and API.
   * The catalog rides on gossip as memberlist's Delegate (meta, user messages, push/pull state)
   * and EventDelegate (a member that leaves or dies has its services tombstoned).
   * Resolves with the API's address (null: no API); throws a DiscoveryStartError.
   */
  async start(backends: () => string): Promise<{ host: string; port: number } | null> {
    const settings = gossipSettings(this.config);
    if (settings !== undefined) {
      // Loaded only when gossip is on: the codec brings @msgpack/msgpack with it.
      const { GossipAgent } = await import('../gossip/agent.js');
      const catalog = this.catalog?.catalog ?? null;
      try {
        this.gossip = await GossipAgent.start(settings, (message) => { if (this.config.log) this.info(message); }, this.mux, catalog);
      } catch (err) {
        throw new DiscoveryStartError('gossip', err as Error);
      }
    }
    try {
      return this.catalog === null ? null : await this.catalog.start({ members: () => this.membersJson(), backends });
    } catch (err) {
      throw new DiscoveryStartError('api', err as Error);
    }
  }

  /** GET /v1/members; null without gossip. */
  membersJson(): string | null {
    return this.gossip?.membersJson() ?? null;
  }

  /** The gossip metric families ('' without gossip). */
  metricsText(): string {
    return this.gossip?.metricsText() ?? '';
  }

  /**
   * --service-listeners: one port per ServicePort in the catalog (src/service-ports.ts, which
   * knows the forwarding core, so the composition hands it in); call after start().
   */
  openServicePorts(open: (catalog: Catalog) => { stop(graceMs: number): Promise<void> }): void {
    if (this.catalog === null || this.config.serviceListeners === undefined) return;
    this.ports = open(this.catalog.catalog);
  }

  /** Leave first, so peers see "left" at once rather than a failure later; then stop the catalog. */
  async stop(leaveTimeoutMs: number): Promise<void> {
    await this.gossip?.stop(Math.min(leaveTimeoutMs, 3000));
    await this.ports?.stop(leaveTimeoutMs);
    await this.catalog?.stop();
  }
}

/** main's start-up message for a DiscoveryStartError. */
export function discoveryStartMessage(err: unknown, config: Config): string {
  if (err instanceof DiscoveryStartError && err.part === 'gossip') {
    const b = config.gossipBind;
    return `cannot start gossip${b ? ` on ${b.host}:${b.port}` : ''}: ${err.message}`;
  }
  const a = config.apiAddress;
  return `cannot serve the catalog API${a ? ` on ${a.host}:${a.port}` : ''}: ${(err as Error).message}`;
}
