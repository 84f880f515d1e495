/**
 * Many members over a VirtualNetwork with a VirtualClock: the harness of the
 * protocol unit tests and of the simulator (bench/gossip/sim.ts).
 */
import { makeConfig, type GossipConfig, type Profile } from '../protocol/config.js';
import { Memberlist } from '../protocol/memberlist.js';
import type { Address, Delegate, EventDelegate, Member } from '../protocol/types.js';
import { VirtualClock } from './virtual-clock.js';
import { seededRandom } from '../../seeded-random.js';
import { VirtualNetwork, type LinkModel } from './virtual-network.js';

export interface ClusterOptions {
  readonly seed?: number;
  readonly profile?: Profile;
  readonly link?: Partial<LinkModel>;
  readonly config?: Partial<GossipConfig>;
  readonly delegate?: (name: string) => Delegate | null;
  /** Called on every membership event, with the observer's name. */
  readonly onEvent?: (observer: string, kind: 'join' | 'leave' | 'update', node: Member, at: number) => void;
}

export const addressOf = (i: number): Address => ({ addr: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, port: 7946 });
export const nameOf = (i: number): string => `node-${i}`;

export class SimCluster {
  readonly clock = new VirtualClock();
  readonly random: () => number;
  readonly net: VirtualNetwork;
  readonly nodes = new Map<string, Memberlist>();

  constructor(private readonly opts: ClusterOptions = {}) {
    this.random = seededRandom(opts.seed ?? 1);
    this.net = new VirtualNetwork(this.clock, this.random, { loss: 0, delay: 1, jitter: 1, ...opts.link });
  }

  /** Create and start member i (not yet joined). */
  add(i: number, config: Partial<GossipConfig> = {}): Memberlist {
    const name = nameOf(i);
    const at = addressOf(i);
    const cfg = makeConfig(this.opts.profile ?? 'lan', {
      name, advertiseAddr: at.addr, advertisePort: at.port, enableCompression: false, ...this.opts.config, ...config,
    });
    const on = this.opts.onEvent;
    const events: EventDelegate | null = on === undefined ? null : {
      notifyJoin: (n) => on(name, 'join', n, this.clock.now()),
      notifyLeave: (n) => on(name, 'leave', n, this.clock.now()),
      notifyUpdate: (n) => on(name, 'update', n, this.clock.now()),
    };
    const m = new Memberlist({
      config: cfg, clock: this.clock, random: this.random, transport: this.net.transportFor(at),
      delegate: this.opts.delegate?.(name) ?? null, events,
    });
    this.net.attach(at, m);
    this.nodes.set(name, m);
    m.start();
    return m;
  }

  /** n members, each joining member 0, then time for gossip to settle. */
  async form(n: number, settleMs = 5_000): Promise<void> {
    this.add(0);
    for (let i = 1; i < n; i++) {
      const m = this.add(i);
      void m.join([addressOf(0)]);
      if (i % 50 === 0) await this.clock.advance(10);
    }
    await this.clock.advance(settleMs);
  }

  /**
   * n members that already know each other (as after gossip settled), without
   * the O(n²) join traffic: for large simulations.
   */
  formConverged(n: number): void {
    const members = Array.from({ length: n }, (_, i) => this.add(i));
    const alives = members.map((m) => m.state.aliveOf(m.nodeRecord(m.config.name)!));
    for (const m of members) {
      for (const a of alives) if (a.node !== m.config.name) m.state.aliveNode(a, false);
      m.broadcasts.clear();
    }
  }

  get(i: number): Memberlist {
    const m = this.nodes.get(nameOf(i));
    if (m === undefined) throw new Error(`no member ${i}`);
    return m;
  }

  /** kill -9: no leave, packets to it vanish. */
  kill(i: number): void {
    this.get(i).shutdown();
    this.net.detach(addressOf(i));
    this.nodes.delete(nameOf(i));
  }

  /** The state member `observer` holds about `subject`. */
  stateOf(observer: number, subject: number): string | undefined {
    return this.get(observer).nodeRecord(nameOf(subject))?.state;
  }

  /** Advance in steps until `pred` holds; returns the virtual time it took, or -1 after `maxMs`. */
  async until(pred: () => boolean, maxMs: number, stepMs = 50): Promise<number> {
    const start = this.clock.now();
    while (!pred()) {
      if (this.clock.now() - start >= maxMs) return -1;
      await this.clock.advance(stepMs);
    }
    return this.clock.now() - start;
  }

  shutdown(): void { for (const m of this.nodes.values()) m.shutdown(); }
}
