// Real Outrigger processes forming a gossip cluster on loopback (kernel-picked ports).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Cleanup } from './support/cleanup.js';
import { GossipRelay } from './support/gossip-relay.js';
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
  const counters = await Promise.all(survivors.map(async (o) => (await fetch(`${o.base}/.prometheus/metrics`)).text()));
  const count = (text: string, name: string): number => Number(new RegExp(`^outrigger_gossip_${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  assert.ok(counters.reduce((n, text) => n + count(text, 'suspicions_total'), 0) >= 1, 'the kill was suspected before it was declared dead');
  for (const name of ['probes_total', 'packets_sent_total', 'packets_received_total', 'bytes_sent_total', 'bytes_received_total']) {
    assert.ok(count(counters[0]!, name) > 0, `${name} counts`);
  }

  // Same address: memberlist refuses a dead name on a new address until it is reaped (DeadNodeReclaimTime 0).
  const back = await node('n4', ['--join', seedAddr], victimPort);
  await waitFor(everyoneSees([...survivors, back], 'n4', 'alive'), SPREAD_MS, 'n4 alive again');
  assert.ok((await members(seed)).members.find((m) => m.name === 'n4')!.incarnation >= 2, 'rejoined by refuting its old entry');
  assert.match(await (await fetch(`${back.base}/.prometheus/metrics`)).text(), /^outrigger_gossip_refutations_total [1-9]/m);

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

/** Ports nobody listens on right now (picked by the kernel, then let go). */
async function freePorts(n: number): Promise<number[]> {
  const sockets = Array.from({ length: n }, () => createSocket('udp4'));
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

test('--join: a seed not up yet is retried with backoff until it answers; a dead seed beside it does not matter', async () => {
  const [dead, later] = await freePorts(2);
  const b = await node('j1', ['--join', `127.0.0.1:${dead}`, '--join', `127.0.0.1:${later}`]);
  await b.output(/gossip: no seed answered, retrying in \d+ ms/, 15_000);
  const a = await node('j0', [], later);
  await waitFor(async () => (await stateOf(a, 'j1')) === 'alive' && (await stateOf(b, 'j0')) === 'alive', 30_000, 'j0 and j1 see each other');
  await b.output(/gossip: joined through 1 of 2 seeds/);
});

test('--cluster-name: a member of another cluster is refused; neither lists the other', async () => {
  const red = await node('red0', ['--cluster-name', 'red']);
  const blue = await node('blue0', ['--cluster-name', 'blue', '--join', `127.0.0.1:${await gossipPort(red)}`]);
  await blue.output(/gossip: join 127\.0\.0\.1:\d+ failed/, 15_000);
  assert.deepEqual((await members(red)).members.map((m) => m.name), ['red0']);
  assert.deepEqual((await members(blue)).members.map((m) => m.name), ['blue0']);
});

test('--gossip-advertise: the others list a member at its advertised address and reach it only there', async () => {
  const relay = await GossipRelay.open();
  cleanup.add(() => relay.close());
  const a = await node('v0');
  const b = await node('v1', ['--gossip-advertise', `127.0.0.1:${relay.port}`, '--join', `127.0.0.1:${await gossipPort(a)}`]);
  const bound = /gossip: v1 on 127\.0\.0\.1:(\d+), advertising 127\.0\.0\.1:(\d+)/.exec(b.stdout);
  assert.ok(bound, `v1 logs where it is bound and what it advertises:\n${b.stdout}`);
  assert.equal(Number(bound[2]), relay.port);
  relay.forwardTo(Number(bound[1]));
  await waitFor(async () => (await members(a)).members.some((m) => m.name === 'v1' && m.port === relay.port && m.state === 'alive'), 15_000, 'v0 lists v1 at the relay');
  // v0's probes of v1 go to the relay (a ping a second between two members); v1's acks go back direct.
  await waitFor(() => relay.datagrams >= 5, 30_000, '5 datagrams through the relay');
  assert.equal(await stateOf(a, 'v1'), 'alive');
  await relay.close();
  await waitFor(async () => (await stateOf(a, 'v1')) === 'dead', DETECTION_BOUND_MS, 'v1 dead at v0 once its advertised address is gone');
});

test('--gossip-key rotation by rolling restarts: [old] → [old, new] → [new, old] → [new], the cluster whole after every restart', { timeout: 240_000 }, async (t) => {
  const OLD = 'AAECAwQFBgcICQoLDA0ODw==';
  const NEW = 'Dw4NDAsKCQgHBgUEAwIBAA==';
  const keys = (...ks: string[]): string[] => ks.flatMap((k) => ['--gossip-key', k]);
  const names = ['k0', 'k1', 'k2'];
  const nodes = [await node('k0', keys(OLD))];
  const seed = `127.0.0.1:${await gossipPort(nodes[0]!)}`;
  nodes.push(await node('k1', [...keys(OLD), '--join', seed]), await node('k2', [...keys(OLD), '--join', seed]));
  const whole = async (): Promise<boolean> => (await Promise.all(nodes.map(members))).every((d) => d.members.filter((m) => m.state === 'alive').length === 3);
  await waitFor(whole, 30_000, '3 alive everywhere');
  const ports = await Promise.all(nodes.map(gossipPort));
  const started = Date.now();
  for (const pass of [[OLD, NEW], [NEW, OLD], [NEW]]) {
    for (let i = 0; i < 3; i++) {
      nodes[i]!.signal('SIGTERM');
      await nodes[i]!.exit();
      nodes[i] = await node(names[i]!, [...keys(...pass), '--join', `127.0.0.1:${ports[(i + 1) % 3]}`], ports[i]);
      await waitFor(whole, SPREAD_MS, `3 alive everywhere after ${names[i]} restarted with ${pass.length} keys`);
    }
  }
  t.diagnostic(`9 rolling restarts in ${Date.now() - started} ms`);
  const stale = await node('k3', [...keys(OLD), '--join', `127.0.0.1:${ports[0]}`]);
  await stale.output(/gossip: join 127\.0\.0\.1:\d+ failed/, 15_000);
  assert.ok((await members(nodes[0]!)).members.every((m) => m.name !== 'k3'), 'a member with only the old key is refused');
});
