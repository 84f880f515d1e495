import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackends, type Handler } from './support/backends.js';
import { startOutrigger, type Outrigger } from './support/outrigger.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Cleanup } from './support/cleanup.js';

const cleanup = new Cleanup();

/** Timestamps of the log lines matching `pattern`, in order. */
function times(o: Outrigger, pattern: RegExp): number[] {
  return o.stdout.split('\n').filter((l) => pattern.test(l)).map((l) => Date.parse(l.slice(0, 24)));
}

/** Requests until the log has `n` lines matching `pattern` (each request adds evidence). */
async function driveUntil(o: Outrigger, pattern: RegExp, n: number): Promise<void> {
  await waitFor(async () => {
    await request(`${o.base}/x`);
    return times(o, pattern).length >= n;
  }, 20_000, `${n} × ${pattern}`, 1);
}

test('a backend answering 503 is ejected, returns after its backoff, and is ejected longer the second time', async () => {
  const fail503: Handler = (req, res, b) => { req.resume(); res.writeHead(503, { 'X-Backend': b.name }).end('busy'); };
  const [good] = await startBackends(1, 'good');
  const [bad] = await startBackends(1, 'bad', fail503);
  // Its health check passes (/health answers 200): only outlier detection takes it out.
  const o = await startOutrigger(['--health-path', '/health', '--log', '--host-balance', 'round-robin', '--outlier-5xx', '3',
    '--outlier-ejection', '1s', '--outlier-max-ejection', '10s', '--outlier-interval', '100ms', `${good!.url},${bad!.url}`]);
  cleanup.track(o, good!, bad!);
  const down = new RegExp(`${bad!.url} is down: outlier: \\d+ consecutive 5xx answers, ejected for (\\d+)s`);
  const up = new RegExp(`${bad!.url} is up`);
  await o.output(up);
  const upAtStart = times(o, up).length;

  await driveUntil(o, down, 1);
  assert.match(o.stdout, new RegExp(`${bad!.url} is down: outlier: 3 consecutive 5xx answers, ejected for 1s`));
  const hits = bad!.hits;
  for (let i = 0; i < 20; i++) assert.equal((await request(`${o.base}/x`)).text, 'good1', 'only the good backend while ejected');
  assert.equal(bad!.hits, hits);

  await o.output(new RegExp(`(?:${up.source}[^]*){${upAtStart + 1}}`), 10_000);
  const [firstDown] = times(o, down);
  const firstUp = times(o, up)[upAtStart]!;
  assert.ok(firstUp - firstDown! >= 1000 - 50, `back after ${firstUp - firstDown!} ms, before its 1 s`);

  await driveUntil(o, down, 2);
  assert.match(o.stdout, new RegExp(`${bad!.url} is down: outlier: 3 consecutive 5xx answers, ejected for 2s`), 'the second ejection lasts twice as long');
  await o.output(new RegExp(`(?:${up.source}[^]*){${upAtStart + 2}}`), 10_000);
  const secondDown = times(o, down)[1]!;
  const secondUp = times(o, up)[upAtStart + 1]!;
  assert.ok(secondUp - secondDown >= 2000 - 50, `back after ${secondUp - secondDown} ms, before its 2 s`);
  const metrics = await (await fetch(`${o.base}/.prometheus/metrics`)).text();
  assert.match(metrics, /^outrigger_outlier_ejections_total\{event="ejected"\} 2$/m);
});

test('--outlier-max-share: with every backend failing, no more than the share is ejected', async () => {
  const fail503: Handler = (req, res) => { req.resume(); res.writeHead(503).end('busy'); };
  const backends = await startBackends(2, 'f', fail503);
  const o = await startOutrigger(['--health-path', '/health', '--log', '--outlier-5xx', '2', '--outlier-interval', '100ms',
    backends.map((b) => b.url).join(',')]);
  cleanup.track(o, ...backends);
  await driveUntil(o, /is down: outlier/, 1);
  for (let i = 0; i < 20; i++) assert.equal((await request(`${o.base}/x`)).status, 503);
  assert.equal(times(o, /is down: outlier/).length, 1, 'the default share (50%) of two backends is one');
  const metrics = await (await fetch(`${o.base}/.prometheus/metrics`)).text();
  assert.match(metrics, /^outrigger_outlier_ejections_total\{event="refused"\} [1-9]\d*$/m);
});
