/** In-process tests of the cache's small decision modules: ranges, invalidation targets, memory tier, store health, flights. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ifRangeHolds, rangeFor } from './range.js';
import { invalidates, invalidationTargets } from './invalidate.js';
import { MemoryTier } from './memory-tier.js';
import { StoreHealth } from './store-health.js';
import { Flight } from './flight.js';
import { parseStored, type Entry } from './entry.js';
import { parsePurge } from './purge.js';
import { notModified, planHit, storedHeaders } from './answers.js';

const entry = (url: string, size = 10): Entry => ({
  v: 1, url, status: 200, headers: [['ETag', '"e1"'], ['Last-Modified', 'Sun, 29 Nov 2026 08:00:00 GMT']], vary: [],
  policy: { v: 1 } as Entry['policy'], size, bodyEtag: '"store-etag"',
});

describe('ranges on a stored object', () => {
  it('computes absolute ranges, suffixes included, and 416 beyond the end', () => {
    assert.deepEqual(rangeFor('bytes=-3', 10), { kind: 'partial', range: { start: 7, end: 9 } });
    assert.deepEqual(rangeFor('bytes=-30', 10), { kind: 'partial', range: { start: 0, end: 9 } });
    assert.deepEqual(rangeFor('bytes=2-', 10), { kind: 'partial', range: { start: 2, end: 9 } });
    assert.deepEqual(rangeFor('bytes=2-400', 10), { kind: 'partial', range: { start: 2, end: 9 } });
    assert.deepEqual(rangeFor('bytes=10-', 10), { kind: 'unsatisfiable' });
    assert.deepEqual(rangeFor('bytes=-0', 10), { kind: 'unsatisfiable' });
  });

  it('serves the whole object for multi-range, malformed or reversed ranges', () => {
    for (const header of ['bytes=0-1,3-4', 'bytes=abc', 'items=0-1', 'bytes=5-2', undefined]) {
      assert.deepEqual(rangeFor(header, 10), { kind: 'full' }, String(header));
    }
  });

  it('applies If-Range only to the same strong ETag or the exact Last-Modified date', () => {
    assert.equal(ifRangeHolds('"e1"', '"e1"', undefined), true);
    assert.equal(ifRangeHolds('"e2"', '"e1"', undefined), false);
    assert.equal(ifRangeHolds('W/"e1"', 'W/"e1"', undefined), false, 'weak validators never match If-Range');
    assert.equal(ifRangeHolds('Sun, 29 Nov 2026 08:00:00 GMT', undefined, 'Sun, 29 Nov 2026 08:00:00 GMT'), true);
    assert.equal(ifRangeHolds('Sun, 29 Nov 2026 09:00:00 GMT', undefined, 'Sun, 29 Nov 2026 08:00:00 GMT'), false);
  });

  it('answers a hit: 206 with Content-Range, 416, 304 for the client\'s own validator, HEAD without a body', () => {
    const e = entry('http://h/x', 10);
    const headers = (): Record<string, string> => storedHeaders(e, 5, { hit: true, ttl: 10 });
    const none = (): string | undefined => undefined;
    const part = planHit('GET', (n) => (n === 'range' ? 'bytes=-3' : undefined), e, headers());
    assert.ok(part.kind === 'body');
    assert.deepEqual([part.status, part.headers['content-range'], part.length], [206, 'bytes 7-9/10', 3]);
    const beyond = planHit('GET', (n) => (n === 'range' ? 'bytes=20-' : undefined), e, headers());
    assert.ok(beyond.kind === 'empty' && beyond.answer.status === 416);
    const cond = planHit('GET', (n) => (n === 'if-none-match' ? 'W/"e1"' : undefined), e, headers());
    assert.ok(cond.kind === 'empty' && cond.answer.status === 304);
    const head = planHit('HEAD', none, e, headers());
    assert.ok(head.kind === 'empty' && head.answer.length === 10);
    assert.equal(headers().age, '5');
    assert.equal(notModified((n) => (n === 'if-modified-since' ? 'Sun, 29 Nov 2026 08:00:00 GMT' : undefined), headers()), true);
  });
});

describe('invalidation (RFC 9111 §4.4)', () => {
  it('invalidates after a non-error answer to an unsafe method only', () => {
    assert.equal(invalidates('PUT', 200), true);
    assert.equal(invalidates('DELETE', 204), true);
    assert.equal(invalidates('POST', 303), true);
    assert.equal(invalidates('PATCH', 500), false);
    assert.equal(invalidates('GET', 200), false);
    assert.equal(invalidates('MKCOL', 201), true, 'unknown methods are unsafe');
  });

  it('adds same-origin Location and Content-Location targets, never another origin', () => {
    const targets = invalidationTargets('http', 'host:80', '/a?x=1', ['/b', 'http://host:80/c?q', 'http://other/d', 'e', '::bad::']);
    assert.deepEqual(targets.sort(), ['/a?x=1', '/b', '/c?q', '/e', '/::bad::'].sort(), 'a relative reference resolves against the request');
  });
});

describe('memory tier', () => {
  it('is bounded in bytes, drops the least recently used, and keeps no object over a sixteenth', () => {
    const tier = new MemoryTier(16 * 4096);
    assert.equal(tier.maxObject, 4096);
    for (let i = 0; i < 20; i++) tier.set(`k${i}`, entry(`http://h/${i}`), Buffer.alloc(3000));
    assert.ok(tier.bytes <= tier.capacity);
    assert.equal(tier.get('k0'), undefined, 'the oldest went first');
    assert.ok(tier.get('k19') !== undefined);
    tier.set('big', entry('http://h/big'), Buffer.alloc(5000));
    assert.equal(tier.get('big'), undefined);
  });

  it('drops by key prefix and by URL prefix', () => {
    const tier = new MemoryTier(1024 * 1024);
    tier.set('hh/h/1/', entry('http://h/a/1'), Buffer.from('x'));
    tier.set('hh/h/1/v-2/', entry('http://h/a/1'), Buffer.from('y'));
    tier.set('hh/h/3/', entry('http://h/b/3'), Buffer.from('z'));
    assert.equal(tier.deletePrefix('hh/h/1/'), 2);
    assert.equal(tier.deleteUrlPrefix('http://h/b/'), 1);
    assert.equal(tier.size, 0);
    assert.equal(tier.bytes, 0);
  });
});

describe('store health', () => {
  it('bypasses until the first probe answers, reports each flip once, and only a probe brings it back', async () => {
    const reports: string[] = [];
    let healthy = false;
    const timers: Array<() => void> = [];
    const health = new StoreHealth({
      intervalMs: 1000,
      probe: async () => { if (!healthy) throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }); },
      report: (up, reason) => reports.push(up ? 'up' : `down: ${reason}`),
      setTimer: (fn) => { timers.push(fn); return {}; },
      clearTimer: () => undefined,
    });
    assert.equal(health.up, false);
    await health.start();
    await health.check();
    assert.deepEqual(reports, ['down: ECONNREFUSED: refused']);
    healthy = true;
    await health.check();
    health.failed(new Error('timeout'));
    health.failed(new Error('timeout again'));
    assert.equal(health.up, false);
    await health.check();
    assert.deepEqual(reports, ['down: ECONNREFUSED: refused', 'up', 'down: Error: timeout', 'up']);
    health.stop();
  });

  it('takes the store as down only after three calls in a row missed their deadline', async () => {
    const reports: string[] = [];
    const health = new StoreHealth({
      intervalMs: 1000, deadlineMs: 1000, probe: async () => undefined, report: (up, reason) => reports.push(up ? 'up' : `down: ${reason}`),
      setTimer: () => ({}), clearTimer: () => undefined,
    });
    await health.start();
    health.slow('got no answer in 1000 ms');
    health.slow('got no answer in 1000 ms');
    health.answered(5);
    health.slow('got no answer in 1000 ms');
    health.slow('got no answer in 1000 ms');
    assert.equal(health.up, true, 'an answer in time between late ones resets the count');
    health.answered(1500);
    health.slow('got no answer in 1000 ms');
    assert.equal(health.up, false);
    assert.deepEqual(reports, ['up', 'down: 3 store calls in a row got no answer in 1000 ms']);
    await health.check();
    assert.equal(health.up, true, 'a probe brings it back');
    health.stop();
  });
});

describe('single flight', () => {
  const head = { status: 200, headers: {}, length: 6, vary: [], variant: '' };

  it('lets followers read while the leader writes, and end with it', async () => {
    const flight = new Flight(1024);
    const follower = flight.reader();
    flight.start(head);
    flight.push(Buffer.from('abc'));
    const late = flight.reader();
    flight.push(Buffer.from('def'));
    flight.end();
    assert.equal(Buffer.concat(await follower.toArray()).toString(), 'abcdef');
    assert.equal(Buffer.concat(await late.toArray()).toString(), 'abcdef');
    assert.equal(await flight.head, head);
  });

  it('breaks followers when the shared body breaks off (never a shorter whole body)', async () => {
    const flight = new Flight(1024);
    flight.start(head);
    const follower = flight.reader();
    flight.push(Buffer.from('abc'));
    flight.fail();
    await assert.rejects(follower.toArray(), /broke off/);
  });

  it('detaches a follower that falls a window behind; it continues from the store, or breaks if the fill failed', async () => {
    const flight = new Flight(4);
    flight.start(head);
    const slow = flight.reader();
    slow.pause();
    for (const piece of ['ab', 'cd', 'ef']) flight.push(Buffer.from(piece));
    assert.equal(flight.joinable, false, 'the window moved: new requests do not join');
    flight.end();
    flight.settle(async (from) => {
      const { Readable } = await import('node:stream');
      return Readable.from([Buffer.from('abcdef'.slice(from))]);
    });
    assert.equal(Buffer.concat(await slow.toArray()).toString(), 'abcdef');

    const other = new Flight(4);
    other.start(head);
    const behind = other.reader();
    behind.pause();
    for (const piece of ['ab', 'cd', 'ef']) other.push(Buffer.from(piece));
    other.end();
    other.settle(null);
    await assert.rejects(behind.toArray(), /did not complete/);
  });

  it('tells followers to go on their own when the leader\'s response is not shared', async () => {
    const flight = new Flight(1024);
    flight.cancel();
    assert.equal(await flight.head, null);
    assert.equal(await flight.stored, null);
  });
});

describe('stored metadata and purge requests', () => {
  it('treats malformed or foreign metadata as a miss', () => {
    assert.equal(parseStored('not json'), null);
    assert.equal(parseStored('{"v":2,"url":"x"}'), null);
    assert.equal(parseStored(JSON.stringify({ ...entry('http://h/x'), headers: [['X', 'a\r\nInjected: 1']] })), null);
    assert.deepEqual(parseStored(JSON.stringify(entry('http://h/x'))), entry('http://h/x'));
    assert.deepEqual(parseStored('{"v":1,"url":"u","varyIndex":["accept"]}'), { v: 1, url: 'u', varyIndex: ['accept'] });
  });

  it('accepts purges from loopback only, by URL or prefix', () => {
    assert.equal(parsePurge('POST', '/v1/cache/purge?url=http://h/x', '10.0.0.1').kind, 'refused');
    assert.equal(parsePurge('GET', '/v1/cache/purge?url=http://h/x', '127.0.0.1').kind, 'refused');
    assert.equal(parsePurge('POST', '/v1/cache/purge?url=ftp://h/x', '::1').kind, 'refused');
    const byUrl = parsePurge('POST', '/v1/cache/purge?url=http%3A%2F%2Fh%2Fx', '127.0.0.1');
    assert.ok(byUrl.kind === 'url' && byUrl.url.href === 'http://h/x');
    assert.equal(parsePurge('POST', '/v1/cache/purge?prefix=http://h/dir/', '::1').kind, 'prefix');
  });
});
