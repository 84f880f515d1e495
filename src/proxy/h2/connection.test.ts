import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F, FrameReader, PREFACE, T, block, frame, headers, request, rst, settings, u32, windowUpdate } from '../../../test/support/h2-wire.js';
import { H2Connection, STREAM_WINDOW, type ConnectionOwner, type Transport } from './connection.js';
import type { RequestHead } from './request-head.js';
import type { H2Stream, StreamHandler } from './stream.js';

const E = { NO_ERROR: 0, PROTOCOL_ERROR: 1, FLOW_CONTROL_ERROR: 3, STREAM_CLOSED: 5, FRAME_SIZE_ERROR: 6, REFUSED_STREAM: 7, COMPRESSION_ERROR: 9, ENHANCE_YOUR_CALM: 11 };

/** What a stream's handler heard. */
class Heard implements StreamHandler {
  data: Buffer[] = [];
  ended: string[] | null | undefined = undefined;
  drains = 0;
  closed: boolean | undefined = undefined;
  onData(c: Buffer): void { this.data.push(Buffer.from(c)); }
  onEnd(t: string[] | null): void { this.ended = t; }
  onDrain(): void { this.drains++; }
  onClose(clean: boolean): void { this.closed = clean; }
}

/** An H2Connection with its output read back as frames, its streams and heads kept. */
class Harness implements Transport, ConnectionOwner {
  readonly reader = new FrameReader();
  readonly conn: H2Connection;
  readonly streams: { stream: H2Stream; head: RequestHead; heard: Heard }[] = [];
  ended = false;
  paused = false;
  clock = 0;
  writable = true;

  constructor(limits?: ConstructorParameters<typeof H2Connection>[2]) {
    this.conn = new H2Connection(this, this, limits, () => this.clock);
    this.conn.receive(Buffer.concat([PREFACE, settings()]));
  }

  write(chunks: Buffer[]): boolean { for (const c of chunks) this.reader.push(c); return this.writable; }
  pauseReading(): void { this.paused = true; }
  resumeReading(): void { this.paused = false; }
  end(): void { this.ended = true; }
  openStream(_c: H2Connection, stream: H2Stream, head: RequestHead): void {
    const heard = new Heard();
    stream.handler = heard;
    this.streams.push({ stream, head, heard });
  }
  streamClosed(): void {}

  send(...frames: Buffer[]): void {
    this.conn.receive(Buffer.concat(frames));
    this.conn.flush();
  }

  framesOf(id: number, type: number) {
    return this.reader.frames.filter((f) => f.id === id && f.type === type);
  }

  dataOf(id: number): Buffer {
    return Buffer.concat(this.framesOf(id, T.DATA).map((f) => f.payload));
  }
}

test('preface and SETTINGS: ours first, with the window and limits; the client\'s acknowledged', () => {
  const h = new Harness();
  const [first, second] = h.reader.frames;
  assert.equal(first!.type, T.SETTINGS);
  assert.equal(first!.flags, 0);
  assert.deepEqual(second!.type, T.WINDOW_UPDATE, 'the connection window is opened beyond 65535');
  assert.ok(h.reader.frames.some((f) => f.type === T.SETTINGS && f.flags === F.ACK));
  h.send(frame(T.PING, 0, 0, Buffer.from('12345678')));
  const pong = h.reader.frames.at(-1)!;
  assert.deepEqual([pong.type, pong.flags, pong.payload.toString()], [T.PING, F.ACK, '12345678']);
});

test('a bad preface, or a first frame other than SETTINGS, is GOAWAY PROTOCOL_ERROR', () => {
  for (const start of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.concat([PREFACE, frame(T.PING, 0, 0, Buffer.alloc(8))])]) {
    const h = new Harness();
    const fresh = new FrameReader();
    const conn = new H2Connection({ write: (c) => { c.forEach((b) => fresh.push(b)); return true; }, pauseReading() {}, resumeReading() {}, end: () => { h.ended = true; } }, h);
    conn.receive(start);
    assert.equal(fresh.goawayCode(), E.PROTOCOL_ERROR);
    assert.equal(h.ended, true);
  }
});

test('a request: its head goes to the owner; the response is HEADERS + DATA with END_STREAM in one batch', () => {
  const h = new Harness();
  h.send(headers(1, request('/a?b', [['accept', '*/*']])));
  const { stream, head } = h.streams[0]!;
  assert.deepEqual([head.method, head.path, head.authority, head.contentLength], ['GET', '/a?b', 'example.test', -1]);
  assert.equal(stream.remoteEnded, true);
  stream.respond(200, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
  assert.equal(stream.write(Buffer.from('hello')), true);
  stream.end();
  h.conn.flush();
  const [hf] = h.framesOf(1, T.HEADERS);
  assert.deepEqual(hf!.fields, [[':status', '200'], ['content-type', 'text/plain'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
  const data = h.framesOf(1, T.DATA);
  assert.equal(data.length, 1, 'END_STREAM set on the DATA frame still in the batch, no empty frame');
  assert.equal(data[0]!.flags, F.END_STREAM);
  assert.equal(h.streams[0]!.heard.closed, true);
  assert.equal(h.conn.openStreams, 0);
});

test('response flow control: never past the peer\'s window; queued, resumed on WINDOW_UPDATE; a negative window waits', () => {
  const h = new Harness();
  h.send(settings([[4, 10]]), headers(1, request()));
  const { stream, heard } = h.streams[0]!;
  stream.respond(200, {});
  assert.equal(stream.write(Buffer.alloc(100, 1)), false, 'the core is told to wait');
  h.conn.flush();
  assert.equal(h.dataOf(1).length, 10);
  h.send(windowUpdate(1, 30));
  assert.equal(h.dataOf(1).length, 40);
  assert.equal(heard.drains, 0);
  h.send(settings([[4, 0]]));
  assert.equal(stream.sendWindow, -10, 'INITIAL_WINDOW_SIZE 10 -> 0 makes the window negative');
  h.send(windowUpdate(1, 8));
  assert.equal(h.dataOf(1).length, 40, 'nothing while the window is below zero');
  h.send(windowUpdate(1, 7));
  assert.equal(h.dataOf(1).length, 45, 'then only as much as it went above zero');
  h.send(windowUpdate(1, 100));
  assert.equal(h.dataOf(1).length, 100);
  assert.equal(heard.drains, 1, 'told once everything queued went out');
  assert.equal(stream.write(Buffer.alloc(100, 2)), false);
  stream.end();
  h.conn.flush();
  assert.equal(h.dataOf(1).length, 145, 'the 45 bytes of window left went at once');
  h.send(windowUpdate(1, 100), windowUpdate(0, 1000));
  assert.equal(h.dataOf(1).length, 200);
  assert.equal(h.framesOf(1, T.DATA).at(-1)!.flags & F.END_STREAM, F.END_STREAM, 'the end queued behind the data follows it');
  assert.equal(heard.closed, true);
});

test('the connection window bounds all streams; SETTINGS_MAX_FRAME_SIZE splits DATA', () => {
  const h = new Harness();
  h.send(settings([[4, 1 << 20], [5, 20_000]]), headers(1, request()), headers(3, request()));
  const [a, b] = h.streams;
  a!.stream.respond(200, {});
  b!.stream.respond(200, {});
  a!.stream.write(Buffer.alloc(50_000));
  b!.stream.write(Buffer.alloc(50_000));
  h.conn.flush();
  assert.deepEqual(h.framesOf(1, T.DATA).map((f) => f.payload.length), [20_000, 20_000, 10_000]);
  assert.equal(h.dataOf(3).length, 65_535 - 50_000, 'the rest of the 65535-byte connection window');
  h.send(windowUpdate(0, 100_000));
  assert.equal(h.dataOf(3).length, 50_000);
});

test('request body: delivered without padding; window given back a half window at a time, held back while paused', () => {
  const h = new Harness();
  h.send(headers(1, request('/up', [], 'PUT'), false));
  const { stream, heard } = h.streams[0]!;
  const updates = (): number => h.framesOf(1, T.WINDOW_UPDATE).reduce((n, f) => n + f.payload.readUInt32BE(0), 0);
  h.send(frame(T.DATA, 0, 1, 'small '));
  h.conn.flush();
  assert.equal(updates(), 0, 'less than half the window taken: no WINDOW_UPDATE per frame');
  stream.pause();
  const padded = Buffer.concat([Buffer.from([3]), Buffer.from('hello '), Buffer.alloc(3)]);
  h.send(frame(T.DATA, F.PADDED, 1, padded));
  const chunk = Buffer.alloc(16_384, 'x');
  for (let i = 0; i < 4; i++) h.send(frame(T.DATA, 0, 1, chunk));
  assert.equal(Buffer.concat(heard.data).subarray(0, 12).toString(), 'small hello ');
  assert.equal(updates(), 0, 'nothing is given back while paused');
  stream.resume();
  h.conn.flush();
  assert.equal(updates(), 6 + 10 + 4 * 16_384, 'padding and data given back once past half the window');
  h.send(frame(T.DATA, F.END_STREAM, 1, 'world!'));
  assert.equal(Buffer.concat(heard.data).subarray(-6).toString(), 'world!');
  assert.deepEqual(heard.ended, null);
});

test('request trailers end the stream; a body longer than its Content-Length is reset', () => {
  const h = new Harness();
  h.send(headers(1, request('/t', [], 'POST'), false), frame(T.DATA, 0, 1, 'abc'), headers(1, [['x-sum', 'c1']], true));
  assert.deepEqual(h.streams[0]!.heard.ended, ['x-sum', 'c1']);
  h.send(headers(3, request('/t', [['content-length', '2']], 'POST'), false), frame(T.DATA, 0, 3, 'abc'));
  assert.equal(h.reader.resetCode(3), E.PROTOCOL_ERROR);
  assert.equal(h.streams[1]!.heard.closed, false);
});

test('flow-control errors: a stream sending past its window is reset; past the connection\'s, GOAWAY', () => {
  const h = new Harness();
  h.send(headers(1, request('/', [], 'PUT'), false));
  h.streams[0]!.stream.pause();
  for (let sent = 0; sent <= STREAM_WINDOW; sent += 16_384) h.send(frame(T.DATA, 0, 1, Buffer.alloc(16_384)));
  assert.equal(h.reader.resetCode(1), E.FLOW_CONTROL_ERROR);
  const h2 = new Harness();
  h2.send(windowUpdate(0, 2 ** 31 - 1));
  assert.equal(h2.reader.goawayCode(), E.FLOW_CONTROL_ERROR, 'a window above 2^31-1');
  const h3 = new Harness();
  h3.send(headers(1, request()), windowUpdate(1, 2 ** 31 - 1));
  assert.equal(h3.reader.resetCode(1), E.FLOW_CONTROL_ERROR);
  assert.equal(h3.reader.goawayCode(), -1, 'a stream error only');
});

test('malformed requests are reset PROTOCOL_ERROR, the connection goes on', () => {
  const bad: [string, [string, string][]][] = [
    ['upper-case name', request('/', [['X-Up', '1']])],
    ['connection-specific field', request('/', [['connection', 'close']])],
    ['te other than trailers', request('/', [['te', 'gzip']])],
    ['no :path', [[':method', 'GET'], [':scheme', 'https']]],
    ['pseudo-header after a field', [[':method', 'GET'], ['x', '1'], [':path', '/'], [':scheme', 'https']]],
    ['unknown pseudo-header', request('/', [[':protocol', 'websocket']])],
    ['CONNECT with :path', [[':method', 'CONNECT'], [':authority', 'a:1'], [':path', '/']]],
  ];
  const h = new Harness();
  let id = 1;
  for (const [why, fields] of bad) {
    h.send(headers(id, fields));
    assert.equal(h.reader.resetCode(id), E.PROTOCOL_ERROR, why);
    id += 2;
  }
  h.send(headers(id, request()));
  assert.equal(h.streams.length, 1);
  assert.equal(h.reader.goawayCode(), -1);
});

test('stream states: ids must grow; frames on closed streams; idle streams', () => {
  const h = new Harness();
  h.send(headers(5, request()));
  h.streams[0]!.stream.respond(200, {}, true);
  h.send(frame(T.DATA, 0, 5, 'late'));
  assert.equal(h.reader.resetCode(5), E.STREAM_CLOSED, 'DATA on a closed stream');
  h.send(headers(3, request()));
  assert.equal(h.reader.goawayCode(), E.PROTOCOL_ERROR, 'a lower stream id');
  for (const f of [frame(T.DATA, 0, 9, 'x'), windowUpdate(9, 1), rst(9, 8), frame(T.DATA, 0, 0, 'x'), headers(2, request())]) {
    const x = new Harness();
    x.send(f);
    assert.equal(x.reader.goawayCode(), E.PROTOCOL_ERROR, `type ${f[3]} on stream ${f.readUInt32BE(5)}`);
  }
  const y = new Harness();
  y.send(headers(1, request('/', [], 'PUT'), false));
  y.streams[0]!.stream.respond(200, {}, true);
  y.conn.flush();
  assert.equal(y.reader.resetCode(1), E.NO_ERROR, 'a response complete before its request: the upload is not wanted');
  y.send(frame(T.DATA, F.END_STREAM, 1, 'in flight'), headers(1, [['x', 'y']]));
  assert.equal(y.reader.goawayCode(), -1, 'what was in flight on a stream we reset is dropped');
});

test('PING and SETTINGS floods: answered up to the limit per second, then GOAWAY ENHANCE_YOUR_CALM', () => {
  const limits = { maxHeaderListSize: 16_384, maxConcurrentStreams: 100, maxResetsPerSecond: 100, maxControlFramesPerSecond: 4 };
  const ping = (n: number): Buffer => frame(T.PING, 0, 0, Buffer.alloc(8, n));
  const h = new Harness(limits); // its opening SETTINGS counted one
  h.send(ping(1), ping(2), ping(3));
  assert.equal(h.reader.frames.filter((f) => f.type === T.PING && f.flags === F.ACK).length, 3, 'each PING within the limit is answered');
  h.send(frame(T.PING, F.ACK, 0, Buffer.alloc(8)));
  assert.equal(h.reader.goawayCode(), -1, 'a PING ACK is not counted');
  h.clock += 1000;
  h.send(ping(4), settings(), ping(5), settings());
  assert.equal(h.reader.goawayCode(), -1, 'a new second, a new allowance');
  h.send(ping(6));
  assert.equal(h.reader.goawayCode(), E.ENHANCE_YOUR_CALM);
  assert.equal(h.ended, true);
  const s = new Harness(limits);
  s.send(settings(), settings(), settings(), settings());
  assert.equal(s.reader.goawayCode(), E.ENHANCE_YOUR_CALM, 'a SETTINGS flood too');
});

test('MAX_CONCURRENT_STREAMS: one more is refused; rapid reset ends the connection with ENHANCE_YOUR_CALM', () => {
  const h = new Harness({ maxHeaderListSize: 16_384, maxConcurrentStreams: 2, maxResetsPerSecond: 5, maxControlFramesPerSecond: 1000 });
  h.send(headers(1, request()), headers(3, request()), headers(5, request()));
  assert.equal(h.reader.resetCode(5), E.REFUSED_STREAM);
  assert.equal(h.streams.length, 2);
  const r = new Harness({ maxHeaderListSize: 16_384, maxConcurrentStreams: 100, maxResetsPerSecond: 5, maxControlFramesPerSecond: 1000 });
  for (let id = 1; id <= 9; id += 2) r.send(headers(id, request()), rst(id, 8));
  assert.equal(r.reader.goawayCode(), -1, 'five resets in one second are allowed');
  r.clock += 1000;
  for (let id = 11; id <= 19; id += 2) r.send(headers(id, request()), rst(id, 8));
  assert.equal(r.reader.goawayCode(), -1, 'a new second, a new allowance');
  r.send(headers(21, request()), rst(21, 8));
  assert.equal(r.reader.goawayCode(), E.ENHANCE_YOUR_CALM);
  assert.equal(r.ended, true);
});

test('header blocks: CONTINUATION joins; a flood of them, bad HPACK, an interleaved frame each end the connection', () => {
  const h = new Harness();
  const b = block(request('/split'));
  h.send(frame(T.HEADERS, F.END_STREAM, 1, b.subarray(0, 5)), frame(T.CONTINUATION, 0, 1, b.subarray(5, 9)), frame(T.CONTINUATION, F.END_HEADERS, 1, b.subarray(9)));
  assert.equal(h.streams[0]!.head.path, '/split');
  const flood = new Harness();
  flood.send(frame(T.HEADERS, 0, 1, b.subarray(0, 5)));
  for (let i = 0; i < 100 && !flood.ended; i++) flood.send(frame(T.CONTINUATION, 0, 1));
  assert.equal(flood.reader.goawayCode(), E.ENHANCE_YOUR_CALM);
  const hpack = new Harness();
  hpack.send(frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, Buffer.from([0xbf])));
  assert.equal(hpack.reader.goawayCode(), E.COMPRESSION_ERROR);
  const mixed = new Harness();
  mixed.send(frame(T.HEADERS, 0, 1, b.subarray(0, 5)), frame(T.PING, 0, 0, Buffer.alloc(8)));
  assert.equal(mixed.reader.goawayCode(), E.PROTOCOL_ERROR);
});

test('a header list over our limit is answered 431 and the connection goes on', () => {
  const h = new Harness({ maxHeaderListSize: 1000, maxConcurrentStreams: 100, maxResetsPerSecond: 100, maxControlFramesPerSecond: 1000 });
  h.send(headers(1, request('/', [['x-big', 'x'.repeat(2000)]])));
  assert.equal(h.framesOf(1, T.HEADERS)[0]!.fields![0]![1], '431');
  h.send(headers(3, request()));
  assert.equal(h.streams.length, 1);
});

test('frame sizes: oversized frames and wrong fixed sizes are FRAME_SIZE_ERROR', () => {
  for (const f of [frame(T.DATA, 0, 1, Buffer.alloc(16_385)), frame(T.PING, 0, 0, Buffer.alloc(7)), frame(T.SETTINGS, 0, 0, Buffer.alloc(5)), frame(T.WINDOW_UPDATE, 0, 0, Buffer.alloc(3))]) {
    const h = new Harness();
    h.send(f);
    assert.equal(h.reader.goawayCode(), E.FRAME_SIZE_ERROR);
  }
});

test('drain: GOAWAY with the last stream id; open streams finish; new ones refused; then the transport ends', () => {
  const h = new Harness();
  h.send(headers(1, request()));
  h.conn.drain();
  const g = h.reader.frames.find((f) => f.type === T.GOAWAY)!;
  assert.deepEqual([g.payload.readUInt32BE(0), g.payload.readUInt32BE(4)], [1, E.NO_ERROR]);
  h.send(headers(3, request()));
  assert.equal(h.reader.resetCode(3), E.REFUSED_STREAM);
  assert.equal(h.ended, false);
  h.streams[0]!.stream.respond(204, {}, true);
  assert.equal(h.ended, true);
});

test('a slow socket pauses reading and holds the core back until it drains', () => {
  const h = new Harness();
  h.send(headers(1, request()));
  const { stream, heard } = h.streams[0]!;
  stream.respond(200, {});
  h.writable = false;
  h.conn.flush();
  assert.equal(h.paused, true);
  assert.equal(stream.write(Buffer.from('x')), false);
  h.writable = true;
  h.conn.drained();
  assert.equal(h.paused, false);
  assert.equal(heard.drains, 1);
  void u32;
});
