/**
 * The cache with `--workers 2`, through the real CLI against a real S3 store (Swift + s3api):
 * each worker has its own memory tier, so a PUT answered by one worker must also drop what the
 * other holds. Every request goes on a connection of its own, which node:cluster hands to the
 * workers in turn. Skipped where Swift is missing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Fixtures } from './support/fixtures.js';
import { cacheBed, startCacheNode } from './support/cache-node.js';
import { swiftMissing } from './support/swift.js';
import { waitFor } from './support/wait.js';
import type { Outrigger } from './support/outrigger.js';

const skip = swiftMissing();
const fx = new Fixtures();
const versions = new Map<string, number>();

/** GET: "version N" of the path, fresh for 10 minutes; PUT makes the next version. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  const path = req.url!;
  if (req.method === 'PUT') {
    versions.set(path, (versions.get(path) ?? 1) + 1);
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    return;
  }
  const version = versions.get(path) ?? 1;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'max-age=600', ETag: `"${version}"` }).end(`version ${version}`);
}

interface Answer { status: number; text: string; cacheStatus: string }

/** One request on a connection of its own. */
function fresh(o: Outrigger, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: o.port, path, method, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), cacheStatus: String(res.headers['cache-status'] ?? '') }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(method === 'PUT' ? 'new' : undefined);
  });
}

describe('the cache with --workers 2', { skip, timeout: 180_000 }, () => {
  let o: Outrigger;

  before(async () => {
    ({ o } = await startCacheNode(fx, 'http/1.1', (await cacheBed(fx, 'workers', handler)).args(['--workers', '2'])));
    // Each worker probes the store itself: until both saw it up, one of them bypasses the cache.
    await waitFor(() => (o.stdout.match(/cache store .* is up/g) ?? []).length >= 2, 30_000, 'both workers\' cache store up');
  });

  test('a PUT through one worker: no worker serves the old response after it (memory tiers included)', async () => {
    const path = '/doc/shared';
    assert.equal((await fresh(o, path)).text, 'version 1');
    // Both workers find it in the store (and keep it in their memory tiers), then answer from memory.
    await waitFor(async () => (await fresh(o, path, 'GET', { 'cache-control': 'only-if-cached' })).status === 200, 30_000, 'the entry stored');
    for (let i = 0; i < 4; i++) assert.equal((await fresh(o, path, 'GET', { 'cache-control': 'only-if-cached' })).status, 200);
    for (let i = 0; i < 4; i++) {
      const hit = await fresh(o, path);
      assert.deepEqual([hit.text, /hit/.test(hit.cacheStatus) || hit.cacheStatus === ''], ['version 1', true], 'served from the cache');
    }
    assert.equal((await fresh(o, path, 'PUT')).status, 200);
    for (let i = 0; i < 8; i++) {
      const after = await fresh(o, path);
      assert.equal(after.text, 'version 2', `request ${i} after the PUT (${after.cacheStatus})`);
    }
  });
});
