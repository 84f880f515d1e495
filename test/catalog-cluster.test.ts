// The service catalog across 5 real Outrigger processes gossiping on loopback (kernel-picked
// ports), each announcing real local backends: convergence, check failures, drain, the watch
// stream, URL listeners, kill -9, and balancing by name (sidecar://echo) under steady load.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Fixtures } from './support/fixtures.js';
import { load } from './support/client.js';
import { waitFor } from './support/wait.js';
import type { TestBackend } from './support/backends.js';
import { listenLoopback } from './support/cleanup.js';
import { SPREAD_MS } from './support/spread.js';
import { untilEverywhere, seedOf, servicesOf as services, startCatalogNode, statusAt, STATUS, type CatalogNode as Node, type Instance } from './support/catalog-nodes.js';

const fx = new Fixtures();
const { ALIVE, TOMBSTONE, UNHEALTHY, DRAINING } = STATUS;
const startNode = (name: string, svcs: [string, TestBackend][], extra: string[]): Promise<Node> => startCatalogNode(fx, name, svcs, extra);

async function backendUrls(n: Node): Promise<string[]> {
  const doc = (await (await fetch(`${n.o.base}/v1/backends`)).json()) as { sites: { backends: { url: string }[] }[] };
  return doc.sites.flatMap((s) => s.backends.map((b) => b.url));
}

/** A listener that refuses the first attempt of the first few changes, to see them retried. */
class Listener {
  readonly bodies: string[] = [];
  readonly refused: string[] = [];
  private readonly seen = new Set<string>();
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      this.bodies.push(body);
      if (!this.seen.has(body) && this.refused.length < 3) {
        this.seen.add(body);
        this.refused.push(body);
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200).end();
    });
  });
  port = 0;
  async listen(): Promise<this> { this.port = await listenLoopback(this.server); return this; }
  close(): Promise<void> { this.server.closeAllConnections(); return new Promise((r) => this.server.close(() => r())); }
}

/** Every document of a watch stream, parsed as it arrives (NDJSON or SSE). */
function watchStream(url: string, sse: boolean): { docs: unknown[]; bad: string[]; close: () => void } {
  const docs: unknown[] = [];
  const bad: string[] = [];
  let buffered = '';
  const req = http.get(url, { headers: sse ? { Accept: 'text/event-stream' } : {} }, (res) => {
    assert.equal(res.headers['content-type'], sse ? 'text/event-stream' : 'application/x-ndjson');
    res.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const sep = sse ? '\n\n' : '\n';
      let at: number;
      while ((at = buffered.indexOf(sep)) >= 0) {
        const frame = buffered.slice(0, at);
        buffered = buffered.slice(at + sep.length);
        const text = sse ? frame.replace(/^data: /, '') : frame;
        try { docs.push(JSON.parse(text)); } catch { bad.push(frame); }
      }
    });
  });
  req.on('error', () => {});
  return { docs, bad, close: () => req.destroy() };
}

describe('the service catalog on 5 real processes', { timeout: 240_000 }, () => {
  let nodes: Node[] = [];
  const echo: TestBackend[] = [];
  let spare: TestBackend;
  let web: TestBackend;
  let listener: Listener;
  let convergedMs = 0;

  before(async () => {
    web = await fx.backendOf('web');
    for (let i = 1; i <= 4; i++) echo.push(await fx.backendOf(`echo${i}`));
    spare = await fx.backendOf('echo3b');
    listener = await new Listener().listen();
    fx.track(listener);
    const n0 = await startNode('n0', [['web', web]], []);
    const seed = seedOf(n0);
    const others = await Promise.all([1, 2, 3, 4].map((i) => startNode(`n${i}`,
      [['echo', echo[i - 1]!], ...(i === 3 ? [['echo', spare] as [string, TestBackend]] : [])],
      ['--join', seed, ...(i === 4 ? ['--listener-url', `http://127.0.0.1:${listener.port}/changes`] : [])])));
    nodes = [n0, ...others];
    const started = Date.now();
    const ports = [web, ...echo, spare].map((b) => b.port);
    await waitFor(async () => (await Promise.all(nodes.map(async (n) => Promise.all(ports.map((p) => statusAt(n, p))))))
      .every((statuses) => statuses.every((s) => s === ALIVE)), SPREAD_MS, 'all 6 instances ALIVE on all 5 nodes');
    convergedMs = Date.now() - started;
  });


  it('every node lists every node\'s services within a few seconds', async (t) => {
    t.diagnostic(`catalog convergence: all 6 instances ALIVE on all 5 nodes ${convergedMs} ms after the last node listened`);
    for (const n of nodes) {
      const doc = await services(n);
      assert.deepEqual(Object.keys(doc.ClusterMembers).sort(), ['n0', 'n1', 'n2', 'n3', 'n4']);
      assert.equal(doc.Services['echo']?.length, 5);
      assert.equal(doc.Services['web']?.[0]?.Hostname, 'n0');
    }
    const one = await fetch(`${nodes[1]!.api}/api/services/web.json`);
    assert.equal(one.status, 200);
    const none = await fetch(`${nodes[1]!.api}/api/services/nothing.json`);
    assert.equal(none.status, 404);
    assert.match(((await none.json()) as { message: string }).message, /no instances of nothing/);
    await waitFor(async () => (await backendUrls(nodes[0]!)).length === 5, 10_000, 'n0 balancing over the 5 echo instances');
  });

  it('a failing check turns UNHEALTHY everywhere, leaves balancing, and the watch streams report it', async () => {
    const ndjson = watchStream(`${nodes[1]!.api}/api/watch`, false);
    const sse = watchStream(`${nodes[2]!.api}/api/watch?by_service=false`, true);
    try {
      await waitFor(() => ndjson.docs.length >= 1 && sse.docs.length >= 1, 10_000, 'the first document of each stream');
      const sick = echo[2]!;
      sick.healthy = false;
      await untilEverywhere(nodes, sick.port, UNHEALTHY, 'echo3 UNHEALTHY on every node');
      await waitFor(async () => !(await backendUrls(nodes[0]!)).includes(sick.url), 10_000, 'echo3 out of n0\'s backends');
      const has = (doc: unknown): boolean => JSON.stringify(doc).includes(`"Port":${sick.port},`) && JSON.stringify(doc).includes('"Status":2');
      await waitFor(() => ndjson.docs.some(has) && sse.docs.some(has), 10_000, 'the change in both streams');
      assert.deepEqual([ndjson.bad, sse.bad], [[], []], 'every frame is one JSON document');
      assert.ok(ndjson.docs.length >= 2 && sse.docs.length >= 2);
      assert.ok(sse.docs.every((d) => typeof (d as { Servers?: unknown }).Servers === 'object'), 'by_service=false: state documents');
      sick.healthy = true;
      await untilEverywhere(nodes, sick.port, ALIVE, 'echo3 ALIVE again everywhere');
    } finally {
      ndjson.close();
      sse.close();
    }
  });

  it('drain: 202, DRAINING everywhere, no longer balanced to; an unknown ID is 404', async () => {
    const n3 = nodes[3]!;
    const id = Object.values((await services(n3)).Services).flat().find((s) => s.Ports[0]?.Port === spare.port)!.ID;
    const res = await fetch(`${n3.api}/api/services/${id}/drain`, { method: 'POST' });
    assert.equal(res.status, 202);
    await untilEverywhere(nodes, spare.port, DRAINING, 'echo3b DRAINING everywhere');
    await waitFor(async () => !(await backendUrls(nodes[0]!)).includes(spare.url), 10_000, 'echo3b out of n0\'s backends');
    assert.equal((await fetch(`${n3.api}/api/services/nope/drain`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${n3.api}/api/services/${id}/drain`)).status, 405);
  });

  it('a listener gets every change, and each retry carries the whole body', async () => {
    const n4 = nodes[4]!;
    const state = async (): Promise<string> => JSON.stringify((await (await fetch(`${n4.api}/api/state.json`)).json() as { Servers: unknown }).Servers);
    const lastState = (): string => JSON.stringify((JSON.parse(listener.bodies.at(-1) ?? '{}') as { State?: { Servers?: unknown } }).State?.Servers);
    await waitFor(async () => lastState() === await state(), 20_000, 'the listener\'s last POST to carry n4\'s current state');
    assert.equal(listener.refused.length, 3);
    for (const body of listener.refused) {
      assert.ok(body.length > 0);
      assert.ok(listener.bodies.filter((b) => b === body).length >= 2, 'a refused body came again, byte for byte');
    }
    const events = listener.bodies.map((b) => (JSON.parse(b) as { ChangeEvent: { Service: Instance; PreviousStatus: number } }).ChangeEvent);
    // Every change n4 saw reached it: among others each instance's arrival and echo3's trip to UNHEALTHY and back.
    for (const b of [web, ...echo, spare]) assert.ok(events.some((e) => e.Service.Ports[0]?.Port === b.port), `a change of ${b.name}`);
    assert.ok(events.some((e) => e.Service.Ports[0]?.Port === echo[2]!.port && e.Service.Status === UNHEALTHY));
    assert.ok(events.some((e) => e.Service.Ports[0]?.Port === echo[2]!.port && e.Service.Status === ALIVE && e.PreviousStatus === UNHEALTHY));
    assert.ok(events.some((e) => e.Service.Ports[0]?.Port === spare.port && e.Service.Status === DRAINING));
  });

  it('balancing by name: an instance dies, then a whole node (kill -9): no failed GET, its services tombstoned everywhere', async (t) => {
    const n0 = nodes[0]!;
    let stop!: () => void;
    const stopped = new Promise<void>((r) => { stop = r; });
    const running = load(`${n0.o.base}/`, 4, stopped);
    try {
      await killInstanceThenNode(t);
    } finally {
      stop();
    }
    const result = await running;
    t.diagnostic(`GETs through sidecar://echo during the kills: ${result.ok} ok, ${result.failed} failed`);
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assert.ok(result.ok > 100);
    const tomb = Object.values((await services(nodes[0]!)).Services).flat().find((s) => s.Ports[0]?.Port === echo[1]!.port)!;
    assert.equal(tomb.Hostname, 'n2');
  });

  /** Under the load: one instance dies (n1's echo), then n2 and its echo (kill -9). */
  async function killInstanceThenNode(t: { diagnostic(m: string): void }): Promise<void> {
    const n2 = nodes[2]!;
    const hits = (): number[] => echo.map((b) => b.hits);
    await waitFor(() => echo.every((b) => b.hits > 0), 20_000, 'traffic on all 4 echo instances');

    await echo[0]!.kill();
    await untilEverywhere(nodes, echo[0]!.port, UNHEALTHY, 'echo1 UNHEALTHY everywhere');

    const killedAt = Date.now();
    n2.o.signal('SIGKILL');
    await echo[1]!.kill();
    const survivors = nodes.filter((n) => n !== n2);
    await untilEverywhere(survivors, echo[1]!.port, TOMBSTONE, 'n2\'s echo tombstoned on the 4 others', 40_000 + SPREAD_MS);
    t.diagnostic(`kill -9 of n2 → its service tombstoned on all 4 survivors after ${Date.now() - killedAt} ms`);
    const before = hits();
    await waitFor(() => hits()[2]! > before[2]! + 20 && hits()[3]! > before[3]! + 20, 20_000, 'traffic on the remaining instances');
  }
});
