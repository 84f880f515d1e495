/**
 * A store that stops answering without refusing (overloaded, or packets dropped on the way), through
 * the real CLI: a real Swift store behind a relay that can go silent (test/support/store-relay.ts).
 * A request waits for the store at most --cache-lookup-timeout, then goes to the backend as if there
 * were no cache; three such requests in a row mark the store down, and only a probe answered within
 * the same deadline brings it back. The body a revalidated answer streams from the store has the same
 * deadline. Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Fixtures } from './support/fixtures.js';
import type { TestBackend } from './support/backends.js';
import { cacheArgs, cacheBed, startCacheNode } from './support/cache-node.js';
import type { ProtocolClient, Reply } from './support/protocols.js';
import { StoreRelay } from './support/store-relay.js';
import { swiftMissing, type SwiftStore } from './support/swift.js';
import { waitFor } from './support/wait.js';
import type { Outrigger } from './support/outrigger.js';

const skip = swiftMissing();
const fx = new Fixtures();
/**
 * Far below the store client's own idle timeout (30 s), which a request would wait without the
 * deadline; far above what a store call takes on a loaded machine, so only the silent store misses it.
 */
const DEADLINE = '2s';
const STORE_CLIENT_TIMEOUT_MS = 30_000;
/** An overloaded store: every call answered, twice the deadline late. */
const LATE_MS = 4_000;

let swift: SwiftStore;
let bucket: string;
let backend: TestBackend;

const status = (r: Reply): string => String(r.headers['cache-status'] ?? '');

async function metric(client: ProtocolClient, name: string): Promise<number> {
  const text = (await client.call({ path: '/.prometheus/metrics' })).text;
  return Number(new RegExp(`^outrigger_cache_${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

/** A sidecar whose store is `relay`, with no memory tier (every hit asks the store) and probes `probeEvery` apart. */
async function sidecar(relay: StoreRelay, probeEvery = '1h'): Promise<{ o: Outrigger; client: ProtocolClient }> {
  const store = { ...swift, endpoint: relay.endpoint };
  return startCacheNode(fx, 'http/1.1', cacheArgs(store, bucket, backend.url,
    ['--cache-memory', '0', '--cache-lookup-timeout', DEADLINE, '--cache-health-duration', probeEvery]));
}

/** GETs `path` until it is a hit (its fill has completed). */
async function stored(client: ProtocolClient, path: string): Promise<void> {
  await client.call({ path });
  await waitFor(async () => (await client.call({ path, headers: { 'cache-control': 'only-if-cached' } })).status === 200, 60_000, `${path} to be stored`, 50);
}

/** A GET that must be answered by the backend, well before the store client would have given up. */
async function answeredWithoutStore(client: ProtocolClient, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const t0 = performance.now();
  const reply = await client.call({ path, headers });
  const waited = performance.now() - t0;
  assert.equal(reply.status, 200, `${path}: ${reply.status} ${reply.text}`);
  assert.equal(reply.text, 'version 1');
  assert.ok(waited < STORE_CLIENT_TIMEOUT_MS / 2, `${path} waited ${waited.toFixed(0)} ms: as long as the store client, not the deadline`);
  return reply;
}

describe('a store that stops answering', { skip }, () => {
  before(async () => {
    ({ swift, bucket, backend } = await cacheBed(fx, 'stall', (req, res) => {
      req.resume();
      // A client's `Cache-Control: no-cache` makes the sidecar revalidate with the stored ETag.
      if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304, { 'Cache-Control': 'max-age=600', ETag: '"v1"' }).end();
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'max-age=600', ETag: '"v1"' }).end('version 1');
    }, 'stall'));
  });

  test('a lookup not answered within --cache-lookup-timeout goes to the backend; three in a row mark the store down', async () => {
    const relay = await StoreRelay.open(fx, swift.endpoint);
    const { o, client } = await sidecar(relay);
    await stored(client, '/doc/kept');
    const timeouts = await metric(client, 'lookup_timeouts_total');
    relay.stall();
    for (const path of ['/doc/kept', '/doc/new-1', '/doc/new-2']) {
      assert.match(status(await answeredWithoutStore(client, path)), /fwd=bypass; detail=store-timeout/);
    }
    await o.output(/cache store .* is down, requests bypass the cache: 3 store calls in a row got no answer in 2000 ms/, 10_000);
    assert.match(status(await answeredWithoutStore(client, '/doc/new-3')), /fwd=bypass; detail=store-down/);
    assert.equal(await metric(client, 'lookup_timeouts_total') - timeouts, 3);
  });

  test('a hit whose body the store does not send goes to the backend (a whole GET and a Range)', async () => {
    const relay = await StoreRelay.open(fx, swift.endpoint);
    const { o, client } = await sidecar(relay);
    await stored(client, '/doc/body');
    const timeouts = await metric(client, 'lookup_timeouts_total');
    // Metadata still answers; body reads (GET .../body) get nothing back.
    relay.stall('body');
    assert.match(status(await answeredWithoutStore(client, '/doc/body')), /fwd=bypass; detail=store-timeout/);
    assert.match(status(await answeredWithoutStore(client, '/doc/body', { range: 'bytes=0-3' })), /fwd=bypass; detail=store-timeout/);
    assert.equal(await metric(client, 'lookup_timeouts_total') - timeouts, 2);
    assert.doesNotMatch(o.stdout, /store calls in a row got no answer/, 'two late answers with none in time between are not three');
  });

  test('a revalidated answer whose stored body the store does not send breaks within the deadline, not the store client\'s timeout', async () => {
    const relay = await StoreRelay.open(fx, swift.endpoint);
    const { o, client } = await sidecar(relay);
    await stored(client, '/doc/revalidated');
    const timeouts = await metric(client, 'lookup_timeouts_total');
    // The lookup (a HEAD: the client's own If-None-Match) answers; the body's GET after the backend's 304 gets nothing back.
    relay.stall('GET body');
    const t0 = performance.now();
    const reply = await client.call({ path: '/doc/revalidated', headers: { 'cache-control': 'no-cache', 'if-none-match': '"other"' } });
    const waited = performance.now() - t0;
    // Broken before or after the head (the core may hold the head for the first bytes), never a short body passed off as whole.
    assert.ok(reply.status === 0 || reply.status === 200, `status ${reply.status}`);
    assert.notEqual(reply.error, undefined, 'the broken response is seen as broken');
    assert.equal(reply.body.length, 0);
    assert.ok(waited < STORE_CLIENT_TIMEOUT_MS / 2, `waited ${waited.toFixed(0)} ms: as long as the store client, not the deadline`);
    assert.equal(await metric(client, 'lookup_timeouts_total') - timeouts, 1);
    assert.doesNotMatch(o.stdout, /store calls in a row got no answer/);
  });

  test('a store that answers every call late stays down (its probe has the deadline too) until it answers in time', async () => {
    const relay = await StoreRelay.open(fx, swift.endpoint);
    const { o, client } = await sidecar(relay, '1s');
    await stored(client, '/doc/late');
    relay.delay(LATE_MS);
    // Late lookups (and perhaps a late probe: a late store call too) mark the store down.
    await waitFor(async () => {
      assert.match(status(await answeredWithoutStore(client, '/doc/late')), /fwd=bypass; detail=store-(timeout|down)/);
      return /cache store .* is down/.test(o.stdout);
    }, 60_000, 'the store to be marked down');
    const sinceDown = o.stdout.length;
    const probes = relay.answeredCount('HEAD bucket');
    await waitFor(() => relay.answeredCount('HEAD bucket') >= probes + 2, 60_000, 'two probes answered late', 100);
    assert.doesNotMatch(o.stdout.slice(sinceDown), /is up/, 'a probe answered after the deadline does not bring the store back');
    assert.match(status(await answeredWithoutStore(client, '/doc/late')), /fwd=bypass; detail=store-down/);
    relay.recover();
    await waitFor(() => /cache store .* is up/.test(o.stdout.slice(sinceDown)), 30_000, 'a probe answered in time to bring the store back', 100);
    const hit = await client.call({ path: '/doc/late' });
    assert.equal(hit.text, 'version 1');
    assert.match(status(hit), /^Outrigger; hit;/);
  });
});
