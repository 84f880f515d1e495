import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F, FrameReader, PREFACE, T, frame } from '../../../test/support/h2-wire.js';
import { FrameInput, type FrameSink } from './frame-input.js';
import { FrameWriter } from './frames.js';
import { encodeField } from './hpack/encoder.js';

function read(w: FrameWriter): FrameReader {
  const r = new FrameReader();
  for (const c of w.take() ?? []) r.push(c);
  return r;
}

test('FrameWriter: control frames laid out as RFC 9113 §6 says', () => {
  const w = new FrameWriter();
  w.settings([[3, 100], [4, 65_536]]);
  w.settingsAck();
  w.pingAck(Buffer.from('xx12345678'), 2);
  w.goaway(7, 11);
  w.rstStream(5, 8);
  w.windowUpdate(0, 1_000_000);
  const f = read(w).frames;
  assert.deepEqual(f.map((x) => [x.type, x.flags, x.id, x.payload.toString('hex')]), [
    [T.SETTINGS, 0, 0, '000300000064' + '000400010000'],
    [T.SETTINGS, F.ACK, 0, ''],
    [T.PING, F.ACK, 0, Buffer.from('12345678').toString('hex')],
    [T.GOAWAY, 0, 0, '000000070000000b'],
    [T.RST_STREAM, 0, 5, '00000008'],
    [T.WINDOW_UPDATE, 0, 0, '000f4240'],
  ]);
});

test('FrameWriter: a header block larger than the peer\'s frame size goes out as HEADERS + CONTINUATION', () => {
  const w = new FrameWriter();
  w.ensure(40_000);
  const blockStart = w.pos + 9;
  w.pos = encodeField(w.buf, blockStart, 'x-big', 'v'.repeat(35_000));
  w.headersFrom(blockStart, 3, true, 16_384);
  const f = read(w).frames; // the block: 0x00, name length, 'x-big', 4 bytes of value length, the value: 35,011 bytes
  assert.deepEqual(f.map((x) => [x.type, x.flags, x.payload.length]), [
    [T.HEADERS, F.END_STREAM, 16_384], [T.CONTINUATION, 0, 16_384], [T.CONTINUATION, F.END_HEADERS, 35_011 - 2 * 16_384],
  ]);
  assert.deepEqual(f[0]!.fields, [['x-big', 'v'.repeat(35_000)]], 'the block decodes whole once joined');
});

test('FrameWriter: one take() per batch, in order, across buffers; a frame taken is no longer patchable', () => {
  const w = new FrameWriter();
  const at = w.data(1, Buffer.from('abc'), 0, 3, false);
  const buf = w.buf;
  assert.equal(w.unsent(buf, at), true);
  w.data(1, Buffer.alloc(100_000, 1), 0, 100_000, false); // does not fit: a buffer of its own
  const chunks = w.take()!;
  assert.equal(chunks.length, 2);
  assert.equal(w.unsent(buf, at), false);
  assert.equal(w.take(), null, 'nothing written since');
  const r = new FrameReader();
  for (const c of chunks) r.push(c);
  assert.deepEqual(r.frames.map((x) => x.payload.length), [3, 100_000]);
  w.release();
  assert.equal(w.buf.length, 0, 'an idle writer holds no buffer');
});

test('FrameInput: frames split anywhere across reads, the preface too, arrive whole and in order', () => {
  const seen: [number, number, string][] = [];
  const errors: number[] = [];
  const sink: FrameSink = {
    onFrame(type, _flags, id, buf, start, end) { seen.push([type, id, buf.toString('latin1', start, end)]); return true; },
    inputError(code) { errors.push(code); },
  };
  const input = new FrameInput(sink, 16_384);
  const bytes = Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0), frame(T.DATA, 0, 1, 'hello'), frame(T.PING, 0, 0, '12345678')]);
  for (let i = 0; i < bytes.length; i += 5) input.push(bytes.subarray(i, i + 5));
  assert.deepEqual(seen, [[T.SETTINGS, 0, ''], [T.DATA, 1, 'hello'], [T.PING, 0, '12345678']]);
  assert.deepEqual(errors, []);
  const bad = new FrameInput(sink, 16_384);
  bad.push(Buffer.from('PRI * HTTP/1.1'));
  assert.deepEqual(errors, [1], 'a bad preface is seen as soon as its first bytes differ');
  const big = new FrameInput(sink, 16_384);
  big.push(Buffer.concat([PREFACE, frame(T.DATA, 0, 1, Buffer.alloc(16_385))]).subarray(0, PREFACE.length + 9));
  assert.deepEqual(errors, [1, 6], 'an oversized frame is refused from its header, before its payload arrives');
});
