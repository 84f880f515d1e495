import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expandEllipsis, MAX_EXPANSION } from './ellipsis.js';

const expand = (pattern: string): string[] => {
  const result = expandEllipsis(pattern);
  if (!result.ok) assert.fail(`${pattern}: ${result.reason}`);
  return result.value;
};
const reason = (pattern: string): string => {
  const result = expandEllipsis(pattern);
  if (result.ok) assert.fail(`${pattern} expanded to ${result.value.join(' ')}`);
  return result.reason;
};

describe('expandEllipsis', () => {
  it('returns a pattern without braces unchanged', () => assert.deepEqual(expand('http://minio:9000'), ['http://minio:9000']));
  it('expands a decimal range', () => {
    assert.deepEqual(expand('http://minio{1...4}:9000'), ['http://minio1:9000', 'http://minio2:9000', 'http://minio3:9000', 'http://minio4:9000']);
  });
  it('expands a one-element range', () => assert.deepEqual(expand('m{3...3}'), ['m3']));
  it('falls back to lower-case hex when a bound is not decimal: {8...b}', () => assert.deepEqual(expand('{8...b}'), ['8', '9', 'a', 'b']));
  it('reads both bounds as hex when one is hex: {e...10}', () => assert.deepEqual(expand('{e...10}'), ['e', 'f', '10']));
  it('zero-pads to the end width when the start has a leading zero: {01...03}', () => {
    assert.deepEqual(expand('{01...03}'), ['01', '02', '03']);
  });
  it('zero-pads to the end width when the end has a leading zero: {1...010}', () => {
    assert.deepEqual(expand('{1...010}'), ['001', '002', '003', '004', '005', '006', '007', '008', '009', '010']);
  });
  it('zero-pads hex too: {08...0b}', () => assert.deepEqual(expand('{08...0b}'), ['08', '09', '0a', '0b']));
  it('does not pad when only the start is a single "0": {0...10}', () => {
    assert.deepEqual(expand('{0...10}'), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
  });
  it('gives the cartesian product with the leftmost range varying fastest', () => {
    assert.deepEqual(expand('h{1...2}.r{1...2}'), ['h1.r1', 'h2.r1', 'h1.r2', 'h2.r2']);
    assert.deepEqual(expand('{1...2}{a...b}{1...2}'), ['1a1', '2a1', '1b1', '2b1', '1a2', '2a2', '1b2', '2b2']);
  });
  it('handles bounds beyond 2^53 exactly', () => {
    assert.deepEqual(expand('{9007199254740993...9007199254740994}'), ['9007199254740993', '9007199254740994']);
  });
  it('rejects a descending range', () => assert.equal(reason('{4...1}'), '"{4...1}" is descending: the start must not exceed the end'));
  it('rejects two dots', () => assert.equal(reason('m{1..4}'), '"{1..4}" needs three dots: {1...4}'));
  it('rejects braces without a range', () => assert.equal(reason('m{1,2}'), '"{1,2}" is not a range like {1...4}'));
  it('rejects more than one "..." in a range', () => assert.equal(reason('{1...2...3}'), '"{1...2...3}" has more than one "..."'));
  it('rejects upper case', () => {
    assert.equal(reason('{A...F}'), '"{A...F}" has upper case: hex ranges are lower case, e.g. {a...f}');
    assert.match(reason('{1...F}'), /upper case/);
  });
  it('rejects bounds that are not numbers', () => assert.equal(reason('{a...z}'), '"{a...z}": bounds must be decimal or lower-case hex numbers'));
  it('rejects empty bounds', () => {
    assert.equal(reason('{...4}'), '"{...4}" has an empty bound');
    assert.equal(reason('{1...}'), '"{1...}" has an empty bound');
    assert.equal(reason('{...}'), '"{...}" has an empty bound');
  });
  it('rejects stray and unbalanced braces', () => {
    assert.equal(reason('m}1'), 'stray "}" at position 2');
    assert.equal(reason('m{1...2}}'), 'stray "}" at position 9');
    assert.equal(reason('m{1...2'), 'unbalanced "{" at position 2');
    assert.equal(reason('m{{1...2}}'), 'unbalanced "{" at position 2');
    assert.equal(reason('{'), 'unbalanced "{" at position 1');
  });
  it('rejects absurd expansions before building them', () => {
    assert.equal(expand(`{1...${MAX_EXPANSION}}`).length, MAX_EXPANSION);
    assert.equal(reason(`{0...${MAX_EXPANSION}}`), `expands to ${MAX_EXPANSION + 1} names, more than the limit of ${MAX_EXPANSION}`);
    assert.match(reason('{1...1000}{1...1000}'), /expands to 1000000 names/);
    assert.match(reason('{0...ffffffffffffffffffff}'), /more than the limit/);
  });
});
