import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRateLimits } from './rate-spec.js';
import { TokenBuckets } from './token-buckets.js';
import { RateLimiter, type LimitedRequest } from './rate-limiter.js';
import { ConnectionCap } from './connection-cap.js';

function req(clientIp: string, target = '/', headers: Record<string, string> = {}): LimitedRequest {
  return { clientIp, target, header: (n) => headers[n] };
}

test('rate limit rules parse with their defaults; bad ones are refused with the reason', () => {
  const r = parseRateLimits('100/s,burst=200');
  assert.ok(r.ok);
  assert.deepEqual(r.value[0], { rate: 100, burst: 200, by: { kind: 'client' }, prefix: '/', text: '100/s,burst=200' });
  const many = parseRateLimits('60/m,by=header:X-Api-Key,prefix=/upload; 5/s');
  assert.ok(many.ok);
  assert.equal(many.value[0]!.rate, 1);
  assert.equal(many.value[0]!.burst, 60);
  assert.deepEqual(many.value[0]!.by, { kind: 'header', name: 'x-api-key' });
  assert.equal(many.value[1]!.prefix, '/');
  for (const bad of ['', '100', '100/d', '0/s', '10/s,burst=0', '10/s,by=cookie:x', '10/s,prefix=x', '10/s,foo=1', '1/s;2/s']) {
    const p = parseRateLimits(bad);
    assert.equal(p.ok, false, bad);
  }
});

test('token bucket: a burst goes through, then one request per 1/rate seconds', () => {
  const b = new TokenBuckets(10, 3);
  assert.equal(b.take('a', 0), 2);
  assert.equal(b.take('a', 0), 1);
  assert.equal(b.take('a', 0), 0);
  assert.equal(b.take('a', 0), -1);
  assert.equal(b.waitMs('a', 0), 100);
  assert.equal(b.take('a', 50), -1);
  assert.ok(b.take('a', 150) >= 0);
  // Refill is capped at the burst.
  assert.equal(b.take('a', 100_000), 2);
});

test('token bucket: the table stays bounded, dropping buckets that are full again first', () => {
  const b = new TokenBuckets(1, 1, 3);
  b.take('old', 0);
  b.take('x', 5000);
  b.take('y', 5000);
  b.take('z', 5000); // 'old' has been idle long enough to be full: it goes
  assert.equal(b.size, 3);
  assert.equal(b.take('x', 5000), -1, 'a busy bucket was kept');
  b.take('w', 5000); // nothing idle: the oldest goes
  assert.equal(b.size, 3);
});

test('rate limiter: a client over its limit gets 429 with Retry-After and RateLimit fields; another is unaffected', () => {
  let now = 1_000_000;
  const rules = parseRateLimits('2/s,burst=2');
  assert.ok(rules.ok);
  const limiter = new RateLimiter(rules.value, () => now);
  assert.equal(limiter.check(req('10.0.0.1')), null);
  assert.equal(limiter.check(req('10.0.0.1')), null);
  const refused = limiter.check(req('10.0.0.1'));
  assert.ok(refused !== null);
  assert.equal(refused.status, 429);
  assert.equal(refused.headers['Retry-After'], '1');
  assert.equal(refused.headers['RateLimit'], '"outrigger";r=0;t=1');
  assert.equal(refused.headers['RateLimit-Policy'], '"outrigger";q=2;w=1');
  assert.equal(limiter.check(req('10.0.0.2')), null);
  assert.equal(limiter.refused, 1);
  now += 500;
  assert.equal(limiter.check(req('10.0.0.1')), null);
});

test('rate limiter: the longest prefix applies, by header value, and paths outside every rule pass', () => {
  const rules = parseRateLimits('1/h,prefix=/login;1/h,by=header:X-Key,prefix=/api');
  assert.ok(rules.ok);
  const limiter = new RateLimiter(rules.value, () => 0);
  assert.equal(limiter.check(req('1.1.1.1', '/login')), null);
  assert.notEqual(limiter.check(req('1.1.1.1', '/login?again')), null);
  assert.equal(limiter.check(req('1.1.1.1', '/api/x', { 'x-key': 'a' })), null);
  assert.notEqual(limiter.check(req('2.2.2.2', '/api/y', { 'x-key': 'a' })), null, 'same key, another address');
  assert.equal(limiter.check(req('1.1.1.1', '/api/x', { 'x-key': 'b' })), null);
  for (let i = 0; i < 10; i++) assert.equal(limiter.check(req('1.1.1.1', '/static/a')), null);
});

test('connection cap: counts per address and frees on close', () => {
  const cap = new ConnectionCap(2);
  assert.ok(cap.admit('a'));
  assert.ok(cap.admit('a'));
  assert.equal(cap.admit('a'), false);
  assert.ok(cap.admit('b'));
  cap.release('a');
  assert.ok(cap.admit('a'));
  cap.release('a');
  cap.release('a');
  cap.release('b');
  assert.equal(cap.clients, 0);
});
