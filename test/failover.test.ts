import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackends, type TestBackend } from './support/backends.js';
import { startOutrigger, type Outrigger } from './support/outrigger.js';
import { load, request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Cleanup } from './support/cleanup.js';

const cleanup = new Cleanup();

function track(o: Outrigger, backends: TestBackend[]): void {
  cleanup.track(o, ...backends);
}

const site = (bs: TestBackend[]): string => bs.map((b) => b.url).join(',');
const servedBy = (bs: TestBackend[]): number => bs.reduce((n, b) => n + b.hits, 0);

test('two sites fail over and fail back with zero failed GETs', async () => {
  const primary = await startBackends(2, 'p');
  const secondary = await startBackends(2, 's');
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '0.1', '--log', site(primary), site(secondary)]);
  track(o, [...primary, ...secondary]);
  let stop!: () => void;
  const running = load(`${o.base}/obj`, 6, new Promise<void>((r) => { stop = r; }));

  await waitFor(() => servedBy(primary) > 100, 10_000, 'traffic on the primary site');
  assert.equal(servedBy(secondary), 0, 'the secondary site is idle while the primary is up');

  await Promise.all(primary.map((b) => b.kill()));
  const atFailover = servedBy(secondary);
  await waitFor(() => servedBy(secondary) > atFailover + 200, 10_000, 'traffic on the secondary site');

  await Promise.all(primary.map((b) => b.restart()));
  await o.output(/is up Downtime duration/);
  const atFailback = servedBy(primary);
  await waitFor(() => servedBy(primary) > atFailback + 200, 10_000, 'traffic back on the primary site');
  stop();
  const result = await running;
  assert.equal(result.failed, 0, `failures: ${result.errors.join('\n')}`);
});

test('a whole site marked unready by its checks fails over to the next', async () => {
  const primary = await startBackends(2, 'p');
  const secondary = await startBackends(1, 's');
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '0.1', '--log', site(primary), site(secondary)]);
  track(o, [...primary, ...secondary]);
  assert.match((await request(`${o.base}/x`)).text, /^p/);
  for (const b of primary) b.healthy = false;
  await waitFor(async () => (await request(`${o.base}/x`)).text === 's1', 20_000, 'the secondary site to serve');
  for (const b of primary) b.healthy = true;
  await waitFor(async () => /^p/.test((await request(`${o.base}/x`)).text), 20_000, 'the primary site to serve again');
});

test('all backends down: XML 502 with Retry-After, and /v1/health says not ready', async () => {
  const backends = await startBackends(2);
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '0.1', site(backends)]);
  track(o, backends);
  // The port listens before the first round of checks has ended, and /v1/health answers at once
  // (it does not wait for that round as proxied requests do): ready only once the round is done.
  await waitFor(async () => (await request(`${o.base}/v1/health`)).status === 200, 20_000, '/v1/health ready after the first round');
  for (const b of backends) b.healthy = false;
  await waitFor(async () => (await request(`${o.base}/v1/health`)).status === 502, 20_000, '/v1/health to report 502');
  const r = await request(`${o.base}/bucket/object?versionId=1`);
  assert.equal(r.status, 502);
  assert.equal(r.headers['content-type'], 'application/xml');
  assert.equal(r.headers['retry-after'], '120');
  assert.equal(r.text, '<?xml version="1.0" encoding="UTF-8"?><Error><Code>BackendDown</Code><Message>The remote server returned an error (all backend servers are offline)</Message><Resource>/bucket/object</Resource></Error>');
  const health = await request(`${o.base}/v1/health`);
  assert.match(health.text, /<Code>BackendDown<\/Code>/);
});

test('requests sent before the first health round finishes wait for it instead of failing', async () => {
  const backends = await startBackends(1);
  const slow = backends[0]!;
  // Hold the first probe until a request is already waiting at the proxy.
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  slow.healthGate = released;
  const o = await startOutrigger(['--health-path', '/health', slow.url]);
  track(o, backends);
  const pending = request(`${o.base}/x`);
  setTimeout(release, 300);
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.text, 'b1');
});
