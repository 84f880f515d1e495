/** The removal guard's decisions, in process (removals.ts): blocking, stale tokens per URL, prefixes, and its bounds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Removals } from './removals.js';

const A = 'hh/host/a/';
const B = 'hh/host/b/';
const urlA = 'http://host/docs/a';

test('a URL is blocked while its removal runs and after it failed, until a removal of it succeeds', () => {
  const r = new Removals();
  assert.equal(r.blocked(A), false);
  r.begin(A);
  assert.equal(r.blocked(A), true);
  assert.equal(r.blocked(B), false, 'another URL is not');
  r.end(A, false);
  assert.equal(r.blocked(A), true, 'failed: still blocked');
  assert.deepEqual(r.toRetry(10), [A]);
  r.begin(A);
  assert.deepEqual(r.toRetry(10), [], 'not retried while a removal of it runs');
  r.end(A, true);
  assert.equal(r.blocked(A), false);
  assert.equal(r.failed, 0);
});

test('work that began before a removal of its URL is stale; work on another URL, or begun after it, is not', () => {
  const r = new Removals();
  const before = r.token();
  r.begin(A);
  r.end(A, true);
  const after = r.token();
  assert.equal(r.stale(A, urlA, before), true);
  assert.equal(r.stale(A, urlA, after), false);
  assert.equal(r.stale(B, 'http://host/docs/b', before), false, 'a removal of A does not make B\'s work stale');
});

test('a prefix purge makes work on URLs under it stale, not on others', () => {
  const r = new Removals();
  const before = r.token();
  r.beginPrefix('http://host/docs/');
  assert.equal(r.stale(A, urlA, before), true);
  assert.equal(r.stale(B, 'http://host/img/b', before), false);
  assert.equal(r.stale(A, urlA, r.token()), false);
});

test('bounded: a URL forgotten from the map is judged by the newest forgotten token (stale rather than wrong)', () => {
  const r = new Removals({ remembered: 2, prefixes: 1, failed: 10 });
  const before = r.token();
  for (const dir of ['d1/', 'd2/', 'd3/']) {
    r.begin(dir);
    r.end(dir, true);
  }
  assert.equal(r.stale('d1/', 'http://host/d1', before), true, 'd1 was forgotten, its removal still counts');
  assert.equal(r.stale('other/', 'http://host/other', before), true, 'unknown URLs too: the forgotten token stands in');
  assert.equal(r.stale('other/', 'http://host/other', r.token()), false, 'work begun after is not stale');
  const mid = r.token();
  r.beginPrefix('http://host/x/');
  r.beginPrefix('http://host/y/');
  assert.equal(r.stale('other/', 'http://host/other', mid), true, 'a forgotten prefix purge counts for every URL');
});

test('past the failed bound every URL is blocked (overflowed), and stays so', () => {
  const r = new Removals({ remembered: 100, prefixes: 10, failed: 2 });
  for (const dir of ['f1/', 'f2/']) {
    r.begin(dir);
    r.end(dir, false);
  }
  assert.equal(r.overflowed, false);
  assert.equal(r.blocked('other/'), false);
  r.begin('f3/');
  r.end('f3/', false);
  assert.equal(r.overflowed, true);
  assert.equal(r.blocked('other/'), true, 'which URLs hold invalidated entries is not known any more');
  for (const dir of ['f1/', 'f2/']) {
    r.begin(dir);
    r.end(dir, true);
  }
  assert.equal(r.failed, 0);
  assert.equal(r.blocked('other/'), true, 'f3 was never remembered: still blocked');
});

test("another sidecar's removal (heard) makes earlier work stale and leaves this process's own failed removal blocked and retried", () => {
  const r = new Removals();
  r.begin(A);
  r.end(A, false);
  const before = r.token();
  r.heard(A);
  assert.equal(r.stale(A, urlA, before), true, 'work begun before the news is stale');
  assert.equal(r.stale(A, urlA, r.token()), true, 'still blocked: the own removal failed');
  assert.deepEqual(r.toRetry(10), [A], 'and it is still retried');
  assert.equal(r.failed, 1);
  const fresh = new Removals();
  const earlier = fresh.token();
  fresh.heard(B);
  assert.equal(fresh.blocked(B), false, 'news blocks nothing');
  assert.deepEqual([fresh.stale(B, 'u', earlier), fresh.stale(B, 'u', fresh.token())], [true, false]);
});
