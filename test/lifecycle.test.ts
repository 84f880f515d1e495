import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startBackends, TestBackend } from './support/backends.js';
import { runCli, startOutrigger, type Outrigger } from './support/outrigger.js';
import { load, request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Cleanup } from './support/cleanup.js';

const cleanup = new Cleanup();

function track(o: Outrigger, backends: TestBackend[]): void {
  cleanup.track(o, ...backends);
}

test('SIGTERM drains an in-flight slow request, then exits 0', async () => {
  let finish!: () => void;
  const slow = await new TestBackend('slow', (req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('first half,');
    finish = () => res.end('second half');
  }).listen();
  const o = await startOutrigger(['--health-path', '/health', slow.url]);
  track(o, [slow]);
  const pending = request(`${o.base}/slow`);
  await waitFor(() => slow.hits === 1, 20_000, 'the request to reach the backend');
  o.signal('SIGTERM');
  await o.output(/SIGTERM: draining/);
  // New connections are refused while draining.
  await assert.rejects(request(`${o.base}/x`, { agent: false }));
  finish();
  const r = await pending;
  assert.equal(r.status, 200);
  assert.equal(r.text, 'first half,second half');
  assert.equal(await o.exit(), 0);
});

test('SIGTERM with a request that outlives --shutdown-timeout still exits 0 after the timeout', async () => {
  const stuck = await new TestBackend('stuck', (req) => { req.resume(); }).listen();
  const o = await startOutrigger(['--health-path', '/health', '--shutdown-timeout', '300ms', stuck.url]);
  track(o, [stuck]);
  const pending = request(`${o.base}/never`).catch((e: Error) => e);
  await waitFor(() => stuck.hits === 1, 20_000, 'the request to reach the backend');
  o.signal('SIGTERM');
  assert.equal(await o.exit(), 0);
  assert.ok((await pending) instanceof Error, 'the cut request fails at the client');
});

test('SIGHUP reloads the sites without a window of errors for unchanged backends', async () => {
  const backends = await startBackends(2);
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '10s', backends.map((b) => b.url).join(',')]);
  track(o, backends);
  let stop!: () => void;
  const running = load(`${o.base}/x`, 4, new Promise<void>((r) => { stop = r; }));
  await waitFor(() => backends[0]!.hits + backends[1]!.hits > 50, 20_000, 'traffic');
  for (let i = 0; i < 3; i++) {
    const marker = o.stdout.length;
    o.signal('SIGHUP');
    await waitFor(() => o.stdout.slice(marker).includes('reloaded'), 20_000, 'the reload');
  }
  const atReload = backends[0]!.hits + backends[1]!.hits;
  await waitFor(() => backends[0]!.hits + backends[1]!.hits > atReload + 100, 20_000, 'traffic after the reloads');
  stop();
  const result = await running;
  assert.equal(result.failed, 0, result.errors.join('\n'));
});

test('bad arguments exit non-zero with one message per problem', async () => {
  const r = await runCli(['--host-balance', 'fastest', '--health-duration', 'soon', 'ftp://x:21', 'http://h{3...1}:9000']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--host-balance/);
  assert.match(r.stderr, /--health-duration/);
  assert.match(r.stderr, /ftp:\/\/x:21/);
  assert.match(r.stderr, /h\{3\.\.\.1\}/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
});

test('a site that points at outrigger itself is refused', async () => {
  const r = await runCli(['--address', '127.0.0.1:9555', 'http://127.0.0.1:9555']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /127\.0\.0\.1:9555/);
});

test('duplicate backends are refused', async () => {
  const r = await runCli(['http://a:9000,http://a:9000']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /twice|duplicate/i);
});

test('no SITE prints the usage and exits non-zero; --help and --version exit 0', async () => {
  const none = await runCli([]);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /USAGE/);
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--health-duration/);
  const version = await runCli(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /\d+\.\d+\.\d+/);
});

test('flags can come from OUTRIGGER_* environment variables; the flag wins', async () => {
  const backends = await startBackends(1);
  backends[0]!.healthy = false;
  const o = await startOutrigger([backends[0]!.url], { OUTRIGGER_HEALTH_PATH: '/health', OUTRIGGER_LOG: 'true' });
  track(o, backends);
  await o.output(/is down: health check returned status 503/);
  const bad = await runCli([backends[0]!.url], { OUTRIGGER_HOST_BALANCE: 'fastest' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /OUTRIGGER_HOST_BALANCE/);
  const o2 = await startOutrigger(['--host-balance', 'random', backends[0]!.url], { OUTRIGGER_HOST_BALANCE: 'fastest' });
  cleanup.track(o2);
});

test('--trace --json prints one JSON line per request in sidekick field names', async () => {
  const backends = await startBackends(1);
  const o = await startOutrigger(['--health-path', '/health', '--trace', 'application', '--json', backends[0]!.url]);
  track(o, backends);
  await request(`${o.base}/bucket/key?x=1`, { method: 'PUT', body: 'hello' });
  await o.output(/"type":"TRACE"/);
  const line = o.stdout.split('\n').find((l) => l.includes('"TRACE"'))!;
  const t = JSON.parse(line) as Record<string, unknown>;
  assert.equal(t['host'], backends[0]!.url);
  assert.equal(t['method'], 'PUT');
  assert.equal(t['path'], '/bucket/key');
  assert.equal(t['query'], 'x=1');
  assert.equal(t['statusCode'], 200);
  assert.equal(t['client'], '127.0.0.1');
  const stats = t['callStats'] as Record<string, unknown>;
  assert.equal(stats['rx'], 5);
  assert.equal(stats['tx'], 2);
  assert.equal(typeof stats['latency'], 'string');
});

test('--trace --errors prints only failed requests', async () => {
  const backends = await startBackends(1, 'b', (req, res) => { req.resume(); res.writeHead(req.url === '/bad' ? 500 : 200).end('x'); });
  const o = await startOutrigger(['--health-path', '/health', '--trace', '--errors', backends[0]!.url]);
  track(o, backends);
  await request(`${o.base}/good`);
  await request(`${o.base}/bad`);
  await o.output(/\[500 Internal Server Error\].* GET \/bad/);
  assert.doesNotMatch(o.stdout, /GET \/good/);
});

void http;

test('--workers 2 serves through both workers and SIGTERM stops them all with exit 0', async () => {
  const backends = await startBackends(2);
  const o = await startOutrigger(['--workers', '2', '--health-path', '/health', backends.map((b) => b.url).join(',')]);
  track(o, backends);
  for (let i = 0; i < 20; i++) assert.equal((await request(`${o.base}/w`, { agent: false })).status, 200);
  o.signal('SIGHUP');
  await o.output(/reloaded/);
  assert.equal((await request(`${o.base}/after-reload`, { agent: false })).status, 200);
  o.signal('SIGTERM');
  assert.equal(await o.exit(), 0);
});
