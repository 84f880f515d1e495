import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes } from './harness.js';
import { ChunkedWalker } from './chunked-walker.js';
import type { ChunkedWalkerOptions } from './chunked-walker.js';

interface Walk { consumed: number; done: boolean; code: string | undefined; data: number }

/** Feeds raw in pieces of `step` bytes; stops at the first error or once done. */
function walk(raw: string, step = Infinity, options?: ChunkedWalkerOptions): Walk {
  const buf = bytes(raw);
  const w = new ChunkedWalker(options);
  let consumed = 0;
  for (let i = 0; i < buf.length && !w.done; i += step) {
    const piece = Buffer.from(buf.subarray(i, Math.min(buf.length, i + step)));
    const n = w.feed(piece);
    if (n < 0) return { consumed: -1, done: false, code: w.error?.code, data: w.dataBytes }; // bytes before the error depend on the split
    consumed += n;
    if (n < piece.length) assert.ok(w.done, 'bytes are only left over once the body is complete');
  }
  return { consumed, done: w.done, code: undefined, data: w.dataBytes };
}

/** The same result for every way of splitting the input. */
function walkAllSplits(raw: string, options?: ChunkedWalkerOptions): Walk {
  const once = walk(raw, Infinity, options);
  for (const step of [1, 2, 3, 5]) assert.deepEqual(walk(raw, step, options), once, `step ${step}: ${JSON.stringify(raw)}`);
  return once;
}

const VALID: ReadonlyArray<readonly [string, string, number]> = [
  ['one chunk', '5\r\nhello\r\n0\r\n\r\n', 5],
  ['several chunks', '3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n', 4],
  ['upper-case hex', 'A\r\n0123456789\r\n0\r\n\r\n', 10],
  ['leading zeros', '00000000000000000003\r\nabc\r\n000\r\n\r\n', 3],
  ['empty body', '0\r\n\r\n', 0],
  ['extension without value', '1;a\r\nx\r\n0\r\n\r\n', 1],
  ['extension token value', '1;name=value\r\nx\r\n0;last=1\r\n\r\n', 1],
  ['several extensions', '1;a=1;b;c=d\r\nx\r\n0\r\n\r\n', 1],
  ['quoted extension', '1;a="b c;\\"d\\\\"\r\nx\r\n0\r\n\r\n', 1],
  ['quoted then more', '1;a="";b=c\r\nx\r\n0\r\n\r\n', 1],
  ['trailers', '1\r\nx\r\n0\r\nX-Sum: abc\r\nX-Empty:\r\n\r\n', 1],
  ['CRLF inside data', '4\r\n\r\n\r\n\r\n0\r\n\r\n', 4],
];

for (const [name, raw, data] of VALID) {
  test(`walks: ${name}`, () => {
    assert.deepEqual(walkAllSplits(raw), { consumed: raw.length, done: true, code: undefined, data });
  });
}

const INVALID: ReadonlyArray<readonly [string, string, string]> = [
  ['no size', '\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_SIZE'],
  ['non-hex size', 'g\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_SIZE'],
  ['signed size', '-1\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_SIZE'],
  ['0x prefix', '0x1\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_SIZE'],
  ['space before size', ' 1\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_SIZE'],
  ['space after size', '1 \r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_SIZE'],
  ['tab before extension', '1\t;a\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_SIZE'],
  ['space before extension', '1 ;a\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_SIZE'],
  ['size overflow', 'fffffffffffffff\r\n', 'BAD_CHUNK_SIZE'],
  ['bare LF after size', '1\nx\r\n0\r\n\r\n', 'BAD_CHUNK_SIZE'],
  ['CR without LF after size', '1\rx\r\n0\r\n\r\n', 'BAD_CHUNK_SIZE'],
  ['space after semicolon', '1; a=b\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_EXTENSION'],
  ['space before equals', '1;a =b\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_EXTENSION'],
  ['space after equals', '1;a= b\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_EXTENSION'],
  ['empty extension name', '1;=b\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_EXTENSION'],
  ['empty extension value', '1;a=\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_EXTENSION'],
  ['unterminated quote', '1;a="b\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_EXTENSION'],
  ['text after quote', '1;a="b"c\r\nx\r\n0\r\n\r\n', 'BAD_CHUNK_EXTENSION'],
  ['LF inside extension', '1;a\nx\r\n0\r\n\r\n', 'BAD_CHUNK_EXTENSION'],
  ['data longer than size', '1\r\nxx\r\n0\r\n\r\n', 'BAD_CHUNK_END'],
  ['bare LF after data', '1\r\nx\n0\r\n\r\n', 'BAD_CHUNK_END'],
  ['CR without LF after data', '1\r\nx\r0\r\n\r\n', 'BAD_CHUNK_END'],
  ['obs-fold in trailer', '0\r\nX: a\r\n b\r\n\r\n', 'BAD_TRAILER'],
  ['space before trailer colon', '0\r\nX : a\r\n\r\n', 'BAD_TRAILER'],
  ['trailer without colon', '0\r\nX\r\n\r\n', 'BAD_TRAILER'],
  ['control char in trailer', '0\r\nX: a\0\r\n\r\n', 'BAD_TRAILER'],
  ['bare LF ending trailer line', '0\r\nX: a\n\r\n', 'BAD_TRAILER'],
  ['bare LF ending the body', '0\r\n\n', 'BAD_TRAILER'],
];

for (const [name, raw, code] of INVALID) {
  test(`refuses chunked body: ${name}`, () => {
    const r = walkAllSplits(raw);
    assert.equal(r.code, code);
  });
}

test('bytes past the end are not part of the message', () => {
  const raw = '5\r\nhello\r\n0\r\n\r\n';
  const next = 'GET / HTTP/1.1\r\n';
  for (const step of [Infinity, 1, 4]) {
    const r = walk(raw + next, step);
    assert.deepEqual(r, { consumed: raw.length, done: true, code: undefined, data: 5 });
  }
  const w = new ChunkedWalker();
  const buf = bytes('XX' + raw + next);
  assert.equal(w.feed(buf, 2, buf.length), raw.length);
  assert.equal(w.feed(buf, 2 + raw.length), 0, 'a finished walker takes nothing more');
});

test('a body cut short is not complete, and every byte so far belongs to it', () => {
  const raw = '5\r\nhello\r\n3\r\nab';
  for (let len = 0; len <= raw.length; len++) {
    const r = walk(raw.slice(0, len), 1);
    assert.deepEqual([r.consumed, r.done, r.code], [len, false, undefined]);
  }
  assert.equal(walk('5\r\nhello\r\n0\r\n\r').done, false);
  assert.equal(walk('0\r\nX: 1\r\n').done, false);
});

test('trailers can be collected with offsets into a copy', () => {
  const raw = '1\r\nx\r\n0\r\nX-Sum:  abc \r\nX-Empty:\r\nx-b:\tv w\r\n\r\n';
  const buf = bytes(raw);
  for (const step of [Infinity, 1, 3]) {
    const w = new ChunkedWalker({ collectTrailers: true });
    for (let i = 0; i < buf.length; i += step) w.feed(Buffer.from(buf.subarray(i, Math.min(buf.length, i + step))));
    assert.ok(w.done);
    const t = w.trailers!;
    assert.equal(t.count, 3);
    assert.deepEqual([t.nameAt(0), t.valueAt(0)], ['X-Sum', 'abc']);
    assert.deepEqual([t.nameAt(1), t.valueAt(1)], ['X-Empty', '']);
    assert.deepEqual([t.nameAt(2), t.valueAt(2)], ['x-b', 'v w']);
    assert.equal(t.buffer.toString('latin1'), 'X-Sum:  abc \r\nX-Empty:\r\nx-b:\tv w\r\n\r\n');
    assert.equal(w.trailerBytes, t.buffer.length);
  }
});

test('limits: size line and trailer section', () => {
  assert.equal(walk(`1;${'a'.repeat(100)}\r\nx\r\n0\r\n\r\n`, Infinity, { maxLineBytes: 64 }).code, 'CHUNK_LINE_TOO_LONG');
  assert.equal(walk(`1;${'a'.repeat(50)}\r\nx\r\n0\r\n\r\n`, Infinity, { maxLineBytes: 64 }).done, true);
  assert.equal(walk(`0\r\nX: ${'a'.repeat(100)}\r\n\r\n`, 7, { maxTrailerBytes: 64 }).code, 'TRAILER_TOO_LARGE');
});

test('error status depends on the side; errors are sticky; reset starts over', () => {
  const req = new ChunkedWalker();
  assert.equal(req.feed(bytes('z\r\n')), -1);
  assert.equal(req.error?.status, 400);
  assert.equal(req.feed(bytes('0\r\n\r\n')), -1);
  req.reset();
  assert.equal(req.feed(bytes('0\r\n\r\n')), 5);
  assert.equal(req.done, true);
  const res = new ChunkedWalker({ side: 'response' });
  res.feed(bytes('z\r\n'));
  assert.equal(res.error?.status, 502);
});

test('large chunks are skipped without looking at the data', () => {
  const w = new ChunkedWalker();
  assert.equal(w.feed(bytes('100000\r\n')), 8);
  const data = Buffer.alloc(0x100000, 0x0a); // LFs everywhere: never inspected
  assert.equal(w.feed(data), data.length);
  assert.equal(w.feed(bytes('\r\n0\r\n\r\n')), 7);
  assert.equal(w.done, true);
  assert.equal(w.dataBytes, 0x100000);
});
