/**
 * The memory tier's fast path (memory-hit.ts), in process with an injected clock: which requests
 * may take it, when a held entry answers, and that its answers equal those of the full path
 * (hits.ts after StoredPolicy.evaluate) for the same entry, request and time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BufferAnswer, RequestView } from '../proxy/pipeline.js';
import type { Entries, Located } from './entries.js';
import type { Entry } from './entry.js';
import { StoreDeadline } from './deadline.js';
import { GONE, Hits } from './hits.js';
import { memoryAnswer, plainRequest } from './memory-hit.js';
import { MemoryTier } from './memory-tier.js';
import { prepareResponse, requestFacts, storeVerdict, StoredPolicy } from './policy.js';
import { CacheStats } from './stats.js';

const T0 = Date.parse('2026-11-29T08:00:00Z');
const URL = 'http://example.test/bucket/object';

function clockAt(ms = T0): { now: () => number; advance(seconds: number): void } {
  let t = ms;
  return { now: () => t, advance(s) { t += s * 1000; } };
}

const none = (): undefined => undefined;

/** A stored entry made the way a fill makes one, from these response fields (Date: T0). */
function storedEntry(fields: Array<[string, string]>, now: () => number, body: Buffer): Entry {
  const prepared = prepareResponse(200, [['Date', new Date(T0).toUTCString()], ...fields]);
  const verdict = storeVerdict(requestFacts('GET', '/bucket/object', (n) => (n === 'host' ? 'example.test' : undefined)), prepared, now);
  assert.ok(verdict.store, JSON.stringify(verdict));
  return { v: 1, url: URL, status: 200, headers: prepared.replay, vary: prepared.vary, policy: verdict.policy, size: body.length, bodyEtag: '"b"' };
}

function held(entry: Entry, body: Buffer) {
  const tier = new MemoryTier(1 << 20);
  tier.set('dir/', entry, body);
  return tier.plain(URL)!;
}

/** The full path's answer: the verdict for a request without directives, then Hits as filter.ts calls it. */
async function fullPath(entry: Entry, body: Buffer, method: string, now: () => number) {
  const policy = new StoredPolicy(entry.policy, now);
  const verdict = policy.evaluate(requestFacts(method, '/bucket/object', none));
  if (verdict.use !== 'fresh') return null;
  const hits = new Hits({ memory: null } as unknown as Entries, new CacheStats(), new StoreDeadline(0, () => undefined));
  const found: Located = { entry, dir: 'dir/', urlDir: 'dir/', body, token: 0 };
  const req = { method, header: none } as unknown as RequestView;
  const answer = await hits.answer(req, found, policy, { hit: true, ttl: policy.ttl() });
  assert.ok(answer !== GONE);
  return answer;
}

describe('memory tier fast path: which requests take it', () => {
  it('takes plain GETs and HEADs only', () => {
    assert.equal(plainRequest('GET', none), true);
    assert.equal(plainRequest('HEAD', none), true);
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) assert.equal(plainRequest(method, none), false, method);
  });

  it('leaves directives, conditionals, ranges and Authorization to the full path', () => {
    for (const field of ['cache-control', 'pragma', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range', 'authorization']) {
      assert.equal(plainRequest('GET', (name) => (name === field ? 'x' : undefined)), false, field);
    }
    assert.equal(plainRequest('GET', (name) => (name === 'accept' ? '*/*' : undefined)), true, 'other fields do not matter');
  });
});

describe('memory tier fast path: freshness by the injected clock', () => {
  it('answers while fresh, with Age and the ttl left, and not from the moment the lifetime is used up', () => {
    const clock = clockAt();
    const body = Buffer.from('hello');
    const h = held(storedEntry([['Cache-Control', 'max-age=60'], ['ETag', '"e"']], clock.now, body), body);
    clock.advance(10);
    const answer = memoryAnswer(h, clock.now)!;
    assert.equal(answer.status, 200);
    assert.equal(answer.body, body, 'the held Buffer itself, no copy');
    assert.equal(answer.headers.age, '10');
    assert.equal(answer.headers['cache-status'], 'Outrigger; hit; ttl=50');
    clock.advance(49.999);
    assert.notEqual(memoryAnswer(h, clock.now), null, 'fresh 1 ms before the end');
    clock.advance(0.001);
    assert.equal(memoryAnswer(h, clock.now), null, 'stale at 60 s: the full path decides (revalidate, stale-while-revalidate...)');
  });

  it('counts an Age received from upstream into the age, and a heuristic lifetime from Last-Modified', () => {
    const clock = clockAt();
    const body = Buffer.from('x');
    const aged = held(storedEntry([['Cache-Control', 'max-age=100'], ['Age', '95']], clock.now, body), body);
    assert.equal(memoryAnswer(aged, clock.now)!.headers.age, '95');
    clock.advance(5);
    assert.equal(memoryAnswer(aged, clock.now), null, '95 s old on arrival + 5 s here = 100 s: stale');
    const heuristic = held(storedEntry([['Last-Modified', new Date(T0 - 10 * 86_400_000).toUTCString()]], clock.now, body), body);
    assert.equal(memoryAnswer(heuristic, clock.now)!.headers['cache-status'], 'Outrigger; hit; ttl=86400', 'a tenth of 10 days');
  });

  it('prepares an entry once and forgets it when the entry is updated after a 304', () => {
    const clock = clockAt();
    const body = Buffer.from('x');
    const tier = new MemoryTier(1 << 20);
    const entry = storedEntry([['Cache-Control', 'max-age=10']], clock.now, body);
    tier.set('dir/', entry, body);
    memoryAnswer(tier.plain(URL)!, clock.now);
    const prepared = tier.plain(URL)!.prepared;
    assert.ok(prepared !== undefined);
    memoryAnswer(tier.plain(URL)!, clock.now);
    assert.equal(tier.plain(URL)!.prepared, prepared);
    clock.advance(20);
    assert.equal(memoryAnswer(tier.plain(URL)!, clock.now), null);
    tier.update('dir/', storedEntry([['Cache-Control', 'max-age=60']], clock.now, body));
    assert.equal(memoryAnswer(tier.plain(URL)!, clock.now)!.headers['cache-status'], 'Outrigger; hit; ttl=60');
  });

  it('finds only entries without Vary by URL', () => {
    const clock = clockAt();
    const body = Buffer.from('x');
    const tier = new MemoryTier(1 << 20);
    const varied = storedEntry([['Cache-Control', 'max-age=10'], ['Vary', 'Accept-Encoding']], clock.now, body);
    tier.set('dir/v-1/', varied, body);
    assert.equal(tier.plain(URL), undefined);
    tier.set('dir/', storedEntry([['Cache-Control', 'max-age=10']], clock.now, body), body);
    assert.ok(tier.plain(URL) !== undefined);
    tier.delete('dir/');
    assert.equal(tier.plain(URL), undefined, 'deleting the entry drops it from the URL index');
  });
});

describe('memory tier fast path: the same answer as the full path', () => {
  const cases: Array<[string, Array<[string, string]>]> = [
    ['max-age', [['Cache-Control', 'max-age=300'], ['Content-Type', 'text/plain'], ['ETag', '"v1"']]],
    ['s-maxage over Expires, an upstream Age', [['Cache-Control', 's-maxage=600, max-age=5'], ['Expires', new Date(T0 + 5000).toUTCString()], ['Age', '7']]],
    ['heuristic, Accept-Ranges already sent', [['Last-Modified', new Date(T0 - 86_400_000).toUTCString()], ['Accept-Ranges', 'bytes']]],
    ['repeated fields and an upstream Cache-Status', [['Cache-Control', 'max-age=90'], ['X-Tag', 'a'], ['X-Tag', 'b'], ['Cache-Status', 'Edge; hit'], ['Content-Length', '11']]],
    ['immutable, must-revalidate', [['Cache-Control', 'max-age=30, immutable, must-revalidate'], ['Content-Encoding', 'gzip']]],
  ];
  for (const [name, fields] of cases) {
    it(`${name}: equal status, fields (in order) and body, GET and HEAD, at several times`, async () => {
      const clock = clockAt();
      const body = Buffer.from('hello world');
      const entry = storedEntry(fields, clock.now, body);
      const h = held(entry, body);
      for (const step of [0, 1.5, 20, 29.9, 31, 89, 91, 400]) {
        clock.advance(step);
        for (const method of ['GET', 'HEAD']) {
          const fast = memoryAnswer(h, clock.now);
          const full = await fullPath(entry, body, method, clock.now);
          assert.equal(fast === null, full === null, `${method} at +${step}: both answer or neither`);
          if (fast === null || full === null) continue;
          assert.equal(fast.status, full.status);
          assert.deepEqual(Object.entries(fast.headers), Object.entries(full.headers), `${method} at +${step}`);
          if (method === 'GET') assert.deepEqual((full as BufferAnswer).body, fast.body);
          else assert.equal('length' in full ? full.length : -1, fast.body.length, 'a HEAD announces the GET\'s length');
        }
      }
    });
  }
});
