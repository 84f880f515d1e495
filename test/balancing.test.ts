import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startConsecutive, startBackends, type TestBackend } from './support/backends.js';
import { startOutrigger, type Outrigger } from './support/outrigger.js';
import { load, request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Cleanup } from './support/cleanup.js';

const cleanup = new Cleanup();

function track(o: Outrigger, backends: TestBackend[]): void {
  cleanup.track(o, ...backends);
}

test('an ellipsis site spreads requests over every backend', async () => {
  const backends = await startConsecutive(4);
  const first = backends[0]!.port;
  const o = await startOutrigger(['--health-path', '/health', `http://127.0.0.1:{${first}...${first + 3}}`]);
  track(o, backends);
  const seen = new Set<string>();
  for (let i = 0; i < 200 && seen.size < 4; i++) {
    const r = await request(`${o.base}/object`);
    assert.equal(r.status, 200);
    seen.add(r.text);
  }
  assert.deepEqual([...seen].sort(), ['b1', 'b2', 'b3', 'b4']);
});

for (const balance of ['least', 'random', 'round-robin']) {
  test(`--host-balance ${balance} reaches every backend`, async () => {
    const backends = await startBackends(3, balance);
    const o = await startOutrigger(['--health-path', '/health', '--host-balance', balance, backends.map((b) => b.url).join(',')]);
    track(o, backends);
    const seen = new Set<string>();
    for (let i = 0; i < 300 && seen.size < 3; i++) seen.add((await request(`${o.base}/x`)).text);
    assert.equal(seen.size, 3);
  });
}

test('a backend killed under steady GET load costs zero failed requests', async () => {
  const backends = await startBackends(4);
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '0.2', backends.map((b) => b.url).join(',')]);
  track(o, backends);
  let stop!: () => void;
  const stopped = new Promise<void>((r) => { stop = r; });
  const running = load(`${o.base}/obj`, 8, stopped);
  await waitFor(() => backends.every((b) => b.hits > 20), 10_000, 'traffic on every backend');
  await backends[1]!.kill();
  const survivors = backends.filter((_, i) => i !== 1);
  const served = (): number => survivors.reduce((n, b) => n + b.hits, 0);
  const atKill = served();
  await waitFor(() => served() > atKill + 300, 10_000, 'traffic after the kill');
  stop();
  const result = await running;
  assert.equal(result.failed, 0, `failures: ${result.errors.join('\n')}`);
  assert.ok(result.ok > 200, `only ${result.ok} requests`);
});

test('a backend whose readiness check fails leaves rotation and comes back', async () => {
  const backends = await startBackends(2);
  const [b1, b2] = backends as [TestBackend, TestBackend];
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '0.1', '--log', `${b1.url},${b2.url}`]);
  track(o, backends);
  b2.healthy = false;
  await o.output(new RegExp(`${b2.url} is down`));
  const before = b2.hits;
  for (let i = 0; i < 30; i++) assert.equal((await request(`${o.base}/x`)).text, 'b1');
  assert.equal(b2.hits, before, 'no request reached the unready backend');
  b2.healthy = true;
  await o.output(new RegExp(`${b2.url} is up Downtime duration: `));
  await waitFor(async () => (await request(`${o.base}/x`)).text === 'b2', 20_000, 'traffic on b2 again');
});
