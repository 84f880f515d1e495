/**
 * Membership transitions: alive, suspect, dead, refute and push/pull merge,
 * with memberlist's precedence rules (state.go: aliveNode, suspectNode,
 * deadNode, refute, mergeState; memberlist-wire.md §10).
 */
import { bytesToIp, ipToBytes } from '../codec/ip.js';
import { encodeAlive, encodeDead, encodeSuspect, NodeState, type Accusation, type Alive, type PushNodeState } from '../codec/messages.js';
import type { Awareness } from './awareness.js';
import type { BroadcastQueue } from './broadcast-queue.js';
import { suspicionTimeout, type GossipConfig } from './config.js';
import { snapshot, type NodeTable, type NodeRecord } from './node-table.js';
import type { GossipStats } from './stats.js';
import { Suspicion } from './suspicion.js';
import type { Clock, EventDelegate, Logger } from './types.js';

export interface StateContext {
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly table: NodeTable;
  readonly awareness: Awareness;
  readonly broadcasts: BroadcastQueue;
  readonly events: EventDelegate | null;
  readonly log: Logger;
  readonly stats: GossipStats;
  readonly leaving: boolean;
}

const sameBytes = (a: Uint8Array | readonly number[], b: Uint8Array | readonly number[]): boolean =>
  a.length === b.length && [...a].every((x, i) => x === b[i]);

export class MembershipState {
  private readonly timers = new Map<string, Suspicion>();

  constructor(private readonly ctx: StateContext) {}

  private get self(): string { return this.ctx.config.name; }

  aliveNode(a: Alive, bootstrap: boolean, done: (() => void) | null = null): void {
    const { ctx } = this;
    if (ctx.leaving && a.node === this.self) return;
    if (a.vsn.length >= 3 && (a.vsn[0] === 0 || a.vsn[1] === 0 || a.vsn[0]! > a.vsn[1]!)) return;
    if (a.vsn.length > 0 && a.vsn.length < 6) return; // a short Vsn crashes 0.2.2 peers; never re-gossip one
    const addr = bytesToIp(a.addr);
    const port = a.port === 0 ? ctx.config.bindPort : a.port;
    let node = ctx.table.get(a.node);
    let updatesNode = false;
    if (node === undefined) {
      node = { name: a.node, addr, port, meta: a.meta ?? new Uint8Array(0), incarnation: 0, state: 'dead', stateChange: ctx.clock.now(), vsn: [...a.vsn] };
      ctx.table.add(node);
    } else if (node.addr !== addr || node.port !== port) {
      const reclaim = ctx.config.deadNodeReclaimTime > 0 && ctx.clock.now() - node.stateChange > ctx.config.deadNodeReclaimTime;
      if (node.state === 'left' || (node.state === 'dead' && reclaim)) {
        updatesNode = true;
        ctx.log('info', `gossip: ${a.node} moves from ${node.addr}:${node.port} to ${addr}:${port}`);
      } else {
        ctx.log('warn', `gossip: conflicting address for ${a.node}: ${node.addr}:${node.port} vs ${addr}:${port}`);
        return;
      }
    }
    const isLocal = node.name === this.self;
    if (a.incarnation <= node.incarnation && !isLocal && !updatesNode) return;
    if (a.incarnation < node.incarnation && isLocal) return;
    this.clearTimer(a.node);
    const oldState = node.state;
    const oldMeta = node.meta;
    if (!bootstrap && isLocal) {
      if (a.incarnation === node.incarnation && sameBytes(a.meta ?? [], node.meta) && sameBytes(a.vsn, node.vsn)) return;
      this.refute(node, a.incarnation);
      ctx.log('warn', `gossip: refuting an alive message about ourselves (incarnation ${a.incarnation})`);
      return;
    }
    ctx.broadcasts.queue(a.node, encodeAlive(a), done);
    if (a.vsn.length > 0) node.vsn = [...a.vsn];
    node.incarnation = a.incarnation;
    node.meta = a.meta ?? new Uint8Array(0);
    node.addr = addr;
    node.port = port;
    if (node.state !== 'alive') { node.state = 'alive'; node.stateChange = ctx.clock.now(); }
    if (oldState === 'dead' || oldState === 'left') ctx.events?.notifyJoin(snapshot(node));
    else if (!sameBytes(oldMeta, node.meta)) ctx.events?.notifyUpdate(snapshot(node));
  }

  suspectNode(s: Accusation): void {
    const { ctx } = this;
    const node = ctx.table.get(s.node);
    if (node === undefined || s.incarnation < node.incarnation) return;
    const timer = this.timers.get(s.node);
    if (timer !== undefined) {
      if (timer.confirm(s.from)) ctx.broadcasts.queue(s.node, encodeSuspect(s));
      return;
    }
    if (node.state !== 'alive') return;
    if (node.name === this.self) {
      this.refute(node, s.incarnation);
      ctx.log('warn', `gossip: refuting a suspect message from ${s.from}`);
      return;
    }
    ctx.broadcasts.queue(s.node, encodeSuspect(s));
    ctx.stats.suspicions++;
    node.incarnation = s.incarnation;
    node.state = 'suspect';
    const changeTime = ctx.clock.now();
    node.stateChange = changeTime;
    ctx.log('info', `gossip: ${s.node} is suspect (from ${s.from})`);
    this.startTimer(node, s.from, changeTime);
  }

  private startTimer(node: NodeRecord, from: string, changeTime: number): void {
    const { config, table } = this.ctx;
    const n = table.size;
    let k = config.suspicionMult - 2;
    if (n - 2 < k || !config.lifeguard) k = 0;
    const min = suspicionTimeout(config.suspicionMult, n, config.probeInterval);
    const max = config.suspicionMaxTimeoutMult * min;
    this.timers.set(node.name, new Suspicion(this.ctx.clock, from, k, min, max, (confirmations) => {
      if (node.state !== 'suspect' || node.stateChange !== changeTime) return;
      this.ctx.log('info', `gossip: marking ${node.name} dead, suspicion timed out (${confirmations} peer confirmations)`);
      this.deadNode({ incarnation: node.incarnation, node: node.name, from: this.self });
    }));
  }

  private clearTimer(name: string): void {
    this.timers.get(name)?.cancel();
    this.timers.delete(name);
  }

  deadNode(d: Accusation, done: (() => void) | null = null): void {
    const { ctx } = this;
    const node = ctx.table.get(d.node);
    if (node === undefined || d.incarnation < node.incarnation) return;
    this.clearTimer(d.node);
    if (node.state === 'dead' || node.state === 'left') return;
    if (node.name === this.self && !ctx.leaving) {
      this.refute(node, d.incarnation);
      ctx.log('warn', `gossip: refuting a dead message from ${d.from}`);
      return;
    }
    ctx.broadcasts.queue(d.node, encodeDead(d), done);
    node.incarnation = d.incarnation;
    node.state = d.node === d.from ? 'left' : 'dead';
    node.stateChange = ctx.clock.now();
    if (node.state === 'dead') ctx.stats.deaths++;
    ctx.log('debug', `gossip: ${d.node} is ${node.state}`);
    ctx.events?.notifyLeave(snapshot(node));
  }

  /** Someone accused us: outbid the accusation and say we are alive (state.go refute). */
  refute(me: NodeRecord, accused: number): void {
    me.incarnation = Math.max(me.incarnation + 1, accused + 1) >>> 0;
    this.ctx.awareness.applyDelta(1);
    this.ctx.stats.refutations++;
    this.ctx.broadcasts.queue(me.name, encodeAlive(this.aliveOf(me)));
  }

  aliveOf(n: NodeRecord): Alive {
    return { incarnation: n.incarnation, node: n.name, addr: ipToBytes(n.addr), port: n.port, meta: n.meta, vsn: Uint8Array.from(n.vsn) };
  }

  /** Push/pull merge: a remote dead is only a suspicion here (§7). */
  mergeState(remote: readonly PushNodeState[]): void {
    for (const r of remote) {
      switch (r.state) {
        case NodeState.alive:
          this.aliveNode({ incarnation: r.incarnation, node: r.name, addr: r.addr, port: r.port, meta: r.meta, vsn: r.vsn }, false);
          break;
        case NodeState.left:
          this.deadNode({ incarnation: r.incarnation, node: r.name, from: r.name });
          break;
        case NodeState.dead:
        case NodeState.suspect:
          this.suspectNode({ incarnation: r.incarnation, node: r.name, from: this.self });
          break;
        default:
          break;
      }
    }
  }

  cancelAll(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }
}
