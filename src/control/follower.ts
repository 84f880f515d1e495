/**
 * A worker's side of the control plane IPC: its upstream set holds exactly what the primary's
 * snapshots and changes say (backends, health verdicts, DNS answers). The worker looks nothing
 * up and probes nothing; request failures and ejections go to the primary as evidence.
 */
import type { Config } from '../config/types.js';
import { DnsCache } from '../discovery/dns-cache.js';
import type { BackendTls } from '../tls/backend-tls.js';
import type { Backend } from '../upstream/backend.js';
import { UpstreamSet } from '../upstream/upstream-set.js';
import { assignFlags, decodePrimaryMessage, PROTOCOL_VERSION, type EndpointHealth, type NameAddresses, type PrimaryMessage, type WorkerMessage } from './messages.js';

export type SendToPrimary = (m: WorkerMessage) => void;

export class SnapshotFollower {
  readonly upstreams: UpstreamSet;
  /** The primary's DNS answers; never looks anything up itself. */
  readonly addresses: DnsCache;
  /** Resolves when the first full snapshot is applied: the worker serves nothing before. */
  readonly ready: Promise<void>;
  /** Messages refused (wrong version or shape), for the logs of whoever receives them. */
  onRefused: (error: string) => void = () => {};
  private readonly send: SendToPrimary;
  /** The seq of the last message applied; -1 until a snapshot. */
  private seq = -1;
  private markReady: () => void = () => {};

  constructor(config: Config, backendTls: BackendTls, send: SendToPrimary) {
    this.send = send;
    this.addresses = new DnsCache({ ttlMs: config.dnsTtl, lookup: () => Promise.reject(new Error('workers take addresses from the primary')) });
    const evidence = (b: Backend, e: { kind: 'request-failed' } | { kind: 'eject'; until: number }, reason: string): void => {
      send({ v: PROTOCOL_VERSION, type: 'evidence', evidence: { ...e, endpoint: b.endpoint, reason } });
    };
    this.upstreams = new UpstreamSet([], {
      ...config, addresses: this.addresses, backendTls,
      reports: {
        requestFailed: (b, reason) => evidence(b, { kind: 'request-failed' }, reason),
        eject: (b, until, reason) => evidence(b, { kind: 'eject', until }, reason),
      },
    });
    this.ready = new Promise((resolve) => { this.markReady = resolve; });
  }

  /** Ask for the current snapshot (at start, and after a gap). */
  hello(): void {
    this.send({ v: PROTOCOL_VERSION, type: 'hello' });
  }

  /**
   * One message from the primary, decoded and checked once: a control-plane change is applied
   * (null returned); any other message (metrics, cache notices) is returned for the worker to handle.
   */
  receive(raw: unknown): PrimaryMessage | null {
    const decoded = decodePrimaryMessage(raw);
    if (!decoded.ok) {
      this.onRefused(decoded.error);
      return null;
    }
    return this.apply(decoded.message) ? null : decoded.message;
  }

  private apply(m: PrimaryMessage): boolean {
    if (m.type === 'metrics-request' || m.type === 'metrics-text' || m.type === 'cache-removal' || m.type === 'cache-fills') return false;
    if (m.type === 'snapshot') {
      this.seq = m.seq;
      for (const [name, list] of m.addresses) this.adoptAddresses(name, list);
      this.upstreams.replace(m.sites);
      this.adoptHealth(m.health);
      this.markReady();
      return true;
    }
    // Before the first snapshot, changes are already in it; after a gap, ask for all of it again.
    if (this.seq < 0 || m.seq <= this.seq) return true;
    if (m.seq !== this.seq + 1) {
      this.seq = -1;
      this.hello();
      return true;
    }
    this.seq = m.seq;
    if (m.type === 'sites') {
      this.upstreams.replace(m.sites);
      this.adoptHealth(m.health);
    } else if (m.type === 'health') this.adoptHealth([[m.endpoint, m.flags]]);
    else this.adoptAddresses(m.name, m.addresses);
    return true;
  }

  private adoptHealth(list: readonly EndpointHealth[]): void {
    for (const [endpoint, flags] of list) this.upstreams.adoptHealth(endpoint, (h) => assignFlags(h, flags));
  }

  /** A name's addresses changed: pooled connections through the old answer are renewed. */
  private adoptAddresses(name: NameAddresses[0], list: NameAddresses[1]): void {
    if (!this.addresses.adopt(name, list)) return;
    for (const b of this.upstreams.backends()) if (b.spec.address === undefined && b.spec.hostname === name) b.retireConnections();
  }
}
