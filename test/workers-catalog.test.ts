/**
 * Gossip and the service catalog with `--workers 2`: the primary runs them once per host, the
 * workers balance over what it learns. Real processes: a --workers 2 node and a single-process
 * node gossiping on loopback (kernel-picked ports), each announcing a real local backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { seedOf, startCatalogNode, statusAt, STATUS, type CatalogNode } from './support/catalog-nodes.js';
import type { Outrigger } from './support/outrigger.js';

const f = new Fixtures();

/** A GET on a connection of its own: the cluster hands each new connection to the next worker. */
const fresh = (o: Outrigger, p: string): ReturnType<typeof request> => request(`${o.base}${p}`, { agent: false, signal: AbortSignal.timeout(15_000) });

interface MembersDoc { node: string; members: { name: string; state: string }[] }

test('--workers 2 with gossip and a sidecar:// site: the primary gossips and checks once, every worker balances over the cluster', { timeout: 90_000 }, async () => {
  const [here, there] = [await f.backendOf('here'), await f.backendOf('there')];
  const a: CatalogNode = await startCatalogNode(f, 'a', [['echo', here]], ['--workers', '2']);
  const b: CatalogNode = await startCatalogNode(f, 'b', [['echo', there]], ['--join', seedOf(a)]);

  // Both instances reach A's catalog, and A's workers forward to both (B's learned by gossip).
  await waitFor(async () => await statusAt(a, there.port) === STATUS.ALIVE && await statusAt(a, here.port) === STATUS.ALIVE, 30_000, 'both instances alive at a');
  const seen = new Set<string>();
  await waitFor(async () => {
    const r = await fresh(a.o, '/x');
    if (r.status === 200) seen.add(String(r.headers['x-backend']));
    return seen.has('here') && seen.has('there');
  }, 30_000, 'requests through a --workers 2 node to both instances');

  // /v1/members answers on every worker with the primary's view (several fresh connections
  // land on both workers).
  for (let i = 0; i < 6; i++) {
    const r = await fresh(a.o, '/v1/members');
    assert.equal(r.status, 200);
    const doc = JSON.parse(r.text) as MembersDoc;
    assert.equal(doc.node, 'a');
    assert.deepEqual(doc.members.map((m) => m.name).sort(), ['a', 'b']);
  }
  const metrics = await fresh(a.o, '/.prometheus/metrics');
  assert.match(metrics.text, /^outrigger_gossip_members\{state="alive"\} 2$/m, 'gossip metrics through a worker');

  // The local check runs in the primary alone: about one probe per 300 ms interval, not one per process.
  const before = here.healthHits;
  const started = Date.now();
  await waitFor(() => Date.now() - started >= 3_000, 5_000, '3 s of checks');
  const probes = here.healthHits - before;
  const intervals = (Date.now() - started) / 300;
  assert.ok(probes <= intervals * 1.4 + 2, `${probes} checks in ${intervals.toFixed(1)} intervals of 300 ms: more than one process checks`);
  assert.ok(probes >= 1, 'the primary checks the local service');

  // SIGTERM: the primary leaves the cluster while its workers drain.
  a.o.signal('SIGTERM');
  assert.equal(await a.o.exit(), 0);
  await waitFor(async () => {
    const doc = (await (await fetch(`${b.o.base}/v1/members`)).json()) as MembersDoc;
    return doc.members.find((m) => m.name === 'a')?.state === 'left';
  }, 15_000, 'a seen as left at b');
});
