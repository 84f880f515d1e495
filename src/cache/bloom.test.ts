import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BloomFilter, hashPair } from './bloom.js';

const digest = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('Bloom filter of sha256 digests', () => {
  it('has no false negatives over 100,000 keys, and about 1% false positives when sized for them', () => {
    const filter = new BloomFilter(100_000, 0.01);
    for (let i = 0; i < 100_000; i++) filter.add(hashPair(digest(`http://a/in/${i}`)));
    for (let i = 0; i < 100_000; i++) assert.equal(filter.has(hashPair(digest(`http://a/in/${i}`))), true, `key ${i} lost`);
    let positives = 0;
    const probes = 100_000;
    for (let i = 0; i < probes; i++) if (filter.has(hashPair(digest(`http://a/out/${i}`)))) positives++;
    const rate = positives / probes;
    // Expected 1%; the standard deviation of 100,000 probes is ~0.03%.
    assert.ok(rate > 0.006 && rate < 0.014, `false-positive rate ${rate}`);
    assert.equal(filter.hashes, 7);
    assert.ok(filter.bytes < 130_000, `${filter.bytes} bytes for 100,000 keys (~9.6 bits a key)`);
  });

  it('filled to twice its capacity it still finds every key, only with more false positives', () => {
    const filter = new BloomFilter(1_000, 0.01);
    for (let i = 0; i < 2_000; i++) filter.add(hashPair(digest(`k${i}`)));
    for (let i = 0; i < 2_000; i++) assert.equal(filter.has(hashPair(digest(`k${i}`))), true);
    let positives = 0;
    for (let i = 0; i < 10_000; i++) if (filter.has(hashPair(digest(`o${i}`)))) positives++;
    assert.ok(positives > 100 && positives < 3_000, `${positives} of 10,000`);
  });

  it('an empty filter holds nothing; hashPair reads the first 64 bits, h2 always odd', () => {
    const filter = new BloomFilter(0);
    assert.equal(filter.has(hashPair(digest('x'))), false);
    assert.deepEqual(hashPair(`00000010${'0'.repeat(7)}2${'f'.repeat(48)}`), { h1: 16, h2: 3 });
  });
});
