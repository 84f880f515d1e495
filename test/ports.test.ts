/**
 * What arrives on the wrong port or in the other protocol (issue 13.13): plain HTTP sent to the
 * TLS port gets a 400 that says the port speaks TLS (it got an empty reply), and HTTP/2 with prior
 * knowledge (h2c, what gRPC clients and `h2load http://` send) is served on the plain port through
 * the same forwarding core.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { Fixtures } from './support/fixtures.js';
import { Outrigger } from './support/outrigger.js';
import { closeSession } from './support/h2-session.js';

const LIMIT = { timeout: 60_000 };
const fx = new Fixtures();

test('plain HTTP on the TLS port: 400 saying the port speaks TLS; TLS clients are still served', LIMIT, async () => {
  const b = await fx.backendOf('b');
  const o = new Outrigger(['--health-path', '/health', '--auto-tls-host', '127.0.0.1', b.url]);
  fx.track(o);
  await o.ready(30_000);
  const answer = await new Promise<string>((resolve, reject) => {
    const s = net.connect(o.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    let got = '';
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    s.once('end', () => resolve(got));
    s.once('error', reject);
  });
  assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(answer, /This port speaks TLS: use https:\/\//);
  const session = http2.connect(`https://127.0.0.1:${o.port}`, { rejectUnauthorized: false });
  fx.add(() => closeSession(session));
  const status = await new Promise<number>((resolve, reject) => {
    const r = session.request({ ':path': '/x' });
    r.once('response', (h) => resolve(Number(h[':status'])));
    r.once('error', reject);
    r.resume();
  });
  assert.equal(status, 200);
});

test('HTTP/2 with prior knowledge (h2c) on the plain port goes through the forwarding core', LIMIT, async () => {
  const seen: string[] = [];
  const b = await fx.backendOf('b', (req, res) => {
    seen.push(`${req.method} ${req.url} ${String(req.headers['x-forwarded-proto'])} ${String(req.headers.host)}`);
    req.resume();
    req.once('end', () => res.end('via h2c'));
  });
  const o = await fx.outrigger(['--health-path', '/health', b.url]);
  const session = http2.connect(`http://127.0.0.1:${o.port}`);
  fx.add(() => closeSession(session));
  const call = (path: string, body?: string): Promise<{ status: number; text: string }> => new Promise((resolve, reject) => {
    const r = session.request({ ':path': path, ':method': body === undefined ? 'GET' : 'POST' }, { endStream: body === undefined });
    let status = 0;
    let text = '';
    r.once('response', (h) => { status = Number(h[':status']); });
    r.on('data', (d: Buffer) => { text += d.toString(); });
    r.once('end', () => resolve({ status, text }));
    r.once('error', reject);
    if (body !== undefined) r.end(body);
  });
  assert.deepEqual(await call('/a?q=1'), { status: 200, text: 'via h2c' });
  assert.deepEqual(await call('/upload', 'x'.repeat(70_000)), { status: 200, text: 'via h2c' });
  assert.deepEqual(seen, [`GET /a?q=1 http 127.0.0.1:${o.port}`, `POST /upload http 127.0.0.1:${o.port}`]);
  // HTTP/1.1 on the same port still works.
  const plain = await fetch(`${o.base}/b`);
  assert.equal(await plain.text(), 'via h2c');
});
