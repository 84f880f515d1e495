/**
 * Hits of large bodies through the real CLI against a real S3 store (Swift + s3api): read as
 * consecutive Range GETs with If-Match, the next one read ahead (src/cache/store/parted-body.ts).
 * A body replaced in the store between two of them cuts the client's response, and the next
 * request is a miss. Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Fixtures } from './support/fixtures.js';
import { PathCounts } from './support/path-counts.js';
import type { ProtocolClient, Reply } from './support/protocols.js';
import { cacheArgs, cacheBed, startCacheNode } from './support/cache-node.js';
import { swiftMissing, type SwiftStore } from './support/swift.js';
import { waitFor } from './support/wait.js';
import type { TestBackend } from './support/backends.js';
import type { Outrigger } from './support/outrigger.js';

const skip = swiftMissing();
const fx = new Fixtures();
const MiB = 1024 * 1024;
/** Five 8 MiB parts: well over the two parts from which a hit is read ahead. */
const SIZE = 40 * MiB;
const BODY = randomBytes(SIZE);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const status = (r: Reply): string => String(r.headers['cache-status'] ?? '');

const fetches = new PathCounts();
const count = (path: string): number => fetches.of(path);

/**
 * /obj/<name>: BODY, cacheable, a strong ETag, at most 1 MiB every 40 ms: a store slower than the
 * client loses the fill by design, and a loaded machine's Swift may take less than a local backend sends.
 */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = fetches.add(req);
  req.resume();
  res.on('error', () => undefined);
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'max-age=600', ETag: `"${path}"`, 'Content-Length': SIZE });
  let at = 0;
  const next = (): void => {
    if (res.destroyed) return;
    if (at >= SIZE) return void res.end();
    res.write(BODY.subarray(at, at += MiB));
    setTimeout(next, 40);
  };
  next();
}

let swift: SwiftStore;
let s3: S3Client;
let bucket: string;
let backend: TestBackend;
let o: Outrigger;
let client: ProtocolClient;

async function stored(path: string): Promise<void> {
  await waitFor(async () => {
    const last = await client.call({ path, headers: { 'cache-control': 'only-if-cached' } });
    return last.status === 200 && /hit/.test(status(last));
  }, 60_000, `${path} to be stored`, 50);
}

async function metric(name: string): Promise<number> {
  const text = (await client.call({ path: '/.prometheus/metrics' })).text;
  return Number(new RegExp(`^outrigger_cache_${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

before(async () => {
  if (skip !== undefined) return;
  ({ swift, bucket, s3, backend } = await cacheBed(fx, 'ahead', handler));
  ({ o, client } = await startCacheNode(fx, 'http/1.1', cacheArgs(swift, bucket, backend.url)));
});

describe('large hits read ahead from the store', { skip, timeout: 180_000 }, () => {
  test('a whole hit and client ranges across parts come byte for byte from consecutive store ranges', async () => {
    const path = '/obj/whole';
    await client.call({ path });
    await stored(path);
    const before = await metric('read_ahead_total');
    const hit = await client.call({ path });
    assert.match(status(hit), /hit/);
    assert.equal(sha(hit.body), sha(BODY));
    assert.equal(await metric('read_ahead_total'), before + 1, 'read as parts');
    const middle = await client.call({ path, headers: { range: 'bytes=5000001-30000000' } });
    assert.equal(middle.status, 206);
    assert.equal(middle.headers['content-range'], `bytes 5000001-30000000/${SIZE}`);
    assert.equal(sha(middle.body), sha(BODY.subarray(5000001, 30000001)));
    const suffix = await client.call({ path, headers: { range: 'bytes=-20000000' } });
    assert.equal(sha(suffix.body), sha(BODY.subarray(SIZE - 20000000)));
    assert.equal(await metric('read_ahead_total'), before + 3);
    const small = await client.call({ path, headers: { range: 'bytes=100-200' } });
    assert.deepEqual(small.body, BODY.subarray(100, 201));
    assert.equal(await metric('read_ahead_total'), before + 3, 'a range within two parts is one GET');
    assert.equal(count(path), 1, 'all from the cache');
  });

  test('--cache-read-ahead 0: a large hit (stored by another sidecar) is one GET, byte for byte', async () => {
    const path = '/obj/whole';
    const { client: other } = await startCacheNode(fx, 'http/1.1', cacheArgs(swift, bucket, backend.url, ['--cache-read-ahead', '0']));
    // The same Host as the first sidecar's requests: the same key.
    const hit = await other.call({ path, headers: { host: `127.0.0.1:${o.port}` } });
    assert.match(status(hit), /hit/);
    assert.equal(sha(hit.body), sha(BODY));
    const text = (await other.call({ path: '/.prometheus/metrics' })).text;
    assert.match(text, /^outrigger_cache_read_ahead_total 0$/m);
    assert.equal(count(path), 1, 'from the store, not the backend');
  });

  test('the body replaced in the store between two ranges: the client response is cut, the next request a miss', async () => {
    const path = '/obj/replaced';
    const bodies = async (): Promise<string[]> => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [])
      .map((obj) => obj.Key!).filter((key) => key.endsWith('/body'));
    const earlier = new Set(await bodies());
    await client.call({ path });
    await stored(path);
    const key = (await bodies()).find((k) => !earlier.has(k));
    assert.ok(key, 'the stored body');
    // A client that reads the first bytes, then stops reading while the body is replaced.
    let res!: http.IncomingMessage;
    const req = http.get({ host: '127.0.0.1', port: o.port, path, agent: false });
    fx.add(async () => req.destroy());
    await new Promise<void>((resolve, reject) => {
      req.once('error', reject);
      req.once('response', (r) => {
        res = r;
        r.once('data', () => {
          r.pause();
          resolve();
        });
      });
    });
    assert.match(String(res.headers['cache-status']), /hit/);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(SIZE, 0x21) }));
    let received = 0;
    const complete = await new Promise<boolean>((resolve) => {
      res.on('data', (chunk: Buffer) => { received += chunk.length; });
      res.once('end', () => resolve(res.complete));
      res.once('error', () => resolve(false));
      req.once('error', () => resolve(false));
      res.resume();
    });
    assert.equal(complete, false, `the response is cut (${received} bytes of ${SIZE} arrived), never presented as whole`);
    assert.ok(received < SIZE);
    const fetched = count(path);
    const after = await client.call({ path });
    assert.doesNotMatch(status(after), /hit/);
    assert.equal(sha(after.body), sha(BODY), 'never the replaced bytes');
    assert.equal(count(path), fetched + 1, 'the next request went to the backend');
  });
});
