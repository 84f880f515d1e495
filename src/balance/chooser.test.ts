import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SiteSpec } from '../config/types.js';
import { UpstreamSet } from '../upstream/upstream-set.js';
import { Chooser, type ChooserOptions } from './chooser.js';
import type { KeySource } from './hash-key.js';

const setOptions = { healthPath: '/', readHealthPath: '/', healthPort: 0, insecure: false, hostBalance: 'least' as const };
const OFF: ChooserOptions = { hostBalance: 'hash', hashKey: undefined, hashBalanceFactor: 0, stickyCookie: undefined, split: undefined };

function upstreams(...hosts: string[][]): UpstreamSet {
  const specs: SiteSpec[] = hosts.map((hs, index) => ({
    index, source: hs.join(','),
    backends: hs.map((h) => ({ url: `http://${h}:9000`, protocol: 'http:' as const, hostname: h, port: 9000, basePath: '' })),
  }));
  const set = new UpstreamSet(specs, setOptions);
  for (const b of set.backends()) set.probeResult(b, true, '', 1, 1);
  return set;
}

function req(clientIp: string, headers: Record<string, string> = {}, cookies: Record<string, string> = {}): KeySource {
  return { clientIp, target: '/', header: (n) => headers[n], cookie: (n) => cookies[n], query: () => undefined };
}

test('hash balancing: the same client address always reaches the same backend, by default', () => {
  const set = upstreams(['a', 'b', 'c', 'd']);
  const chooser = new Chooser(set, OFF);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const b = chooser.pick(req(`10.0.0.${i}`), null)!;
    assert.equal(chooser.pick(req(`10.0.0.${i}`), null), b);
    seen.add(b.url);
  }
  assert.equal(seen.size, 4, 'keys spread over every backend');
});

test('hash balancing on a header: requests without it go to the least loaded backend', () => {
  const set = upstreams(['a', 'b']);
  const [a, b] = set.backends();
  const chooser = new Chooser(set, { ...OFF, hashKey: { kind: 'header', name: 'x-user' } });
  const home = chooser.pick(req('1.1.1.1', { 'x-user': 'alice' }), null)!;
  assert.equal(chooser.pick(req('2.2.2.2', { 'x-user': 'alice' }), null), home);
  a!.inFlight = 5;
  assert.equal(chooser.pick(req('1.1.1.1'), null), b);
});

test('a sticky cookie naming a ready backend wins; naming a down one, hashing decides', () => {
  const set = upstreams(['a', 'b', 'c']);
  const chooser = new Chooser(set, { ...OFF, hostBalance: 'least', stickyCookie: 'lb' });
  const [, b] = set.backends();
  const pin = chooser.sticky!.valueFor(b!);
  for (let i = 0; i < 20; i++) assert.equal(chooser.pick(req(`10.0.0.${i}`, {}, { lb: pin }), null), b);
  set.probeResult(b!, false, 'status 503', 1, 1);
  const fallback = chooser.pick(req('10.0.0.1', {}, { lb: pin }), null)!;
  assert.notEqual(fallback, b);
  assert.equal(chooser.pick(req('10.0.0.1', {}, { lb: pin }), null), fallback, 'the fallback is the hash, stable per client');
});

test('split: the drawn site comes first, the other site takes over when it has nothing ready', () => {
  const set = upstreams(['stable'], ['canary']);
  const chooser = new Chooser(set, { ...OFF, hostBalance: 'least', hashKey: { kind: 'header', name: 'x-user' }, split: [50, 50] });
  const sides = new Map<string, string>();
  for (let i = 0; i < 100; i++) sides.set(`u${i}`, chooser.pick(req('1.1.1.1', { 'x-user': `u${i}` }), null)!.url);
  const canary = [...sides.values()].filter((u) => u.includes('canary')).length;
  assert.ok(canary > 25 && canary < 75, `canary got ${canary} of 100 users`);
  for (const [user, url] of sides) assert.equal(chooser.pick(req('9.9.9.9', { 'x-user': user }), null)!.url, url);
  const [stable] = set.backends();
  set.probeResult(stable!, false, 'status 503', 1, 1);
  for (const user of sides.keys()) assert.match(chooser.pick(req('1.1.1.1', { 'x-user': user }), null)!.url, /canary/);
});

test('retries exclude the backends already tried, then give up', () => {
  const set = upstreams(['a', 'b']);
  const chooser = new Chooser(set, OFF);
  const first = chooser.pick(req('1.2.3.4'), null)!;
  const second = chooser.pick(req('1.2.3.4'), [first])!;
  assert.notEqual(second, first);
  assert.equal(chooser.pick(req('1.2.3.4'), [first, second]), null);
});

test('a sticky cookie outranks the split: a client pinned to the canary stays there', () => {
  const set = upstreams(['stable1', 'stable2'], ['canary']);
  const chooser = new Chooser(set, { ...OFF, hostBalance: 'least', stickyCookie: 'lb', split: [99, 1] });
  const canary = set.backends()[2]!;
  const pin = chooser.sticky!.valueFor(canary);
  for (let i = 0; i < 50; i++) assert.equal(chooser.pick(req(`10.0.0.${i}`, {}, { lb: pin }), null), canary);
});
