import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Passes } from './passes.js';

describe('passes (hit-for-miss)', () => {
  it('remembers a URL for its time, then forgets it', () => {
    let now = 1_000;
    const passes = new Passes(60_000, () => now);
    passes.add('http://a/x');
    assert.equal(passes.has('http://a/x'), true);
    assert.equal(passes.has('http://a/y'), false);
    now += 59_999;
    assert.equal(passes.has('http://a/x'), true);
    now += 1;
    assert.equal(passes.has('http://a/x'), false, 'ended exactly at its time');
    assert.equal(passes.size, 0, 'an ended pass is dropped when asked');
  });

  it('renews a pass added again, forgets on demand, keeps nothing with a time of 0', () => {
    let now = 0;
    const passes = new Passes(10, () => now);
    passes.add('u');
    now = 8;
    passes.add('u');
    now = 15;
    assert.equal(passes.has('u'), true, 'renewed at 8, ends at 18');
    passes.forget('u');
    assert.equal(passes.has('u'), false);
    const off = new Passes(0, () => now);
    off.add('u');
    assert.equal(off.has('u'), false);
  });

  it('holds at most its bound, the least recently passed out first', () => {
    const passes = new Passes(1_000, () => 0, 3);
    for (const url of ['a', 'b', 'c']) passes.add(url);
    passes.add('a'); // renewed: now the newest
    passes.add('d');
    assert.deepEqual(['a', 'b', 'c', 'd'].map((u) => passes.has(u)), [true, false, true, true]);
    assert.equal(passes.size, 3);
  });
});
