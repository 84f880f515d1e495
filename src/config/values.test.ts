import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { integerIn, oneOf, parseBool, parseHealthPath } from './values.js';

describe('parseBool', () => {
  it('accepts true/false/1/0/yes/no/on/off in any case', () => {
    for (const word of ['true', 'TRUE', '1', 'yes', 'Yes', 'on', 't']) assert.deepEqual(parseBool(word), { ok: true, value: true });
    for (const word of ['false', 'False', '0', 'no', 'NO', 'off', 'f']) assert.deepEqual(parseBool(word), { ok: true, value: false });
  });
  it('rejects other words, quoting the text', () => {
    assert.deepEqual(parseBool('maybe'), { ok: false, reason: '"maybe" is not a boolean (use true or false)' });
    assert.equal(parseBool('').ok, false);
  });
});

describe('integerIn', () => {
  const port = integerIn(0, 65535);
  it('accepts the bounds', () => {
    assert.deepEqual(port('0'), { ok: true, value: 0 });
    assert.deepEqual(port('65535'), { ok: true, value: 65535 });
  });
  it('rejects values out of range with the range in the reason', () => {
    assert.deepEqual(port('70000'), { ok: false, reason: '70000 is out of range 0..65535' });
  });
  it('says "minimum" when there is no real upper bound', () => {
    assert.deepEqual(integerIn(1, Number.MAX_SAFE_INTEGER)('0'), { ok: false, reason: '0 is too small (minimum 1)' });
  });
  it('rejects signs, fractions, exponents and hex', () => {
    for (const text of ['-1', '+1', '1.5', '1e3', '0x10', '', 'abc']) {
      assert.deepEqual(port(text), { ok: false, reason: `${JSON.stringify(text)} is not a whole number` });
    }
  });
});

describe('oneOf', () => {
  const mode = oneOf(['least', 'random', 'round-robin']);
  it('accepts a listed word', () => assert.deepEqual(mode('round-robin'), { ok: true, value: 'round-robin' }));
  it('lists the choices when rejecting', () => {
    assert.deepEqual(mode('x'), { ok: false, reason: '"x" must be one of least, random, round-robin' });
  });
  it('is case-sensitive, like sidekick', () => assert.equal(mode('LEAST').ok, false));
});

describe('parseHealthPath', () => {
  it('keeps a leading slash', () => assert.deepEqual(parseHealthPath('/minio/health/ready'), { ok: true, value: '/minio/health/ready' }));
  // Issue 13.10: "ready" was silently turned into "/ready".
  it('refuses a path without its leading slash, naming the fix', () => {
    const r = parseHealthPath('minio/health/ready');
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /must start with "\/" \(did you mean "\/minio\/health\/ready"\?\)/);
  });
  it('turns empty into "/"', () => assert.deepEqual(parseHealthPath(''), { ok: true, value: '/' }));
  it('rejects spaces and control characters', () => {
    assert.equal(parseHealthPath('/a b').ok, false);
    assert.equal(parseHealthPath('/a\r\nX: y').ok, false);
  });
});
