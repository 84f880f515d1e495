// Real processes in their own network namespaces, joined by a bridge: a partition that outlives
// GossipToTheDeadTime heals and converges. Needs root and iproute2; skips otherwise. Packet loss
// between namespaces is test/netns-loss.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cleanup } from './support/cleanup.js';
import { allAlive, NetnsLab, netnsUnavailable, view } from './support/netns.js';
import { waitFor } from './support/wait.js';

const lab = new NetnsLab(new Cleanup(), 213);
const reason = netnsUnavailable(lab.ns(0));

test('a partition longer than GossipToTheDeadTime heals: every member alive everywhere again', { skip: reason ?? false, timeout: 180_000 }, async (t) => {
  lab.setUp(3);
  const seed = await lab.start(1, []);
  const seedPort = (await view(seed)).get('ns1')!.port;
  const nodes = [seed, await lab.start(2, ['--join', `${seed.addr}:${seedPort}`]), await lab.start(3, ['--join', `${seed.addr}:${seedPort}`])];
  await waitFor(allAlive(nodes, 3), 15_000, '3 alive everywhere');

  lab.cut(3);
  const cutAt = Date.now();
  // Inside ns3 the HTTP API is unreachable now; the other side's view tells the story.
  await waitFor(async () => (await view(seed)).get('ns3')?.state === 'dead', 40_000, 'ns3 dead at ns1');
  // Outlive GossipToTheDeadTime (30 s), after which memberlist alone would never talk to ns3 again.
  await new Promise((r) => setTimeout(r, Math.max(0, 32_000 - (Date.now() - cutAt))));
  lab.heal(3);
  const healedAt = Date.now();
  await waitFor(allAlive(nodes, 3), 60_000, 'all alive after the partition healed');
  t.diagnostic(`partition of ${((healedAt - cutAt) / 1000).toFixed(0)} s healed; converged ${Date.now() - healedAt} ms after`);
  assert.match(nodes[2]!.out, /gossip: member ns1 failed/);
});
