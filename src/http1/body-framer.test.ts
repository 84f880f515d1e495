import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloseDelimitedBody, FixedLengthBody } from './body-framer.js';

test('fixed length counts across buffers and stops at the end of the body', () => {
  const body = new FixedLengthBody(10);
  assert.equal(body.done, false);
  assert.equal(body.feed(Buffer.alloc(4)), 4);
  assert.equal(body.feed(Buffer.alloc(8), 2), 6);
  assert.equal(body.remaining, 0);
  assert.equal(body.done, true);
  assert.equal(body.feed(Buffer.alloc(3)), 0, 'bytes past the end belong to the next message');
});

test('fixed length: partial body, range arguments, zero length, reuse', () => {
  const body = new FixedLengthBody(5);
  assert.equal(body.feed(Buffer.alloc(10), 3, 6), 3);
  assert.equal(body.done, false);
  body.reset(0);
  assert.equal(body.done, true);
  assert.equal(body.feed(Buffer.alloc(1)), 0);
});

test('close-delimited takes everything and never ends', () => {
  const body = new CloseDelimitedBody();
  assert.equal(body.feed(Buffer.alloc(7), 2), 5);
  assert.equal(body.done, false);
});
