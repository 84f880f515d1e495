import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { SiteSpec } from '../config/types.js';
import { Mirror, type MirrorSettings } from './mirror.js';
import { BodyCopy } from './body-copy.js';

const SETTINGS: MirrorSettings = { sample: 1, maxBodyBytes: 1024, maxInFlight: 4, timeoutMs: 5000 };

function siteAt(port: number): SiteSpec {
  return { index: 0, source: `http://127.0.0.1:${port}`, backends: [{ url: `http://127.0.0.1:${port}`, protocol: 'http:', hostname: '127.0.0.1', port, basePath: '' }] };
}

async function listen(server: http.Server | net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('body copy: bytes are copied, and given up past the limit', () => {
  const copy = new BodyCopy(5);
  const source = Buffer.from('abc');
  copy.add(source);
  source.fill(0);
  assert.equal(copy.body().toString(), 'abc');
  copy.add(Buffer.from('xyz'));
  assert.equal(copy.complete, false);
});

test('mirror: the copy carries method, path, headers and the same body; the answer is counted', async (t) => {
  const seen: { method: string; url: string; header: string | undefined; body: string }[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, header: req.headers['x-test'] as string | undefined, body: Buffer.concat(parts).toString() });
      res.writeHead(201).end('ignored');
    });
  });
  const port = await listen(server);
  const mirror = new Mirror(siteAt(port), SETTINGS);
  t.after(() => { mirror.close(); server.close(); });
  const copy = mirror.begin()!;
  copy.add(Buffer.from('hello '));
  copy.add(Buffer.from('world'));
  mirror.send({ method: 'PUT', path: '/b/k?x=1', headers: ['X-Test', 'yes', 'Transfer-Encoding', 'chunked'] }, copy);
  await until(() => mirror.stats.statuses.get(201) === 1, 'the mirror answer');
  assert.deepEqual(seen, [{ method: 'PUT', url: '/b/k?x=1', header: 'yes', body: 'hello world' }]);
  assert.equal(mirror.stats.latency.count, 1);
});

test('mirror: a dead mirror and a slow one are counted as no answer, never thrown', async (t) => {
  const dead = net.createServer();
  const deadPort = await listen(dead);
  dead.close();
  const deadMirror = new Mirror(siteAt(deadPort), SETTINGS);
  const slow = http.createServer(() => { /* never answers */ });
  const slowPort = await listen(slow);
  const slowMirror = new Mirror(siteAt(slowPort), { ...SETTINGS, timeoutMs: 200 });
  t.after(() => { deadMirror.close(); slowMirror.close(); slow.closeAllConnections(); slow.close(); });
  deadMirror.send({ method: 'GET', path: '/', headers: [] }, deadMirror.begin()!);
  slowMirror.send({ method: 'GET', path: '/', headers: [] }, slowMirror.begin()!);
  await until(() => deadMirror.stats.statuses.get(0) === 1 && slowMirror.stats.statuses.get(0) === 1, 'both failures');
});

test('mirror: over the body bound, over the in-flight bound, or sampled out, nothing is sent', async (t) => {
  let requests = 0;
  const server = http.createServer(() => { requests++; });
  const port = await listen(server);
  let r = 0.9;
  const mirror = new Mirror(siteAt(port), { ...SETTINGS, maxInFlight: 1, sample: 0.5 }, { random: () => r });
  t.after(() => { mirror.close(); server.closeAllConnections(); server.close(); });
  assert.equal(mirror.begin(), null, 'sampled out');
  r = 0.1;
  const big = mirror.begin()!;
  big.add(Buffer.alloc(2000));
  mirror.send({ method: 'PUT', path: '/', headers: [] }, big);
  assert.equal(mirror.stats.skippedBody, 1);
  mirror.send({ method: 'GET', path: '/', headers: [] }, mirror.begin()!);
  assert.equal(mirror.begin(), null, 'one in flight already');
  assert.equal(mirror.stats.skippedBusy, 1);
  await until(() => requests === 1, 'the one mirrored request');
  assert.equal(mirror.stats.sent, 1);
});
