import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { startBackends } from './support/backends.js';
import { runCli, startOutrigger } from './support/outrigger.js';
import { Cleanup } from './support/cleanup.js';
import { waitFor } from './support/wait.js';

const cleanup = new Cleanup();

/** One GET from a chosen loopback source address (127.0.0.1 and 127.0.0.2 are two clients). */
function get(port: number, from: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/x', localAddress: from, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.once('error', reject);
  });
}

test('--rate-limit: a client over its limit gets 429 with Retry-After and RateLimit fields; another client is unaffected', async () => {
  const backends = await startBackends(1);
  const o = await startOutrigger(['--health-path', '/health', '--rate-limit', '5/m,burst=5', backends[0]!.url]);
  cleanup.track(o, ...backends);
  for (let i = 0; i < 5; i++) assert.equal((await get(o.port, '127.0.0.1')).status, 200, `request ${i + 1} is within the burst`);
  const refused = await get(o.port, '127.0.0.1');
  assert.equal(refused.status, 429);
  const retryAfter = Number(refused.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 12, `Retry-After ${refused.headers['retry-after']}`);
  assert.equal(refused.headers['ratelimit'], `"outrigger";r=0;t=${retryAfter}`);
  assert.equal(refused.headers['ratelimit-policy'], '"outrigger";q=5;w=60');
  assert.equal(backends[0]!.hits, 5, 'the refused request never reached the backend');
  assert.equal((await get(o.port, '127.0.0.2')).status, 200, 'another client address has its own bucket');
  const metrics = await (await fetch(`${o.base}/.prometheus/metrics`)).text();
  assert.match(metrics, /^outrigger_rate_limited_total 1$/m);
});

test('--max-conns-per-client closes a client\'s connections over the cap, not another client\'s', async () => {
  const backends = await startBackends(1);
  const o = await startOutrigger(['--health-path', '/health', '--max-conns-per-client', '2', backends[0]!.url]);
  cleanup.track(o, ...backends);
  const open = async (from: string): Promise<net.Socket> => {
    const s = net.connect({ host: '127.0.0.1', port: o.port, localAddress: from });
    s.on('error', () => {}); // a connection over the cap may be reset: 'close' follows
    await once(s, 'connect');
    cleanup.add(async () => { s.destroy(); });
    return s;
  };
  /** A new connection from `from` gets an answer (true) or is closed unanswered (false). */
  const served = (from: string): Promise<boolean> => new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: o.port, localAddress: from }, () => s.write('GET /x HTTP/1.1\r\nHost: t\r\n\r\n'));
    s.on('error', () => {});
    s.once('data', () => { s.destroy(); resolve(true); });
    s.once('close', () => resolve(false));
  });
  const [a, b] = [await open('127.0.0.1'), await open('127.0.0.1')];
  assert.equal(await served('127.0.0.1'), false, 'a third connection is closed unanswered');
  const other = await open('127.0.0.2');
  for (const s of [a, b, other]) {
    s.write('GET /x HTTP/1.1\r\nHost: t\r\n\r\n');
    const [chunk] = await once(s, 'data') as [Buffer];
    assert.match(chunk.toString('latin1'), /^HTTP\/1\.1 200 /);
  }
  a.destroy();
  // The slot is free once the server saw the close: then a new connection is served.
  await waitFor(() => served('127.0.0.1'), 10_000, 'a free slot once a connection closed');
});

test('--rate-limit and --max-conns-per-client with --workers 2 exit at start naming both flags (per-worker counts would multiply the limit)', async () => {
  const backends = await startBackends(1);
  cleanup.track(...backends);
  for (const limit of [['--rate-limit', '100/s'], ['--max-conns-per-client', '10']]) {
    const r = await runCli(['--address', '127.0.0.1:0', '--workers', '2', ...limit, backends[0]!.url]);
    assert.notEqual(r.code, 0, `${limit[0]} with --workers 2 started:\n${r.stdout}`);
    assert.match(r.stderr, new RegExp(`${limit[0]} with --workers 2: each worker would count a client on its own`));
    assert.doesNotMatch(r.stdout, /listening on/);
  }
});
