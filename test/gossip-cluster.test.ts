// Real Outrigger processes forming a gossip cluster on loopback (kernel-picked ports).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Cleanup } from './support/cleanup.js';
import { runCli, startOutrigger, type Outrigger } from './support/outrigger.js';
import { waitFor } from './support/wait.js';
import { SPREAD_MS } from './support/spread.js';

const cleanup = new Cleanup();
const SITE = 'http://127.0.0.1:9';

interface MemberView { name: string; addr: string; port: number; state: string; incarnation: number }
interface MembersDoc { node: string; members: MemberView[] }

async function members(o: Outrigger): Promise<MembersDoc> {
  const res = await fetch(`${o.base}/v1/members`);
  assert.equal(res.status, 200);
  return (await res.json()) as MembersDoc;
}

async function node(name: string, extra: string[] = [], port = 0): Promise<Outrigger> {
  const o = await startOutrigger(['--gossip-bind', `127.0.0.1:${port}`, '--api-address', '127.0.0.1:0', '--node-name', name, '--log', ...extra, SITE]);
  cleanup.track(o);
  return o;
}

async function gossipPort(o: Outrigger): Promise<number> {
  const doc = await members(o);
  const me = doc.members.find((m) => m.name === doc.node);
  assert.ok(me, 'a member lists itself');
  return me.port;
}

const stateOf = async (o: Outrigger, name: string): Promise<string | undefined> =>
  (await members(o)).members.find((m) => m.name === name)?.state;

const everyoneSees = (nodes: Outrigger[], name: string, state: string) => async (): Promise<boolean> =>
  (await Promise.all(nodes.map((o) => stateOf(o, name)))).every((s) => s === state);

// LAN defaults: a probe round over the 4 others (4 × 1 s) plus the probe itself (1 s), then at
// worst the full Lifeguard suspicion timeout without confirmations, 6 × 4 × 1 s = 24 s: 29 s.
// memberlist itself took 5.0–7.5 s here (memberlist-wire.md §10). On a loaded machine Lifeguard
// stretches probes on purpose (local health), so the wait allows more; the timing itself is
// asserted with an injected clock (src/gossip/protocol/timing.test.ts).
const DETECTION_BOUND_MS = 29_000;

test('5 processes form a cluster; kill -9 is detected, restart rejoins, leave shows as left', { timeout: 240_000 }, async (t) => {
  const seed = await node('n0');
  const seedAddr = `127.0.0.1:${await gossipPort(seed)}`;
  const others = await Promise.all(['n1', 'n2', 'n3', 'n4'].map((n) => node(n, ['--join', seedAddr])));
  const all = [seed, ...others];
  await waitFor(async () => (await Promise.all(all.map(members))).every((d) => d.members.filter((m) => m.state === 'alive').length === 5), 40_000, '5 alive members everywhere');

  const metrics = await (await fetch(`${seed.base}/.prometheus/metrics`)).text();
  assert.match(metrics, /outrigger_gossip_members\{state="alive"\} 5/);
  assert.match(metrics, /outrigger_gossip_probe_rtt_seconds_count \d+/);

  const victim = others[3]!;
  const victimPort = await gossipPort(victim);
  const killedAt = Date.now();
  victim.signal('SIGKILL');
  await victim.exit();
  const survivors = all.slice(0, 4);
  await waitFor(everyoneSees(survivors, 'n4', 'dead'), DETECTION_BOUND_MS + SPREAD_MS, 'n4 dead everywhere');
  const detection = Date.now() - killedAt;
  t.diagnostic(`kill -9 → dead at all 4 survivors after ${detection} ms`);
  await seed.output(/gossip: member n4 failed/);

  // Same address: memberlist refuses a dead name on a new address until it is reaped (DeadNodeReclaimTime 0).
  const back = await node('n4', ['--join', seedAddr], victimPort);
  await waitFor(everyoneSees([...survivors, back], 'n4', 'alive'), SPREAD_MS, 'n4 alive again');
  assert.ok((await members(seed)).members.find((m) => m.name === 'n4')!.incarnation >= 2, 'rejoined by refuting its old entry');

  const leaver = others[2]!;
  const leftAt = Date.now();
  leaver.signal('SIGTERM');
  await waitFor(everyoneSees([seed, others[0]!, others[1]!, back], 'n3', 'left'), SPREAD_MS, 'n3 left everywhere');
  t.diagnostic(`SIGTERM → left at all others after ${Date.now() - leftAt} ms`);
  await seed.output(/gossip: member n3 left/);
});

test('gossip flags: bad values and an address in use exit non-zero naming the problem', async () => {
  const bad = await runCli(['--join', 'nohost', '--gossip-key', 'short', SITE]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--gossip-key: gossip key: key must be 16, 24 or 32 bytes|--gossip-key/);
  const lonely = await runCli(['--gossip-key', 'AAECAwQFBgcICQoLDA0ODw==', SITE]);
  assert.notEqual(lonely.code, 0);
  assert.match(lonely.stderr, /need --gossip-bind or --join/);

  const squatter = createSocket('udp4');
  await new Promise<void>((r) => squatter.bind(0, '127.0.0.1', () => r()));
  const port = squatter.address().port;
  const taken = await runCli(['--address', '127.0.0.1:0', '--gossip-bind', `127.0.0.1:${port}`, SITE]);
  squatter.close();
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, /cannot start gossip on 127\.0\.0\.1:\d+/);
});

test('SIDECAR_SEEDS is honoured as the seed list', async () => {
  const a = await node('s0');
  const seeds = `127.0.0.1:${await gossipPort(a)}`;
  const b = await startOutrigger(['--gossip-bind', '127.0.0.1:0', '--api-address', '127.0.0.1:0', '--node-name', 's1', SITE], { SIDECAR_SEEDS: seeds });
  cleanup.track(b);
  await waitFor(async () => (await stateOf(a, 's1')) === 'alive' && (await stateOf(b, 's0')) === 'alive', 30_000, 's0 and s1 see each other');
});
