import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackends, TestBackend } from './support/backends.js';
import { startOutrigger, type Outrigger } from './support/outrigger.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Cleanup } from './support/cleanup.js';
import { deferred } from './support/flow.js';

const cleanup = new Cleanup();

function track(o: Outrigger, backends: TestBackend[]): void {
  cleanup.track(o, ...backends);
}

test('--health-optimistic stops probing a healthy backend until a request error takes it down', async () => {
  const backends = await startBackends(2);
  const [b1, b2] = backends as [TestBackend, TestBackend];
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '50ms', '--health-optimistic', '--log', `${b1.url},${b2.url}`]);
  track(o, backends);
  await waitFor(() => b1.healthHits >= 1 && b2.healthHits >= 1, 20_000, 'the first probes');
  const probesBefore = b1.healthHits;
  // Many probe intervals pass: an optimistic checker leaves the healthy backend alone.
  for (let i = 0; i < 20; i++) assert.equal((await request(`${o.base}/x`)).status, 200);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(b1.healthHits, probesBefore, 'no probes while healthy');
  await b1.kill();
  await waitFor(async () => { await request(`${o.base}/x`); return /is down/.test(o.stdout); }, 20_000, 'a request error to take b1 down');
  await b1.restart();
  await o.output(new RegExp(`${b1.url} is up Downtime`));
});

test('--health-port probes another port than the one traffic goes to', async () => {
  const traffic = await new TestBackend('traffic').listen();
  const health = await new TestBackend('health').listen();
  traffic.healthy = false;
  const o = await startOutrigger(['--health-path', '/health', '--health-port', String(health.port), traffic.url]);
  track(o, [traffic, health]);
  const r = await request(`${o.base}/x`);
  assert.equal(r.text, 'traffic');
  assert.ok(health.healthHits >= 1);
  assert.equal(traffic.healthHits, 0);
});

test('--read-health-path is used for the last site only', async () => {
  const primary = await new TestBackend('p').listen();
  const replica = await new TestBackend('r', (req, res) => { req.resume(); res.writeHead(req.url === '/ready-ro' ? 200 : 404).end('r'); }).listen();
  const o = await startOutrigger(['--health-path', '/health', '--read-health-path', '/ready-ro', '--trace', 'minio', primary.url, replica.url]);
  track(o, [primary, replica]);
  await o.output(/GET \/ready-ro/);
  await o.output(new RegExp(`${primary.url} GET /health`));
  assert.doesNotMatch(o.stdout, new RegExp(`${replica.url} GET /health`));
});

test('--health-fall 3 keeps a backend through two failed checks', async () => {
  // The third failing check is held until the test has looked: with checks every 50 ms, a test
  // process late by that much on a loaded machine would otherwise look after the third.
  let failing = false;
  let failed = 0;
  const third = deferred();
  const b = await new TestBackend('b1', (req, res) => {
    req.resume();
    if (req.url !== '/check' || !failing) return void res.end('ok');
    const answer = (): void => { res.writeHead(503).end('down'); };
    if (++failed === 3) void third.promise.then(answer);
    else answer();
  }).listen();
  const o = await startOutrigger(['--health-path', '/check', '--health-duration', '50ms', '--health-timeout', '20s', '--health-fall', '3', '--log', b.url]);
  track(o, [b]);
  await o.output(/is up/);
  failing = true;
  await waitFor(() => failed === 3, 10_000, 'two failed checks answered, the third asked');
  assert.doesNotMatch(o.stdout, /is down/);
  third.resolve();
  await o.output(/is down: health check returned status 503/);
});

test('--debug adds request and response headers to the trace', async () => {
  const backends = await startBackends(1);
  const o = await startOutrigger(['--health-path', '/health', '--trace', 'application', '--debug', '--json', backends[0]!.url]);
  track(o, backends);
  await request(`${o.base}/x`, { headers: { 'X-Probe-Me': 'yes' } });
  await o.output(/"type":"TRACE"/);
  const t = JSON.parse(o.stdout.split('\n').find((l) => l.includes('"TRACE"'))!) as { requestHeaders: Record<string, string>; responseHeaders: Record<string, string> };
  assert.equal(t.requestHeaders['X-Probe-Me'] ?? t.requestHeaders['x-probe-me'], 'yes');
  assert.equal(t.responseHeaders['X-Backend'] ?? t.responseHeaders['x-backend'], 'b1');
});
