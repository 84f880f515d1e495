/**
 * A request body that stops moving is cut after --read-timeout (issue 7): before, the response
 * clock only started once the whole request was sent, so a stalled upload held a client
 * connection and a backend connection for good. A client that stops sending gets 408; a backend
 * that stops reading the body gets 504.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Fixtures } from './support/fixtures.js';
import { listenLoopback } from './support/cleanup.js';

const fx = new Fixtures();
const LIMIT = { timeout: 30_000 };

test('a client that stops sending its body gets 408 after --read-timeout, and the backend sees the request cut', LIMIT, async () => {
  let backendEnded = false;
  let backendAborted = false;
  const backend = await fx.backendOf('b1', (req, res) => {
    req.resume();
    if (req.url !== '/bucket/object') return void req.once('end', () => res.end('ok')); // health probes
    req.once('end', () => { backendEnded = true; res.end('stored'); });
    req.socket.once('close', () => { if (!backendEnded) backendAborted = true; });
  });
  const o = await fx.outrigger(['--read-timeout', '1s', backend.url]);
  const c = await fx.rawClient(o.port);
  c.write('PUT /bucket/object HTTP/1.1\r\nHost: s3.test\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(10));
  const started = Date.now();
  await c.waitClosed(20_000);
  const r = await c.readResponse();
  assert.equal(r.status, 408, c.text());
  assert.match(r.body.toString(), /request body stalled/);
  assert.ok(Date.now() - started >= 900, 'not before the timeout');
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const poll = (): void => {
      if (backendAborted) return resolve();
      if (Date.now() > deadline) return reject(new Error('the backend never saw its request cut'));
      setTimeout(poll, 20);
    };
    poll();
  });
  assert.equal(backendEnded, false, 'the backend never got a whole body');
});

test('a body that keeps moving, however slowly, is not cut', LIMIT, async () => {
  const backend = await fx.backendOf('b1', (req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => { n += d.length; });
    req.once('end', () => res.end(`got ${n}`));
  });
  const o = await fx.outrigger(['--read-timeout', '2s', backend.url]);
  const c = await fx.rawClient(o.port);
  c.write('PUT /slow HTTP/1.1\r\nHost: s3.test\r\nContent-Length: 7\r\n\r\n');
  // Seven bytes over ~2.8 s: longer than the timeout in all, never idle for as long as it (the
  // gaps are 400 ms, so a loaded machine may stretch one by 1.6 s before the test is wrong).
  for (let i = 0; i < 7; i++) {
    await new Promise((r) => setTimeout(r, 400));
    c.write('y');
  }
  const r = await c.readResponse();
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'got 7');
});

test('a backend that stops reading the request body gets the request answered 504', LIMIT, async () => {
  // Health probes are answered; an upload's first bytes are read, then nothing more: it backs up to us.
  const stuck = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', (d: Buffer) => {
      if (d.toString('latin1').startsWith('PUT ')) s.pause();
      else s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    });
  });
  const sockets = new Set<net.Socket>();
  stuck.on('connection', (s) => { sockets.add(s); });
  const port = await listenLoopback(stuck);
  fx.add(() => new Promise((r) => { for (const s of sockets) s.destroy(); stuck.close(r); }));
  const o = await fx.outrigger(['--read-timeout', '1s', `http://127.0.0.1:${port}`]);
  const c = await fx.rawClient(o.port);
  c.socket.on('error', () => {});
  const size = 64 * 1024 * 1024;
  c.write(`PUT /big HTTP/1.1\r\nHost: s3.test\r\nContent-Length: ${size}\r\n\r\n`);
  const chunk = Buffer.alloc(1024 * 1024, 0x7a);
  // Write while the proxy takes it (socket backpressure), until the answer comes.
  let sent = 0;
  const pump = (): void => {
    while (sent < size && !c.closed && c.received.length === 0) {
      sent += chunk.length;
      if (!c.socket.write(chunk)) return void c.socket.once('drain', pump);
    }
  };
  pump();
  await c.until(() => /\r\n\r\n/.test(c.text()), 20_000, 'an answer');
  assert.match(c.text(), /^HTTP\/1\.1 504 /);
  assert.match(c.text(), /took no request body bytes/);
  assert.ok(sent < size, 'answered before the whole body was sent');
});
