/**
 * `--workers N` with one control plane: real child processes (the primary and its workers), real
 * backends counting what reaches them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Fixtures } from './support/fixtures.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { startOutrigger, type Outrigger } from './support/outrigger.js';

const f = new Fixtures();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outrigger-workers-'));
f.push(async () => fs.rmSync(dir, { recursive: true, force: true }));

/** A GET on a connection of its own: the cluster hands each new connection to the next worker. */
const fresh = (o: Outrigger, p: string): ReturnType<typeof request> => request(`${o.base}${p}`, { agent: false, signal: AbortSignal.timeout(15_000) });

/** The worker processes of a primary. */
function workerPids(o: Outrigger): number[] {
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(o.proc.pid)], { encoding: 'utf8' });
  return out.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
}

/** Every backend's status as /v1/backends shows it, by URL. */
async function statuses(o: Outrigger): Promise<Record<string, string>> {
  const r = await fresh(o, '/v1/backends');
  const sites = (JSON.parse(r.text) as { sites: { backends: { url: string; status: string }[] }[] }).sites;
  return Object.fromEntries(sites.flatMap((s) => s.backends.map((b) => [b.url, b.status])));
}

const countLines = (text: string, pattern: RegExp): number => text.split('\n').filter((l) => pattern.test(l)).length;

test('one probe per backend per interval whatever the number of workers (counted at the backend); state lines printed once', async () => {
  const [one, two] = [await f.backendOf('one'), await f.backendOf('two')];
  const args = ['--health-path', '/health', '--health-duration', '100ms', '--log'];
  const [o1, o2] = await Promise.all([f.outrigger([...args, '--workers', '1', one.url]), f.outrigger([...args, '--workers', '2', two.url])]);
  await o2.output(/is up/);
  // Both run side by side over the same window, so machine load affects both alike.
  const start = [one.healthHits, two.healthHits];
  // A window of 25 probes by the single process (2.5 s when idle), however loaded the machine.
  await waitFor(() => one.healthHits - start[0]! >= 25, 30_000, '25 probes by the single process');
  const n1 = one.healthHits - start[0]!;
  const n2 = two.healthHits - start[1]!;
  // One health checker per worker would give about twice as many.
  assert.ok(n2 <= n1 * 1.4 + 3 && n2 >= n1 * 0.6 - 3, `--workers 2 probed ${n2} times, --workers 1 ${n1} times`);
  assert.equal(countLines(o2.stdout, new RegExp(`${two.url} is up`)), 1, o2.stdout);
});

test('a backend going down is seen by every worker: requests over many connections all avoid it; /v1/health and metrics agree', async () => {
  const [b1, b2] = [await f.backendOf('b1'), await f.backendOf('b2')];
  const o = await f.outrigger(['--workers', '2', '--health-path', '/health', '--health-duration', '100ms', '--log', `${b1.url},${b2.url}`]);
  await waitFor(async () => Object.values(await statuses(o)).every((s) => s === 'up'), 10_000, 'both backends up');
  b1.healthy = false;
  await o.output(new RegExp(`${b1.url} is down`));
  // Each worker answers some of these (one connection each): all must say b1 is down.
  for (let i = 0; i < 6; i++) assert.equal((await statuses(o))[b1.url], 'down');
  const hitsBefore = b1.hits;
  const replies = await Promise.all(Array.from({ length: 30 }, () => fresh(o, '/x')));
  assert.deepEqual([...new Set(replies.map((r) => r.status))], [200]);
  assert.equal(b1.hits, hitsBefore, 'no request went to the backend that is down');
  assert.equal(countLines(o.stdout, new RegExp(`${b1.url} is down`)), 1, 'one line per state change');
  for (let i = 0; i < 4; i++) assert.equal((await fresh(o, '/v1/health')).status, 200);
  // Scrapes through either worker: the counters of the whole group, the same each time.
  const scrapes = await Promise.all(Array.from({ length: 4 }, () => fresh(o, '/.prometheus/metrics')));
  for (const s of scrapes) {
    const m = new RegExp(`requests_total\\{[^}]*"${b2.url.replace(/[.:/]/g, '\\$&')}"[^}]*\\} (\\d+)`).exec(s.text);
    assert.ok(m !== null, s.text.slice(0, 2000));
    assert.equal(Number(m[1]), b2.hits, 'the scrape sums every worker');
    assert.match(s.text, /^outrigger_control_messages_total [1-9]\d*$/m, 'the control plane counts what it sent');
  }
  // /v1/backends through either worker: the primary's verdicts and every worker's requests.
  for (let i = 0; i < 4; i++) {
    const view = JSON.parse((await fresh(o, '/v1/backends')).text) as { sites: { backends: { url: string; requests: number; status: string }[] }[] };
    const two = view.sites[0]!.backends.find((b) => b.url === b2.url)!;
    assert.equal(two.requests, b2.hits, 'requests summed over the workers');
    assert.equal(view.sites[0]!.backends.find((b) => b.url === b1.url)!.status, 'down');
  }
});

test('kill -9 of a worker under load: it is replaced and serves; only requests on the killed worker\'s connections fail', async () => {
  const [b1, b2] = [await f.backendOf('b1'), await f.backendOf('b2')];
  const o = await f.outrigger(['--workers', '2', '--health-path', '/health', '--health-duration', '200ms', `${b1.url},${b2.url}`]);
  // Killed at once: "listening on" comes when every worker listens, so the victim is never the only
  // one (node:cluster closes the shared listen socket when its last worker goes: with port 0 the
  // group came back on another port, and every later connection was refused).
  const [victim] = workerPids(o);
  assert.ok(victim !== undefined);
  const LOOPS = 4;
  let running = true;
  const failures: string[] = [];
  let ok = 0;
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const r = await fresh(o, '/x');
        if (r.status === 200) ok++;
        else failures.push(`HTTP ${r.status} ${r.text.slice(0, 100)}`);
      } catch (err) {
        failures.push(`transport ${(err as Error).message}`);
      }
    }
  };
  const loops = Array.from({ length: LOOPS }, loop);
  try {
    await waitFor(() => ok >= 50, 20_000, 'load before the kill');
    process.kill(victim, 'SIGKILL');
    await o.output(new RegExp(`worker ${victim} exited \\(SIGKILL\\); starting another`), 10_000);
    await waitFor(() => workerPids(o).length === 2 && !workerPids(o).includes(victim), 10_000, 'a replacement worker');
    const atRestart = ok;
    await waitFor(() => ok >= atRestart + 100, 30_000, 'load after the restart')
      .catch((err: Error) => { throw new Error(`${err.message}; ${failures.length} failed, the first: ${failures.slice(0, 5).join('; ')}`); });
  } finally {
    running = false;
    await Promise.all(loops);
  }
  // The killed worker's connections in flight may be cut (one the primary was handing to it when it
  // died is never answered: node:cluster's round-robin handoff; the request's own timeout ends it);
  // nothing answers with an error status, and the replacement takes no connection before it has
  // the primary's snapshot.
  assert.equal(failures.filter((e) => e.startsWith('HTTP')).length, 0, failures.join('\n'));
  assert.ok(failures.length <= LOOPS, failures.join('\n'));
  // The new worker serves: fresh connections alternate between the two.
  const replies = await Promise.all(Array.from({ length: 20 }, () => fresh(o, '/after')));
  assert.deepEqual([...new Set(replies.map((r) => r.status))], [200]);
});

test('the group is announced once every worker listens: killing the first one right after leaves the port answering', async () => {
  const b = await f.backendOf('b1');
  // The second worker (node:cluster numbers them from 1) starts 2 s late.
  const late = "import cluster from 'node:cluster'; if (cluster.worker?.id === 2) { const end = Date.now() + 2000; while (Date.now() < end); }";
  const o = await startOutrigger(['--workers', '2', '--health-path', '/health', b.url], { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(late)}` }, 30_000);
  f.track(o);
  // Worker 1 is the one forked first (the lower PID).
  const first = Math.min(...workerPids(o));
  process.kill(first, 'SIGKILL');
  await o.output(new RegExp(`worker ${first} exited`), 10_000);
  // Announced on the first worker, node:cluster closed the listen socket with it: refused, then another port.
  const replies = await Promise.all(Array.from({ length: 10 }, () => fresh(o, '/x')));
  assert.deepEqual([...new Set(replies.map((r) => r.status))], [200]);
});

test('a sites-file change reaches every worker', async () => {
  const [b1, b2] = [await f.backendOf('b1'), await f.backendOf('b2')];
  const file = path.join(dir, 'sites');
  fs.writeFileSync(file, `${b1.url}\n`);
  const o = await f.outrigger(['--workers', '2', '--sites-file', file, '--health-path', '/health', '--health-duration', '200ms']);
  assert.deepEqual([...new Set((await Promise.all(Array.from({ length: 8 }, () => fresh(o, '/x')))).map((r) => r.text))], ['b1']);
  fs.writeFileSync(file, `${b2.url}\n`);
  await o.output(/sites file .* applied: 1 sites, 1 backends/);
  await waitFor(async () => (await statuses(o))[b2.url] === 'up', 10_000, 'b2 up');
  await waitFor(async () => {
    const r = await statuses(o);
    return r[b2.url] === 'up' && r[b1.url] === undefined;
  }, 10_000, 'b1 gone');
  const hits = b1.hits;
  const replies = await Promise.all(Array.from({ length: 20 }, () => fresh(o, '/x')));
  assert.deepEqual([...new Set(replies.map((r) => r.text))], ['b2']);
  assert.equal(b1.hits, hits);
  assert.equal(countLines(o.stdout, /sites file .* applied/), 1, 'the file is read by the primary alone');
});

for (const workers of ['1', '2']) {
  test(`make before break (--workers ${workers}): replacing a site's only backend keeps the old one serving until the new one's first probe; no request fails`, async () => {
    const [b1, b2] = [await f.backendOf('b1'), await f.backendOf('b2')];
    const file = path.join(dir, `only-${workers}`);
    fs.writeFileSync(file, `${b1.url}\n`);
    const o = await f.outrigger(['--workers', workers, '--sites-file', file, '--health-path', '/health', '--health-duration', '200ms', '--health-timeout', '20s']);
    let release = (): void => {};
    b2.healthGate = new Promise((resolve) => { release = resolve; });
    let running = true;
    const failures: string[] = [];
    const loop = async (): Promise<void> => {
      while (running) {
        const r = await fresh(o, '/x').catch((err: Error) => ({ status: 0, text: err.message }));
        if (r.status !== 200) failures.push(`${r.status} ${r.text.slice(0, 100)}`);
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    try {
      fs.writeFileSync(file, `${b2.url}\n`);
      await waitFor(() => b2.healthHits > 0, 10_000, 'the new backend\'s first probe');
      const served = b1.hits;
      await waitFor(() => b1.hits >= served + 20, 10_000, 'the old backend serving while the new one is unproven');
      assert.equal(b2.hits, 0);
      release();
      await waitFor(() => b2.hits >= 20, 10_000, 'the new backend serving');
      await waitFor(async () => (await statuses(o))[b1.url] === undefined, 10_000, 'the old backend gone');
      const last = b1.hits;
      const now = b2.hits;
      await waitFor(() => b2.hits >= now + 40, 10_000, 'more on the new backend');
      assert.equal(b1.hits, last, 'the old backend left once the new one was up');
    } finally {
      running = false;
      release();
      await Promise.all(loops);
    }
    assert.deepEqual(failures, []);
  });
}
