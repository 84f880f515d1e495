/**
 * One gossip member: memberlist's Memberlist, as a state machine driven by an
 * injected clock, random source and transport. Packets in and out go through
 * the codec here; the transitions live in state.ts, probing in probe.ts.
 */
import type { Keyring } from '../codec/crypto.js';
import { bytesToIp, ipToBytes } from '../codec/ip.js';
import { encodeAck, encodeErr, encodeNack, encodePing, encodeUserPacket, type Alive, type IndirectPing, type Ping } from '../codec/messages.js';
import { decodePacket, type PacketMessage, type WireOptions } from '../codec/packet.js';
import { encodePushPull, encodeUserStream, parseStream, sealStream, streamPreamble, type StreamMessage } from '../codec/stream.js';
import { AckHandlers } from './ack-handlers.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { pushPullScale, type GossipConfig } from './config.js';
import { NodeTable, snapshot, type NodeRecord } from './node-table.js';
import { Prober } from './probe.js';
import { Sender } from './sender.js';
import { localNodeStates, verifyProtocol } from './push-pull.js';
import { MembershipState } from './state.js';
import { GossipStats } from './stats.js';
import type { Address, Clock, Delegate, EventDelegate, InboundHandler, Logger, Member, Timer, Transport } from './types.js';

export const META_MAX_SIZE = 512;
const PROTOCOL_MIN = 1;
const PROTOCOL_MAX = 5;

export interface MemberlistOptions {
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly random: () => number;
  readonly transport: Transport;
  readonly keyring?: Keyring | null;
  readonly delegate?: Delegate | null;
  readonly events?: EventDelegate | null;
  readonly log?: Logger;
}

export class Memberlist implements InboundHandler {
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly table: NodeTable;
  readonly awareness: Awareness;
  readonly broadcasts: BroadcastQueue;
  readonly acks: AckHandlers;
  readonly state: MembershipState;
  readonly stats = new GossipStats();
  readonly events: EventDelegate | null;
  readonly log: Logger;
  readonly wire: WireOptions;
  leaving = false;
  private readonly delegate: Delegate | null;
  private readonly transport: Transport;
  private readonly random: () => number;
  private readonly prober: Prober;
  private readonly sender: Sender;
  private readonly timers = new Set<Timer>();
  private seq = 0;
  private stopped = false;

  constructor(o: MemberlistOptions) {
    this.config = o.config;
    this.clock = o.clock;
    this.random = o.random;
    this.transport = o.transport;
    this.delegate = o.delegate ?? null;
    this.events = o.events ?? null;
    this.log = o.log ?? (() => {});
    this.wire = { keyring: o.keyring ?? null, label: o.config.label, compression: o.config.enableCompression, verifyIncoming: o.config.gossipVerifyIncoming };
    this.table = new NodeTable(o.random);
    this.awareness = new Awareness(o.config.awarenessMaxMultiplier, o.config.lifeguard);
    this.broadcasts = new BroadcastQueue(o.config.retransmitMult, () => this.table.size);
    this.acks = new AckHandlers(o.clock);
    this.state = new MembershipState(this);
    this.prober = new Prober(this);
    this.sender = new Sender(this, this.delegate, o.transport);
  }

  /** setAlive and the schedules (memberlist Create + schedule). */
  start(): void {
    this.state.aliveNode(this.localAlive(1), true);
    this.every(this.config.gossipInterval, () => this.gossip());
    this.scheduleProbe(this.config.probeInterval * this.random());
    this.schedulePushPull();
  }

  private localAlive(incarnation: number): Alive {
    const c = this.config;
    const meta = this.delegate?.nodeMeta(META_MAX_SIZE) ?? new Uint8Array(0);
    if (meta.length > META_MAX_SIZE) throw new Error(`node meta of ${meta.length} bytes exceeds ${META_MAX_SIZE}`);
    const vsn = [PROTOCOL_MIN, PROTOCOL_MAX, c.protocolVersion, c.delegateProtocolMin, c.delegateProtocolMax, c.delegateProtocolVersion];
    return { incarnation, node: c.name, addr: ipToBytes(c.advertiseAddr), port: c.advertisePort, meta, vsn: Uint8Array.from(vsn) };
  }

  private timer(ms: number, fn: () => void): void {
    const t = this.clock.setTimer(ms, () => { this.timers.delete(t); if (!this.stopped) fn(); });
    this.timers.add(t);
  }

  private every(ms: number, fn: () => void): void {
    this.timer(ms * this.random(), function tick(this: Memberlist) { fn(); this.timer(ms, tick.bind(this)); }.bind(this));
  }

  /** A probe per tick; a slow probe (bad health) pushes the next one to the following tick. */
  private scheduleProbe(ms: number): void {
    this.timer(ms, () => {
      const started = this.clock.now();
      const next = (): void => {
        const took = this.clock.now() - started;
        const interval = this.config.probeInterval;
        this.scheduleProbe(Math.max(interval, Math.ceil(took / interval) * interval) - took);
      };
      if (!this.prober.probe(next)) next();
    });
  }

  private schedulePushPull(): void {
    const interval = pushPullScale(this.config.pushPullInterval, this.table.size);
    this.timer(interval * (this.table.size <= 1 ? 1 : 0.5 + this.random() / 2), () => {
      const peer = this.table.kRandom(1, (n) => n.name === this.config.name || n.state !== 'alive')[0];
      if (peer !== undefined) {
        this.pushPullNode({ addr: peer.addr, port: peer.port }, false).catch((err: Error) => {
          this.log('warn', `gossip: push/pull with ${peer.name} failed: ${err.message}`);
        });
      }
      this.schedulePushPull();
    });
  }

  nextSeqNo(): number { this.seq = (this.seq + 1) >>> 0; return this.seq; }

  sendMsg(to: Address, msg: Uint8Array): void { this.sender.sendMsg(to, msg); }

  sendRaw(to: Address, msg: Uint8Array, crc: boolean): void { this.sender.send(to, msg, crc); }

  gossip(): void { this.sender.gossip(); }

  // ---- receiving ----

  handlePacket(buf: Uint8Array, from: Address): void {
    if (this.stopped) return;
    this.stats.packetsReceived++;
    this.stats.bytesReceived += buf.length;
    let messages: PacketMessage[];
    try {
      const decoded = decodePacket(buf, this.wire);
      messages = decoded.messages;
      this.stats.badPackets += decoded.bad;
    } catch (err) {
      this.stats.badPackets++;
      this.log('debug', `gossip: dropped a packet from ${from.addr}:${from.port}: ${(err as Error).message}`);
      return;
    }
    for (const m of messages) {
      // A well-formed message can still carry nonsense (a 5-byte address): drop it, never crash.
      try {
        this.handleMessage(m, from);
      } catch (err) {
        this.stats.badPackets++;
        this.log('debug', `gossip: dropped a ${m.kind} from ${from.addr}:${from.port}: ${(err as Error).message}`);
      }
    }
  }

  private handleMessage(m: PacketMessage, from: Address): void {
    switch (m.kind) {
      case 'ping': return this.handlePing(m.msg, from);
      case 'indirectPing': return this.handleIndirectPing(m.msg, from);
      case 'ack': this.acks.ack(m.msg.seqNo, m.msg.payload); return;
      case 'nack': return this.acks.nack(m.msg.seqNo);
      case 'alive': return this.state.aliveNode(m.msg, false);
      case 'suspect': return this.state.suspectNode(m.msg);
      case 'dead': return this.state.deadNode(m.msg);
      case 'user': this.delegate?.notifyMsg(m.payload); return;
    }
  }

  private replyTo(p: Ping, from: Address): Address {
    const addr = p.sourceAddr !== undefined && p.sourceAddr.length > 0 ? bytesToIp(p.sourceAddr) : '';
    return addr !== '' && p.sourcePort ? { addr, port: p.sourcePort } : from;
  }

  private handlePing(p: Ping, from: Address): void {
    if (p.node !== '' && p.node !== this.config.name) return;
    this.sendMsg(this.replyTo(p, from), encodeAck({ seqNo: p.seqNo, payload: null }));
  }

  private handleIndirectPing(ind: IndirectPing, from: Address): void {
    const origin = this.replyTo(ind, from);
    const seqNo = this.nextSeqNo();
    const c = this.config;
    const ping = encodePing({ seqNo, node: ind.node, sourceAddr: ipToBytes(c.advertiseAddr), sourceNode: c.name, sourcePort: c.advertisePort });
    this.acks.set(seqNo, c.probeTimeout, () => this.sendMsg(origin, encodeAck({ seqNo: ind.seqNo, payload: null })), () => {}, () => {
      if (ind.nack) this.sendMsg(origin, encodeNack({ seqNo: ind.seqNo }));
    });
    this.sendMsg({ addr: bytesToIp(ind.target), port: ind.port === 0 ? c.bindPort : ind.port }, ping);
  }

  parseStream(buf: Uint8Array): StreamMessage | null { return parseStream(buf, this.wire, true); }

  async handleStream(msg: StreamMessage, from: Address): Promise<Uint8Array | null> {
    this.stats.streamsReceived++;
    switch (msg.kind) {
      case 'ping':
        if (msg.msg.node !== '' && msg.msg.node !== this.config.name) return null;
        return sealStream(encodeAck({ seqNo: msg.msg.seqNo, payload: null }), this.wire);
      case 'user':
        this.delegate?.notifyMsg(msg.payload);
        return null;
      case 'pushPull': {
        const reply = this.localStateBytes(msg.header.join);
        const err = this.mergeRemote(msg);
        if (err !== null) this.log('warn', `gossip: refused push/pull from ${from.addr}:${from.port}: ${err}`);
        return reply;
      }
      default:
        return sealStream(encodeErr(`unexpected ${msg.kind} stream`), this.wire);
    }
  }

  private localStateBytes(join: boolean): Uint8Array {
    const user = this.delegate?.localState(join) ?? new Uint8Array(0);
    return sealStream(encodePushPull(join, localNodeStates(this.table), user), this.wire);
  }

  /** Returns an error text if the peer's versions are incompatible. */
  private mergeRemote(msg: Extract<StreamMessage, { kind: 'pushPull' }>): string | null {
    const err = verifyProtocol(msg.nodes, this.table);
    if (err !== null) return err;
    this.state.mergeState(msg.nodes);
    if (msg.userState.length > 0) this.delegate?.mergeRemoteState(msg.userState, msg.header.join);
    return null;
  }

  private async stream(to: Address, msg: Uint8Array, reply: boolean, timeoutMs = this.config.tcpTimeout): Promise<StreamMessage | null> {
    this.stats.streamsSent++;
    const data = Buffer.concat([streamPreamble(this.wire), sealStream(msg, this.wire)]);
    const parse = reply ? (buf: Uint8Array) => parseStream(buf, this.wire, false) : null;
    return this.transport.request(to, data, parse, timeoutMs);
  }

  async pushPullNode(to: Address, join: boolean): Promise<void> {
    const user = this.delegate?.localState(join) ?? new Uint8Array(0);
    const reply = await this.stream(to, encodePushPull(join, localNodeStates(this.table), user), true);
    if (reply?.kind === 'err') throw new Error(`remote error: ${reply.error}`);
    if (reply?.kind !== 'pushPull') throw new Error('peer did not answer with its state');
    const err = this.mergeRemote(reply);
    if (err !== null) throw new Error(err);
  }

  async tcpPing(to: Address, ping: Ping, timeoutMs: number): Promise<boolean> {
    try {
      const reply = await this.stream(to, encodePing(ping), true, Math.max(1, timeoutMs));
      return reply?.kind === 'ack' && reply.msg.seqNo === ping.seqNo;
    } catch {
      return false;
    }
  }

  // ---- the public API ----

  /** Push/pull with each address; resolves to the number that answered (memberlist Join). */
  async join(addrs: readonly Address[]): Promise<number> {
    const results = await Promise.allSettled(addrs.map((a) => this.pushPullNode(a, true)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.log('warn', `gossip: join ${addrs[i]!.addr}:${addrs[i]!.port} failed: ${(r.reason as Error).message}`);
    });
    return results.filter((r) => r.status === 'fulfilled').length;
  }

  /** Graceful leave: broadcast dead{From: self}; resolves when it has been gossiped or after `timeoutMs`. */
  leave(timeoutMs: number): Promise<void> {
    const me = this.table.get(this.config.name);
    if (me === undefined || this.leaving) return Promise.resolve();
    this.leaving = true;
    const others = this.table.list.some((n) => n.name !== me.name && n.state === 'alive');
    return new Promise((resolve) => {
      const t = this.clock.setTimer(others ? timeoutMs : 0, resolve);
      this.state.deadNode({ incarnation: me.incarnation, node: me.name, from: me.name }, () => { t.cancel(); resolve(); });
      if (others) this.gossip();
    });
  }

  shutdown(): void {
    this.stopped = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.acks.clear();
    this.state.cancelAll();
    this.broadcasts.clear();
  }

  /** Change our meta: alive with incarnation + 1 (memberlist UpdateNode). */
  updateNode(): void {
    const me = this.table.get(this.config.name);
    if (me === undefined) return;
    this.state.aliveNode(this.localAlive(me.incarnation + 1), true);
  }

  members(): Member[] { return this.table.list.map(snapshot); }

  /** Alive and suspect members, as memberlist Members(). */
  liveMembers(): Member[] { return this.members().filter((m) => m.state === 'alive' || m.state === 'suspect'); }

  get localNode(): Member | undefined { const me = this.table.get(this.config.name); return me && snapshot(me); }

  get health(): number { return this.awareness.health; }

  sendBestEffort(to: Member, payload: Uint8Array): void {
    this.sender.send({ addr: to.addr, port: to.port }, encodeUserPacket(payload), (to.vsn[1] ?? 0) >= 5);
  }

  async sendReliable(to: Member, payload: Uint8Array): Promise<void> {
    await this.stream({ addr: to.addr, port: to.port }, encodeUserStream(payload), false);
  }

  nodeRecord(name: string): NodeRecord | undefined { return this.table.get(name); }
}
