import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SiteSpec } from '../config/types.js';
import { UpstreamSet, type StateChange } from './upstream-set.js';

const options = { healthPath: '/health', readHealthPath: '/read', healthPort: 0, insecure: false, hostBalance: 'round-robin' as const };

function sites(...hosts: string[][]): SiteSpec[] {
  return hosts.map((hs, index) => ({
    index, source: hs.join(','),
    backends: hs.map((h) => ({ url: `http://${h}:9000`, protocol: 'http:' as const, hostname: h, port: 9000, basePath: '' })),
  }));
}

function allUp(set: UpstreamSet): void {
  for (const b of set.backends()) set.probeResult(b, true, '', 1, 1);
}

test('the first site with a ready backend takes the request; failback is immediate', () => {
  const set = new UpstreamSet(sites(['a1', 'a2'], ['b1']), options);
  assert.equal(set.pick(null), null, 'nothing is ready before the first probe');
  allUp(set);
  assert.equal(set.pick(null)?.siteIndex, 0);
  const [a1, a2, b1] = set.backends();
  for (let i = 0; i < 3; i++) set.requestFailed(a1!, 'ECONNREFUSED');
  set.probeResult(a2!, false, 'status 503', 1, 1);
  assert.equal(set.pick(null), b1);
  set.probeResult(a2!, true, '', 1, 1);
  assert.equal(set.pick(null), a2);
});

test('excluded backends send the retry to the next site', () => {
  const set = new UpstreamSet(sites(['a1'], ['b1']), options);
  allUp(set);
  const [a1, b1] = set.backends();
  assert.equal(set.pick([a1!]), b1);
  assert.equal(set.pick([a1!, b1!]), null);
});

test('rise and fall need that many results in a row, after the first verdict', () => {
  const set = new UpstreamSet(sites(['a1']), options);
  const [a1] = set.backends();
  set.probeResult(a1!, true, '', 2, 3);
  assert.equal(a1!.online, true, 'the first result decides at once');
  set.probeResult(a1!, false, 'x', 2, 3);
  set.probeResult(a1!, false, 'x', 2, 3);
  assert.equal(a1!.online, true);
  set.probeResult(a1!, false, 'x', 2, 3);
  assert.equal(a1!.online, false);
  set.probeResult(a1!, true, '', 2, 3);
  assert.equal(a1!.online, false);
  set.probeResult(a1!, true, '', 2, 3);
  assert.equal(a1!.online, true);
});

test('state changes are published once per transition, with the downtime on recovery', () => {
  let now = 1_000;
  const set = new UpstreamSet(sites(['a1']), { ...options, now: () => now });
  const changes: StateChange[] = [];
  set.onChange((c) => changes.push(c));
  const [a1] = set.backends();
  set.probeResult(a1!, true, '', 1, 1);
  for (let i = 0; i < 4; i++) set.requestFailed(a1!, 'ECONNRESET');
  now += 1_500;
  set.probeResult(a1!, true, '', 1, 1);
  assert.deepEqual(changes.map((c) => [c.status, c.source, c.initial]), [['up', 'probe', true], ['down', 'request', false], ['up', 'probe', false]]);
  assert.equal(changes[2]!.downtimeMs, 1_500);
  assert.equal(a1!.stats.transitionsDown, 1);
});

// Issue 13.9: one reset connection took a single-backend site down until the next probe.
test('request errors take a backend out only with enough evidence: failures within a short window', () => {
  let now = 0;
  const set = new UpstreamSet(sites(['a1']), { ...options, now: () => now, passive: { failures: 3, windowMs: 10_000 } });
  const suspected: string[] = [];
  set.onFailure((b, source) => suspected.push(`${b.url} ${source}`));
  allUp(set);
  const [a1] = set.backends();
  set.requestFailed(a1!, 'ECONNRESET');
  assert.equal(a1!.online, true, 'one error is a suspicion, not a verdict');
  assert.deepEqual(suspected, ['http://a1:9000 request'], 'the checker is asked to probe at once');
  now += 5_000;
  set.requestFailed(a1!, 'ECONNRESET');
  now += 6_000; // the window of the first failure is over: counting starts again
  set.requestFailed(a1!, 'ECONNRESET');
  set.requestFailed(a1!, 'ECONNRESET');
  assert.equal(a1!.online, true);
  set.requestFailed(a1!, 'ECONNRESET');
  assert.equal(a1!.online, false, 'three failures within the window');
  set.probeResult(a1!, true, '', 1, 1);
  assert.equal(a1!.online, true, 'a passing probe clears the evidence');
});

test('panic routing: when nothing is ready anywhere, backends out only on request evidence are tried anyway', () => {
  const set = new UpstreamSet(sites(['a1', 'a2'], ['b1']), { ...options, passive: { failures: 1, windowMs: 10_000 } });
  allUp(set);
  const [a1, a2, b1] = set.backends();
  set.requestFailed(a1!, 'ECONNRESET');
  set.probeResult(a2!, false, 'status 503', 1, 1);
  assert.equal(set.pick(null), b1, 'a ready site still wins');
  set.requestFailed(b1!, 'ECONNRESET');
  assert.equal(set.anyReady(), false);
  assert.equal(set.pick(null), a1, 'suspected, not known dead: tried');
  assert.equal(set.pick([a1!]), b1, 'then the suspected backend of the next site');
  assert.equal(set.pick([a1!, b1!]), null, 'a2 failed its health check: never tried');
});

test('outlier ejection holds a healthy backend out until its deadline, then it comes back by itself', async () => {
  const set = new UpstreamSet(sites(['a1', 'a2']), options);
  const changes: string[] = [];
  set.onChange((c) => changes.push(`${c.backend.url} ${c.status} ${c.source}`));
  allUp(set);
  changes.length = 0;
  const [a1, a2] = set.backends();
  set.eject(a1!, Date.now() + 30, 'too many 5xx');
  assert.equal(a1!.online, false);
  assert.deepEqual(set.sites[0]!.ready, [a2]);
  set.probeResult(a1!, true, '', 1, 1);
  assert.equal(a1!.online, false, 'a passing probe does not lift an ejection');
  const deadline = Date.now() + 5_000;
  while (!a1!.online && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(a1!.online, true);
  assert.deepEqual(changes, ['http://a1:9000 down ejection', 'http://a1:9000 up ejection']);
  set.eject(a2!, Date.now() + 60_000, 'slow');
  set.eject(a2!, 0, 'lifted');
  assert.equal(a2!.online, true, 'a deadline in the past lifts the ejection');
});


test('the last site is probed on the read health path', () => {
  const set = new UpstreamSet(sites(['a1'], ['b1']), options);
  assert.deepEqual(set.backends().map((b) => b.healthUrl), ['http://a1:9000/health', 'http://b1:9000/read']);
});

// Issue 13.10: requests went to /prefix/x but the probe to /health.
test('a SITE path prefix applies to the health check too', () => {
  const spec = { url: 'http://a1:9000/api/v1', protocol: 'http:' as const, hostname: 'a1', port: 9000, basePath: '/api/v1' };
  const set = new UpstreamSet([{ index: 0, source: spec.url, backends: [spec] }], options);
  assert.equal(set.backends()[0]!.healthUrl, 'http://a1:9000/api/v1/read');
});

test('a reload keeps unchanged backends with their state and replaces the rest', () => {
  const set = new UpstreamSet(sites(['a1', 'a2']), options);
  allUp(set);
  const [a1, a2] = set.backends();
  const { added, removed } = set.replace(sites(['a1', 'a3']));
  assert.deepEqual(removed, [a2]);
  assert.equal(added.length, 1);
  assert.equal(set.backends()[0], a1);
  assert.equal(a1!.online, true);
  assert.equal(set.pick(null), a1, 'the new backend waits for its first probe');
});

test('membership: a backend moving to another site, or leaving and coming back, keeps its endpoint health', () => {
  const set = new UpstreamSet(sites(['a1', 'a2'], ['b1'], ['c1']), options);
  const changes: string[] = [];
  set.onMembership(({ added, removed }) => changes.push(`+${added.map((b) => `${b.siteIndex}:${b.url}`).join(',')} -${removed.map((b) => `${b.siteIndex}:${b.url}`).join(',')}`));
  allUp(set);
  const [a1] = set.backends();
  set.probeResult(a1!, false, 'status 503', 1, 1);
  // a2 moves to the second site (b1 stays); a1 leaves.
  set.replace(sites(['a3'], ['b1', 'a2'], ['c1']));
  const moved = set.sites[1]!.backends.find((b) => b.url === 'http://a2:9000')!;
  assert.equal(moved.siteIndex, 1);
  assert.equal(moved.online, true, 'the moved backend is in rotation at once: its endpoint was healthy');
  assert.deepEqual(set.sites[1]!.ready.map((b) => b.url), ['http://b1:9000', 'http://a2:9000']);
  // a1 comes back: what was known (down, 503) comes with it until a probe says otherwise.
  set.replace(sites(['a1', 'a3'], ['b1', 'a2'], ['c1']));
  const back = set.backends()[0]!;
  assert.notEqual(back, a1);
  assert.equal(back.probed, true);
  assert.equal(back.online, false);
  assert.equal(back.lastError, 'status 503');
  assert.deepEqual(changes, ['+0:http://a3:9000,1:http://a2:9000 -0:http://a1:9000,0:http://a2:9000', '+0:http://a1:9000 -']);
});
