/**
 * What the shared cache must never serve, through the real CLI against a real S3 store (Swift +
 * s3api), for HTTP/1.1 and HTTP/2 clients: a body cut short, another client's private or
 * authorised response, a stale entry after a PUT; single flight, stale-while-revalidate and purge;
 * and what happens when every backend or the store is down. Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Fixtures } from './support/fixtures.js';
import { PROTOCOLS, ProtocolClient, short, startFor, type Protocol, type Reply } from './support/protocols.js';
import { cacheArgs, cacheBed, openUploads, startCacheNode } from './support/cache-node.js';
import { bodyOf, count, handler } from './support/cache-origin.js';
import { cacheStatus as status, untilStored } from './support/scripted-origin.js';
import { swiftMissing, type SwiftStore } from './support/swift.js';
import { waitFor } from './support/wait.js';
import type { TestBackend } from './support/backends.js';
import type { Outrigger } from './support/outrigger.js';

const skip = swiftMissing();
const fx = new Fixtures();
const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let swift: SwiftStore;
let s3: S3Client;
let bucket: string;
let backend: TestBackend;

function start(protocol: Protocol): Promise<{ o: Outrigger; client: ProtocolClient }> {
  return startCacheNode(fx, protocol, cacheArgs(swift, bucket, backend.url, ['--log']));
}

async function objectCount(): Promise<number> {
  return (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount ?? 0;
}

/** Polls with only-if-cached until the entry is stored (a 504 means not yet). */
const stored = (client: ProtocolClient, path: string): Promise<Reply> => untilStored(client, path, {}, 'only-if-cached');

before(async () => {
  if (skip !== undefined) return;
  ({ swift, bucket, s3, backend } = await cacheBed(fx, 'safe', handler));
});

for (const protocol of PROTOCOLS) describe(`cache through ${protocol}: what must never be served`, { skip, timeout: 180_000 }, () => {
  let o: Outrigger;
  let client: ProtocolClient;
  /** This suite's own name for a path (the backend counts requests by path). */
  const own = (name: string): string => `${name}-${short(protocol)}`;
  before(async () => {
    ({ o, client } = await start(protocol));
  });

  // The client's side differs: HTTP/1.1 loses its connection, an HTTP/2 stream is reset while the session lives on.
  for (const size of [12 * MiB, 96 * MiB]) test(`upstream killed mid-body (${size / MiB} MiB declared, a streamed PutObject): the client sees it broken, no object, no open upload, next request a miss`, async () => {
    const path = `/broken/${size}/${own('cut')}`;
    const before = await objectCount();
    const broken = await client.call({ path });
    assert.ok(broken.error !== undefined, 'the client sees a broken response, never a short whole one');
    await waitFor(async () => (await openUploads(s3, bucket)) === 0, 30_000, 'no open multipart upload');
    assert.equal(await objectCount(), before, 'nothing stored');
    await client.call({ path });
    assert.equal(count(path), 2, 'the next request went to the backend');
    assert.match((await client.call({ path: '/.prometheus/metrics' })).text, /^outrigger_cache_fills_aborted_total [1-9]/m);
  });

  test('50 concurrent misses for one URL make exactly one backend fetch, and all get the whole body', async () => {
    const path = `/slow/${2 * MiB}/${own('fifty')}`;
    const replies = await Promise.all(Array.from({ length: 50 }, () => client.call({ path })));
    for (const r of replies) {
      assert.equal(r.status, 200);
      assert.equal(sha(r.body), sha(bodyOf(2 * MiB)));
    }
    assert.equal(count(path), 1);
    assert.ok(replies.filter((r) => /collapsed/.test(status(r))).length >= 1);
  });

  test('a private response is never served to another client', async () => {
    const path = `/doc/${own('mine')}?private=1`;
    const first = await client.call({ path });
    assert.equal(first.status, 200, first.text);
    const other = await client.call({ path });
    assert.equal(other.status, 200, other.text);
    assert.equal(status(other), 'Outrigger; fwd=uri-miss; detail=pass', 'relayed (a pass: the last answer was private), not stored');
    assert.equal(count(`/doc/${own('mine')}`), 2);
  });

  test('a response to a request with Authorization is not stored without public/s-maxage/must-revalidate', async () => {
    const path = `/doc/${own('authed')}?cc=max-age%3D600`;
    await client.call({ path, headers: { authorization: 'Bearer secret' } });
    const other = await client.call({ path });
    assert.doesNotMatch(status(other), /hit/);
    assert.equal(count(`/doc/${own('authed')}`), 2);
  });

  test('PUT then GET is never stale; Location targets are invalidated too', async () => {
    const path = `/doc/${own('put')}`;
    const other = `/doc/${own('other')}`;
    await client.call({ path });
    await stored(client, path);
    await client.call({ path: other });
    await stored(client, other);
    const put = await client.call({ path, method: 'PUT', body: 'new', headers: { 'x-location': other } });
    assert.equal(put.status, 200);
    // Asked at once: the store's deletion (LIST + DELETEs) may still run, yet the old entry is never found.
    const [gone, target] = await Promise.all([path, other].map((p) => client.call({ path: p, headers: { 'cache-control': 'only-if-cached' } })));
    assert.equal(gone!.status, 504, 'the PUT URL is not served from the cache right after the PUT');
    assert.equal(target!.status, 504, 'the Location target is not served from the cache either');
    const after = await client.call({ path });
    assert.equal(after.text, 'version 2');
    assert.match(status(after), /fwd=uri-miss/);
  });

  test('stale-while-revalidate: the stale entry is served at once and refreshed in the background', async () => {
    const path = `/doc/${own('swr')}?cc=max-age%3D1%2C%20stale-while-revalidate%3D600`;
    await client.call({ path });
    await stored(client, path);
    let stale: Reply | undefined;
    // Fresh for one second: poll until the entry is served stale.
    await waitFor(async () => /stale-while-revalidate/.test(status(stale = await client.call({ path }))), 20_000, 'a stale answer');
    assert.equal(stale!.status, 200);
    assert.equal(stale!.text, 'version 1');
    await waitFor(() => count(`/doc/${own('swr')}`) === 2, 20_000, 'the background refresh to reach the backend');
  });

  test('purge drops a URL on request', async () => {
    const path = `/doc/${own('purged')}`;
    const scheme = protocol === 'h2' ? 'https' : 'http';
    await client.call({ path });
    await stored(client, path);
    const purge = await client.call({ method: 'POST', path: `/v1/cache/purge?url=${encodeURIComponent(`${scheme}://127.0.0.1:${o.port}${path}`)}` });
    assert.equal(purge.status, 200);
    assert.ok(JSON.parse(purge.text).deleted >= 1, purge.text);
    assert.equal((await client.call({ path, headers: { 'cache-control': 'only-if-cached' } })).status, 504);
  });

  test('metrics count hits, misses and fills', async () => {
    const text = (await client.call({ path: '/.prometheus/metrics' })).text;
    for (const name of ['hits_total', 'misses_total', 'fills_completed_total', 'collapsed_total', 'store_up']) {
      assert.match(text, new RegExp(`^outrigger_cache_${name} [1-9]`, 'm'), name);
    }
  });
});

for (const protocol of PROTOCOLS) describe(`cache when the backends or the store are down, ${protocol} clients`, { skip, timeout: 180_000 }, () => {
  test('every backend down: stale-if-error entries are served, others get the 502', async () => {
    const own = await fx.backendOf('down-origin', handler);
    const { client } = await startCacheNode(fx, protocol, cacheArgs(swift, bucket, own.url, ['--log']));
    const allowed = '/doc/sie?cc=max-age%3D0%2C%20stale-if-error%3D3600';
    const plain = '/doc/plain-stale?cc=max-age%3D0';
    await client.call({ path: allowed });
    await client.call({ path: plain });
    await untilStored(client, allowed, {}, 'only-if-cached, max-stale');
    await untilStored(client, plain, {}, 'only-if-cached, max-stale');
    await own.kill();
    await waitFor(async () => (await client.call({ path: '/v1/health' })).status === 502, 20_000, 'the backend to be marked down');
    await waitFor(async () => (await client.call({ path: allowed, headers: { 'cache-control': 'max-age=0' } })).status === 200, 10_000, 'the stored entry');
    const stale = await client.call({ path: allowed });
    assert.equal(stale.text, 'version 1');
    assert.match(status(stale), /stale-if-error/);
    assert.equal((await client.call({ path: plain })).status, 502);
  });

  test('store down: requests bypass the cache, no client error, the flip is logged once', async () => {
    const dead = await fx.backendOf('dead-store');
    const deadEndpoint = dead.url;
    await dead.kill();
    const o = await startFor(protocol, ['--health-path', '/health', '--log', '--cache-endpoint', deadEndpoint,
      '--cache-access-key', 'a', '--cache-secret-key', 'b', '--cache-bucket', 'nowhere', backend.url], (started) => fx.track(started));
    await o.output(/cache store .* is down, requests bypass the cache/, 30_000);
    const client = ProtocolClient.open(protocol, o);
    fx.add(async () => client.close());
    for (let i = 0; i < 3; i++) {
      const r = await client.call({ path: '/doc/bypass' });
      assert.equal(r.status, 200);
      assert.match(status(r), /fwd=bypass/);
      assert.equal(r.text, 'version 1');
    }
    assert.equal(o.stdout.match(/cache store .* is down/g)?.length, 1);
  });
});
