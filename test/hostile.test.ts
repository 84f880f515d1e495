/**
 * Hostile clients, misbehaving backends, and which failures may be retried. Everything through a
 * real outrigger process, raw sockets where the bytes themselves are the point.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { TestBackend } from './support/backends.js';
import type { Outrigger } from './support/outrigger.js';
import { RawClient, all } from './support/wire.js';
import { deferred, exchange, sha256, within } from './support/flow.js';
import { waitFor } from './support/wait.js';
import { Fixtures } from './support/fixtures.js';

/** A hang fails the test that hung (by name) instead of stalling the whole run. */
const LIMIT = { timeout: 30_000 };
const cleanup = new Fixtures();
const { outrigger, backendOf, rawBackendOf, rawClient } = cleanup;

// ---------------------------------------------------------------------------------------------
// Hostile clients, against one recording backend.

const paths: string[] = [];
let plain: TestBackend;
let front: Outrigger;

before(async () => {
  plain = await backendOf('plain', (req, res) => {
    paths.push(req.url ?? '');
    req.resume();
    req.once('end', () => res.end('ok'));
  });
  front = await outrigger(['--health-path', '/health', plain.url]);
});

/**
 * A request sent after the hostile one, on a fresh connection: once the backend has it, anything
 * smuggled on the first connection would have arrived before it.
 */
async function barrier(): Promise<void> {
  const mark = `/barrier-${paths.length}-${Math.random()}`;
  const r = await exchange(`${front.base}${mark}`);
  assert.equal(r.status, 200);
  assert.ok(paths.includes(mark));
}

/** Send `bytes`, expect one response with `status`, then the connection closed. */
async function rejected(bytes: string, status: number): Promise<void> {
  const c = await rawClient(front.port);
  c.write(bytes);
  const r = await c.readResponse();
  assert.equal(r.status, status, `answer: ${r.startLine}`);
  await c.waitClosed();
}

for (const [name, head] of [
  ['Content-Length then Transfer-Encoding', 'Content-Length: 41\r\nTransfer-Encoding: chunked\r\n'],
  ['Transfer-Encoding then Content-Length', 'Transfer-Encoding: chunked\r\nContent-Length: 41\r\n'],
] as const) {
  test(`${name}: 400, connection closed, the smuggled request never reaches the backend`, LIMIT, async () => {
    const before = paths.length;
    await rejected(`POST /cl-te HTTP/1.1\r\nHost: h\r\n${head}\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n`, 400);
    await barrier();
    assert.deepEqual(paths.slice(before).filter((p) => !p.startsWith('/barrier')), []);
  });
}

test('two different Content-Lengths: 400 and the connection closed', LIMIT, async () => {
  const before = paths.length;
  await rejected('POST /two-cl HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 25\r\n\r\nhelloGET /smuggled HTTP/1.1\r\n\r\n', 400);
  await rejected('POST /two-cl HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 25\r\n\r\nhelloGET /smuggled HTTP/1.1\r\n\r\n', 400);
  await barrier();
  assert.deepEqual(paths.slice(before).filter((p) => !p.startsWith('/barrier')), []);
});

test('a request head over 16 KiB: 431 and closed; a 12 KiB one is forwarded', LIMIT, async () => {
  await rejected(`GET /big-head HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 431);
  const c = await rawClient(front.port);
  c.write(`GET /fits HTTP/1.1\r\nHost: h\r\nX-Big: ${'b'.repeat(12 * 1024)}\r\n\r\n`);
  assert.equal((await c.readResponse()).status, 200);
  assert.ok(paths.includes('/fits'));
});

test('duplicate Host: 400 and closed, nothing forwarded', LIMIT, async () => {
  const before = paths.length;
  await rejected('GET /dup-host HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n', 400);
  await barrier();
  assert.deepEqual(paths.slice(before).filter((p) => !p.startsWith('/barrier')), []);
});

test('malformed heads (obs-fold, bare LF line endings, a space before the colon): 400', LIMIT, async () => {
  await rejected('GET /fold HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n', 400);
  await rejected('GET /lf HTTP/1.1\nHost: h\nX-A: 1\n\n', 400);
  await rejected('GET /space HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\nhello', 400);
  await barrier();
});

test('a client trickling its head slower than --header-timeout gets 408 and is dropped; others are served', LIMIT, async () => {
  const o = await outrigger(['--health-path', '/health', '--header-timeout', '500ms', plain.url]);
  const slow = await rawClient(o.port);
  // 20 s of head at one byte every 20 ms: each byte resets an idle timer, so only a whole-head
  // deadline stops it, long before its end (a bound loose enough for a loaded machine).
  const head = 'GET /drip HTTP/1.1\r\nHost: h\r\nX-Drip: ' + 'x'.repeat(1000);
  let sent = 0;
  const drip = setInterval(() => { if (sent < head.length && !slow.closed) slow.write(head[sent++]!); }, 20);
  try {
    const started = Date.now();
    await slow.waitClosed(15_000);
    assert.ok(Date.now() - started < 10_000, 'dropped within seconds of the header timeout, not at the end of the head');
    assert.match(slow.text(), /^HTTP\/1\.1 408/);
    assert.ok(sent < head.length, 'dropped before the head was complete');
  } finally {
    clearInterval(drip);
  }
  assert.equal((await exchange(`${o.base}/fine`)).status, 200);
});

test('an idle keep-alive connection is closed after --idle-timeout', LIMIT, async () => {
  const o = await outrigger(['--health-path', '/health', '--idle-timeout', '300ms', plain.url]);
  const c = await rawClient(o.port);
  // Timed from before the request is sent: the idle clock cannot start before the request arrived,
  // while a loaded machine may read the response long after the clock started.
  const started = Date.now();
  c.write('GET /once HTTP/1.1\r\nHost: h\r\n\r\n');
  assert.equal((await c.readResponse()).status, 200);
  await c.waitClosed(5_000);
  assert.ok(Date.now() - started >= 250, 'not closed before the idle timeout');
});

test('bad requests that arrive before the first health round is over get 400, they do not kill the process', LIMIT, async () => {
  const released = deferred();
  const seen: string[] = [];
  const slow = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/health') void released.promise.then(() => res.end('ok'));
    else { seen.push(req.url ?? ''); res.end('ok'); }
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => { slow.closeAllConnections(); return new Promise((resolve) => slow.close(resolve)); });
  const port = (slow.address() as { port: number }).port;
  const o = await outrigger(['--health-path', '/health', '--health-timeout', '20s', `http://127.0.0.1:${port}`]);

  const dup = await rawClient(o.port);
  dup.write('GET /dup HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
  const dupUpgrade = await rawClient(o.port);
  dupUpgrade.write('GET /ws HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  const good = exchange(`${o.base}/good`);
  // All three are held by the startup gate until the first probe answers.
  released.resolve();
  assert.equal((await dup.readResponse()).status, 400);
  assert.equal((await dupUpgrade.readResponse()).status, 400);
  assert.equal((await good).status, 200);
  assert.equal(o.proc.exitCode, null, `outrigger exited:\n${o.stderr}`);
  assert.equal((await exchange(`${o.base}/after`)).status, 200);
  assert.deepEqual(seen, ['/good', '/after']);
});

// ---------------------------------------------------------------------------------------------
// Misbehaving backends.

test('a backend that sends fewer body bytes than its Content-Length: the client sees a broken response', LIMIT, async () => {
  const cut = await rawBackendOf('cut', (req, socket) => {
    if (req.target === '/cut-length') socket.end('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789');
    else if (req.target === '/cut-chunked') socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n');
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  const o = await outrigger(['--health-path', '/health', '--health-duration', '0.1', cut.url]);
  for (const path of ['/cut-length', '/cut-chunked']) {
    const r = await exchange(`${o.base}${path}`);
    assert.equal(r.status, 200, `${path}: the head had already gone out`);
    assert.equal(r.complete, false, `${path}: never a clean shorter body (got ${r.body.length} bytes)`);
    assert.ok(r.body.length <= 10);
    // The backend is marked down by the failure; wait for a probe to bring it back.
    await waitFor(async () => (await exchange(`${o.base}/fine`)).status === 200, 10_000, 'the backend back in rotation');
  }
});

test('garbage from a backend: 502 with the XML body, not retried, the backend stays in rotation', LIMIT, async () => {
  const garbage = (req: { target: string }, socket: import('node:net').Socket): void => {
    if (req.target === '/garbage') socket.write('HELLO\r\n\r\n');
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  };
  const g1 = await rawBackendOf('g1', garbage);
  const g2 = await rawBackendOf('g2', garbage);
  // Probes an hour apart: only a request error could take a backend out of rotation here.
  const o = await outrigger(['--health-path', '/health', '--health-duration', '1h', '--log', `${g1.url},${g2.url}`]);
  const r = await exchange(`${o.base}/garbage`);
  assert.equal(r.status, 502);
  assert.equal(r.headers['content-type'], 'application/xml');
  assert.match(r.body.toString(), /^<\?xml version="1\.0" encoding="UTF-8"\?><Error><Code>\w+<\/Code><Message>[^<]+<\/Message><Resource>\/garbage<\/Resource><\/Error>$/);
  const tried = [g1, g2].filter((b) => b.requests.some((q) => q.target === '/garbage'));
  assert.equal(tried.length, 1, 'the malformed answer was not retried');
  const culprit = tried[0]!;
  // The next requests work, and some of them still go to the backend that answered garbage.
  await waitFor(async () => {
    const next = await exchange(`${o.base}/fine`);
    assert.equal(next.status, 200);
    return culprit.requests.some((q) => q.target === '/fine');
  }, 5_000, 'the backend that answered garbage to serve again');
  assert.doesNotMatch(o.stdout, /is down/);
});

test('a backend that resets the connection before answering a GET: retried on another backend', LIMIT, async () => {
  const resetter = await backendOf('resetter', (req) => req.socket.resetAndDestroy());
  const good = await backendOf('good');
  // Two sites: the first attempt always goes to the resetter (site 1), the retry fails over.
  const o = await outrigger(['--health-path', '/health', '--health-duration', '1h', resetter.url, good.url]);
  const r = await exchange(`${o.base}/object`);
  assert.equal(r.error, undefined);
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'good');
  assert.equal(resetter.hits, 1);
  assert.equal(good.hits, 1);
});

for (const [how, close] of [
  ['resets it', (socket: import('node:net').Socket) => socket.resetAndDestroy()],
  ['closes it', (socket: import('node:net').Socket) => socket.end()],
] as const) {
  test(`a pooled connection the backend ${how} as a GET arrives: retried on a fresh connection, even with one backend`, LIMIT, async () => {
    // Each connection answers its first request and then behaves like a server whose idle timeout
    // fired just as the next request arrived: the race every keep-alive pool has to absorb.
    const perConnection = new WeakMap<import('node:net').Socket, number>();
    const b = await rawBackendOf('idle-closer', (_req, socket) => {
      const n = (perConnection.get(socket) ?? 0) + 1;
      perConnection.set(socket, n);
      if (n === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else close(socket);
    });
    const o = await outrigger(['--health-path', '/health', '--health-duration', '1h', '--log', b.url]);
    const c = await rawClient(o.port);
    for (let i = 0; i < 5; i++) {
      c.write(`GET /again-${i} HTTP/1.1\r\nHost: h\r\n\r\n`);
      const r = await c.readResponse();
      assert.equal(r.status, 200, `request ${i}: ${r.body.toString()}`);
    }
    assert.ok(b.hits > 5, 'the stale connections were really tried');
    assert.doesNotMatch(o.stdout, /is down/, 'a stale pooled connection says nothing about the backend');
  });
}

for (const [how, leave] of [
  ['resets the connection', (c: RawClient) => c.socket.resetAndDestroy()],
  // On the wire this is also how a half-close looks; Go's server (sidekick) and node:http both
  // take it as the client going away and cancel the request, so an idle stream is not left open.
  ['closes its end (FIN)', (c: RawClient) => c.socket.end()],
] as const) {
  test(`a client that ${how} mid-response: the backend's connection is closed too and the backend stays up`, LIMIT, async () => {
    const backendSawClose = deferred();
    const b = await backendOf('slow-stream', (req, res) => {
      req.resume();
      if (req.url !== '/stream') { res.end('ok'); return; }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.write(Buffer.alloc(1024, 's'));
      res.once('close', () => backendSawClose.resolve());
    });
    const o = await outrigger(['--health-path', '/health', '--health-duration', '1h', '--log', b.url]);
    const c = await rawClient(o.port);
    c.write('GET /stream HTTP/1.1\r\nHost: h\r\n\r\n');
    await c.until(() => c.received.includes('ssss'), 10_000, 'the first body bytes');
    leave(c);
    await within(backendSawClose.promise, 10_000, 'the backend to see its response abandoned');
    assert.equal((await exchange(`${o.base}/next`)).status, 200);
    assert.doesNotMatch(o.stdout, /is down/, 'the client\'s own cancellation does not count against the backend');
  });
}

test('a backend that refuses an upload before reading it: the client gets that answer', LIMIT, async () => {
  // Answers as soon as the head is in, then drains the body it will not use (as Go and Node servers
  // do: closing at once on unread data would reset the connection and could destroy the answer
  // before anyone read it, which no proxy can help).
  const b = await backendOf('early-403', (req, res) => {
    res.writeHead(403, { 'Content-Type': 'application/xml' });
    res.end('<Error><Code>AccessDenied</Code></Error>');
    req.resume();
  });
  const o = await outrigger(['--health-path', '/health', b.url]);
  const body = randomBytes(16 * 1024 * 1024);
  const r = await exchange(`${o.base}/bucket/object`, { method: 'PUT', headers: { 'Content-Length': body.length } }, body);
  assert.equal(r.status, 403, `got ${r.status} ${String(r.error)}`);
  assert.equal(r.body.toString(), '<Error><Code>AccessDenied</Code></Error>');
  assert.equal((await exchange(`${o.base}/next`)).status, 403);
});

// ---------------------------------------------------------------------------------------------
// Retries with request bodies.

test('a POST whose first backend refuses connections reaches a live one with its body intact', LIMIT, async () => {
  const uploads: { sha: string; xff: string[] }[] = [];
  const hashing = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      uploads.push({ sha: sha256(Buffer.concat(chunks)), xff: all(pairsOf(req.rawHeaders), 'x-forwarded-for') });
      res.end('stored');
    });
  };
  const dead = await backendOf('dead', hashing);
  const live = await backendOf('live', hashing);
  const o = await outrigger(['--health-path', '/health', '--health-duration', '1h', '--log', `${dead.url},${live.url}`]);
  await o.output(new RegExp(`${dead.url} is up[\\s\\S]*${live.url} is up|${live.url} is up[\\s\\S]*${dead.url} is up`));
  await dead.kill();
  // Either backend may be picked first; once the dead one has been tried it is marked down.
  for (let i = 0; i < 40 && !o.stdout.includes(`${dead.url} is down`); i++) {
    const body = randomBytes(1024 * 1024);
    const r = await exchange(`${o.base}/upload-${i}`, { method: 'POST', headers: { 'Content-Length': body.length } }, body);
    assert.equal(r.error, undefined);
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.body.toString(), 'stored');
    assert.deepEqual(uploads[uploads.length - 1], { sha: sha256(body), xff: ['127.0.0.1'] });
  }
  await o.output(new RegExp(`${dead.url} is down: ECONNREFUSED`));
  assert.equal(dead.hits, 0);
});

test('a POST whose backend resets in the middle of the body is not retried', LIMIT, async () => {
  const resetter = await backendOf('mid-body', (req) => req.once('data', () => req.socket.resetAndDestroy()));
  const good = await backendOf('good');
  const o = await outrigger(['--health-path', '/health', '--health-duration', '1h', resetter.url, good.url]);
  const body = randomBytes(8 * 1024 * 1024);
  const r = await exchange(`${o.base}/upload`, { method: 'POST', headers: { 'Content-Length': body.length } }, body);
  assert.ok(r.error !== undefined || r.status === 502 || !r.complete, `got ${r.status} ${r.body.toString()}`);
  assert.notEqual(r.status, 200);
  assert.equal(resetter.hits, 1);
  assert.equal(good.hits, 0, 'the half-sent body was not sent again elsewhere');
});

test('a bodiless POST (CreateMultipartUpload) whose backend resets after reading the head: 502, one backend reached', LIMIT, async () => {
  // RFC 9112 §9.3.1: the backend may have acted on the head, so a retry could create two uploads.
  const resetter = await backendOf('resetter', (req) => req.socket.resetAndDestroy());
  const good = await backendOf('good');
  // Two sites: the first attempt always goes to the resetter; a retry would reach the good one.
  const o = await outrigger(['--health-path', '/health', '--health-duration', '1h', resetter.url, good.url]);
  const r = await exchange(`${o.base}/bucket/key?uploads`, { method: 'POST' });
  assert.equal(r.status, 502, r.body.toString());
  assert.match(r.body.toString(), /<Code>BadGateway<\/Code>.*<Resource>\/bucket\/key<\/Resource>/);
  assert.equal(resetter.hits, 1);
  assert.equal(good.hits, 0, 'the POST was not sent a second time');
});

function pairsOf(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}
