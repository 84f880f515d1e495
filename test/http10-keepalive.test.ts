/**
 * HTTP/1.0 clients that ask for keep-alive (`ab -k`, issue 13 item 12): the connection stays open
 * when the response can be framed for them (a Content-Length, or no body), and is closed when
 * only the close could end the body. Judged on raw bytes, both sides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { Fixtures } from './support/fixtures.js';
import { one } from './support/wire.js';

const fx = new Fixtures();
const LIMIT = { timeout: 30_000 };

/** The backend's view of each request: version, Connection header and which of its sockets carried it. */
interface Seen { url: string; version: string; connection: string | undefined; socketPort: number }

function recording(seen: Seen[]) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    seen.push({ url: req.url ?? '', version: req.httpVersion, connection: req.headers.connection, socketPort: req.socket.remotePort ?? 0 });
    req.resume();
    // With a length: node:http (like nginx and Go) then keeps an HTTP/1.0 keep-alive connection.
    const body = `hello ${req.url}`;
    req.once('end', () => res.writeHead(200, { 'Content-Length': Buffer.byteLength(body) }).end(body));
  };
}

test('an HTTP/1.0 client asking for keep-alive keeps its connection when the length is known, and so does the proxy upstream', LIMIT, async () => {
  const seen: Seen[] = [];
  const backend = await fx.backendOf('b1', recording(seen));
  const o = await fx.outrigger([backend.url]);
  const c = await fx.rawClient(o.port);
  for (const path of ['/one', '/two', '/three']) {
    c.write(`GET ${path} HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\n`);
    const r = await c.readResponse();
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), `hello ${path}`);
    assert.equal(one(r.headers, 'connection'), 'keep-alive');
    assert.equal(one(r.headers, 'content-length'), String(`hello ${path}`.length));
    assert.equal(one(r.headers, 'transfer-encoding'), undefined);
  }
  assert.equal(c.closed, false, 'the client connection is still open');
  // Upstream the request stays HTTP/1.0 (no chunked answer can come back) and asks to keep our connection.
  const proxied = seen.filter((s) => s.url !== '/'); // not the health probes
  assert.deepEqual(proxied.map((s) => [s.url, s.version, s.connection]), [['/one', '1.0', 'keep-alive'], ['/two', '1.0', 'keep-alive'], ['/three', '1.0', 'keep-alive']]);
  assert.equal(new Set(proxied.map((s) => s.socketPort)).size, 1, 'one upstream connection carried all three');
});

test('an HTTP/1.0 keep-alive client gets Connection: close when only the close can end the body', LIMIT, async () => {
  const backend = await fx.rawBackendOf('close-delimited', (_req, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'));
  const o = await fx.outrigger([backend.url]);
  const c = await fx.rawClient(o.port);
  c.write('GET /x HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\n');
  await c.waitClosed();
  const r = await c.readResponse();
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'until the end');
  assert.equal(one(r.headers, 'connection'), 'close');
});

test('an HTTP/1.0 keep-alive client is closed after a chunked answer it cannot frame (a backend breaking HTTP/1.0 rules)', LIMIT, async () => {
  const backend = await fx.rawBackendOf('chunked', (_req, socket) => socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'));
  const o = await fx.outrigger([backend.url]);
  const c = await fx.rawClient(o.port);
  c.write('GET /x HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\n');
  await c.waitClosed();
  assert.match(c.text(), /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(c.text(), /\r\nConnection: close\r\n/);
});

test('an HTTP/1.0 client without keep-alive is answered and closed, as before', LIMIT, async () => {
  const seen: Seen[] = [];
  const backend = await fx.backendOf('b1', recording(seen));
  const o = await fx.outrigger([backend.url]);
  const c = await fx.rawClient(o.port);
  c.write('GET /once HTTP/1.0\r\nHost: a.test\r\n\r\n');
  await c.waitClosed();
  const r = await c.readResponse();
  assert.equal(r.body.toString(), 'hello /once');
  assert.equal(one(r.headers, 'connection'), 'close');
});

test('an answer made by the proxy itself keeps an HTTP/1.0 keep-alive connection too', LIMIT, async () => {
  const backend = await fx.backendOf('b1');
  const o = await fx.outrigger([backend.url]);
  const c = await fx.rawClient(o.port);
  for (let i = 0; i < 2; i++) {
    c.write('GET /.prometheus/metrics HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\n');
    const r = await c.readResponse();
    assert.equal(r.status, 200);
    assert.equal(one(r.headers, 'connection'), 'keep-alive');
    assert.ok(one(r.headers, 'content-length') !== undefined);
  }
  assert.equal(c.closed, false);
});
