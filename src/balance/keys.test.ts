import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyOf, parseHashKey, type KeySource } from './hash-key.js';
import { Split, parseSplit } from './split.js';
import { StickyCookie } from './sticky.js';
import { Backend } from '../upstream/backend.js';

/** A stand-in for the pipeline's RequestView (the real one is tested in src/proxy). */
function request(target: string, headers: Record<string, string> = {}, cookies: Record<string, string> = {}, query: Record<string, string> = {}): KeySource {
  return { clientIp: '192.0.2.7', target, header: (n) => headers[n], cookie: (n) => cookies[n], query: (n) => query[n] };
}

test('hash keys: each kind reads its part of the request, null when absent', () => {
  const req = request('/a/b?shard=7&x=1', { 'x-user': 'alice' }, { sid: 's-42' }, { shard: '7' });
  const key = (text: string): string | null => {
    const spec = parseHashKey(text);
    assert.ok(spec.ok);
    return keyOf(spec.value, req);
  };
  assert.equal(key('client'), '192.0.2.7');
  assert.equal(key('path'), '/a/b');
  assert.equal(key('header:X-User'), 'alice');
  assert.equal(key('cookie:sid'), 's-42');
  assert.equal(key('query:shard'), '7');
  assert.equal(key('header:x-none'), null);
  assert.equal(key('cookie:none'), null);
  assert.equal(key('query:none'), null);
});

test('hash key specs: bad ones are refused with the reason', () => {
  for (const bad of ['', 'host', 'header:', 'cookie', 'query:a b', 'header:x:y']) assert.equal(parseHashKey(bad).ok, false, bad);
});

test('split: weights parse, and bad weights are refused', () => {
  const w = parseSplit('95/5');
  assert.ok(w.ok);
  assert.deepEqual(w.value, [95, 5]);
  for (const bad of ['95', '95/x', '0/0', '-1/5', '']) assert.equal(parseSplit(bad).ok, false, bad);
});

test('split: draws follow the weights, the drawn site first and the others after it', () => {
  const split = new Split([95, 5]);
  let canary = 0;
  let u = 0;
  // A deterministic, evenly spread "random" source: the draw follows the weights exactly.
  for (let i = 0; i < 10_000; i++) {
    const order = split.order(null, () => (u = (u + 0.618033988749895) % 1));
    assert.equal(order.length, 2);
    if (order[0] === 1) {
      canary++;
      assert.deepEqual(order, [1, 0]);
    }
  }
  assert.ok(Math.abs(canary - 500) <= 5, `canary ${canary}`);
});

test('split: with a key, a client always lands on the same side, and keys split by weight', () => {
  const split = new Split([90, 10]);
  let second = 0;
  for (let i = 0; i < 10_000; i++) {
    const first = split.order(`client-${i}`)[0];
    assert.equal(split.order(`client-${i}`)[0], first);
    if (first === 1) second++;
  }
  // Binomial(10000, 0.1): sd 30, so ±150 is 5 sd.
  assert.ok(Math.abs(second - 1000) < 150, `second site drew ${second}`);
});

test('sticky cookie: pins a ready backend by its id, not by a down or excluded one', () => {
  const bs = [0, 1, 2].map((i) => new Backend(
    { url: `http://h${i}:80`, protocol: 'http:', hostname: `h${i}`, port: 80, basePath: '' }, 0, { insecure: false, healthUrl: `http://h${i}:80/` },
  ));
  const sticky = new StickyCookie('lb');
  const id = sticky.valueFor(bs[1]!);
  assert.equal(sticky.pinned(bs, null, id), bs[1]);
  assert.equal(sticky.pinned([bs[0]!, bs[2]!], null, id), null);
  assert.equal(sticky.pinned(bs, [bs[1]!], id), null);
  assert.equal(sticky.pinned(bs, null, 'unknown'), null);
  assert.equal(sticky.pinned(bs, null, null), null);
  assert.match(sticky.setCookie(bs[2]!), new RegExp(`^lb=${sticky.valueFor(bs[2]!)}; Path=/; HttpOnly`));
  assert.ok(!sticky.setCookie(bs[2]!).includes('h2'), 'the cookie does not reveal the backend address');
});
