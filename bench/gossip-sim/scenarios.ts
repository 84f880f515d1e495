/**
 * Simulator scenarios: many members of the real protocol state machine over a
 * virtual network and clock (src/gossip/sim). Every figure is in virtual time.
 */
import { SimCluster, addressOf, nameOf } from '../../src/gossip/sim/cluster.js';
import type { GossipConfig } from '../../src/gossip/protocol/config.js';
import type { Member } from '../../src/gossip/protocol/types.js';

/** Per member and second: UDP datagrams and bytes, and TCP (push/pull, TCP ping) bytes. */
export interface Load { readonly msgsPerNodeSec: number; readonly bytesPerNodeSec: number; readonly streamBytesPerNodeSec: number }
export interface Detection { readonly first: number; readonly all: number; readonly load: Load }

/**
 * Members join random earlier members, then gossip settles until every member
 * lists all n. Above 100 members the cluster starts converged instead (the
 * n² join gossip would dominate the run time).
 */
async function grow(c: SimCluster, n: number, alive: () => number): Promise<void> {
  if (n > 100) {
    c.formConverged(n);
    return;
  }
  c.add(0);
  for (let i = 1; i < n; i++) {
    const m = c.add(i);
    void m.join([addressOf(Math.floor(c.random() * i))]);
    await c.clock.advance(20);
  }
  const t = await c.until(() => alive() >= n * n, 300_000, 500);
  if (t < 0) throw new Error(`${n} members did not converge`);
}

/** Kill one member and time its first and last "dead" among the others. */
export async function detection(n: number, seed: number, config: Partial<GossipConfig> = {}): Promise<Detection> {
  const dead = new Map<string, number>();
  let aliveViews = 0;
  let killedAt = Infinity;
  const victim = nameOf(n - 1 - (seed % Math.max(1, n - 1)));
  const onEvent = (_o: string, kind: string, node: Member, at: number): void => {
    if (kind === 'join') aliveViews++;
    if (kind === 'leave' && node.name === victim && at >= killedAt && !dead.has(_o)) dead.set(_o, at - killedAt);
  };
  const c = new SimCluster({ seed, link: { loss: 0, delay: 1, jitter: 2 }, config, onEvent });
  await grow(c, n, () => aliveViews);
  await c.clock.advance(10_000);
  const [p0, b0, s0] = [c.net.packets, c.net.bytes, c.net.streamBytes];
  // Long enough to include periodic push/pulls (30 s × pushPullScale).
  const window = 120_000;
  await c.clock.advance(window);
  const per = (x: number): number => x / n / (window / 1000);
  const load = { msgsPerNodeSec: per(c.net.packets - p0), bytesPerNodeSec: per(c.net.bytes - b0), streamBytesPerNodeSec: per(c.net.streamBytes - s0) };
  killedAt = c.clock.now();
  c.kill(Number(victim.slice(5)));
  await c.until(() => dead.size >= n - 1, 300_000, 100);
  c.shutdown();
  const times = [...dead.values()].sort((a, b) => a - b);
  return { first: times[0] ?? NaN, all: times[n - 2] ?? NaN, load };
}

export interface FalsePositives {
  /** Healthy members declared dead (once per member and incarnation). */
  readonly episodes: number;
  /** Stalled members declared dead: slow, but alive. */
  readonly stalledEpisodes: number;
  readonly nodeHours: number;
  /** Every member's declaration about a healthy member counts. */
  readonly declarations: number;
}

/**
 * No member fails; every datagram is lost with probability `loss`. An episode
 * is a live member declared dead (counted once per member and incarnation);
 * declarations count every member that declared it.
 */
export interface Stall { readonly members: number; readonly periodMs: number; readonly stallMs: number }

export async function falsePositives(n: number, loss: number, minutes: number, seed: number, config: Partial<GossipConfig>,
  stall: Stall | null = null): Promise<FalsePositives> {
  const episodes = new Set<string>();
  const stalledEpisodes = new Set<string>();
  const stalled = new Set<string>();
  let declarations = 0;
  let aliveViews = 0;
  let measuring = false;
  const onEvent = (_o: string, kind: string, node: Member): void => {
    if (kind === 'join') aliveViews++;
    if (!measuring || kind !== 'leave' || node.state !== 'dead') return;
    if (stalled.has(node.name)) { stalledEpisodes.add(`${node.name}/${node.incarnation}`); return; }
    declarations++;
    episodes.add(`${node.name}/${node.incarnation}`);
  };
  const c = new SimCluster({ seed, link: { loss: 0, delay: 1, jitter: 2 }, config, onEvent });
  await grow(c, n, () => aliveViews);
  c.net.link = { loss, delay: 1, jitter: 2 };
  for (let i = 0; i < (stall?.members ?? 0); i++) {
    c.net.stall(addressOf(i), stall!.periodMs, stall!.stallMs, c.random() * stall!.periodMs);
    stalled.add(nameOf(i));
  }
  measuring = true;
  await c.clock.advance(minutes * 60_000);
  c.shutdown();
  return { episodes: episodes.size, stalledEpisodes: stalledEpisodes.size, nodeHours: (n * minutes) / 60, declarations };
}
