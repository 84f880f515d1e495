/**
 * The gossip member of a running Outrigger: a Memberlist on real sockets,
 * joined to its seeds with backoff, membership changes in the log, and the
 * views for GET /v1/members and the metrics. Only src/app.ts uses this.
 */
import { Keyring } from './codec/crypto.js';
import { makeConfig, retransmitLimit, type Profile } from './protocol/config.js';
import { Memberlist } from './protocol/memberlist.js';
import type { Address, Delegate, EventDelegate, Member } from './protocol/types.js';
import { NetTransport, realClock } from './transport/net-transport.js';
import { renderGossipMetrics, RttHistogram } from './metrics.js';
import { defaultAdvertiseHost } from './settings.js';

export interface GossipSettings {
  readonly bind: { readonly host: string; readonly port: number };
  readonly advertise: { readonly host: string; readonly port: number } | undefined;
  readonly seeds: readonly { readonly host: string; readonly port: number }[];
  readonly nodeName: string;
  /** memberlist ≥ 0.3.0 label; "" is none. */
  readonly clusterName: string;
  /** The first encrypts; all decrypt. Empty: plaintext. */
  readonly keys: readonly Uint8Array[];
  readonly profile: Profile;
}

const JOIN_BACKOFF_MS = [500, 1000, 2000, 5000, 10_000, 30_000];
const RECONNECT_INTERVAL_MS = 15_000;

export class GossipAgent {
  readonly rtt = new RttHistogram();
  private joinTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;

  private constructor(readonly settings: GossipSettings, readonly memberlist: Memberlist, private readonly transport: NetTransport,
    private readonly info: (msg: string) => void) {}

  /** `delegate` and `listener` are where the service catalog rides: user messages, push/pull state, member events. */
  static async start(settings: GossipSettings, info: (msg: string) => void, delegate: Delegate | null = null,
    listener: EventDelegate | null = null): Promise<GossipAgent> {
    const log = (level: string, msg: string): void => { if (level !== 'debug') info(msg); };
    const transport = await NetTransport.listen({ host: settings.bind.host, port: settings.bind.port, tcpTimeoutMs: 10_000, log });
    const advertiseAddr = settings.advertise?.host || defaultAdvertiseHost(settings.bind.host);
    const advertisePort = settings.advertise?.port || transport.port;
    const config = makeConfig(settings.profile, {
      name: settings.nodeName, advertiseAddr, advertisePort, bindPort: transport.port, label: settings.clusterName,
    });
    let agent: GossipAgent | null = null;
    const events: EventDelegate = {
      notifyJoin: (n) => { info(`gossip: member ${n.name} (${n.addr}:${n.port}) joined`); listener?.notifyJoin(n); },
      notifyLeave: (n) => { info(`gossip: member ${n.name} ${n.state === 'left' ? 'left' : 'failed'}`); listener?.notifyLeave(n); },
      notifyUpdate: (n) => { info(`gossip: member ${n.name} updated its meta`); listener?.notifyUpdate(n); },
    };
    const memberlist = new Memberlist({
      config, clock: realClock, random: Math.random, transport, delegate, events, log,
      keyring: settings.keys.length > 0 ? new Keyring(settings.keys) : null,
    });
    agent = new GossipAgent(settings, memberlist, transport, info);
    memberlist.stats.onRtt = (ms) => agent?.rtt.observe(ms / 1000);
    transport.setHandler(memberlist);
    memberlist.start();
    info(`gossip: ${settings.nodeName} on ${settings.bind.host || '0.0.0.0'}:${transport.port}, advertising ${advertiseAddr}:${advertisePort}`);
    if (settings.seeds.length > 0) agent.joinWithBackoff(0);
    agent.reconnectTimer = setInterval(() => agent!.reconnect(), RECONNECT_INTERVAL_MS);
    agent.reconnectTimer.unref();
    return agent;
  }

  get port(): number { return this.transport.port; }

  /** How many times a user broadcast is sent: memberlist's retransmit limit for the cluster's size. */
  retransmits(): number { return retransmitLimit(this.memberlist.config.retransmitMult, this.memberlist.table.size); }

  /** Retried until one seed answers (memberlist Join returns an error only if all fail). */
  private joinWithBackoff(attempt: number): void {
    const seeds: Address[] = this.settings.seeds.map((s) => ({ addr: s.host, port: s.port }));
    void this.memberlist.join(seeds).then((n) => {
      if (n > 0) {
        this.info(`gossip: joined through ${n} of ${seeds.length} seeds, ${this.memberlist.liveMembers().length} members`);
        return;
      }
      const wait = JOIN_BACKOFF_MS[Math.min(attempt, JOIN_BACKOFF_MS.length - 1)]!;
      this.info(`gossip: no seed answered, retrying in ${wait} ms`);
      this.joinTimer = setTimeout(() => this.joinWithBackoff(attempt + 1), wait);
      this.joinTimer.unref();
    });
  }

  /**
   * memberlist alone never heals a partition that outlived GossipToTheDeadTime:
   * each side stops talking to the members it declared dead. Like Serf's
   * reconnect, push/pull now and then with one failed member, or with the
   * seeds when nobody else is alive.
   */
  private reconnect(): void {
    const failed = this.memberlist.members().filter((m) => m.state === 'dead');
    const alone = this.memberlist.liveMembers().length <= 1;
    const target = failed[Math.floor(Math.random() * failed.length)];
    if (target !== undefined) {
      this.memberlist.pushPullNode({ addr: target.addr, port: target.port }, false).catch(() => {});
    }
    if (alone && this.settings.seeds.length > 0) {
      void this.memberlist.join(this.settings.seeds.map((s) => ({ addr: s.host, port: s.port })));
    }
  }

  members(): Member[] { return this.memberlist.members(); }

  /** GET /v1/members */
  membersJson(): string {
    const members = this.members().map((m) => ({
      name: m.name, addr: m.addr, port: m.port, state: m.state, incarnation: m.incarnation,
      meta: Buffer.from(m.meta).toString('base64'), protocol: m.vsn.slice(0, 3), delegate: m.vsn.slice(3, 6),
    }));
    return JSON.stringify({ node: this.settings.nodeName, cluster: this.settings.clusterName, health: this.memberlist.health, members }, null, 2) + '\n';
  }

  metricsText(): string { return renderGossipMetrics(this.memberlist, this.rtt); }

  private stopped = false;

  /** Graceful leave, then close the sockets. */
  async stop(leaveTimeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    if (this.reconnectTimer !== null) clearInterval(this.reconnectTimer);
    await this.memberlist.leave(leaveTimeoutMs);
    this.memberlist.shutdown();
    this.transport.close();
  }

  /** kill -9 as far as the cluster can tell: no leave, sockets closed. */
  crash(): void {
    this.stopped = true;
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    if (this.reconnectTimer !== null) clearInterval(this.reconnectTimer);
    this.memberlist.shutdown();
    this.transport.close();
  }
}
