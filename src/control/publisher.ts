/**
 * The primary's side of the control plane IPC: it turns what happens to its upstream set (health
 * verdicts, membership changes, DNS answers) into numbered messages for every worker, hands a
 * newcomer the full snapshot, and decides on the evidence workers report.
 */
import type { SiteSpec } from '../config/types.js';
import type { DnsCache } from '../discovery/dns-cache.js';
import type { Backend } from '../upstream/backend.js';
import type { UpstreamSet } from '../upstream/upstream-set.js';
import { family } from '../observe/metrics.js';
import { flagsOf, PROTOCOL_VERSION, type EndpointHealth, type Evidence, type NameAddresses, type PrimaryMessage } from './messages.js';

type Change = PrimaryMessage & { seq: number };
/** A change without its number (the publisher numbers them in order). */
type Unnumbered<M> = M extends { seq: number } ? Omit<M, 'seq' | 'v'> : never;

/** What the publisher has sent, for the IPC cost measurement (and metrics). */
export interface PublisherCounters {
  messages: number;
  bytes: number;
}

/** The control plane's own families, in the primary's summed metrics. */
export function controlMetricsText(c: PublisherCounters): string {
  const out: string[] = [];
  family(out, 'outrigger_control_messages_total', 'counter', 'Control plane messages the primary sent to workers (snapshots and changes, one per worker)');
  out.push(`outrigger_control_messages_total ${c.messages}`);
  family(out, 'outrigger_control_bytes_total', 'counter', 'Bytes of those messages as JSON');
  out.push(`outrigger_control_bytes_total ${c.bytes}`);
  return `${out.join('\n')}\n`;
}

export class SnapshotPublisher {
  private readonly upstreams: UpstreamSet;
  private readonly dns: DnsCache | null;
  private readonly subscribers = new Set<(m: PrimaryMessage) => void>();
  /** The flags last announced per endpoint, as text: a verdict that changes nothing sends nothing. */
  private readonly announced = new Map<string, string>();
  private seq = 0;
  readonly counters: PublisherCounters = { messages: 0, bytes: 0 };

  constructor(upstreams: UpstreamSet, dns: DnsCache | null) {
    this.upstreams = upstreams;
    this.dns = dns;
    upstreams.onVerdict((b) => this.healthOf(b));
    upstreams.onChange((c) => this.healthOf(c.backend));
    upstreams.onMembership(({ added, removed }) => {
      for (const b of removed) this.announced.delete(b.endpoint);
      this.publish({ type: 'sites', sites: this.sites(), health: added.map((b) => this.entry(b)) });
    });
  }

  /** A DNS answer changed: workers connect through the same addresses (called with the changed names). */
  addressesChanged(names: readonly string[]): void {
    if (this.dns === null) return;
    for (const name of names) this.publish({ type: 'addresses', name, addresses: this.dns.addresses(name) });
  }

  /** Every later change goes to `send`; the caller sends `snapshot()` first. Returns the unsubscribe. */
  subscribe(send: (m: PrimaryMessage) => void): () => void {
    this.subscribers.add(send);
    return () => this.subscribers.delete(send);
  }

  /** The whole state now, numbered so that the next change follows it. */
  snapshot(): PrimaryMessage {
    const names = this.dns?.names() ?? [];
    const addresses: NameAddresses[] = names.map((n) => [n, this.dns!.addresses(n)]);
    const message: PrimaryMessage = {
      v: PROTOCOL_VERSION, type: 'snapshot', seq: this.seq, sites: this.sites(),
      health: this.upstreams.backends().map((b) => this.entry(b)), addresses,
    };
    this.count(message, 1);
    return message;
  }

  /**
   * A worker's evidence, judged like the primary's own: a request failure counts towards taking
   * the endpoint out (and makes it probed at once); an ejection applies to every worker. Evidence
   * on an endpoint that left meanwhile is dropped.
   */
  decide(evidence: Evidence): void {
    const b = this.upstreams.byEndpoint(evidence.endpoint);
    if (b === undefined) return;
    if (evidence.kind === 'request-failed') this.upstreams.requestFailed(b, evidence.reason);
    else this.upstreams.eject(b, evidence.until, evidence.reason);
  }

  private sites(): SiteSpec[] {
    return this.upstreams.sites.map((s) => ({ index: s.index, source: '', backends: s.backends.map((b) => b.spec) }));
  }

  private entry(b: Backend): EndpointHealth {
    const flags = flagsOf(b.health);
    this.announced.set(b.endpoint, JSON.stringify(flags));
    return [b.endpoint, flags];
  }

  private healthOf(b: Backend): void {
    const flags = flagsOf(b.health);
    const text = JSON.stringify(flags);
    if (this.announced.get(b.endpoint) === text) return;
    this.announced.set(b.endpoint, text);
    this.publish({ type: 'health', endpoint: b.endpoint, flags });
  }

  private publish(change: Unnumbered<Change>): void {
    const message = { v: PROTOCOL_VERSION, seq: ++this.seq, ...change } as PrimaryMessage;
    if (this.subscribers.size === 0) return;
    this.count(message, this.subscribers.size);
    for (const send of this.subscribers) send(message);
  }

  /** One message sent to `copies` workers (bytes as JSON, what the cluster channel carries). */
  private count(message: PrimaryMessage, copies: number): void {
    this.counters.messages += copies;
    this.counters.bytes += JSON.stringify(message).length * copies;
  }
}
