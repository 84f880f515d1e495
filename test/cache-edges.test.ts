/**
 * The shared cache's edges, through the real CLI against a real S3 store (Swift + s3api): a
 * client that leaves mid-fill (quick-abort policy, followers), stale responses when the backend
 * refuses connections or does not answer in time, HEAD hits on a kept-alive connection, Range
 * misses that fill the whole object, and multi-range requests. Each case runs for HTTP/1.1 and
 * HTTP/2 clients (one CLI each, paths and gates of its own), except what only HTTP/1.1 has (a
 * kept-alive connection after a HEAD). Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Fixtures } from './support/fixtures.js';
import { PROTOCOLS, ProtocolClient, short, type Protocol, type Reply } from './support/protocols.js';
import { cacheArgs, cacheBed, openUploads, startCacheNode } from './support/cache-node.js';
import { swiftMissing, type SwiftStore } from './support/swift.js';
import { waitFor } from './support/wait.js';
import type { TestBackend } from './support/backends.js';
import type { Outrigger } from './support/outrigger.js';
import { entryKeys } from '../src/cache/key.js';

const skip = swiftMissing();
const fx = new Fixtures();
const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const BODY = randomBytes(8 * MiB);
const bodyOf = (size: number): Buffer => BODY.subarray(0, size);

const fetches = new Map<string, number>();
const count = (path: string): number => fetches.get(path) ?? 0;
/** Gated bodies wait here, by id, before sending their second part. */
const gates = new Map<string, () => void>();
let hang = false;
const flips = new Map<string, string>();

/**
 * /obj/<size>            <size> bytes, a strong ETag, single byte ranges honoured (206)
 * /gated/<size>?at=N&id  the first N bytes, then the rest once the test opens gate <id>
 * /doc/<name>?cc=...     "version 1" with that Cache-Control; no answer at all while `hang`
 * /big/<size>            <size> bytes: BODY repeated
 * /flip/<name>           "flip" with the Cache-Control the test set in `flips` (no-store until then)
 */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url!, 'http://x');
  fetches.set(url.pathname, count(url.pathname) + 1);
  const [, kind, arg] = url.pathname.split('/') as [string, string, string];
  req.resume();
  res.on('error', () => undefined);
  if (kind === 'doc') {
    if (hang) return;
    res.writeHead(200, { 'Content-Type': 'text/plain', ETag: `"${arg}"`, 'Cache-Control': url.searchParams.get('cc') ?? 'max-age=600' }).end('version 1');
    return;
  }
  if (kind === 'flip') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': flips.get(arg) ?? 'no-store' }).end('flip');
    return;
  }
  const body = bodyOf(Number(arg));
  const headers = { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'max-age=600', ETag: `"${kind}-${arg}"`, 'Accept-Ranges': 'bytes' };
  if (kind === 'obj') {
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range === null) res.writeHead(200, { ...headers, 'Content-Length': body.length }).end(body);
    else {
      const [start, end] = [Number(range[1]), Math.min(Number(range[2]), body.length - 1)];
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${body.length}`, 'Content-Length': end - start + 1 }).end(body.subarray(start, end + 1));
    }
  } else if (kind === 'gated') {
    const at = Number(url.searchParams.get('at'));
    res.writeHead(200, { ...headers, 'Content-Length': body.length });
    res.write(body.subarray(0, at));
    gates.set(url.searchParams.get('id')!, () => res.end(body.subarray(at)));
  } else if (kind === 'big') {
    res.writeHead(200, { ...headers, 'Content-Length': Number(arg) });
    void sendRepeated(res, Number(arg));
  } else res.writeHead(404).end();
}

/** `size` bytes of BODY over and over, with backpressure. */
async function sendRepeated(res: http.ServerResponse, size: number): Promise<void> {
  for (let sent = 0; sent < size && !res.destroyed;) {
    const piece = BODY.subarray(0, Math.min(BODY.length, size - sent));
    sent += piece.length;
    if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}

let swift: SwiftStore;
let s3: S3Client;
let bucket: string;
let backend: TestBackend;

function start(protocol: Protocol, origin: TestBackend, extra: string[] = []): Promise<{ o: Outrigger; client: ProtocolClient }> {
  return startCacheNode(fx, protocol, cacheArgs(swift, bucket, origin.url, extra));
}

async function stored(client: ProtocolClient, path: string): Promise<Reply> {
  let last: Reply | undefined;
  // A bypass (the store failed a call on a loaded machine: down until its next probe) is no answer yet.
  await waitFor(async () => {
    last = await client.call({ path, headers: { 'cache-control': 'only-if-cached' } });
    return last.status !== 504 && !/fwd=bypass/.test(status(last));
  }, 60_000, `${path} to be stored`, 50);
  return last!;
}

async function metric(client: ProtocolClient, name: string): Promise<number> {
  const text = (await client.call({ path: '/.prometheus/metrics' })).text;
  return Number(new RegExp(`^outrigger_cache_${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

/**
 * Store calls made so far, once none is running: one still running (an early body read a lookup
 * dropped, a fill's last write) would be counted in the middle of what a test measures.
 */
async function settledStoreCalls(client: ProtocolClient): Promise<number> {
  await waitFor(async () => (await metric(client, 'store_calls_in_flight')) === 0, 30_000, 'store calls to end', 50);
  return metric(client, 'store_latency_ms_count');
}

/** Waits until a counter of the cache went past `from`. */
async function counted(client: ProtocolClient, name: string, from: number): Promise<void> {
  await waitFor(async () => (await metric(client, name)) > from, 60_000, `${name} to count`, 50);
}

const status = (r: Reply): string => String(r.headers['cache-status'] ?? '');

/** A GET read as it arrives; `leave()` drops it (socket closed, or HTTP/2 stream cancelled). */
interface Partial {
  /** Resolves once at least `bytes` bytes arrived. */
  readonly reached: Promise<void>;
  readonly done: Promise<{ body: Buffer; headers: Record<string, unknown>; complete: boolean }>;
  leave(): void;
}

function partialGet(protocol: Protocol, port: number, path: string, bytes: number): Partial {
  const chunks: Buffer[] = [];
  let got = 0;
  let reachedNow!: () => void;
  const reached = new Promise<void>((resolve) => { reachedNow = resolve; });
  let finish!: (complete: boolean) => void;
  let headers: Record<string, unknown> = {};
  const done = new Promise<{ body: Buffer; headers: Record<string, unknown>; complete: boolean }>((resolve) => {
    finish = (complete) => resolve({ body: Buffer.concat(chunks), headers, complete });
  });
  const onData = (d: Buffer): void => {
    chunks.push(d);
    got += d.length;
    if (got >= bytes) reachedNow();
  };
  if (protocol === 'h2') {
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    session.on('error', () => undefined);
    const stream = session.request({ ':path': path });
    stream.on('response', (h) => { headers = h; });
    stream.on('data', onData);
    stream.on('error', () => undefined);
    stream.once('close', () => { finish(stream.rstCode === 0); session.destroy(); });
    return { reached, done, leave: () => stream.close(http2.constants.NGHTTP2_CANCEL) };
  }
  const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
    headers = res.headers;
    res.on('data', onData);
    res.once('end', () => finish(res.complete));
    res.once('error', () => finish(false));
  });
  req.on('error', () => finish(false));
  return { reached, done, leave: () => req.destroy() };
}

before(async () => {
  if (skip !== undefined) return;
  ({ swift, bucket, s3, backend } = await cacheBed(fx, 'edge', handler));
});

for (const protocol of PROTOCOLS) {
  describe(`a client leaves mid-fill (${protocol}; quick-abort defaults: finish when ≤1MiB is left)`, { skip, timeout: 180_000 }, () => {
    let o: Outrigger;
    let client: ProtocolClient;
    const p = short(protocol);
    before(async () => {
      ({ o, client } = await start(protocol, backend));
    });

    test('with little left, the fill is finished without the client and the object is stored whole', async () => {
      const path = `/gated/${8 * MiB}?at=${7 * MiB}&id=finish-${p}`;
      const before = await metric(client, 'fills_without_client_total');
      const fetched = count(`/gated/${8 * MiB}`);
      const leaver = partialGet(protocol, o.port, path, 7 * MiB);
      await leaver.reached;
      leaver.leave();
      await counted(client, 'fills_without_client_total', before);
      gates.get(`finish-${p}`)!();
      const hit = await stored(client, path);
      assert.equal(hit.status, 200);
      assert.match(status(hit), /hit/);
      assert.equal(sha(hit.body), sha(bodyOf(8 * MiB)));
      assert.equal(count(`/gated/${8 * MiB}`), fetched + 1, 'one backend fetch');
    });

    test('with most of it left, the fill is aborted: no object, no open upload', async () => {
      const path = `/gated/${8 * MiB}?at=${MiB}&id=abort-${p}`;
      const before = await metric(client, 'fills_aborted_total');
      const leaver = partialGet(protocol, o.port, path, MiB);
      await leaver.reached;
      leaver.leave();
      await counted(client, 'fills_aborted_total', before);
      gates.get(`abort-${p}`)!();
      await waitFor(async () => (await openUploads(s3, bucket)) === 0, 30_000, 'no open multipart upload');
      const after = await client.call({ path, headers: { 'cache-control': 'only-if-cached' } });
      assert.equal(after.status, 504, 'nothing stored');
    });

    test('a leader leaves while a follower reads the same fetch: the fetch goes on, the follower gets the whole body and the object is stored', async () => {
      const path = `/gated/${8 * MiB}?at=${MiB}&id=follow-${p}`;
      const before = await metric(client, 'fills_without_client_total');
      const fetched = count(`/gated/${8 * MiB}`);
      const leader = partialGet(protocol, o.port, path, MiB);
      await leader.reached;
      const follower = partialGet(protocol, o.port, path, MiB);
      await follower.reached;
      leader.leave();
      await counted(client, 'fills_without_client_total', before);
      gates.get(`follow-${p}`)!();
      const got = await follower.done;
      assert.ok(got.complete);
      assert.match(String(got.headers['cache-status']), /collapsed/);
      assert.equal(sha(got.body), sha(bodyOf(8 * MiB)));
      const hit = await stored(client, path);
      assert.equal(sha(hit.body), sha(bodyOf(8 * MiB)));
      assert.equal(count(`/gated/${8 * MiB}`), fetched + 1, 'one backend fetch for both');
    });
  });
}

/**
 * A TCP relay to the store that, while `closed`, holds back every connection that starts sending
 * a body (a chunk of 8 KiB or more), reading no more of it, until open() is called; small requests
 * (lookups, probes) pass.
 */
async function gatedStore(target: URL): Promise<{ url: string; held: () => number; open: () => void }> {
  let closed = true;
  const waiting: (() => void)[] = [];
  let held = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(Number(target.port), target.hostname);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    let holding = false;
    inbound.on('data', (chunk: Buffer) => {
      if (closed && chunk.length >= 8192) holding = true;
      if (!holding || !closed) return void outbound.write(chunk);
      // Held, and no more read: what follows stays with the sender (as with a store that stalls).
      held += chunk.length;
      inbound.pause();
      waiting.push(() => {
        outbound.write(chunk);
        inbound.resume();
      });
    });
    outbound.pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
    inbound.on('close', () => outbound.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fx.add(() => new Promise((resolve) => {
    server.close(resolve);
    for (const socket of sockets) socket.destroy();
  }));
  const open = (): void => {
    closed = false;
    for (const send of waiting.splice(0)) send();
  };
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, held: () => held, open };
}

for (const protocol of PROTOCOLS) describe(`a store slower than the client (${protocol})`, { skip, timeout: 180_000 }, () => {
  const p = short(protocol);
  test('the client gets the whole body without waiting for the store; the fill completes after it, in the background', async () => {
    const gate = await gatedStore(new URL(swift.endpoint));
    const { client } = await startCacheNode(fx, protocol, cacheArgs({ ...swift, endpoint: gate.url }, bucket, backend.url));
    const path = `/obj/${MiB}?gated-store=${p}`;
    const got = await client.call({ path });
    assert.equal(got.status, 200);
    assert.equal(sha(got.body), sha(bodyOf(MiB)));
    assert.match(status(got), /fwd=uri-miss; stored/);
    // The client has every byte while the store has not received the body yet.
    await waitFor(() => gate.held() > 0, 30_000, 'the body to reach the held store connection', 20);
    assert.equal((await client.call({ path, headers: { 'cache-control': 'only-if-cached' } })).status, 504);
    gate.open();
    const hit = await stored(client, path);
    assert.equal(sha(hit.body), sha(bodyOf(MiB)));
  });

  test('a stalled store: the client gets all 48 MiB, the fill is given up at its 32 MiB bound, nothing stored, no upload left open', async () => {
    const gate = await gatedStore(new URL(swift.endpoint));
    const { client } = await startCacheNode(fx, protocol, cacheArgs({ ...swift, endpoint: gate.url }, bucket, backend.url));
    const path = `/big/${48 * MiB}?${p}`;
    const got = await client.call({ path });
    assert.equal(got.status, 200);
    assert.equal(got.body.length, 48 * MiB);
    assert.equal(sha(got.body.subarray(40 * MiB)), sha(BODY), 'the last 8 MiB arrived intact');
    gate.open();
    await counted(client, 'fills_store_too_slow_total', 0);
    assert.equal((await client.call({ path, headers: { 'cache-control': 'only-if-cached' } })).status, 504);
    await waitFor(async () => (await openUploads(s3, bucket)) === 0, 30_000, 'no open upload', 100);
  });
});

for (const protocol of PROTOCOLS) describe(`stale-if-error when no response comes at all (${protocol})`, { skip, timeout: 180_000 }, () => {
  test('a backend that does not answer in time, then refuses connections: stale-if-error entries answer, others get the error', async () => {
    const own = await fx.backendOf(`stale-origin-${short(protocol)}`, handler);
    // A long probe interval: the backend stays "ready", so requests really go to it and fail.
    const { client } = await start(protocol, own, ['--response-timeout', '2s']);
    const allowed = '/doc/sie?cc=max-age%3D0%2C%20stale-if-error%3D3600';
    const plain = '/doc/plain?cc=max-age%3D0';
    const filled = await metric(client, 'fills_completed_total');
    await client.call({ path: allowed });
    await client.call({ path: plain });
    // Stored stale (max-age=0): only-if-cached cannot show them, the fill counter can.
    await waitFor(async () => (await metric(client, 'fills_completed_total')) >= filled + 2, 20_000, 'both entries stored', 50);
    hang = true;
    const late = await client.call({ path: allowed });
    assert.equal(late.status, 200);
    assert.equal(late.text, 'version 1');
    assert.match(status(late), /fwd=stale; detail=stale-if-error/);
    hang = false;
    // Closed rather than reset (TestBackend.kill): a socket reset while Node 20 still held it was
    // seen to keep this test process from exiting (its handle never closed).
    await new Promise((resolve) => { own.server.close(resolve); own.server.closeAllConnections(); });
    const refused = await client.call({ path: allowed });
    assert.equal(refused.status, 200);
    assert.equal(refused.text, 'version 1');
    assert.match(status(refused), /stale-if-error/);
    assert.equal((await client.call({ path: plain })).status, 502);
  });
});

for (const protocol of PROTOCOLS) describe(`cache lookups through ${protocol}: passes, the memory tier, remembered metadata`, { skip, timeout: 180_000 }, () => {
  let client: ProtocolClient;
  let o: Outrigger;
  const p = short(protocol);
  before(async () => {
    ({ o, client } = await start(protocol, backend));
  });

  // HTTP/2 has no connection to keep per request: a HEAD hit on it is in cache.test ("HEAD is answered from the GET entry").
  if (protocol === 'http/1.1') test('a HEAD hit keeps the connection alive (Content-Length of the GET, no body)', async () => {
    const path = '/obj/4096?head=1';
    await client.call({ path });
    await stored(client, path);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    fx.add(async () => agent.destroy());
    const call = (method: string): Promise<{ status: number; length: string | undefined; body: number; reused: boolean; cacheStatus: string }> =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: o.port, path, method, agent }, (res) => {
          let body = 0;
          res.on('data', (d: Buffer) => { body += d.length; });
          res.once('end', () => resolve({ status: res.statusCode!, length: res.headers['content-length'], body, reused: req.reusedSocket, cacheStatus: String(res.headers['cache-status']) }));
        });
        req.once('error', reject);
        req.end();
      });
    const head = await call('HEAD');
    assert.deepEqual([head.status, head.length, head.body], [200, '4096', 0]);
    assert.match(head.cacheStatus, /hit/);
    const get = await call('GET');
    assert.equal(get.body, 4096);
    assert.ok(get.reused, 'the GET went on the connection of the HEAD');
  });

  test('a URL whose response was not stored skips the store lookup next time (a pass); once its response may be stored, it is', async () => {
    const path = `/flip/p1-${p}`;
    assert.doesNotMatch(status(await client.call({ path })), /detail=pass/, 'the first request looks the URL up');
    const calls = await settledStoreCalls(client);
    const passed = await client.call({ path });
    assert.deepEqual([passed.status, passed.text], [200, 'flip']);
    assert.match(status(passed), /fwd=uri-miss; detail=pass/);
    assert.equal(await metric(client, 'store_latency_ms_count'), calls, 'no store call for the passed request');
    flips.set(`p1-${p}`, 'max-age=600');
    const now = await client.call({ path });
    assert.match(status(now), /fwd=uri-miss; stored; detail=pass/, 'still passed, and stored: its response may be now');
    assert.match(status(await stored(client, path)), /hit/);
    assert.equal(count(path), 3, 'every request before the hit reached the backend');
  });

  test('a response not stored because the request had credentials makes no pass for the URL', async () => {
    const path = `/flip/p2-${p}`;
    flips.set(`p2-${p}`, 'max-age=600'); // storable, except for a request with Authorization (RFC 9111 §3.5)
    assert.doesNotMatch(status(await client.call({ path, headers: { authorization: 'Bearer t' } })), /stored/);
    const calls = await metric(client, 'store_latency_ms_count');
    const anonymous = await client.call({ path });
    assert.match(status(anonymous), /fwd=uri-miss; stored$/, 'looked up (no pass) and stored');
    assert.ok(await metric(client, 'store_latency_ms_count') > calls, 'the store was asked');
  });

  test('a small hot object is served from the memory tier without a store call', async () => {
    const path = '/obj/2000?memory=1';
    await client.call({ path });
    await stored(client, path);
    const calls = await settledStoreCalls(client);
    for (let i = 0; i < 5; i++) {
      const hit = await client.call({ path });
      assert.match(status(hit), /hit/);
      assert.deepEqual(hit.body, bodyOf(2000));
    }
    assert.equal(await metric(client, 'store_latency_ms_count'), calls, 'no store call for the five hits');
  });

  test('a large object\'s repeat hits make one store call each (its body); a body replaced behind its back is not served', async () => {
    const size = 5 * MiB + 123; // above the memory tier's largest object (4 MiB by default)
    const path = `/obj/${size}?remembered=1`;
    await client.call({ path });
    await stored(client, path);
    const calls = await settledStoreCalls(client);
    for (let i = 0; i < 3; i++) {
      const hit = await client.call({ path });
      assert.match(status(hit), /hit/);
      assert.equal(sha(hit.body), sha(bodyOf(size)));
    }
    assert.equal(await metric(client, 'store_latency_ms_count'), calls + 3, 'one store call per hit: the metadata was remembered');

    // Another sidecar (here: the test, straight to the store) replaces the body with other bytes.
    const key = `${entryKeys('', protocol === 'h2' ? 'https' : 'http', `127.0.0.1:${o.port}`, path).dir}body`;
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
    assert.equal(listed.Contents?.find((stored) => stored.Key === key)?.Size, size, 'the stored body');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(size, 0x21) }));
    const fetched = count(`/obj/${size}`);
    const after = await client.call({ path });
    assert.equal(sha(after.body), sha(bodyOf(size)), 'never the replaced bytes');
    assert.doesNotMatch(status(after), /hit/);
    // The backend's bytes: a new fetch, or (within its short grace) the fetch that filled the entry.
    assert.ok(count(`/obj/${size}`) === fetched + 1 || /collapsed/.test(status(after)), `from the backend: ${status(after)}`);
  });
});

for (const protocol of PROTOCOLS) describe(`cache ranges through ${protocol}`, { skip, timeout: 180_000 }, () => {
  let client: ProtocolClient;
  /** This suite's own path segment (the backend counts requests by path). */
  const p = short(protocol);
  before(async () => {
    ({ client } = await start(protocol, backend));
  });

  test('a Range miss is relayed as asked and starts a whole fill in the background; the next range is a hit', async () => {
    const path = `/obj/${2 * MiB}/${p}`;
    const first = await client.call({ path, headers: { range: 'bytes=100-199' } });
    assert.equal(first.status, 206);
    assert.deepEqual(first.body, bodyOf(2 * MiB).subarray(100, 200));
    const hit = await stored(client, path);
    assert.equal(sha(hit.body), sha(bodyOf(2 * MiB)));
    const second = await client.call({ path, headers: { range: 'bytes=1000-1999' } });
    assert.equal(second.status, 206);
    assert.match(status(second), /hit/);
    assert.deepEqual(second.body, bodyOf(2 * MiB).subarray(1000, 2000));
    assert.equal(count(`/obj/${2 * MiB}/${p}`), 2, 'the range and one whole fetch');
  });

  test('a multi-range request on a hit gets the whole object (200), as RFC 9110 §14.2 allows', async () => {
    const path = `/obj/1000/${p}?multi=1`;
    await client.call({ path });
    await stored(client, path);
    const multi = await client.call({ path, headers: { range: 'bytes=0-9,20-29' } });
    assert.equal(multi.status, 200);
    assert.match(status(multi), /hit/);
    assert.deepEqual(multi.body, bodyOf(1000));
  });
});

for (const protocol of PROTOCOLS) describe(`a first hit whose metadata no tier remembers (${protocol})`, { skip, timeout: 180_000 }, () => {
  test('an entry the memory tier evicted is one store call, the body object with its metadata, byte for byte; a HEAD reads no body', async () => {
    // A 64 KiB memory tier (objects up to 4 KiB): twenty more 4000 B entries evict the first.
    const { client } = await start(protocol, backend, ['--cache-memory', '64KiB']);
    const path = '/obj/3000?early=1';
    await client.call({ path });
    await stored(client, path);
    for (let i = 0; i < 20; i++) {
      await client.call({ path: `/obj/4000?evict=${i}` });
      await stored(client, `/obj/4000?evict=${i}`);
    }
    const early = await metric(client, 'early_bodies_total');
    const fetched = count('/obj/3000');
    let calls = await settledStoreCalls(client);
    const hit = await client.call({ path });
    assert.match(status(hit), /hit/);
    assert.deepEqual(hit.body, bodyOf(3000));
    assert.equal(await settledStoreCalls(client), calls + 1, 'one store call');
    assert.equal(await metric(client, 'early_bodies_total'), early + 1, 'the body came with the lookup');
    assert.equal(count('/obj/3000'), fetched, 'not from the backend');
    // Back in the memory tier now: the next hit makes no store call.
    calls = await metric(client, 'store_latency_ms_count');
    assert.deepEqual((await client.call({ path })).body, bodyOf(3000));
    assert.equal(await metric(client, 'store_latency_ms_count'), calls);
    // A HEAD (evicted again first) needs no body: its lookup is a HEAD of the object.
    for (let i = 20; i < 40; i++) {
      await client.call({ path: `/obj/4000?evict=${i}` });
      await stored(client, `/obj/4000?evict=${i}`);
    }
    calls = await settledStoreCalls(client);
    const bodies = await metric(client, 'early_bodies_total');
    const head = await client.call({ method: 'HEAD', path });
    assert.equal(head.status, 200);
    assert.equal(await settledStoreCalls(client), calls + 1, 'one store call');
    assert.equal(await metric(client, 'early_bodies_total'), bodies, 'no body read');
  });
});
