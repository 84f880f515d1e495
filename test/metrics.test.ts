import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackends, type TestBackend } from './support/backends.js';
import { startOutrigger, type Outrigger } from './support/outrigger.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Metrics, readBackend, renderBackends } from '../src/observe/metrics.js';
import { UpstreamSet } from '../src/upstream/upstream-set.js';
import { parseSites } from '../src/sites/parse.js';
import { parseCommandLine } from '../src/config/parse.js';
import type { Config } from '../src/config/types.js';

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => { await Promise.all(cleanup.map((f) => f())); });

function track(o: Outrigger, backends: TestBackend[]): void {
  cleanup.push(() => o.stop(), ...backends.map((b) => () => b.close()));
}

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition; also checks that every sample's family is typed and no series repeats. */
function parseExposition(text: string): Sample[] {
  const typed = new Set<string>();
  const seen = new Set<string>();
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type !== null) typed.add(type[1]!);
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m !== null, `malformed sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const name = m[1]!;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(name) || typed.has(family), `sample without # TYPE: ${line}`);
    assert.ok(!seen.has(`${name}{${m[2] ?? ''}}`), `duplicate series: ${line}`);
    seen.add(`${name}{${m[2] ?? ''}}`);
    out.push({ name, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of one series; fails when it is missing. */
function value(samples: readonly Sample[], name: string, labels: Record<string, string>): number {
  const hit = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(hit !== undefined, `no ${name}${JSON.stringify(labels)}`);
  return hit.value;
}

function sum(samples: readonly Sample[], name: string, endpoints: readonly string[]): number {
  return endpoints.reduce((n, endpoint) => n + value(samples, name, { endpoint }), 0);
}

async function scrape(url: string): Promise<Sample[]> {
  const r = await request(url);
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(r.text);
}

/** Each answer is `size` bytes, so the test knows exactly what it received. */
function sized(size: (n: number) => number): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, b: TestBackend) => void {
  return (req, res, b) => {
    req.resume();
    req.once('end', () => res.writeHead(200, { 'X-Backend': b.name }).end('x'.repeat(size(b.hits))));
  };
}

test('a scrape after traffic over two sites shows every backend of every site with exact counters', async () => {
  const first = await startBackends(3, 'a', sized((n) => 100 + n));
  const second = await startBackends(2, 'z', sized(() => 7));
  const o = await startOutrigger(['--health-path', '/health', first.map((b) => b.url).join(','), second.map((b) => b.url).join(',')]);
  track(o, [...first, ...second]);

  const N = 40;
  let sent = 0;
  let received = 0;
  for (let i = 0; i < N; i++) {
    const body = 'y'.repeat(i * 3);
    const r = await request(`${o.base}/obj/${i}`, { method: i % 2 === 0 ? 'PUT' : 'POST', headers: { 'Content-Length': String(body.length) }, body });
    assert.equal(r.status, 200, r.text);
    sent += Buffer.byteLength(body);
    received += r.body.length;
  }
  const endpoints1 = first.map((b) => b.url);
  const endpoints2 = second.map((b) => b.url);
  const metricsUrl = `${o.base}/.prometheus/metrics`;
  // The counters are final once each exchange has been released, which follows the response by at most a tick.
  let samples: Sample[] = [];
  await waitFor(async () => {
    samples = await scrape(metricsUrl);
    return sum(samples, 'sidekick_requests_total', endpoints1) >= N;
  }, 5_000, 'all requests counted');

  assert.equal(sum(samples, 'sidekick_requests_total', endpoints1), N);
  assert.equal(sum(samples, 'sidekick_errors_total', endpoints1), 0);
  assert.equal(sum(samples, 'sidekick_rx_bytes_total', endpoints1), sent);
  assert.equal(sum(samples, 'sidekick_tx_bytes_total', endpoints1), received);
  assert.equal(sum(samples, 'sidekick_health_error_counts', endpoints1), 0);
  // Each backend's own count is what it really served.
  for (const b of first) assert.equal(value(samples, 'sidekick_requests_total', { endpoint: b.url }), b.hits, b.name);
  // The failover site's backends are all there, at zero (sidekick only exported the last site).
  for (const endpoint of endpoints2) {
    for (const name of ['sidekick_requests_total', 'sidekick_errors_total', 'sidekick_rx_bytes_total', 'sidekick_tx_bytes_total', 'sidekick_health_error_counts']) {
      assert.equal(value(samples, name, { endpoint }), 0, `${name} ${endpoint}`);
    }
  }
  // Outrigger's own series carry the 1-based site.
  for (const [site, list] of [['1', endpoints1], ['2', endpoints2]] as const) {
    for (const endpoint of list) {
      assert.equal(value(samples, 'outrigger_backend_up', { site, endpoint }), 1);
      assert.equal(value(samples, 'outrigger_backend_in_flight', { site, endpoint }), 0);
      assert.equal(value(samples, 'outrigger_backend_state_transitions_total', { site, endpoint, to: 'up' }), 1);
      assert.equal(value(samples, 'outrigger_backend_state_transitions_total', { site, endpoint, to: 'down' }), 0);
      assert.equal(value(samples, 'outrigger_backend_downtime_seconds_total', { site, endpoint }), 0);
      assert.ok(value(samples, 'outrigger_health_checks_total', { site, endpoint, result: 'ok' }) >= 1);
      assert.equal(value(samples, 'outrigger_health_checks_total', { site, endpoint, result: 'fail' }), 0);
      assert.ok(value(samples, 'outrigger_health_check_duration_seconds_count', { site, endpoint }) >= 1);
    }
  }
  const durations = endpoints1.reduce((n, endpoint) => n + value(samples, 'outrigger_upstream_request_duration_seconds_count', { site: '1', endpoint }), 0);
  assert.equal(durations, N);
  for (const endpoint of endpoints1) {
    const count = value(samples, 'outrigger_upstream_request_duration_seconds_count', { site: '1', endpoint });
    assert.equal(value(samples, 'outrigger_upstream_request_duration_seconds_bucket', { site: '1', endpoint, le: '+Inf' }), count);
  }
  assert.ok(samples.some((s) => s.name === 'process_cpu_user_seconds_total'), 'process metrics on the main port');
  // Scrapes are answered by Outrigger itself, never proxied.
  assert.equal([...first, ...second].reduce((n, b) => n + b.hits, 0), N);
});

/** The process families a scrape must carry, every one of them, from the first scrape on. */
const PROCESS_FAMILIES = [
  'process_cpu_user_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_seconds_total', 'process_start_time_seconds',
  'process_resident_memory_bytes', 'process_open_fds', 'process_max_fds', 'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds', 'nodejs_eventloop_lag_max_seconds', 'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds', 'nodejs_eventloop_lag_p50_seconds', 'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds', 'nodejs_active_resources_total', 'nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes', 'nodejs_heap_space_size_used_bytes', 'nodejs_version_info',
];

/** Checks one scrape's process families: all there, every value a finite, plausible number. */
function assertProcessMetrics(samples: readonly Sample[], what: string): void {
  for (const name of PROCESS_FAMILIES) assert.ok(samples.some((s) => s.name === name), `${what}: no ${name}`);
  for (const s of samples.filter((x) => /^(process|nodejs)_/.test(x.name))) {
    assert.ok(Number.isFinite(s.value), `${what}: ${s.name} is ${s.value}`);
    // An empty event-loop histogram reads 9223372036.85 s as its minimum.
    if (s.name.startsWith('nodejs_eventloop_lag')) assert.ok(s.value >= 0 && s.value < 60, `${what}: ${s.name} is ${s.value}`);
  }
}

test('process metrics are complete and right on the very first scrape, and on two scrapes in a row', async () => {
  const backends = await startBackends(1);
  cleanup.push(() => backends[0]!.close());
  // Burn CPU before anything is scraped: process_cpu_seconds_total must count it (it counts from process start).
  const burn = 'const start = process.cpuUsage(); while (process.cpuUsage(start).user < 300000);';
  const o = await startOutrigger(['--health-path', '/health', backends[0]!.url], { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(burn)}` }, 60_000);
  cleanup.push(() => o.stop());
  const url = `${o.base}/.prometheus/metrics`;
  const first = await scrape(url);
  assertProcessMetrics(first, 'first scrape');
  assert.ok(value(first, 'process_cpu_seconds_total', {}) >= 0.3, `CPU since process start, got ${value(first, 'process_cpu_seconds_total', {})}`);
  const startTime = value(first, 'process_start_time_seconds', {});
  assert.ok(Math.abs(startTime - Date.now() / 1000) < 120, `start time ${startTime}`);
  // Back to back: the event-loop window may be empty, which must not show as 9223372036.85 or NaN.
  const [a, b] = await Promise.all([scrape(url), scrape(url)]);
  assertProcessMetrics(a, 'second scrape');
  assertProcessMetrics(b, 'third scrape');
  assert.ok(value(b, 'process_cpu_seconds_total', {}) >= value(first, 'process_cpu_seconds_total', {}));
});

test('a failing backend shows as down, with its health errors and downtime', async () => {
  const backends = await startBackends(2);
  const [b1, b2] = backends as [TestBackend, TestBackend];
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '0.1', `${b1.url},${b2.url}`]);
  track(o, backends);
  let samples: Sample[] = [];
  // Up first, so that going down is a transition (a first verdict of "down" is not one).
  await waitFor(async () => value(await scrape(`${o.base}/.prometheus/metrics`), 'outrigger_backend_up', { site: '1', endpoint: b2.url }) === 1,
    5_000, 'b2 up');
  b2.healthy = false;
  await waitFor(async () => {
    samples = await scrape(`${o.base}/.prometheus/metrics?name[]=x`);
    return value(samples, 'sidekick_health_error_counts', { endpoint: b2.url }) >= 2;
  }, 5_000, 'health errors counted');
  assert.equal(value(samples, 'outrigger_backend_up', { site: '1', endpoint: b2.url }), 0);
  assert.equal(value(samples, 'outrigger_backend_up', { site: '1', endpoint: b1.url }), 1);
  assert.equal(value(samples, 'outrigger_backend_state_transitions_total', { site: '1', endpoint: b2.url, to: 'down' }), 1);
  assert.ok(value(samples, 'outrigger_health_checks_total', { site: '1', endpoint: b2.url, result: 'fail' }) >= 2);
  assert.ok(value(samples, 'outrigger_backend_downtime_seconds_total', { site: '1', endpoint: b2.url }) > 0);
  assert.equal(value(samples, 'sidekick_health_error_counts', { endpoint: b1.url }), 0);
});

test('--metrics-address serves the same metrics on a port of its own', async () => {
  const backends = await startBackends(2);
  const o = await startOutrigger(['--health-path', '/health', '--metrics-address', '127.0.0.1:0', backends.map((b) => b.url).join(',')]);
  track(o, backends);
  await o.output(/metrics on http:\/\/127\.0\.0\.1:\d+\/\.prometheus\/metrics/);
  const port = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(o.stdout)![1]);
  for (let i = 0; i < 5; i++) assert.equal((await request(`${o.base}/x`)).status, 200);
  let samples: Sample[] = [];
  await waitFor(async () => {
    samples = await scrape(`http://127.0.0.1:${port}/.prometheus/metrics`);
    return sum(samples, 'sidekick_requests_total', backends.map((b) => b.url)) >= 5;
  }, 5_000, 'requests counted');
  assert.equal(sum(samples, 'sidekick_requests_total', backends.map((b) => b.url)), 5);
  // Read fresh on this server: the process metrics are there on the first scrape.
  assert.ok(samples.some((s) => s.name === 'nodejs_heap_size_total_bytes'));
  assert.equal((await request(`http://127.0.0.1:${port}/other`)).status, 404);
  assert.equal((await request(`http://127.0.0.1:${port}/metrics`)).status, 200);
});

describe('Metrics, in process', () => {
  const config = (args: string[]): Config => {
    const outcome = parseCommandLine(args, {});
    assert.equal(outcome.kind, 'config');
    return (outcome as { config: Config }).config;
  };

  test('follows the backend set after a reload', () => {
    const c = config(['-a', '127.0.0.1:1', 'http://h1:9000,http://h2:9000', 'http://h3:9000']);
    const upstreams = new UpstreamSet(c.sites, c);
    const metrics = new Metrics(upstreams, { processMetrics: false });
    const endpoints = (): string[] => parseExposition(metrics.backendText()).filter((s) => s.name === 'sidekick_requests_total').map((s) => s.labels['endpoint']!);
    assert.deepEqual(endpoints(), ['http://h1:9000', 'http://h2:9000', 'http://h3:9000']);
    upstreams.backends()[0]!.stats.requests = 5;
    const next = parseSites(['http://h1:9000', 'http://h4:9000,http://h5:9000'], c.address);
    assert.deepEqual(next.errors, []);
    upstreams.replace(next.sites);
    assert.deepEqual(endpoints(), ['http://h1:9000', 'http://h4:9000', 'http://h5:9000']);
    const samples = parseExposition(metrics.backendText());
    // h1 kept its object (same site, same URL), so its counters survive the reload.
    assert.equal(value(samples, 'sidekick_requests_total', { endpoint: 'http://h1:9000' }), 5);
    assert.equal(value(samples, 'outrigger_backend_up', { site: '2', endpoint: 'http://h5:9000' }), 0);
    for (const b of upstreams.backends()) b.destroy();
  });

  test('renders fixed-bucket histograms cumulatively, in seconds', () => {
    const c = config(['-a', '127.0.0.1:1', 'http://h1:9000']);
    const upstreams = new UpstreamSet(c.sites, c);
    const stats = upstreams.backends()[0]!.stats;
    for (const ms of [0.5, 3, 3, 40, 70_000]) stats.recordLatency(ms);
    stats.recordTtfb(2);
    stats.recordRetry();
    stats.recordHealthCheck(false, 12);
    const samples = parseExposition(new Metrics(upstreams, { processMetrics: false }).backendText());
    const labels = { site: '1', endpoint: 'http://h1:9000' };
    const bucket = (le: string): number => value(samples, 'outrigger_upstream_request_duration_seconds_bucket', { ...labels, le });
    assert.equal(bucket('0.001'), 1);
    assert.equal(bucket('0.0025'), 1);
    assert.equal(bucket('0.005'), 3);
    assert.equal(bucket('0.05'), 4);
    assert.equal(bucket('60'), 4);
    assert.equal(bucket('+Inf'), 5);
    assert.equal(value(samples, 'outrigger_upstream_request_duration_seconds_count', labels), 5);
    assert.ok(Math.abs(value(samples, 'outrigger_upstream_request_duration_seconds_sum', labels) - 70.0465) < 1e-9);
    assert.equal(value(samples, 'outrigger_upstream_time_to_first_byte_seconds_bucket', { ...labels, le: '0.0025' }), 1);
    assert.equal(value(samples, 'outrigger_upstream_retries_total', labels), 1);
    assert.equal(value(samples, 'outrigger_health_checks_total', { ...labels, result: 'fail' }), 1);
    assert.equal(value(samples, 'outrigger_health_check_duration_seconds_bucket', { ...labels, le: '0.01' }), 0);
    assert.equal(value(samples, 'outrigger_health_check_duration_seconds_bucket', { ...labels, le: '0.025' }), 1);
    for (const b of upstreams.backends()) b.destroy();
  });

  test('renders a plain JSON copy of the readings like the live backends (for summing workers)', () => {
    const c = config(['-a', '127.0.0.1:1', 'http://h1:9000,http://h2:9000', 'http://h3:9000']);
    const upstreams = new UpstreamSet(c.sites, c);
    const [h1, h2] = upstreams.backends() as [import('../src/upstream/backend.js').Backend, import('../src/upstream/backend.js').Backend];
    h1.stats.recordLatency(7);
    h1.stats.rxBytes = 10;
    h2.health.probed = true;
    const now = Date.now();
    const copy = JSON.parse(JSON.stringify(upstreams.backends().map(readBackend))) as ReturnType<typeof readBackend>[];
    assert.equal(renderBackends(copy, now), renderBackends(upstreams.backends(), now));
    for (const b of upstreams.backends()) b.destroy();
  });

  test('escapes label values', () => {
    const c = config(['-a', '127.0.0.1:1', 'http://h1:9000/a"b\\c']);
    const upstreams = new UpstreamSet(c.sites, c);
    const url = upstreams.backends()[0]!.url;
    const samples = parseExposition(new Metrics(upstreams, { processMetrics: false }).backendText());
    assert.equal(value(samples, 'sidekick_requests_total', { endpoint: url }), 0);
    for (const b of upstreams.backends()) b.destroy();
  });
});

test('with --workers 2, --metrics-address on the primary sums every worker\'s counters', async () => {
  const backends = await startBackends(2, 'w');
  const o = await startOutrigger(['--workers', '2', '--health-path', '/health', '--metrics-address', '127.0.0.1:0', backends.map((b) => b.url).join(',')]);
  track(o, backends);
  await o.output(/metrics on http:\/\/127\.0\.0\.1:\d+\/\.prometheus\/metrics \(summed over workers\)/);
  const port = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(o.stdout)![1]);
  // A new connection per request, so the cluster spreads them over both workers.
  for (let i = 0; i < 30; i++) assert.equal((await request(`${o.base}/x`, { agent: false })).status, 200);
  const samples = await scrape(`http://127.0.0.1:${port}/.prometheus/metrics`);
  assert.equal(sum(samples, 'sidekick_requests_total', backends.map((b) => b.url)), 30);
  assert.equal(backends[0]!.hits + backends[1]!.hits, 30);
});
