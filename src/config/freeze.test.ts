import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deepFreeze } from './freeze.js';

describe('deepFreeze', () => {
  it('freezes nested objects and arrays and returns the same object', () => {
    const value = { a: { b: [1, { c: 2 }] } };
    const frozen = deepFreeze(value);
    assert.equal(frozen, value);
    assert.ok(Object.isFrozen(value.a));
    assert.ok(Object.isFrozen(value.a.b));
    assert.ok(Object.isFrozen(value.a.b[1]));
  });
  it('passes primitives through', () => {
    assert.equal(deepFreeze(3), 3);
    assert.equal(deepFreeze(undefined), undefined);
  });
});
