/**
 * SWIM failure detection with Lifeguard (memberlist state.go: probe,
 * probeNode): one member per probe interval, walking the shuffled list; a
 * direct ping, then after ProbeTimeout indirect pings through k members
 * (asking for nacks) and a TCP ping; no ack by the deadline → suspect.
 */
import { encodeIndirectPing, encodePing, encodeSuspect, type Ping } from '../codec/messages.js';
import { makeCompound } from '../codec/layers.js';
import { ipToBytes } from '../codec/ip.js';
import type { AckHandlers } from './ack-handlers.js';
import type { Awareness } from './awareness.js';
import type { GossipConfig } from './config.js';
import type { NodeRecord, NodeTable } from './node-table.js';
import type { MembershipState } from './state.js';
import type { GossipStats } from './stats.js';
import type { Address, Clock, Logger } from './types.js';

export interface ProbeContext {
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly table: NodeTable;
  readonly awareness: Awareness;
  readonly acks: AckHandlers;
  readonly state: MembershipState;
  readonly stats: GossipStats;
  readonly log: Logger;
  nextSeqNo(): number;
  /** Send with piggybacked gossip, no CRC (memberlist sendMsg). */
  sendMsg(to: Address, msg: Uint8Array): void;
  /** Send as is; `crc` when the peer speaks protocol 5 (rawSendMsgPacket with a node). */
  sendRaw(to: Address, msg: Uint8Array, crc: boolean): void;
  /** TCP ping; resolves true if the node answered with the right ack. */
  tcpPing(to: Address, ping: Ping, timeoutMs: number): Promise<boolean>;
}

const pMax = (n: NodeRecord): number => n.vsn[1] ?? 0;

export class Prober {
  private index = 0;

  constructor(private readonly ctx: ProbeContext) {}

  /** Probe the next member; `done` runs when this probe is over. Returns false if there was nobody to probe. */
  probe(done: () => void): boolean {
    const { table, config, clock } = this.ctx;
    let checked = 0;
    while (checked < table.size) {
      if (this.index >= table.size) {
        table.reapAndShuffle(clock.now(), config.gossipToTheDeadTime);
        this.index = 0;
        checked++;
        continue;
      }
      const node = table.list[this.index++]!;
      if (node.name === config.name || node.state === 'dead' || node.state === 'left') { checked++; continue; }
      this.probeNode(node, done);
      return true;
    }
    return false;
  }

  private source(): Pick<Ping, 'sourceAddr' | 'sourceNode' | 'sourcePort'> {
    const c = this.ctx.config;
    return { sourceAddr: ipToBytes(c.advertiseAddr), sourceNode: c.name, sourcePort: c.advertisePort };
  }

  probeNode(node: NodeRecord, done: () => void): void {
    const { ctx } = this;
    const { config, clock } = ctx;
    const lifeguard = config.lifeguard;
    const interval = ctx.awareness.scaleTimeout(config.probeInterval);
    const ping: Ping = { seqNo: ctx.nextSeqNo(), node: node.name, ...this.source() };
    const to = { addr: node.addr, port: node.port };
    const sent = clock.now();
    let acked = false;
    let nacks = 0;
    let expectedNacks = 0;
    let fallback: Promise<boolean> = Promise.resolve(false);
    ctx.stats.probes++;
    const early = clock.setTimer(config.probeTimeout, () => {
      if (acked) return;
      const relays = ctx.table.kRandom(config.indirectChecks, (n) => n.name === config.name || n.name === node.name || n.state !== 'alive');
      for (const relay of relays) {
        const nack = lifeguard && pMax(relay) >= 4;
        if (nack) expectedNacks++;
        ctx.sendMsg({ addr: relay.addr, port: relay.port }, encodeIndirectPing({ ...ping, target: ipToBytes(node.addr), port: node.port, nack }));
      }
      if (!config.disableTcpPings && pMax(node) >= 3) fallback = ctx.tcpPing(to, ping, sent + interval - clock.now());
    });
    ctx.acks.set(ping.seqNo, interval, (_payload, at) => {
      acked = true;
      early.cancel();
      ctx.stats.onRtt(at - sent);
      // Only a direct ack in time counts as good health, as in probeNode.
      if (at - sent <= config.probeTimeout) ctx.awareness.applyDelta(-1);
      done();
    }, () => { nacks++; }, () => {
      early.cancel();
      void fallback.then((contacted) => {
        if (contacted) {
          ctx.log('warn', `gossip: reached ${node.name} over TCP but not UDP; the network may be misconfigured`);
        } else {
          this.failed(node, expectedNacks, nacks);
        }
        done();
      });
    });
    if (node.state === 'alive') {
      ctx.sendMsg(to, encodePing(ping));
    } else {
      // The buddy hint: tell a suspect node it is suspected so it can refute.
      const parts = lifeguard ? [encodePing(ping), encodeSuspect({ incarnation: node.incarnation, node: node.name, from: config.name })] : [encodePing(ping)];
      ctx.sendRaw(to, parts.length > 1 ? makeCompound(parts) : parts[0]!, pMax(node) >= 5);
    }
  }

  private failed(node: NodeRecord, expectedNacks: number, nacks: number): void {
    const { ctx } = this;
    ctx.stats.probeFailures++;
    ctx.awareness.applyDelta(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1);
    ctx.log('debug', `gossip: no ack from ${node.name}, suspecting it`);
    ctx.state.suspectNode({ incarnation: node.incarnation, node: node.name, from: ctx.config.name });
  }
}
