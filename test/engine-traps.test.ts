/**
 * The correctness traps of a forwarding engine that pools connections and relays bytes: stale
 * pooled sockets, connections that must not go back to the pool, framing the proxy must keep,
 * and clients that read slowly or half-close. 
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { TestBackend } from './support/backends.js';
import { startOutrigger, type Outrigger } from './support/outrigger.js';
import { RawBackend, RawClient, one, type RawHandler } from './support/wire.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => { await Promise.all(cleanup.map((f) => f())); });

async function outrigger(url: string): Promise<Outrigger> {
  const o = await startOutrigger(['--health-path', '/health', url]);
  cleanup.push(() => o.stop());
  return o;
}

/** A raw backend that also counts the connections opened to it (health checks included). */
async function counted(handler: RawHandler): Promise<{ backend: RawBackend; connections: () => number }> {
  const backend = await new RawBackend('raw', handler).listen();
  let n = 0;
  backend.server.on('connection', () => { n++; });
  cleanup.push(() => backend.close());
  return { backend, connections: () => n };
}

function ok(socket: net.Socket, body: string, extra = ''): void {
  socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`);
}

test('a pooled connection the backend closed just as it was reused costs the client nothing', async () => {
  // The backend answers the first request on each connection and silently drops the connection
  // when a second one arrives on it: the keep-alive race, made deterministic.
  const served = new WeakMap<net.Socket, number>();
  const { backend } = await counted((req, socket) => {
    const n = (served.get(socket) ?? 0) + 1;
    served.set(socket, n);
    if (n === 1) ok(socket, `answer to ${req.target}`);
    else socket.destroy();
  });
  const o = await outrigger(backend.url);
  for (let i = 0; i < 5; i++) {
    const r = await request(`${o.base}/r${i}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, `answer to /r${i}`);
  }
  // The backend stays in rotation: a stale socket says nothing about its health.
  assert.equal((await request(`${o.base}/v1/health`)).status, 200);
});

test('a response with Connection: close is relayed whole and its connection is not reused', async () => {
  const { backend, connections } = await counted((req, socket) => {
    socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`);
  });
  const o = await outrigger(backend.url);
  const before = connections();
  for (let i = 0; i < 3; i++) assert.equal((await request(`${o.base}/c`)).text, 'hello');
  assert.equal(connections() - before, 3, 'one connection per request');
});

test('a close-delimited response body arrives whole and the client connection then closes', async () => {
  const body = 'x'.repeat(200_000);
  const { backend } = await counted((req, socket) => {
    socket.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n${body}`);
  });
  const o = await outrigger(backend.url);
  const c = await RawClient.connect(o.port);
  cleanup.push(async () => c.destroy());
  c.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
  await c.waitClosed();
  const text = c.text();
  assert.match(text, /^HTTP\/1\.1 200/);
  assert.equal(text.slice(text.indexOf('\r\n\r\n') + 4), body);
});

test('bytes past Content-Length from a backend are never taken as the next response', async () => {
  const { backend, connections } = await counted((req, socket) => {
    socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED`);
  });
  const o = await outrigger(backend.url);
  const before = connections();
  assert.equal((await request(`${o.base}/a`)).text, 'ok');
  assert.equal((await request(`${o.base}/b`)).text, 'ok');
  assert.equal(connections() - before, 2, 'the connection with stray bytes was closed, not pooled');
});

test('an early answer before the request body was sent: relayed, and that connection is not reused', async () => {
  const { backend, connections } = await counted((req, socket) => {
    if (req.target === '/upload') socket.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\nbig!');
    else ok(socket, 'fine');
  });
  // RawBackend parses whole requests, so it answers once the body has arrived; the proxy still
  // must not reuse a connection whose request body it may not have finished.
  const o = await outrigger(backend.url);
  const r = await request(`${o.base}/upload`, { method: 'POST', body: Buffer.alloc(100_000, 1) });
  assert.equal(r.status, 413);
  assert.equal(r.text, 'big!');
  assert.equal((await request(`${o.base}/next`)).text, 'fine');
  assert.ok(connections() >= 2);
});

test('Transfer-Encoding: gzip, chunked on a request reaches the backend with its coding', async () => {
  const { backend } = await counted((req, socket) => ok(socket, 'got it'));
  const o = await outrigger(backend.url);
  const c = await RawClient.connect(o.port);
  cleanup.push(async () => c.destroy());
  c.write('POST /z HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n');
  const r = await c.readResponse();
  assert.equal(r.status, 200);
  const seen = backend.requests.at(-1)!;
  assert.match(one(seen.headers, 'transfer-encoding') ?? '', /gzip/);
  assert.equal(seen.body.toString(), 'abcd');
});

test('chunk extensions and request trailers pass through with the body intact', async () => {
  const { backend } = await counted((req, socket) => ok(socket, 'done'));
  const o = await outrigger(backend.url);
  const c = await RawClient.connect(o.port);
  cleanup.push(async () => c.destroy());
  c.write('POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n3;name="v a l"\r\nabc\r\n2;x\r\nde\r\n0\r\nX-Checksum: 42\r\n\r\n');
  assert.equal((await c.readResponse()).status, 200);
  const seen = backend.requests.at(-1)!;
  assert.equal(seen.body.toString(), 'abcde');
  assert.equal(one(seen.trailers, 'x-checksum'), '42');
});

test('a client that half-closes after its request still gets the answer', async () => {
  const b = await new TestBackend('b').listen();
  cleanup.push(() => b.close());
  const o = await outrigger(b.url);
  const c = await RawClient.connect(o.port);
  cleanup.push(async () => c.destroy());
  c.socket.end('GET /half HTTP/1.1\r\nHost: x\r\n\r\n');
  const r = await c.readResponse();
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'b');
  await c.waitClosed();
});

test('a client that stops reading a large download holds back the backend instead of growing memory', async () => {
  const chunk = Buffer.alloc(1 << 20, 7);
  let written = 0;
  let blocked = false;
  const b = await new TestBackend('big', (req, res) => {
    res.writeHead(200, { 'Content-Length': String(512 * chunk.length) });
    const pump = (): void => {
      while (written < 512) {
        written++;
        if (!res.write(chunk)) {
          blocked = true;
          res.once('drain', () => { blocked = false; pump(); });
          return;
        }
      }
      res.end();
    };
    pump();
  }).listen();
  cleanup.push(() => b.close());
  const o = await outrigger(b.url);
  const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${o.proc.pid}/status`, 'utf8'))![1]) * 1024;
  const baseline = rss();
  const c = await RawClient.connect(o.port);
  cleanup.push(async () => c.destroy());
  c.socket.pause();
  c.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => blocked, 10_000, 'the backend to be held back');
  const stalledAt = written;
  // With the client not reading, the backend stays blocked far short of the 512 MiB body...
  assert.ok(stalledAt < 256, `backend wrote ${stalledAt} MiB before being held back`);
  assert.ok(rss() - baseline < 128 * 1024 * 1024, `proxy grew by ${(rss() - baseline) >> 20} MiB`);
  // ...and everything arrives once it reads again.
  let received = 0;
  c.socket.removeAllListeners('data');
  c.socket.on('data', (d: Buffer) => { received += d.length; });
  c.socket.resume();
  await waitFor(() => received >= 512 * chunk.length, 30_000, 'the whole body');
});

test('a client that disconnects mid-upload does not take the backend out of rotation', async () => {
  const b = await new TestBackend('b').listen();
  cleanup.push(() => b.close());
  const o = await startOutrigger(['--health-path', '/health', '--log', b.url]);
  cleanup.push(() => o.stop());
  const c = await RawClient.connect(o.port);
  c.write('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n' + 'x'.repeat(1000));
  await waitFor(() => b.hits === 1, 20_000, 'the upload to reach the backend');
  c.destroy();
  for (let i = 0; i < 5; i++) assert.equal((await request(`${o.base}/after`)).status, 200);
  assert.doesNotMatch(o.stdout, /is down/);
});

test('a backend that stops reading an upload holds back the client instead of growing memory', async () => {
  let backendReq: import('node:http').IncomingMessage | null = null;
  let received = 0;
  const b = await new TestBackend('slow-reader', (req, res) => {
    backendReq = req;
    req.pause();
    req.on('data', (d: Buffer) => { received += d.length; });
    req.once('end', () => res.end(String(received)));
  }).listen();
  cleanup.push(() => b.close());
  const o = await outrigger(b.url);
  const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${o.proc.pid}/status`, 'utf8'))![1]) * 1024;
  const baseline = rss();
  const total = 512 * 1024 * 1024;
  const chunk = Buffer.alloc(1 << 20, 3);
  const c = await RawClient.connect(o.port);
  cleanup.push(async () => c.destroy());
  c.write(`PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
  let written = 0;
  let blocked = false;
  const pump = (): void => {
    while (written < total) {
      written += chunk.length;
      if (!c.socket.write(chunk)) {
        blocked = true;
        c.socket.once('drain', () => { blocked = false; pump(); });
        return;
      }
    }
  };
  pump();
  // The client blocks only once every buffer on the way (the proxy's included) is full.
  await waitFor(() => backendReq !== null && blocked, 10_000, 'the client to be held back');
  assert.ok(written < total / 2, `client wrote ${written >> 20} MiB while the backend read nothing`);
  assert.ok(rss() - baseline < 128 * 1024 * 1024, `proxy grew by ${(rss() - baseline) >> 20} MiB`);
  backendReq!.resume();
  const r = await c.readResponse({ timeoutMs: 60_000 });
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), String(total));
});

test('an upload does not go onto a pooled connection idle long enough for the backend to be closing it', async () => {
  // As in the keep-alive race above: the backend drops a connection when a second request arrives on it.
  const served = new WeakMap<net.Socket, number>();
  const { backend } = await counted((req, socket) => {
    const n = (served.get(socket) ?? 0) + 1;
    served.set(socket, n);
    if (n === 1) ok(socket, `got ${req.body.length} bytes`);
    else socket.destroy();
  });
  const o = await outrigger(backend.url);
  assert.equal((await request(`${o.base}/first`)).status, 200);
  // Idle longer than the 1 s the engine allows before it trusts a pooled connection with a body.
  await new Promise((r) => setTimeout(r, 1_200));
  const r = await request(`${o.base}/upload`, { method: 'POST', body: Buffer.alloc(1000, 1) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, 'got 1000 bytes');
});
