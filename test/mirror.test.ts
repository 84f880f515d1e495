import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startBackends } from './support/backends.js';
import { startOutrigger } from './support/outrigger.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Cleanup, listenLoopback } from './support/cleanup.js';

const cleanup = new Cleanup();

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: string;
}

/** A mirror that records what it receives and answers as `answer` says (or never). */
async function mirrorServer(answer: (res: http.ServerResponse) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body: Buffer.concat(parts).toString() });
      answer(res);
    });
  });
  const port = await listenLoopback(server);
  cleanup.add(async () => { server.closeAllConnections(); server.close(); });
  return { url: `http://127.0.0.1:${port}`, seen };
}

/** Copies travel on several connections at once: their order of arrival is not the clients'. */
function byUrl(list: readonly Seen[]): Seen[] {
  return [...list].sort((a, b) => a.url.localeCompare(b.url));
}

/** A mix of GETs and uploads (fixed length and chunked); every answer must come from the backend, whole. */
async function traffic(base: string): Promise<Seen[]> {
  const sent: Seen[] = [];
  for (let i = 0; i < 30; i++) {
    const body = i % 3 === 0 ? '' : `body-${i}-${'x'.repeat(i * 100)}`;
    const method = body === '' ? 'GET' : 'PUT';
    const headers = i % 3 === 2 ? { 'Transfer-Encoding': 'chunked' } : {};
    const r = await request(`${base}/obj/${i}?v=${i}`, { method, headers, body: body === '' ? undefined : body });
    assert.equal(r.status, 200, `request ${i}: ${r.text}`);
    assert.equal(r.text, `ok ${body.length}`);
    sent.push({ method, url: `/obj/${i}?v=${i}`, body });
  }
  return sent;
}

async function primary(): Promise<string> {
  const [b] = await startBackends(1, 'p', (req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => { n += d.length; });
    req.on('end', () => res.writeHead(200).end(`ok ${n}`));
  });
  cleanup.track(b!);
  return b!.url;
}

test('--mirror: a mirror that never answers adds no client error and no wait, and receives the same requests', async () => {
  const mirror = await mirrorServer(() => { /* never answers */ });
  const o = await startOutrigger(['--health-path', '/health', '--mirror', mirror.url, await primary()]);
  cleanup.track(o);
  const sent = await traffic(o.base);
  // Every client request finished while the mirror had answered none of its copies.
  await waitFor(() => mirror.seen.length === sent.length, 10_000, 'every copy at the mirror');
  assert.deepEqual(byUrl(mirror.seen), byUrl(sent));
});

test('--mirror: a mirror that accepts but never reads holds 64 copies unread while every client answer arrives; more are skipped, not queued', async () => {
  // The mirror's TCP peer takes connections and never reads from them, so whatever is written to
  // it stays in socket buffers or in Outrigger: every client answer below arrives while the mirror
  // holds its copy (or it was skipped), which is the proof that a slow mirror costs the client no wait.
  const held = new Set<net.Socket>();
  const stuck = net.createServer((socket) => {
    socket.pause();
    held.add(socket);
  });
  const port = await listenLoopback(stuck);
  cleanup.add(async () => { for (const s of held) s.destroy(); stuck.close(); });
  const o = await startOutrigger(['--health-path', '/health', '--mirror', `http://127.0.0.1:${port}`, await primary()]);
  cleanup.track(o);
  const body = Buffer.alloc(256 * 1024, 'm');
  for (let i = 0; i < 80; i++) {
    const r = await request(`${o.base}/up/${i}`, { method: 'PUT', body });
    assert.equal(r.status, 200);
    assert.equal(r.text, `ok ${body.length}`);
  }
  const metrics = await (await fetch(`${o.base}/.prometheus/metrics`)).text();
  // 64 copies in flight at most (src/ambassador/setup.ts): the first 64 wait at the mirror, the other 16 were dropped.
  assert.match(metrics, /^outrigger_mirror_skipped_total\{reason="busy"\} 16$/m);
  assert.doesNotMatch(metrics, /^outrigger_mirror_requests_total\{/m, 'no copy was answered or failed: all are still held');
  assert.ok(held.size >= 1 && held.size <= 64, `${held.size} mirror connections`);
});

test('--mirror: a mirror answering 500 or resetting adds no client error; its statuses are in the metrics', async () => {
  let n = 0;
  const mirror = await mirrorServer((res) => {
    if (n++ % 2 === 0) res.writeHead(500).end('broken');
    else res.socket?.resetAndDestroy();
  });
  const o = await startOutrigger(['--health-path', '/health', '--mirror', mirror.url, await primary()]);
  cleanup.track(o);
  const sent = await traffic(o.base);
  await waitFor(() => mirror.seen.length === sent.length, 10_000, 'every copy at the mirror');
  assert.deepEqual(byUrl(mirror.seen), byUrl(sent));
  await waitFor(async () => {
    const metrics = await (await fetch(`${o.base}/.prometheus/metrics`)).text();
    return /^outrigger_mirror_requests_total\{status="500"\} 15$/m.test(metrics) && /^outrigger_mirror_requests_total\{status="0"\} 15$/m.test(metrics);
  }, 10_000, 'the mirror statuses in the metrics');
});

test('--mirror: a dead mirror adds no client error; bodies over --mirror-body-limit are not mirrored', async () => {
  const dead = net.createServer();
  const port = await listenLoopback(dead);
  dead.close();
  const o = await startOutrigger(['--health-path', '/health', '--mirror', `http://127.0.0.1:${port}`, '--mirror-body-limit', '1KiB', await primary()]);
  cleanup.track(o);
  await traffic(o.base);
  const metrics = await (await fetch(`${o.base}/.prometheus/metrics`)).text();
  // Bodies of 100 × i bytes: i >= 11 is over 1 KiB (13 uploads); the other 17 requests were sent and got no answer.
  assert.match(metrics, /^outrigger_mirror_skipped_total\{reason="body"\} 13$/m);
  await waitFor(async () => /^outrigger_mirror_requests_total\{status="0"\} 17$/m.test(await (await fetch(`${o.base}/.prometheus/metrics`)).text()),
    10_000, 'every failed copy counted');
});
