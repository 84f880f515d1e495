/**
 * Our HTTP/2 front end (src/proxy/h2) against other implementations: node:http2's client, nghttp,
 * h2load and curl (nghttp2), Go's net/http; and against hostile clients writing crafted frames
 * over TLS, each answered with the right GOAWAY or RST_STREAM while other connections go on.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Fixtures } from './support/fixtures.js';
import type { Outrigger } from './support/outrigger.js';
import { closeSession } from './support/h2-session.js';
import { F, FrameReader, PREFACE, T, frame, headers, request, rst, settings, windowUpdate } from './support/h2-wire.js';
import { waitFor } from './support/wait.js';
import { heldAnswer, within } from './support/flow.js';

const fx = new Fixtures();
const LIMIT = { timeout: 120_000 };
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const BIG = Buffer.alloc(1024 * 1024);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 31 + (i >> 10)) & 0xff;
const SMALL = 'x'.repeat(100);

let o: Outrigger;

before(async () => {
  const backend = await fx.backendOf('b', (req, res) => {
    if (req.url === '/small') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(SMALL);
    if (req.url === '/big') return void res.writeHead(200, { 'content-length': BIG.length }).end(BIG);
    if (req.url === '/slow') return void setTimeout(() => res.end('slow done'), 700);
    if (req.url === '/echo') return void req.pipe(res);
    res.writeHead(404).end();
  });
  o = await fx.outrigger(['--auto-tls-host', '127.0.0.1', '--health-path', '/health', backend.url]);
});

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'buffer', timeout: 100_000, maxBuffer: 64 << 20, env }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr: stderr.toString() });
    });
  });
}

/** GET `path` on a fresh node:http2 session. */
async function get(path: string, options: http2.SecureClientSessionOptions = {}): Promise<{ status: number; body: Buffer }> {
  const session = http2.connect(`https://127.0.0.1:${o.port}`, { rejectUnauthorized: false, ...options });
  session.on('error', () => {});
  try {
    return await new Promise((resolve, reject) => {
      const s = session.request({ ':path': path });
      const chunks: Buffer[] = [];
      let status = 0;
      s.on('response', (h) => { status = Number(h[':status']); });
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
      s.on('error', reject);
    });
  } finally {
    await closeSession(session);
  }
}

describe('other clients', () => {
  test('node:http2 with a 1 KiB stream window reads a 1 MiB body whole, byte-exact', LIMIT, async () => {
    const r = await get('/big', { settings: { initialWindowSize: 1024 } });
    assert.equal(r.status, 200);
    assert.equal(sha(r.body), sha(BIG));
  });

  test('HEAD: the head of the response with its Content-Length, no body', LIMIT, async () => {
    const session = http2.connect(`https://127.0.0.1:${o.port}`, { rejectUnauthorized: false });
    session.on('error', () => {});
    fx.add(() => closeSession(session));
    const s = session.request({ ':method': 'HEAD', ':path': '/big' });
    const head = await within(new Promise<http2.IncomingHttpHeaders>((resolve) => s.once('response', resolve)), 10_000, 'the head');
    let bytes = 0;
    s.on('data', (c: Buffer) => { bytes += c.length; });
    await within(new Promise<void>((resolve) => s.once('end', resolve)), 10_000, 'the end of the stream');
    assert.deepEqual([head[':status'], head['content-length'], bytes], [200, String(BIG.length), 0]);
  });

  test('Expect: 100-continue: the backend\'s 100 reaches the client, which then sends its body', LIMIT, async () => {
    const session = http2.connect(`https://127.0.0.1:${o.port}`, { rejectUnauthorized: false });
    session.on('error', () => {});
    fx.add(() => closeSession(session));
    const s = session.request({ ':method': 'PUT', ':path': '/echo', 'expect': '100-continue', 'content-length': '5' });
    await within(new Promise<void>((resolve) => s.once('continue', resolve)), 10_000, '100 Continue');
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((resolve) => s.once('end', resolve));
    s.end('hello');
    await within(ended, 10_000, 'the echoed body');
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
  });

  test('nghttp: several requests on one connection, bodies exact', { ...LIMIT, skip: has('nghttp') ? false : 'nghttp not installed (nghttp2-client)' }, async () => {
    const r = await run('nghttp', ['-m', '5', `https://127.0.0.1:${o.port}/small`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), SMALL.repeat(5));
    const big = await run('nghttp', [`https://127.0.0.1:${o.port}/big`]);
    assert.equal(sha(big.stdout), sha(BIG));
  });

  test('h2load: 2000 requests, 4 connections, 10 streams each, all 2xx', { ...LIMIT, skip: has('h2load') ? false : 'h2load not installed (nghttp2-client)' }, async () => {
    const r = await run('h2load', ['-n', '2000', '-c', '4', '-m', '10', `https://127.0.0.1:${o.port}/small`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /status codes: 2000 2xx/);
    assert.match(r.stdout.toString(), /2000 succeeded, 0 failed, 0 errored/);
  });

  test('curl --http2: GET and an upload echoed back', { ...LIMIT, skip: has('curl') ? false : 'curl not installed' }, async () => {
    const r = await run('curl', ['-sk', '--http2', '-o', '/dev/null', '-w', '%{http_version} %{http_code} %{size_download}', `https://127.0.0.1:${o.port}/big`]);
    assert.equal(r.stdout.toString(), '2 200 1048576');
    const file = join(mkdtempSync(join(tmpdir(), 'outrigger-curl-')), 'upload');
    writeFileSync(file, BIG.subarray(0, 300_001));
    fx.add(async () => rmSync(file, { force: true }));
    const up = await run('curl', ['-sk', '--http2', '--data-binary', `@${file}`, `https://127.0.0.1:${o.port}/echo`]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(sha(up.stdout), sha(BIG.subarray(0, 300_001)));
  });

  test('Go net/http: GET, a 1 MiB body, an upload echoed, 50 concurrent streams', { ...LIMIT, skip: has('go') ? false : 'go not installed' }, async () => {
    const source = fileURLToPath(new URL('../../test/interop/h2client/main.go', import.meta.url));
    const dir = join(tmpdir(), 'outrigger-goh2');
    mkdirSync(dir, { recursive: true });
    const bin = join(dir, `h2client-${sha(source).slice(0, 12)}`);
    const env = { ...process.env, GO111MODULE: 'off', GOCACHE: join(dir, 'cache'), GOFLAGS: '', CGO_ENABLED: '0' };
    if (!existsSync(bin)) {
      const b = await run('go', ['build', '-o', bin, source], env);
      assert.equal(b.code, 0, b.stderr);
    }
    const r = await run(bin, [`https://127.0.0.1:${o.port}`]);
    assert.equal(r.code, 0, r.stderr);
    const results = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as { check: string; proto: string; status: number; sha: string; length: number; err?: string });
    const by = Object.fromEntries(results.map((x) => [x.check, x]));
    assert.deepEqual([by['small']!.proto, by['small']!.status, by['small']!.length], ['HTTP/2.0', 200, 100]);
    assert.equal(by['big']!.sha, sha(BIG));
    assert.equal(by['upload']!.sha, sha(Buffer.from('0123456789abcdef'.repeat(64 * 1024 + 3))));
    assert.equal(by['many']!.status, 50, 'all 50 concurrent streams answered');
  });
});

/** A raw TLS client speaking crafted frames; collects what the server sends until it closes. */
class RawH2 {
  readonly reader = new FrameReader();
  closed = false;
  private readonly socket: tls.TLSSocket;

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => this.reader.push(c));
    socket.on('error', () => {});
    socket.on('close', () => { this.closed = true; });
  }

  static async open(port: number): Promise<RawH2> {
    const socket = tls.connect({ port, host: '127.0.0.1', ALPNProtocols: ['h2'], rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject); });
    const c = new RawH2(socket);
    fx.add(async () => socket.destroy());
    return c;
  }

  send(...frames: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(frames));
  }

  async goaway(): Promise<number> {
    await waitFor(() => this.reader.goawayCode() !== -1 || this.closed, 20_000, 'GOAWAY or close');
    return this.reader.goawayCode();
  }
}

test('SIGTERM: GOAWAY with the last stream id; the stream in flight finishes; the process exits 0', LIMIT, async () => {
  const held = heldAnswer('finished');
  const b = await fx.backendOf('slow', held.handler);
  const d = await fx.outrigger(['--auto-tls-host', '127.0.0.1', '--health-path', '/health', '--shutdown-timeout', '30s', b.url]);
  const session = http2.connect(`https://127.0.0.1:${d.port}`, { rejectUnauthorized: false });
  session.on('error', () => {});
  fx.add(() => closeSession(session));
  const goaway = new Promise<[number, number]>((resolve) => session.once('goaway', (code, last) => resolve([code, last])));
  const s = session.request({ ':path': '/slow' });
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve) => s.on('end', resolve));
  await within(held.started, 10_000, 'the slow request to reach the backend');
  d.signal('SIGTERM');
  assert.deepEqual(await within(goaway, 10_000, 'GOAWAY'), [0, 1], 'NO_ERROR, last stream 1');
  held.release();
  await within(ended, 10_000, 'the slow response');
  assert.equal(Buffer.concat(chunks).toString(), 'finished');
  assert.equal(await d.exit(), 0);
});

describe('hostile clients', () => {
  const E = { PROTOCOL_ERROR: 1, FLOW_CONTROL_ERROR: 3, STREAM_CLOSED: 5, COMPRESSION_ERROR: 9, ENHANCE_YOUR_CALM: 11 };

  async function stillServing(): Promise<void> {
    const r = await get('/small');
    assert.deepEqual([r.status, r.body.toString()], [200, SMALL]);
  }

  test('rapid reset (CVE-2023-44487): HEADERS + RST_STREAM by the thousand is GOAWAY ENHANCE_YOUR_CALM', LIMIT, async () => {
    const c = await RawH2.open(o.port);
    const frames: Buffer[] = [PREFACE, settings()];
    for (let id = 1; id < 2000; id += 2) frames.push(headers(id, request('/small')), rst(id, 8));
    c.send(...frames);
    assert.equal(await c.goaway(), E.ENHANCE_YOUR_CALM);
    await stillServing();
  });

  test('a bad preface is GOAWAY PROTOCOL_ERROR', LIMIT, async () => {
    const c = await RawH2.open(o.port);
    c.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.equal(await c.goaway(), E.PROTOCOL_ERROR);
    await waitFor(() => c.closed, 20_000, 'the connection to close');
    await stillServing();
  });

  test('a CONTINUATION flood is GOAWAY ENHANCE_YOUR_CALM', LIMIT, async () => {
    const c = await RawH2.open(o.port);
    const frames = [PREFACE, settings(), frame(T.HEADERS, F.END_STREAM, 1, Buffer.from([0x82]))];
    for (let i = 0; i < 1000; i++) frames.push(frame(T.CONTINUATION, 0, 1, Buffer.from([0x40, 1, 0x61, 1, 0x62])));
    c.send(...frames);
    assert.equal(await c.goaway(), E.ENHANCE_YOUR_CALM);
    await stillServing();
  });

  test('bad HPACK (an index past both tables) is GOAWAY COMPRESSION_ERROR', LIMIT, async () => {
    const c = await RawH2.open(o.port);
    c.send(PREFACE, settings(), frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, Buffer.from([0xff, 0x7f])));
    assert.equal(await c.goaway(), E.COMPRESSION_ERROR);
    await stillServing();
  });

  test('a WINDOW_UPDATE past 2^31-1 is GOAWAY FLOW_CONTROL_ERROR', LIMIT, async () => {
    const c = await RawH2.open(o.port);
    c.send(PREFACE, settings(), windowUpdate(0, 0x7fffffff));
    assert.equal(await c.goaway(), E.FLOW_CONTROL_ERROR);
    await stillServing();
  });

  test('DATA on a closed stream is RST_STREAM STREAM_CLOSED; the connection goes on', LIMIT, async () => {
    const c = await RawH2.open(o.port);
    c.send(PREFACE, settings(), headers(1, request('/small')));
    await waitFor(() => c.reader.frames.some((f) => f.id === 1 && f.type === T.DATA && (f.flags & F.END_STREAM) !== 0), 20_000, 'the response');
    c.send(frame(T.DATA, 0, 1, 'late'));
    await waitFor(() => c.reader.resetCode(1) !== -1, 20_000, 'RST_STREAM');
    assert.equal(c.reader.resetCode(1), E.STREAM_CLOSED);
    c.send(headers(3, request('/small')));
    await waitFor(() => c.reader.frames.some((f) => f.id === 3 && f.type === T.HEADERS), 20_000, 'the next response');
    assert.equal(c.reader.frames.find((f) => f.id === 3 && f.type === T.HEADERS)!.fields![0]![1], '200');
    assert.equal(c.reader.goawayCode(), -1);
  });
});
