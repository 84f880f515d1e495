/**
 * Fill news over gossip (src/cache/fill-news.ts) through the real CLI: sidecars with --cache-index
 * that gossip with each other, on one real S3 store (Swift + s3api). A sidecar lists the bucket only
 * at start (--cache-index 1h), so what another sidecar stores later can reach its index only by
 * gossip. Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Fixtures } from './support/fixtures.js';
import { PathCounts } from './support/path-counts.js';
import type { ProtocolClient, Reply } from './support/protocols.js';
import { cacheBed, startCacheNode } from './support/cache-node.js';
import { swiftMissing } from './support/swift.js';
import { waitFor } from './support/wait.js';
import type { Outrigger } from './support/outrigger.js';

const skip = swiftMissing();
const fx = new Fixtures();
const fetches = new PathCounts();
const body = randomBytes(32 * 1024);

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = fetches.add(req);
  req.resume();
  if (!path.startsWith('/obj/')) return void res.writeHead(404).end();
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'max-age=600' }).end(body);
}

interface Node {
  readonly o: Outrigger;
  readonly client: ProtocolClient;
}

async function metric(n: Node, name: string): Promise<number> {
  const text = (await n.client.call({ path: '/.prometheus/metrics' })).text;
  return Number(new RegExp(`^outrigger_${name} (-?[\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
}

const status = (r: Reply): string => String(r.headers['cache-status'] ?? '');

async function get(n: Node, path: string): Promise<Reply> {
  const reply = await n.client.call({ path, headers: { host: 'origin.test' } });
  assert.equal(reply.status, 200);
  assert.ok(reply.body.equals(body), `${path}: the backend's bytes`);
  return reply;
}

async function gossipPort(n: Node): Promise<number> {
  const doc = JSON.parse((await n.client.call({ path: '/v1/members' })).text) as { node: string; members: Array<{ name: string; port: number }> };
  return doc.members.find((m) => m.name === doc.node)!.port;
}

/** A GET on a connection of its own (with --workers N, each may reach another worker); its Cache-Status. */
function freshGet(n: Node, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(`${n.o.base}${path}`, { agent: false, headers: { host: 'origin.test' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).once('end', () => {
        assert.equal(res.statusCode, 200);
        assert.ok(Buffer.concat(chunks).equals(body), `${path}: the backend's bytes`);
        resolve(String(res.headers['cache-status'] ?? ''));
      });
    }).once('error', reject);
  });
}

describe('--cache-index with gossip: fills are told to the other sidecars of the store', { skip, timeout: 240_000 }, () => {
  let a: Node;
  let b: Node;
  /** With --workers 2: the primary gossips, the workers fill and learn. */
  let c: Node;

  before(async () => {
    const bed = await cacheBed(fx, 'news', handler);
    const node = (name: string, extra: string[]): Promise<Node> => startCacheNode(fx, 'http/1.1', bed.args([
      '--cache-memory', '0', '--cache-index', '1h', '--gossip-bind', '127.0.0.1:0', '--api-address', '127.0.0.1:0', '--node-name', name, ...extra,
    ]));
    a = await node('a', []);
    const join = `127.0.0.1:${await gossipPort(a)}`;
    [b, c] = await Promise.all([node('b', ['--join', join]), node('c', ['--join', join, '--workers', '2'])]);
    for (const n of [a, b]) await waitFor(async () => (await metric(n, 'cache_index_age_seconds')) >= 0, 60_000, 'the store index to be built', 50);
    await waitFor(() => (c.o.stdout.match(/cache index: \d+ URL directories listed/g) ?? []).length === 2, 60_000, "both workers' indexes to be built", 50);
    for (const n of [a, b, c]) await waitFor(async () => (await metric(n, 'gossip_members{state="alive"}')) === 3, 60_000, 'three members alive', 50);
  });

  test("a URL another sidecar stored after this one's listing is a hit here, not a second backend fetch", async () => {
    const fills = await metric(a, 'cache_fills_completed_total');
    assert.equal(status(await get(a, '/obj/one')), 'Outrigger; fwd=uri-miss; stored; detail=index');
    await waitFor(async () => (await metric(a, 'cache_fills_completed_total')) > fills, 60_000, 'the fill to be stored', 50);
    assert.equal(await metric(a, 'cache_index_news_told_total'), 1);
    // Gossip carries the news within a few rounds (200 ms each on the LAN profile).
    await waitFor(async () => (await metric(b, 'cache_index_news_learned_total')) >= 1, 30_000, 'b to learn of the fill', 50);
    const hit = await get(b, '/obj/one');
    assert.match(status(hit), /^Outrigger; hit/);
    assert.equal(fetches.of('/obj/one'), 1, 'the backend was asked once, by the sidecar that stored it');
  });

  test('with --workers 2, every worker learns what another sidecar stored, and the others learn what a worker stored', async () => {
    await waitFor(async () => (await metric(c, 'cache_index_news_learned_total')) >= 1, 30_000, 'c to learn of the fill', 50);
    for (let i = 0; i < 6; i++) assert.match(await freshGet(c, '/obj/one'), /^Outrigger; hit/, `request ${i}: a hit, whichever worker took it`);
    assert.equal(fetches.of('/obj/one'), 1);

    const learned = await metric(a, 'cache_index_news_learned_total');
    assert.equal(await freshGet(c, '/obj/three'), 'Outrigger; fwd=uri-miss; stored; detail=index');
    await waitFor(async () => (await metric(a, 'cache_index_news_learned_total')) > learned, 30_000, "a to learn of c's fill", 50);
    assert.match(status(await get(a, '/obj/three')), /^Outrigger; hit/);
    // The other worker of c learned it from the primary: hits on every connection.
    for (let i = 0; i < 6; i++) assert.match(await freshGet(c, '/obj/three'), /^Outrigger; hit/);
    assert.equal(fetches.of('/obj/three'), 1);
  });

  test('a URL nobody stored is still a miss with no store lookup on the other sidecar', async () => {
    assert.equal(status(await get(b, '/obj/two')), 'Outrigger; fwd=uri-miss; stored; detail=index');
    assert.equal(fetches.of('/obj/two'), 1);
  });
});
