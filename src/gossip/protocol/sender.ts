/**
 * Outgoing packets (memberlist net.go sendMsg/rawSendMsgPacket, state.go
 * gossip): pending broadcasts ride along with every ping, ack and nack up to
 * the 1400-byte budget, and a gossip round sends the rest to a few members.
 */
import { ENCRYPT_OVERHEAD } from '../codec/crypto.js';
import { makeCompound, MAX_COMPOUND_PARTS } from '../codec/layers.js';
import { encodeUserPacket } from '../codec/messages.js';
import { sealPacket, type WireOptions } from '../codec/packet.js';
import type { BroadcastQueue } from './broadcast-queue.js';
import type { GossipConfig } from './config.js';
import type { NodeTable } from './node-table.js';
import type { GossipStats } from './stats.js';
import type { Address, Clock, Delegate, Transport } from './types.js';

export interface SenderContext {
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly table: NodeTable;
  readonly broadcasts: BroadcastQueue;
  readonly stats: GossipStats;
  readonly wire: WireOptions;
}

/** Compound header (2) and per-part length (2), as memberlist counts them. */
const COMPOUND_HEADER = 2;
const PART_OVERHEAD = 2;

export class Sender {
  constructor(private readonly ctx: SenderContext, private readonly delegate: Delegate | null, private readonly transport: Transport) {}

  send(to: Address, msg: Uint8Array, crc: boolean): void {
    const buf = sealPacket(msg, this.ctx.wire, crc);
    this.ctx.stats.packetsSent++;
    this.ctx.stats.bytesSent += buf.length;
    this.transport.sendPacket(to, buf);
  }

  private budget(): number {
    const { config, wire } = this.ctx;
    let budget = config.udpBufferSize - COMPOUND_HEADER;
    if (wire.keyring !== null) budget -= ENCRYPT_OVERHEAD;
    if (config.label !== '') budget -= 2 + Buffer.byteLength(config.label);
    return budget;
  }

  /** memberlist getBroadcasts: ours first, then the delegate's user broadcasts (08-prefixed). */
  private take(limit: number): Uint8Array[] {
    const msgs = this.ctx.broadcasts.get(PART_OVERHEAD, limit).slice(0, MAX_COMPOUND_PARTS - 1);
    if (this.delegate === null) return msgs;
    const used = msgs.reduce((n, m) => n + PART_OVERHEAD + m.length, 0);
    const user = this.delegate.getBroadcasts(PART_OVERHEAD + 1, limit - used).map(encodeUserPacket);
    return [...msgs, ...user].slice(0, MAX_COMPOUND_PARTS - 1);
  }

  /** A message with whatever broadcasts fit beside it; no CRC (memberlist passes no node here). */
  sendMsg(to: Address, msg: Uint8Array): void {
    const extra = this.take(this.budget() - msg.length);
    this.send(to, extra.length === 0 ? msg : makeCompound([msg, ...extra]), false);
  }

  /** Gossip to up to GossipNodes members: alive, suspect, or dead for less than GossipToTheDeadTime. */
  gossip(): void {
    const { config, table, clock } = this.ctx;
    const now = clock.now();
    const peers = table.kRandom(config.gossipNodes, (n) => n.name === config.name || n.state === 'left'
      || (n.state === 'dead' && now - n.stateChange > config.gossipToTheDeadTime));
    for (const peer of peers) {
      const msgs = this.take(this.budget());
      if (msgs.length === 0) return;
      this.send({ addr: peer.addr, port: peer.port }, msgs.length === 1 ? msgs[0]! : makeCompound(msgs), (peer.vsn[1] ?? 0) >= 5);
    }
  }
}
