/**
 * The store index (--cache-index) through the real CLI against a real S3 store (Swift + s3api).
 * Each sidecar reaches the store through its own relay (support/store-relay.ts), so the tests see
 * exactly which store calls it makes, and can hold, refuse or cut them. Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { S3Client } from '@aws-sdk/client-s3';
import { Fixtures } from './support/fixtures.js';
import { PathCounts } from './support/path-counts.js';
import { ProtocolClient, startFor, type Reply } from './support/protocols.js';
import { cacheArgs, cacheBed, startCacheNode } from './support/cache-node.js';
import { StoreRelay } from './support/store-relay.js';
import { swiftMissing, type SwiftStore } from './support/swift.js';
import { waitFor } from './support/wait.js';
import type { TestBackend } from './support/backends.js';
import type { Outrigger } from './support/outrigger.js';

const skip = swiftMissing();
const fx = new Fixtures();
const fetches = new PathCounts();
const bodyOf = (path: string): Buffer => Buffer.concat([Buffer.from(`${path}\n`), randomBytesFor(path)]);
const bodies = new Map<string, Buffer>();
function randomBytesFor(path: string): Buffer {
  if (!bodies.has(path)) bodies.set(path, randomBytes(64 * 1024));
  return bodies.get(path)!;
}

/**
 * /obj/<name>   64 KiB and a line, the same bytes every time, fresh for 10 minutes
 * /vary/<name>  the same, varying by Accept-Language: the bytes of `<path>|<language>`
 */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = fetches.add(req);
  req.resume();
  const headers = { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'max-age=600' };
  if (path.startsWith('/obj/')) return void res.writeHead(200, { ...headers, ETag: `"${path}"` }).end(bodyOf(path));
  const variant = `${path}|${req.headers['accept-language'] ?? ''}`;
  if (path.startsWith('/vary/')) return void res.writeHead(200, { ...headers, Vary: 'Accept-Language', ETag: `"${variant}"` }).end(bodyOf(variant));
  res.writeHead(404).end();
}

let swift: SwiftStore;
let s3: S3Client;
let bucket: string;
let backend: TestBackend;

interface Node {
  readonly o: Outrigger;
  readonly client: ProtocolClient;
  readonly relay: StoreRelay;
}

/** A sidecar on `bucket` whose store calls go through a relay of its own. The memory tier is off: every hit is a store lookup. */
async function node(index: string | null, relaySetup: (relay: StoreRelay) => void = () => undefined): Promise<Node> {
  const relay = await StoreRelay.open(fx, swift.endpoint);
  relaySetup(relay);
  const extra = ['--cache-memory', '0', ...(index === null ? [] : ['--cache-index', index])];
  const { o, client } = await startCacheNode(fx, 'http/1.1', cacheArgs({ ...swift, endpoint: relay.endpoint }, bucket, backend.url, extra));
  return { o, client, relay };
}

async function metric(client: ProtocolClient, name: string): Promise<number> {
  const text = (await client.call({ path: '/.prometheus/metrics' })).text;
  return Number(new RegExp(`^outrigger_cache_${name} (-?[\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
}

const status = (r: Reply): string => String(r.headers['cache-status'] ?? '');

/**
 * A GET whose body must be the backend's bytes for `path` (`variant`: for that variant of it),
 * whatever served it. The Host is the same for every sidecar (it is part of the cache key; each
 * sidecar listens on a port of its own).
 */
async function get(n: Node, path: string, headers: Record<string, string> = {}, variant = path): Promise<Reply> {
  const reply = await n.client.call({ path, headers: { host: 'origin.test', ...headers } });
  if (reply.status === 200) assert.ok(reply.body.equals(bodyOf(variant)), `${variant}: the body served is the backend's`);
  return reply;
}

/** Waits until `n` has stored `path` (its fill completed: the next request can find it). */
async function filled(n: Node, path: string, from: number): Promise<void> {
  await waitFor(async () => (await metric(n.client, 'fills_completed_total')) > from, 60_000, `${path} to be stored`, 50);
}

/** Waits until `n`'s store index was built (its first listing succeeded). */
async function built(n: Node): Promise<void> {
  await waitFor(async () => (await metric(n.client, 'index_age_seconds')) >= 0, 60_000, 'the store index to be built', 50);
  assert.match(n.o.stdout, /cache index: \d+ URL directories listed/);
}

before(async () => {
  if (skip !== undefined) return;
  ({ swift, bucket, s3, backend } = await cacheBed(fx, 'index', handler));
});

describe('--cache-index: misses skip the store lookup for URLs the store lacks', { skip, timeout: 240_000 }, () => {
  let a: Node;
  let b: Node;

  before(async () => {
    // An entry stored before the indexed sidecars start, by a sidecar without an index.
    const c = await node(null);
    const fills = await metric(c.client, 'fills_completed_total');
    assert.match(status(await get(c, '/obj/old')), /fwd=uri-miss; stored/);
    await filled(c, '/obj/old', fills);
    // B lists every 10 s: its index stays trusted for 20 s after a listing, far longer than the test holds B's listings.
    [a, b] = await Promise.all([node('1h'), node('10s')]);
    await Promise.all([built(a), built(b)]);
  });

  test('an entry that was in the store at start is looked up and hit (the first listing found it)', async () => {
    const lookups = a.relay.count('GET body');
    const hit = await get(a, '/obj/old');
    assert.equal(hit.status, 200);
    assert.match(status(hit), /hit/);
    assert.equal(a.relay.count('GET body'), lookups + 1, 'looked up in the store: one GET of the body object, its metadata in it');
    assert.equal(fetches.of('/obj/old'), 1, 'the backend was asked only by the sidecar that stored it');
  });

  test('a miss makes no store lookup (detail=index); the sidecar\'s own fill is a hit at once', async () => {
    const lookups = a.relay.count('GET body');
    const skips = await metric(a.client, 'index_skips_total');
    const fills = await metric(a.client, 'fills_completed_total');
    const indexed = await metric(a.client, 'index_entries');
    const miss = await get(a, '/obj/new');
    assert.equal(miss.status, 200);
    assert.equal(status(miss), 'Outrigger; fwd=uri-miss; stored; detail=index');
    assert.equal(a.relay.count('GET body'), lookups, 'no store lookup for the miss');
    assert.equal(await metric(a.client, 'index_skips_total'), skips + 1);
    await filled(a, '/obj/new', fills);
    assert.equal(await metric(a.client, 'index_entries'), indexed + 1, 'the fill is in the index at once');
    const bodies = a.relay.count('GET body');
    const hit = await get(a, '/obj/new');
    assert.match(status(hit), /hit/);
    assert.equal(a.relay.count('GET body'), bodies + 1, 'served from the store, by the lookup\'s one GET');
    assert.equal(fetches.of('/obj/new'), 1);
  });

  test('Vary: the index holds URLs, not variants; another variant of a URL it holds is looked up, a miss, then stored', async () => {
    const path = '/vary/v1';
    const en = { 'accept-language': 'en' };
    const fr = { 'accept-language': 'fr' };
    let fills = await metric(a.client, 'fills_completed_total');
    assert.equal(status(await get(a, path, en, `${path}|en`)), 'Outrigger; fwd=uri-miss; stored; detail=index');
    await filled(a, path, fills);
    fills = await metric(a.client, 'fills_completed_total');
    const lookups = a.relay.count('GET body');
    // RFC 9211 §2.2: the URL has a response stored, not for this variant.
    assert.equal(status(await get(a, path, fr, `${path}|fr`)), 'Outrigger; fwd=vary-miss; stored', 'looked up: the index has the URL');
    assert.ok(a.relay.count('GET body') > lookups, 'the store was asked for the variant');
    await filled(a, path, fills);
    assert.match(status(await get(a, path, en, `${path}|en`)), /hit/);
    assert.match(status(await get(a, path, fr, `${path}|fr`)), /hit/);
    assert.equal(fetches.of(path), 2, 'one backend fetch per variant');
  });

  test('another sidecar misses a URL stored after its listing (the backend is asked), and hits it after its next listing', async () => {
    // B's listings wait at its relay from now on: none can see the bucket between A's fill and B's request.
    b.relay.holdLists = true;
    const fills = await metric(a.client, 'fills_completed_total');
    assert.match(status(await get(a, '/obj/shared')), /detail=index/);
    await filled(a, '/obj/shared', fills);
    const lookups = b.relay.count('GET body');
    // A request that may not be stored (no-store), so B's own fill cannot add the URL to B's index.
    const missed = await get(b, '/obj/shared', { 'cache-control': 'no-store' });
    assert.equal(missed.status, 200);
    assert.equal(status(missed), 'Outrigger; fwd=uri-miss; detail=index', 'B\'s index does not know A\'s fill yet');
    assert.equal(fetches.of('/obj/shared'), 2, 'the backend was asked again, by B');
    const only = await get(b, '/obj/shared', { 'cache-control': 'only-if-cached' });
    assert.equal(only.status, 504, 'only-if-cached: not in the cache as far as B knows');
    assert.equal(b.relay.count('GET body'), lookups, 'no store lookup by B');
    b.relay.releaseLists();
    let hit: Reply | undefined;
    await waitFor(async () => {
      hit = await get(b, '/obj/shared', { 'cache-control': 'only-if-cached' });
      return hit.status === 200;
    }, 60_000, 'B to hit the URL after its next listing (within 10 s)', 100);
    assert.match(status(hit!), /hit/);
    assert.equal(fetches.of('/obj/shared'), 2, 'the hit did not ask the backend');
  });

  test('gauges: entries in the index and the age of its listing', async () => {
    assert.ok(await metric(a.client, 'index_entries') >= 4, 'old, new, vary and shared');
    const age = await metric(a.client, 'index_age_seconds');
    assert.ok(age >= 0 && age < 3600, `age ${age}`);
  });
});

describe('--cache-index without a usable listing: every miss is looked up, as without it', { skip, timeout: 240_000 }, () => {
  test('listings refused by the store: misses are looked up, and an entry stored elsewhere is hit', async () => {
    const d = await node('1h', (relay) => { relay.refuseLists = true; });
    await d.o.output(/cache index: listing the store failed/, 30_000);
    const lookups = d.relay.count('GET body');
    const miss = await get(d, '/obj/refused');
    assert.equal(miss.status, 200);
    assert.equal(status(miss), 'Outrigger; fwd=uri-miss; stored', 'looked up, no detail=index');
    assert.equal(d.relay.count('GET body'), lookups + 1);
    assert.equal(await metric(d.client, 'index_skips_total'), 0);
    assert.match(status(await get(d, '/obj/old')), /hit/, 'stored by another sidecar before');
    assert.equal(d.o.stdout.match(/listing the store failed/g)?.length, 1, 'logged once, however often it is retried');
  });

  test('the store down at start: requests bypass it without a client error; once it is up, stored entries are hit', async () => {
    const relay = await StoreRelay.open(fx, swift.endpoint);
    relay.down = true;
    const args = cacheArgs({ ...swift, endpoint: relay.endpoint }, bucket, backend.url, ['--cache-memory', '0', '--cache-index', '1h']);
    const o = await startFor('http/1.1', args, (started) => fx.track(started));
    await o.output(/cache store .* is down/, 30_000);
    const client = ProtocolClient.open('http/1.1', o);
    fx.add(async () => client.close());
    const e: Node = { o, client, relay };
    const fetched = fetches.of('/obj/old');
    const bypassed = await get(e, '/obj/old');
    assert.equal(bypassed.status, 200);
    assert.match(status(bypassed), /fwd=bypass/);
    assert.equal(fetches.of('/obj/old'), fetched + 1);
    relay.down = false;
    await o.output(/cache store .* is up/, 30_000);
    const hit = await get(e, '/obj/old');
    assert.match(status(hit), /hit/, 'not skipped: the index holds nothing it may trust, or was built from a listing that found it');
    assert.equal(fetches.of('/obj/old'), fetched + 1);
  });
});
