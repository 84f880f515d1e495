/**
 * Review of the raw forwarding engine: each test pins a bug that was found and fixed.
 * Real CLI, real sockets; waits are event driven or polled with deadlines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RawClient, closedPort } from './support/wire.js';
import { waitFor } from './support/wait.js';
import { Fixtures } from './support/fixtures.js';
import { echoTunnelBackend } from './support/tunnel-backend.js';

const LIMIT = { timeout: 30_000 };
const cleanup = new Fixtures();
const { outrigger, rawBackendOf, rawClient } = cleanup;

test('a request rejected with 400 whose client sends more bytes and leaves does not keep its connection open', LIMIT, async () => {
  const backend = await rawBackendOf('b', (req, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const o = await outrigger(['--health-path', '/health', '--shutdown-timeout', '3s', backend.url]);
  const c = await rawClient(o.port);
  c.write('GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
  const r = await c.readResponse();
  assert.equal(r.status, 400);
  // More bytes after the rejected head (a body the proxy will never read), then the client leaves.
  c.write('some body bytes the proxy does not read');
  await c.waitClosed();
  c.destroy();
  o.signal('SIGTERM');
  assert.equal(await o.exit(), 0);
  assert.doesNotMatch(o.stdout, /closed \d+ connections still open/);
});

test('the body of a request answered locally is never parsed as a request of its own', LIMIT, async () => {
  const backend = await rawBackendOf('b', (req, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const o = await outrigger(['--health-path', '/health', backend.url]);
  // One pooled connection to the backend, so a forwarded request is written at once.
  const p = await rawClient(o.port);
  p.write('GET /prime HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal((await p.readResponse()).status, 200);
  // A client that keeps writing after the proxy's FIN, so the body arrives in a read of its own.
  const s = net.connect({ port: o.port, host: '127.0.0.1', allowHalfOpen: true });
  cleanup.push(async () => s.destroy());
  let received = '';
  s.setEncoding('latin1').on('data', (d: string) => { received += d; });
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
  s.write(`POST /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\n\r\n`);
  await waitFor(() => /\r\n\r\nOK\n$/.test(received), 20_000, 'the local answer');
  s.write(smuggled);
  // Sent after the body, on a connection of its own (the pooled one would be taken by a
  // smuggled request first): once it is answered, a smuggled request would have arrived.
  const d = await rawClient(o.port);
  d.write('GET /after HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal((await d.readResponse()).status, 200);
  assert.deepEqual(backend.requests.map((q) => q.target), ['/prime', '/after']);
});

test('a burst of pipelined requests answered 502 at once (every backend down) is answered, not a stack overflow', LIMIT, async () => {
  const o = await outrigger(['--health-path', '/health', `http://127.0.0.1:${await closedPort()}`]);
  await waitFor(async () => {
    const c = await RawClient.connect(o.port);
    c.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.readResponse();
    c.destroy();
    return r.status === 502;
  }, 10_000, 'the backend to be known down');
  const c = await rawClient(o.port);
  const N = 20_000;
  c.write('GET /x HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(N));
  for (let i = 0; i < N; i++) {
    const r = await c.readResponse().catch((e: Error) => { throw new Error(`response ${i}: ${e.message.slice(0, 300)}\nstderr: ${o.stderr.slice(0, 2000)}`); });
    assert.equal(r.status, 502);
  }
  assert.equal(o.proc.exitCode, null, o.stderr);
});

test('an upgraded connection reads on after more than 64 KiB sent right behind the handshake', LIMIT, async () => {
  const backend = await echoTunnelBackend(cleanup);
  const o = await outrigger(['--health-path', '/health', backend]);
  const c = await rawClient(o.port);
  const payload = Buffer.alloc(300 * 1024, 'e');
  c.write(Buffer.concat([Buffer.from('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n'), payload]));
  await c.until(() => c.received.indexOf('\r\n\r\n') >= 0, 20_000, 'the 101');
  const bodyStart = c.received.indexOf('\r\n\r\n') + 4;
  assert.match(c.received.subarray(0, bodyStart).toString('latin1'), /^HTTP\/1\.1 101 /);
  await c.until(() => c.received.length - bodyStart >= payload.length, 10_000, 'every byte echoed through the tunnel');
  assert.ok(c.received.subarray(bodyStart).equals(payload));
});
