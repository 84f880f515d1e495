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
  set.requestFailed(a1!, 'ECONNREFUSED');
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
  const set = new UpstreamSet(sites(['a1']), options);
  const changes: StateChange[] = [];
  set.onChange((c) => changes.push(c));
  const [a1] = set.backends();
  set.probeResult(a1!, true, '', 1, 1);
  set.requestFailed(a1!, 'ECONNRESET');
  set.requestFailed(a1!, 'ECONNRESET');
  set.probeResult(a1!, true, '', 1, 1);
  assert.deepEqual(changes.map((c) => [c.status, c.source, c.initial]), [['up', 'probe', true], ['down', 'request', false], ['up', 'probe', false]]);
});

test('the last site is probed on the read health path', () => {
  const set = new UpstreamSet(sites(['a1'], ['b1']), options);
  assert.deepEqual(set.backends().map((b) => b.healthUrl), ['http://a1:9000/health', 'http://b1:9000/read']);
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
