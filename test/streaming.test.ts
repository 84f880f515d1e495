/**
 * Bytes in motion through a real outrigger process: large bodies both ways (hash-checked),
 * WebSocket tunnels, and streams (SSE, long polls) that must not be buffered.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { TestBackend } from './support/backends.js';
import { startOutrigger, type Outrigger } from './support/outrigger.js';
import { deferred, exchange, sha256, within, type Deferred } from './support/flow.js';
import { waitFor } from './support/wait.js';

const MiB = 1024 * 1024;
/** A hang fails the test that hung (by name) instead of stalling the whole run. */
const LIMIT = { timeout: 30_000 };
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => { await Promise.all(cleanup.map((f) => f())); });

let backend: TestBackend;
let wss: WebSocketServer;
let o: Outrigger;
/** What the backend computed over the last request body it read. */
let lastUpload: { sha: string; length: number; chunked: boolean } | null = null;
const download = randomBytes(50 * MiB);
const downloadSha = sha256(download);
/** Streams the test releases step by step: the backend writes the next part only when told. */
let steps: Deferred[] = [];

/** Write `data` in slices, respecting backpressure. */
async function writeSlices(res: http.ServerResponse, data: Buffer, slice: number): Promise<void> {
  for (let off = 0; off < data.length; off += slice) {
    if (!res.write(data.subarray(off, off + slice))) await once(res, 'drain');
  }
}

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '';
  if (url === '/echo') {
    // Streams the body back while it is still arriving: both directions at once.
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (c: Buffer) => { hash.update(c); length += c.length; });
    req.once('end', () => { lastUpload = { sha: hash.digest('hex'), length, chunked: req.headers['transfer-encoding'] !== undefined }; });
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': req.headers['content-length'] ?? '' });
    req.pipe(res);
  } else if (url === '/hash') {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (c: Buffer) => { hash.update(c); length += c.length; });
    req.once('end', () => {
      lastUpload = { sha: hash.digest('hex'), length, chunked: req.headers['transfer-encoding'] !== undefined };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(lastUpload));
    });
  } else if (url === '/download' || url === '/download-chunked') {
    req.resume();
    res.writeHead(200, url === '/download' ? { 'Content-Length': download.length } : {});
    void writeSlices(res, download, 64 * 1024).then(() => res.end());
  } else if (url === '/events') {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.write('event: tick\ndata: one\n\n');
    void steps[0]!.promise.then(() => {
      res.write('event: tick\ndata: two\n\n');
      return steps[1]!.promise;
    }).then(() => res.end('event: tick\ndata: three\n\n'));
  } else if (url === '/poll' || url === '/poll-length') {
    req.resume();
    res.writeHead(200, url === '/poll' ? { 'Content-Type': 'application/json' } : { 'Content-Type': 'application/json', 'Content-Length': 15 });
    res.flushHeaders();
    void steps[0]!.promise.then(() => res.end('{"event":"new"}'));
  } else {
    req.resume();
    res.end('ok');
  }
}

before(async () => {
  backend = await new TestBackend('stream', handler).listen();
  wss = new WebSocketServer({ server: backend.server });
  wss.on('connection', (ws) => {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary && data.toString() === 'close-me') ws.close(4001, 'server bye');
      else ws.send(data, { binary: isBinary });
    });
  });
  cleanup.push(() => backend.close(), () => new Promise((resolve) => wss.close(resolve)));
  o = await startOutrigger(['--health-path', '/health', backend.url]);
  cleanup.push(() => o.stop());
});

test('a 20 MiB POST with Content-Length is echoed back intact while it uploads', LIMIT, async () => {
  const body = randomBytes(20 * MiB);
  const r = await exchange(`${o.base}/echo`, { method: 'POST', headers: { 'Content-Length': body.length } }, body);
  assert.equal(r.error, undefined);
  assert.equal(r.status, 200);
  assert.ok(r.complete);
  assert.equal(r.body.length, body.length);
  assert.equal(sha256(r.body), sha256(body));
  assert.deepEqual(lastUpload, { sha: sha256(body), length: body.length, chunked: false });
});

test('a chunked upload of unknown length, written in pieces, arrives intact', LIMIT, async () => {
  const sizes = [1, 7, 4096, 65_537, 3, MiB, 333_333, 2 * MiB + 5, 1, 4 * MiB, 17];
  const pieces = sizes.map((n) => randomBytes(n));
  const whole = Buffer.concat(pieces);
  const reply = await within(new Promise<string>((resolve, reject) => {
    const req = http.request(`${o.base}/hash`, { method: 'PUT', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => { text += s; });
      res.once('end', () => resolve(text));
    });
    req.once('error', reject);
    void (async () => {
      for (const p of pieces) {
        if (!req.write(p)) await once(req, 'drain');
        await new Promise((r) => setImmediate(r));
      }
      req.end();
    })();
  }), 15_000, 'the chunked upload');
  assert.deepEqual(JSON.parse(reply), { sha: sha256(whole), length: whole.length, chunked: true });
});

for (const [path, framing] of [['/download', 'Content-Length'], ['/download-chunked', 'chunked']] as const) {
  test(`a 50 MiB download (${framing}) arrives intact`, LIMIT, async () => {
    const r = await exchange(`${o.base}${path}`);
    assert.equal(r.error, undefined);
    assert.equal(r.status, 200);
    assert.ok(r.complete);
    if (framing === 'Content-Length') assert.equal(r.headers['content-length'], String(download.length));
    else assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.equal(r.body.length, download.length);
    assert.equal(sha256(r.body), downloadSha);
  });
}

/** Next message on a WebSocket, or fail after the deadline. */
function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return within(new Promise((resolve) => {
    ws.once('message', (data: RawData, isBinary: boolean) => resolve({ data: Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer), isBinary }));
  }), 10_000, 'a WebSocket message');
}

async function openSocket(path: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${o.port}${path}`);
  cleanup.push(async () => ws.terminate());
  await within(once(ws, 'open'), 10_000, 'the WebSocket to open');
  return ws;
}

test('WebSocket: text and binary messages echo through the proxy, and a client close reaches both ends', LIMIT, async () => {
  const handshake = deferred<http.IncomingMessage>();
  wss.once('connection', (_ws, req) => handshake.resolve(req));
  const ws = await openSocket('/chat/a%2Fb?room=1&x=%2F');
  const req = await handshake.promise;
  assert.equal(req.url, '/chat/a%2Fb?room=1&x=%2F');
  assert.equal(req.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(req.headers.host, `127.0.0.1:${o.port}`);

  ws.send('hello');
  let m = await nextMessage(ws);
  assert.equal(m.isBinary, false);
  assert.equal(m.data.toString(), 'hello');

  const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  ws.send(binary);
  m = await nextMessage(ws);
  assert.equal(m.isBinary, true);
  assert.deepEqual(m.data, binary);

  const big = randomBytes(2 * MiB);
  ws.send(big);
  m = await nextMessage(ws);
  assert.equal(sha256(m.data), sha256(big));

  const serverClosed = new Promise<number>((resolve) => {
    for (const client of wss.clients) client.once('close', (code: number) => resolve(code));
  });
  ws.close(4000, 'bye');
  const [code, reason] = (await within(once(ws, 'close'), 10_000, 'the close handshake')) as [number, Buffer];
  assert.equal(code, 4000);
  assert.equal(reason.toString(), 'bye');
  assert.equal(await within(serverClosed, 10_000, 'the backend to see the close'), 4000);
});

test('WebSocket: a close started by the backend reaches the client with its code', LIMIT, async () => {
  const ws = await openSocket('/chat');
  ws.send('close-me');
  const [code, reason] = (await within(once(ws, 'close'), 10_000, 'the close from the backend')) as [number, Buffer];
  assert.equal(code, 4001);
  assert.equal(reason.toString(), 'server bye');
});

test('an Upgrade the backend refuses reaches the client as the backend\'s answer', LIMIT, async () => {
  const refusing = await new TestBackend('no-ws', (req, res) => {
    req.resume();
    res.writeHead(403, { 'Content-Type': 'text/plain', 'X-Refused-By': 'backend' });
    res.end('no websockets here');
  }).listen();
  cleanup.push(() => refusing.close());
  const p = await startOutrigger(['--health-path', '/health', refusing.url]);
  cleanup.push(() => p.stop());
  for (let i = 0; i < 2; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${p.port}/chat`);
    ws.on('error', () => undefined);
    const [, res] = (await within(once(ws, 'unexpected-response'), 10_000, 'the refusal')) as [http.ClientRequest, http.IncomingMessage];
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['x-refused-by'], 'backend');
    let text = '';
    res.setEncoding('utf8').on('data', (s: string) => { text += s; });
    await within(once(res, 'end'), 10_000, 'the refusal body');
    assert.equal(text, 'no websockets here');
    ws.terminate();
  }
  // The refusal did not take the backend out of rotation.
  const r = await exchange(`${p.base}/plain`);
  assert.equal(r.status, 403);
  assert.equal(r.body.toString(), 'no websockets here');
});

test('server-sent events: each event reaches the client before the backend writes the next', LIMIT, async () => {
  steps = [deferred(), deferred()];
  let text = '';
  const ended = deferred();
  const req = http.get(`${o.base}/events`, { agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
    assert.equal(res.headers['content-type'], 'text/event-stream');
    res.setEncoding('utf8').on('data', (s: string) => { text += s; });
    res.once('end', () => ended.resolve());
  });
  req.once('error', (err) => ended.reject(err));
  cleanup.push(async () => req.destroy());
  await waitFor(() => text.includes('data: one\n\n'), 20_000, 'the first event while the backend holds the second');
  assert.ok(!text.includes('two'));
  steps[0]!.resolve();
  await waitFor(() => text.includes('data: two\n\n'), 20_000, 'the second event while the backend holds the third');
  assert.ok(!text.includes('three'));
  steps[1]!.resolve();
  await within(ended.promise, 20_000, 'the end of the stream');
  assert.equal(text, 'event: tick\ndata: one\n\nevent: tick\ndata: two\n\nevent: tick\ndata: three\n\n');
});

for (const path of ['/poll', '/poll-length']) {
  test(`a long poll's headers reach the client before its body exists (${path === '/poll' ? 'chunked' : 'Content-Length'})`, LIMIT, async () => {
    steps = [deferred()];
    const headers = deferred<http.IncomingMessage>();
    const req = http.get(`${o.base}${path}`, { agent: false }, (res) => headers.resolve(res));
    req.once('error', (err) => headers.reject(err));
    cleanup.push(async () => req.destroy());
    const res = await within(headers.promise, 20_000, 'the response head while the backend holds the body');
    assert.equal(res.statusCode, 200);
    let text = '';
    res.setEncoding('utf8').on('data', (s: string) => { text += s; });
    steps[0]!.resolve();
    await within(once(res, 'end'), 20_000, 'the body');
    assert.equal(text, '{"event":"new"}');
  });
}

test('an h2c upgrade the backend ignores: the ordinary answer reaches the client, a request body included', LIMIT, async () => {
  // A backend with no upgrade handler at all (the shared one runs a WebSocket server, which answers
  // any other Upgrade with 400), as an HTTP/1.1-only server ignoring `curl --http2` would be.
  const plain = await new TestBackend('no-upgrade', handler).listen();
  cleanup.push(() => plain.close());
  const p = await startOutrigger(['--health-path', '/health', plain.url]);
  cleanup.push(() => p.stop());
  for (const [method, body] of [['GET', ''], ['POST', 'the request body']] as const) {
    lastUpload = null;
    const r = await within(new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${p.base}/hash`, {
        method, agent: false,
        headers: { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAAQCAAAAAAIAAAAA', 'Content-Length': Buffer.byteLength(body) },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (s: string) => { text += s; });
        res.once('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.once('upgrade', () => reject(new Error('unexpected 101')));
      req.once('error', reject);
      req.end(body);
    }), 10_000, `the ${method} answer`);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), { sha: sha256(body), length: Buffer.byteLength(body), chunked: false });
  }
});
