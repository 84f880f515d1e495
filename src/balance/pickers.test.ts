import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backend } from '../upstream/backend.js';
import { pickLeast, pickRandom, pickRoundRobin, type Picker } from './pickers.js';

function backends(n: number): Backend[] {
  return Array.from({ length: n }, (_, i) => new Backend(
    { url: `http://h${i}:80`, protocol: 'http:', hostname: `h${i}`, port: 80, basePath: '' }, 0,
    { insecure: false, healthUrl: `http://h${i}:80/` },
  ));
}

test('least picks the backend with the fewest requests in flight', () => {
  const bs = backends(3);
  bs[0]!.inFlight = 3;
  bs[1]!.inFlight = 1;
  bs[2]!.inFlight = 2;
  assert.equal(pickLeast(bs, null, { cursor: 0 }), bs[1]);
});

test('least breaks ties by least recently finished', () => {
  const bs = backends(3);
  bs[0]!.lastFinished = 30;
  bs[1]!.lastFinished = 10;
  bs[2]!.lastFinished = 20;
  assert.equal(pickLeast(bs, null, { cursor: 0 }), bs[1]);
});

test('least breaks full ties at random, reaching every candidate', () => {
  const bs = backends(4);
  const seen = new Set<Backend>();
  for (let i = 0; i < 500; i++) seen.add(pickLeast(bs, null, { cursor: 0 })!);
  assert.equal(seen.size, 4);
});

test('round-robin visits each backend in turn', () => {
  const bs = backends(3);
  const state = { cursor: 0 };
  const order = Array.from({ length: 6 }, () => bs.indexOf(pickRoundRobin(bs, null, state)!));
  assert.deepEqual(order, [0, 1, 2, 0, 1, 2]);
});

for (const [name, pick] of [['least', pickLeast], ['random', pickRandom], ['round-robin', pickRoundRobin]] as [string, Picker][]) {
  test(`${name} skips excluded backends and returns null when all are excluded`, () => {
    const bs = backends(3);
    for (let i = 0; i < 50; i++) {
      const b = pick(bs, [bs[0]!, bs[2]!], { cursor: i });
      assert.equal(b, bs[1]);
    }
    assert.equal(pick(bs, bs, { cursor: 0 }), null);
    assert.equal(pick([], null, { cursor: 0 }), null);
  });
}
