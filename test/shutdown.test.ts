/**
 * Shutdown with open tunnels and impatient operators (issue 13.4): a drain closes WebSocket-style
 * tunnels once the HTTP requests in flight have finished, instead of waiting the whole
 * --shutdown-timeout for sockets that never idle; a second SIGTERM/SIGINT exits at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fixtures } from './support/fixtures.js';
import { echoTunnelBackend } from './support/tunnel-backend.js';
import { deferred, within } from './support/flow.js';
import type { RawClient } from './support/wire.js';

const LIMIT = { timeout: 60_000 };
const fx = new Fixtures();

/** A tunnel backend that also answers GET /slow, once released. */
function tunnelBackend(release: Promise<void>, slowArrived: () => void): Promise<string> {
  return echoTunnelBackend(fx, (line, socket) => {
    if (!line.startsWith('GET /slow ')) return false;
    slowArrived();
    void release.then(() => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndone'));
    return true;
  });
}

async function openTunnel(c: RawClient): Promise<number> {
  c.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
  await c.until(() => c.received.indexOf('\r\n\r\n') >= 0, 10_000, 'the 101');
  assert.match(c.received.toString('latin1'), /^HTTP\/1\.1 101 /);
  return c.received.indexOf('\r\n\r\n') + 4;
}

test('SIGTERM: an idle tunnel is closed once the HTTP request in flight has finished, then the process exits 0', LIMIT, async () => {
  const release = deferred();
  const arrived = deferred();
  const url = await tunnelBackend(release.promise, () => arrived.resolve());
  const o = await fx.outrigger(['--health-path', '/health', '--shutdown-timeout', '120s', url]);
  const tunnel = await fx.rawClient(o.port);
  const start = await openTunnel(tunnel);
  const http = await fx.rawClient(o.port);
  http.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await within(arrived.promise, 10_000, 'the slow request to reach the backend');
  o.signal('SIGTERM');
  await o.output(/SIGTERM: draining/);
  // The tunnel still works while an HTTP request is in flight.
  tunnel.write('ping');
  await tunnel.until(() => tunnel.received.subarray(start).toString() === 'ping', 10_000, 'the echo through the tunnel');
  release.resolve();
  const r = await http.readResponse();
  assert.equal(r.body.toString(), 'done');
  // Then the tunnel is closed at once, not after the 120 s shutdown timeout.
  await tunnel.waitClosed(20_000);
  assert.equal(await within(o.exit(), 20_000, 'the process to exit'), 0);
  assert.doesNotMatch(o.stdout, /shutdown timeout: closed/);
});

test('a second SIGTERM exits at once, without waiting for the drain', LIMIT, async () => {
  const arrived = deferred();
  const url = await tunnelBackend(new Promise<void>(() => {}), () => arrived.resolve());
  const o = await fx.outrigger(['--health-path', '/health', '--shutdown-timeout', '120s', url]);
  const http = await fx.rawClient(o.port);
  http.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await within(arrived.promise, 10_000, 'the slow request to reach the backend');
  o.signal('SIGTERM');
  await o.output(/SIGTERM: draining/);
  o.signal('SIGTERM');
  const code = await within(o.exit(), 20_000, 'the process to exit on the second signal');
  assert.notEqual(code, null);
  assert.match(o.stdout, /SIGTERM during drain: exiting now/);
});
