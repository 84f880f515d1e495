/**
 * How much it takes to take a backend out (issue 13.8, 13.9) and where the probe goes when a SITE
 * carries a path (13.10), against the real CLI and real backends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestBackend } from './support/backends.js';
import { startOutrigger, runCli } from './support/outrigger.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Cleanup } from './support/cleanup.js';

const cleanup = new Cleanup();
const never = new Promise<void>(() => {});

// 13.9, from the report: a backend that drops one connection was marked down at once, and every
// request before the next probe got a 502 BackendDown (one backend, ~25 concurrent requests).
test('one reset connection does not take a single-backend site out', async () => {
  const b = await new TestBackend('only', (req, res, backend) => {
    if (req.url === '/reset') { req.socket.resetAndDestroy(); return; }
    req.resume();
    req.once('end', () => res.writeHead(200, { 'X-Backend': backend.name }).end(backend.name));
  }).listen();
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '1m', '--health-timeout', '1m', '--log', b.url]);
  cleanup.track(o, b);
  assert.equal((await request(`${o.base}/x`)).status, 200);
  // From now on probes get no answer: the backend's state is what the request errors make of it.
  b.healthGate = never;
  assert.equal((await request(`${o.base}/reset`)).status, 502, 'the reset request itself fails');
  const statuses = await Promise.all(Array.from({ length: 25 }, () => request(`${o.base}/x`).then((r) => r.status)));
  assert.deepEqual(statuses.filter((s) => s !== 200), [], 'every request after the one reset is served');
  assert.doesNotMatch(o.stdout, /is down/);
});

// 13.8, from the report: with the defaults, a backend frozen for 10 s was never marked down and one
// answering in 5 s kept getting traffic (the probe timeout was 10 s).
test('with the default probe timeout, a backend whose health check hangs is out within a few seconds', async () => {
  const b = await new TestBackend('frozen').listen();
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '500ms', '--log', b.url]);
  cleanup.track(o, b);
  await o.output(/is up/);
  b.healthGate = never;
  // The old 10 s probe timeout could not mark it down within this wait; the margin over the 2 s
  // default (plus one 500 ms interval) is for a loaded machine.
  await waitFor(() => /is down/.test(o.stdout), 9_000, 'the hung backend to be marked down');
  assert.match(o.stdout, /timed out after 2000 ms/);
});

// 13.10, from the report: with http://host:port/prefix, requests reached /prefix/x but probes /ready.
test('a SITE path applies to requests and health checks alike', async () => {
  const seen: string[] = [];
  const b = await new TestBackend('prefixed', (req, res) => {
    seen.push(req.url ?? '');
    req.resume();
    res.writeHead(200).end('ok');
  }).listen();
  const o = await startOutrigger(['--health-path', '/ready', '--health-duration', '1m', `${b.url}/prefix`]);
  cleanup.track(o, b);
  assert.equal((await request(`${o.base}/x`)).status, 200);
  assert.deepEqual(seen, ['/prefix/ready', '/prefix/x']);
});

test('--health-path without its leading slash is refused, naming the fix', { timeout: 30_000 }, async () => {
  // (Where it is accepted, the server would start: a loopback port 0 keeps that harmless.)
  const r = await runCli(['--address', '127.0.0.1:0', '--health-path', 'ready', 'http://127.0.0.1:9']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--health-path: "ready" must start with "\/" \(did you mean "\/ready"\?\)/);
});

// 13.8: request timeouts count toward taking a backend out (the upstream timeouts are core's; the
// verdict is the passive check's: three in ten seconds).
test('upstream response timeouts on requests take a hung backend out, with no probe deciding', async () => {
  const b = await new TestBackend('hung', () => { /* never answers */ }).listen();
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '1m', '--health-timeout', '1m',
    '--response-timeout', '300ms', '--log', b.url]);
  cleanup.track(o, b);
  await o.output(/is up/);
  b.healthGate = never;
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await request(`${o.base}/x`)).status);
  assert.deepEqual(statuses, [504, 504, 504]);
  await o.output(new RegExp(`${b.url} is down: .*`));
  assert.doesNotMatch(o.stdout, /health check timed out/);
});
