/**
 * Cache news over gossip (src/cache/cache-news.ts) through the real CLI: sidecars with --cache-index
 * that gossip with each other, on one real S3 store (Swift + s3api). A sidecar lists the bucket only
 * at start (--cache-index 1h), so what another sidecar stores later can reach its index only by
 * gossip; and only gossip can tell its memory tier of another sidecar's invalidation. Skipped where
 * Swift is missing.
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
const padding = randomBytes(32 * 1024);
/** Each path's version: a PUT makes the next one. */
const versions = new Map<string, number>();
const bodyOf = (path: string): Buffer => Buffer.concat([Buffer.from(`${path} v${versions.get(path) ?? 0}\n`), padding]);

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  if (req.method === 'PUT') {
    const path = new URL(req.url!, 'http://x').pathname;
    versions.set(path, (versions.get(path) ?? 0) + 1);
    return void req.once('end', () => res.writeHead(204).end());
  }
  const path = fetches.add(req);
  if (!path.startsWith('/obj/')) return void res.writeHead(404).end();
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'max-age=600' }).end(bodyOf(path));
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
  assert.ok(reply.body.equals(bodyOf(path)), `${path}: the backend's bytes of its version now`);
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
        assert.ok(Buffer.concat(chunks).equals(bodyOf(path)), `${path}: the backend's bytes`);
        resolve(String(res.headers['cache-status'] ?? ''));
      });
    }).once('error', reject);
  });
}

describe('the cache with gossip: fills and removals are told to the other sidecars of the store', { skip, timeout: 240_000 }, () => {
  let a: Node;
  let b: Node;
  /** With --workers 2: the primary gossips, the workers fill and learn. */
  let c: Node;

  before(async () => {
    const bed = await cacheBed(fx, 'news', handler);
    const node = (name: string, extra: string[]): Promise<Node> => startCacheNode(fx, 'http/1.1', bed.args([
      '--cache-index', '1h', '--gossip-bind', '127.0.0.1:0', '--api-address', '127.0.0.1:0', '--node-name', name, ...extra,
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
    assert.equal(await metric(a, 'cache_news_fills_told_total'), 1);
    // Gossip carries the news within a few rounds (200 ms each on the LAN profile).
    await waitFor(async () => (await metric(b, 'cache_news_fills_learned_total')) >= 1, 30_000, 'b to learn of the fill', 50);
    const hit = await get(b, '/obj/one');
    assert.match(status(hit), /^Outrigger; hit/);
    assert.equal(fetches.of('/obj/one'), 1, 'the backend was asked once, by the sidecar that stored it');
  });

  test('with --workers 2, every worker learns what another sidecar stored, and the others learn what a worker stored', async () => {
    await waitFor(async () => (await metric(c, 'cache_news_fills_learned_total')) >= 1, 30_000, 'c to learn of the fill', 50);
    for (let i = 0; i < 6; i++) assert.match(await freshGet(c, '/obj/one'), /^Outrigger; hit/, `request ${i}: a hit, whichever worker took it`);
    assert.equal(fetches.of('/obj/one'), 1);

    const learned = await metric(a, 'cache_news_fills_learned_total');
    assert.equal(await freshGet(c, '/obj/three'), 'Outrigger; fwd=uri-miss; stored; detail=index');
    await waitFor(async () => (await metric(a, 'cache_news_fills_learned_total')) > learned, 30_000, "a to learn of c's fill", 50);
    assert.match(status(await get(a, '/obj/three')), /^Outrigger; hit/);
    // The other worker of c learned it from the primary: hits on every connection.
    for (let i = 0; i < 6; i++) assert.match(await freshGet(c, '/obj/three'), /^Outrigger; hit/);
    assert.equal(fetches.of('/obj/three'), 1);
  });

  test("another sidecar's invalidation empties this one's memory tier: no stale hit after a PUT through any sidecar", async () => {
    const fills = await metric(b, 'cache_fills_completed_total');
    // Gossip may repeat older news to a: only a new entry in its index says this fill arrived.
    const indexed = await metric(a, 'cache_index_entries');
    // c's primary counts each fill it learns once (a repeat is not news), and relays it to its workers.
    const cLearned = await metric(c, 'cache_news_fills_learned_total');
    assert.equal(status(await get(b, '/obj/r')), 'Outrigger; fwd=uri-miss; stored; detail=index');
    await waitFor(async () => (await metric(b, 'cache_fills_completed_total')) > fills, 60_000, 'the fill to be stored', 50);
    await waitFor(async () => (await metric(a, 'cache_index_entries')) > indexed, 30_000, 'a to learn of the fill', 50);
    await waitFor(async () => (await metric(c, 'cache_news_fills_learned_total')) > cLearned, 30_000, 'c to learn of the fill', 50);
    assert.match(status(await get(a, '/obj/r')), /^Outrigger; hit/, 'a hit from the store, now held in memory');
    const memoryHits = await metric(a, 'cache_memory_hits_total');
    assert.match(status(await get(a, '/obj/r')), /^Outrigger; hit/);
    assert.equal(await metric(a, 'cache_memory_hits_total'), memoryHits + 1, 'the second hit came from the memory tier');

    // c's workers (--workers 2) take turns with new connections: each holds the entry in memory too.
    const warm: string[] = [];
    for (let i = 0; i < 8; i++) warm.push(await freshGet(c, '/obj/r'));
    assert.ok(warm.slice(4).every((st) => /^Outrigger; hit/.test(st)), `c's workers hit: ${warm.join(' | ')}`);

    const learned = await Promise.all([a, c].map((n) => metric(n, 'cache_news_removals_learned_total')));
    const fetched = fetches.of('/obj/r');
    const put = await b.client.call({ method: 'PUT', path: '/obj/r', headers: { host: 'origin.test' }, body: Buffer.from('new') });
    assert.equal(put.status, 204);
    for (const [i, n] of [a, c].entries()) {
      await waitFor(async () => (await metric(n, 'cache_news_removals_learned_total')) > learned[i]!, 30_000, "a and c to learn of b's invalidation", 50);
    }
    // Fresh for 10 minutes in a's memory: only the news makes a ask again, and get() checks the bytes are version 1's.
    const after = await get(a, '/obj/r');
    assert.doesNotMatch(status(after), /hit/);
    assert.equal(fetches.of('/obj/r'), fetched + 1, 'the backend was asked again, once');
    // And every worker of c: version 1's bytes on every connection (freshGet checks them), never a memory copy of version 0.
    for (let i = 0; i < 6; i++) await freshGet(c, '/obj/r');
  });

  test('a URL nobody stored is still a miss with no store lookup on the other sidecar', async () => {
    assert.equal(status(await get(b, '/obj/two')), 'Outrigger; fwd=uri-miss; stored; detail=index');
    assert.equal(fetches.of('/obj/two'), 1);
  });
});
