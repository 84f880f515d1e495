/**
 * --sites-file against the real CLI: edits under steady load apply without one failed request and
 * without cutting a request in flight; the Kubernetes ConfigMap symlink swap is picked up; SIGHUP
 * re-reads the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBackends, type TestBackend } from './support/backends.js';
import { startOutrigger, runCli, type Outrigger } from './support/outrigger.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Cleanup } from './support/cleanup.js';

const cleanup = new Cleanup();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-sites-file-'));
cleanup.add(async () => fs.rmSync(dir, { recursive: true, force: true }));

/** Backends that answer /slow after `slowMs`, everything else at once. */
async function backends(count: number, slowMs: number): Promise<TestBackend[]> {
  const list = await startBackends(count, 'b', (req, res, backend) => {
    req.resume();
    const answer = (): void => { res.writeHead(200, { 'X-Backend': backend.name }).end(backend.name); };
    if (req.url === '/slow') setTimeout(answer, slowMs);
    else req.once('end', answer);
  });
  cleanup.track(...list);
  return list;
}

/** Sequential GETs from `workers` loops until stopped; every answer that is not 200 is kept. */
function steadyLoad(o: Outrigger, workers: number): { stop: () => Promise<{ ok: number; failed: string[] }> } {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const r = await request(`${o.base}/x`);
        if (r.status === 200) ok++;
        else failed.push(`${r.status} ${r.text}`);
      } catch (err) {
        failed.push(String(err));
      }
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return { stop: async () => { running = false; await Promise.all(loops); return { ok, failed }; } };
}

const line = (...bs: TestBackend[]): string => bs.map((b) => b.url).join(',');

test('sites file edits under steady load: add, remove with a request in flight, move, a syntax error; no request fails', async () => {
  const [b1, b2, b3, b4] = await backends(4, 1_500) as [TestBackend, TestBackend, TestBackend, TestBackend];
  const file = path.join(dir, 'edits');
  fs.writeFileSync(file, `# two sites\n${line(b1, b2)}\n${line(b3)}\n`);
  const o = await startOutrigger(['--sites-file', file, '--health-path', '/health', '--health-duration', '200ms', '--log']);
  cleanup.track(o);
  await o.output(new RegExp(`${b2.url} is up`));
  const load = steadyLoad(o, 4);

  fs.writeFileSync(file, `# two sites\n${line(b1, b2, b4)}\n${line(b3)}\n`);
  await waitFor(() => b4.hits >= 5, 10_000, 'the added backend to get traffic');

  // Slow requests spread over b1, b2, b4 (least in flight); b2 leaves while its are in flight.
  const slow = Array.from({ length: 6 }, () => request(`${o.base}/slow`));
  await waitFor(() => b2.hits > 0 && b1.hits > 0, 20_000, 'slow requests under way');
  const b2Before = b2.hits;
  fs.writeFileSync(file, `${line(b1, b4)}\n${line(b3)}\n`);
  await o.output(/sites file .* applied: 2 sites, 3 backends/);
  const slowAnswers = await Promise.all(slow);
  assert.deepEqual(slowAnswers.map((r) => r.status), [200, 200, 200, 200, 200, 200], 'requests in flight on the removed backend complete');
  const b2After = b2.hits;
  for (let i = 0; i < 20; i++) await request(`${o.base}/x`);
  assert.equal(b2.hits, b2After, 'the removed backend gets no new request');
  assert.ok(b2After >= b2Before);

  // b1 moves to the failover site: it keeps its health there (no probe needed to be ready).
  fs.writeFileSync(file, `${line(b4)}\n${line(b3, b1)}\n`);
  await o.output(/applied: 2 sites, 3 backends[\s\S]*applied: 2 sites, 3 backends/);
  const b1Hits = b1.hits;
  for (let i = 0; i < 10; i++) assert.equal((await request(`${o.base}/x`)).headers['x-backend'], 'b4');
  assert.equal(b1.hits, b1Hits, 'the failover site is not used while the first one is ready');

  fs.writeFileSync(file, `${line(b4)}\nhttp://[::1\n`);
  await o.output(new RegExp(`sites file not applied, keeping the 2 sites in use:\\s+\\S+\\s+${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: `));
  for (let i = 0; i < 10; i++) assert.equal((await request(`${o.base}/x`)).status, 200);

  const { ok, failed } = await load.stop();
  assert.deepEqual(failed, []);
  assert.ok(ok > 50, `steady load ran (${ok} requests)`);
});

test('the Kubernetes ConfigMap symlink swap (..data) is picked up', async () => {
  const [b1, b2] = await backends(2, 0) as [TestBackend, TestBackend];
  const mount = path.join(dir, 'configmap');
  const version = (name: string, content: string): void => {
    fs.mkdirSync(path.join(mount, name), { recursive: true });
    fs.writeFileSync(path.join(mount, name, 'sites'), content);
  };
  version('..2026_11_29_a', `${b1.url}\n`);
  fs.symlinkSync('..2026_11_29_a', path.join(mount, '..data'));
  fs.symlinkSync('..data/sites', path.join(mount, 'sites'));
  const o = await startOutrigger(['--sites-file', path.join(mount, 'sites'), '--health-path', '/health', '--health-duration', '200ms', '--log']);
  cleanup.track(o);
  assert.equal((await request(`${o.base}/x`)).headers['x-backend'], 'b1');
  // What the kubelet does: a new directory, a new ..data link beside the old, renamed over it.
  version('..2026_11_29_b', `${b2.url}\n`);
  fs.symlinkSync('..2026_11_29_b', path.join(mount, '..data_tmp'));
  fs.renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
  fs.rmSync(path.join(mount, '..2026_11_29_a'), { recursive: true });
  await waitFor(async () => (await request(`${o.base}/x`)).headers['x-backend'] === 'b2', 15_000, 'traffic on the swapped-in backend');
});

test('SIGHUP re-reads the sites file; OUTRIGGER_SITES_FILE names it; a bad file at start is refused with its line', async () => {
  const [b1, b2] = await backends(2, 0) as [TestBackend, TestBackend];
  const file = path.join(dir, 'hup');
  fs.writeFileSync(file, `${b1.url}\n`);
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '200ms', '--log'], { OUTRIGGER_SITES_FILE: file });
  cleanup.track(o);
  assert.equal((await request(`${o.base}/x`)).headers['x-backend'], 'b1');
  fs.writeFileSync(file, `${b2.url}\n`);
  o.signal('SIGHUP');
  await o.output(/reloaded: 1 backends added, 1 removed/);
  await waitFor(async () => (await request(`${o.base}/x`)).headers['x-backend'] === 'b2', 10_000, 'traffic on b2');

  const bad = path.join(dir, 'bad');
  fs.writeFileSync(bad, `${b1.url}\n\nhttp://\n`);
  const r = await runCli(['--address', '127.0.0.1:0', '--sites-file', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--sites-file: .*bad:3: "http:\/\/": a host is required/);
});

test('GET /v1/backends: every site and backend with its source, status, since when, in flight and last error', async () => {
  const [b1, b2] = await backends(2, 0) as [TestBackend, TestBackend];
  b2.healthy = false;
  const file = path.join(dir, 'api');
  fs.writeFileSync(file, `${b2.url}\n`);
  const o = await startOutrigger(['--sites-file', file, '--health-path', '/health', '--health-duration', '1m', '--log', b1.url]);
  cleanup.track(o);
  await o.output(new RegExp(`${b2.url} is down`));
  const r = await request(`${o.base}/v1/backends`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  const body = JSON.parse(r.text) as { sites: { site: number; backends: Record<string, unknown>[] }[] };
  assert.deepEqual(body.sites.map((s) => [s.site, s.backends.map((b) => [b['url'], b['source'], b['status']])]), [
    [1, [[b1.url, 'argv', 'up'], [b2.url, 'sites-file', 'down']]],
  ]);
  const down = body.sites[0]!.backends[1]!;
  assert.equal(down['reason'], 'health check failed: health check returned status 503');
  assert.equal(down['lastError'], 'health check returned status 503');
  assert.equal(down['inFlight'], 0);
  assert.ok(Date.now() - Date.parse(String(down['since'])) < 60_000);
  assert.deepEqual(down['checks'], { active: false, passive: true, ejectedUntil: null });
});
