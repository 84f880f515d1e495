import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backend } from '../upstream/backend.js';
import { ConsistentHash, capacity } from './consistent-hash.js';
import { hash32 } from './hash.js';

function backends(n: number): Backend[] {
  return Array.from({ length: n }, (_, i) => new Backend(
    { url: `http://10.0.0.${i}:9000`, protocol: 'http:', hostname: `10.0.0.${i}`, port: 9000, basePath: '' }, 0,
    { insecure: false, healthUrl: `http://10.0.0.${i}:9000/` },
  ));
}

const KEYS = Array.from({ length: 20_000 }, (_, i) => hash32(`key-${i}`));

test('a key goes to the same backend every time, and keys spread evenly', () => {
  const bs = backends(5);
  const h = new ConsistentHash(0);
  const counts = new Map<Backend, number>();
  for (const k of KEYS) {
    const b = h.pick(bs, null, k)!;
    assert.equal(h.pick(bs, null, k), b);
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  for (const c of counts.values()) assert.ok(Math.abs(c - KEYS.length / 5) < KEYS.length * 0.02, `share ${c}`);
});

test('when 1 of N backends leaves, about 1/N of the keys move, nearly all of them its own', () => {
  const bs = backends(8);
  const before = new ConsistentHash(0);
  const after = new ConsistentHash(0);
  const gone = bs[3]!;
  const rest = bs.filter((b) => b !== gone);
  let moved = 0;
  let others = 0;
  for (const k of KEYS) {
    const was = before.pick(bs, null, k)!;
    const now = after.pick(rest, null, k)!;
    if (was !== now) moved++;
    if (was !== now && was !== gone) others++;
  }
  // Every key of the leaver moves (1/N); Maglev moves a few more to keep the table balanced.
  const share = moved / KEYS.length;
  assert.ok(share >= 0.12 && share < 0.14, `moved ${share} (1/N = 0.125)`);
  assert.ok(others / KEYS.length < 0.01, `keys of staying backends moved: ${others}`);
});

test('the table is rebuilt only when the ready snapshot changes', () => {
  const bs = backends(3);
  const h = new ConsistentHash(0);
  const first = h.pick(bs, null, 42)!;
  const table = (h as unknown as { table: unknown }).table;
  h.pick(bs, null, 43);
  assert.equal((h as unknown as { table: unknown }).table, table);
  h.pick([...bs], null, 42);
  assert.notEqual((h as unknown as { table: unknown }).table, table);
  assert.equal(h.pick([...bs], null, 42), first);
});

test('an excluded backend is skipped for a stable next choice; all excluded gives null', () => {
  const bs = backends(4);
  const h = new ConsistentHash(0);
  const first = h.pick(bs, null, 7)!;
  const second = h.pick(bs, [first], 7)!;
  assert.notEqual(second, first);
  assert.equal(h.pick(bs, [first], 7), second);
  assert.equal(h.pick(bs, bs, 7), null);
  assert.equal(h.pick([], null, 7), null);
});

test('bounded loads: a hot key never puts more than ceil(c × average) in flight on one backend', () => {
  const bs = backends(4);
  const h = new ConsistentHash(1.25);
  let total = 0;
  for (let i = 0; i < 200; i++) {
    const cap = capacity(bs, 1.25);
    const b = h.pick(bs, null, 99)!;
    b.inFlight++;
    total++;
    assert.ok(b.inFlight <= cap, `${b.inFlight} in flight over the cap ${cap}`);
  }
  const max = Math.max(...bs.map((b) => b.inFlight));
  assert.ok(max <= Math.ceil(1.25 * total / 4), `max ${max}`);
  // Without load the key returns to its own backend.
  for (const b of bs) b.inFlight = 0;
  assert.equal(h.pick(bs, null, 99), new ConsistentHash(0).pick(bs, null, 99));
});

test('without a bound, a hot key stays on one backend whatever its load', () => {
  const bs = backends(4);
  const h = new ConsistentHash(0);
  const home = h.pick(bs, null, 99)!;
  home.inFlight = 1000;
  assert.equal(h.pick(bs, null, 99), home);
});
