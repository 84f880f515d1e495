/**
 * Bounded fuzzing with a fixed seed: mutated heads and chunked bodies must parse, ask for
 * more, or fail with a coded error; never throw, never hang, and give the same verdict
 * however the input is split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytes, parseGrowing, parseOnce } from './harness.js';
import { seededRandom } from '../seeded-random.js';
import { ChunkedWalker } from './chunked-walker.js';
import { PARSE_ERROR, PARSE_NEED_MORE } from './head-parser.js';
import type { HeadParser } from './head-parser.js';
import { FIELD_STRIDE } from './message-head.js';
import type { MessageHead } from './message-head.js';
import { RequestHeadParser } from './request-parser.js';
import { ResponseHeadParser } from './response-parser.js';

const REQUESTS = [
  'GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n',
  'POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n',
  'PUT /k HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\nabc',
  'GET http://h.example:80/p?q HTTP/1.1\r\nHost: h.example\r\nUpgrade: websocket\r\nConnection: upgrade\r\nTE: trailers\r\n\r\n',
  'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n',
];
const RESPONSES = [
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello',
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'HTTP/1.0 304 Not Modified\r\nContent-Length: 12\r\nTrailer: X\r\nTransfer-Encoding: chunked\r\n\r\n',
];
const BODIES = [
  '5\r\nhello\r\n0\r\n\r\n',
  'a;ext=1;q="x\\"y"\r\n0123456789\r\n1\r\n!\r\n0\r\nX-Sum: 1\r\nY:\r\n\r\n',
];
const SPECIAL = [0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x2c, 0x3b, 0x3d, 0x22, 0x5c, 0x00, 0x7f, 0x80, 0xff, 0x30, 0x61, 0x2d, 0x2f, 0x2a];

function mutate(src: Buffer, rand: () => number): Buffer {
  let b = Buffer.from(src);
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits && b.length > 0; e++) {
    const at = Math.floor(rand() * b.length);
    const byte = rand() < 0.7 ? SPECIAL[Math.floor(rand() * SPECIAL.length)]! : Math.floor(rand() * 256);
    switch (Math.floor(rand() * 5)) {
      case 0: b[at] = byte; break;
      case 1: b = Buffer.concat([b.subarray(0, at), Buffer.of(byte), b.subarray(at)]); break;
      case 2: b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]); break;
      case 3: { const len = Math.floor(rand() * 12); b = Buffer.concat([b.subarray(0, at + len), b.subarray(at)]); break; }
      default: b = b.subarray(0, at); break;
    }
  }
  return b;
}

/** A completed head must stay inside the buffer with ordered offsets. */
function checkHead(h: MessageHead, len: number): void {
  assert.ok(h.headStart >= 0 && h.headStart < h.headEnd && h.headEnd <= len);
  for (let i = 0; i < h.headerCount; i++) {
    const o = h.offsets.subarray(i * FIELD_STRIDE, i * FIELD_STRIDE + FIELD_STRIDE);
    assert.ok(h.headStart < o[0]! && o[0]! < o[1]! && o[1]! < o[2]! + 1 && o[2]! <= o[3]! && o[3]! < o[4]! && o[4]! <= h.headEnd);
  }
}

function fuzzHeads(parser: HeadParser<MessageHead>, seeds: string[], rounds: number, seed: number, parse?: (b: Buffer, s: number) => number): Record<string, number> {
  const rand = seededRandom(seed);
  const outcomes: Record<string, number> = {};
  for (let n = 0; n < rounds; n++) {
    const input = mutate(bytes(seeds[n % seeds.length]!), rand);
    const once = parseOnce(parser, input, 0, parse);
    const r = once['result'] as number;
    if (r === PARSE_ERROR) assert.equal(typeof once['code'], 'string');
    else if (r !== PARSE_NEED_MORE) checkHead(parser.head, input.length);
    const key = r === PARSE_ERROR ? String(once['code']) : r === PARSE_NEED_MORE ? 'need-more' : 'parsed';
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    const step = 1 + Math.floor(rand() * 7);
    assert.deepEqual(parseGrowing(parser, input, 0, step, parse), once, `step ${step}: ${JSON.stringify(input.toString('latin1'))}`);
  }
  return outcomes;
}

test('fuzz: request heads', { timeout: 20_000 }, (t) => {
  const outcomes = fuzzHeads(new RequestHeadParser(), REQUESTS, 3000, 0xc0ffee);
  t.diagnostic(JSON.stringify(outcomes));
  assert.ok((outcomes['parsed'] ?? 0) > 100, 'mutations that stay valid still parse');
});

test('fuzz: response heads', { timeout: 20_000 }, (t) => {
  for (const method of ['GET', 'HEAD', 'CONNECT']) {
    const parser = new ResponseHeadParser();
    const parse = (b: Buffer, s: number): number => parser.parse(b, s, method);
    const outcomes = fuzzHeads(parser, RESPONSES, 600, 0xbeef + method.length, parse);
    t.diagnostic(`${method}: ${JSON.stringify(outcomes)}`);
  }
});

function walkSplit(input: Buffer, step: number): string {
  const w = new ChunkedWalker({ collectTrailers: true });
  let consumed = 0;
  for (let i = 0; i < input.length && !w.done; i += step) {
    const n = w.feed(input, i, Math.min(input.length, i + step));
    if (n < 0) return `error ${w.error!.code}`;
    assert.ok(n <= step);
    consumed += n;
  }
  assert.ok(consumed <= input.length);
  if (w.done) assert.ok(w.trailers!.count >= 0 && w.trailers!.buffer.length === w.trailerBytes);
  return `${w.done ? 'done' : 'partial'} ${consumed} ${w.dataBytes}`;
}

test('fuzz: chunked bodies', { timeout: 20_000 }, (t) => {
  const rand = seededRandom(0x5eed);
  const outcomes: Record<string, number> = {};
  for (let n = 0; n < 3000; n++) {
    const input = mutate(bytes(BODIES[n % BODIES.length]!), rand);
    const once = walkSplit(input, Math.max(1, input.length));
    const key = once.split(' ').slice(0, 2).join(' ').replace(/ \d+$/, '');
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    assert.equal(walkSplit(input, 1 + Math.floor(rand() * 5)), once, JSON.stringify(input.toString('latin1')));
  }
  t.diagnostic(JSON.stringify(outcomes));
});
