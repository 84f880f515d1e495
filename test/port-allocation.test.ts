import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startBackends, startConsecutive } from './support/backends.js';
import { request } from './support/client.js';
import { Cleanup } from './support/cleanup.js';
import { listenLoopback } from './support/cleanup.js';

const cleanup = new Cleanup();

test('startConsecutive holds a run of consecutive ports, each answering as its own backend', async () => {
  const backends = await startConsecutive(4, 'c');
  cleanup.track(...backends);
  const first = backends[0]!.port;
  assert.deepEqual(backends.map((b) => b.port), [first, first + 1, first + 2, first + 3]);
  for (const b of backends) assert.equal((await request(`${b.url}/x`)).text, b.name);
});

test('a backend whose port another program took while it was down says so instead of serving that program', async () => {
  const [b] = await startBackends(1);
  await b!.kill();
  const squatter = net.createServer((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsquatter'));
  await listenLoopback(squatter, b!.port);
  cleanup.add(() => new Promise((done) => squatter.close(done)));
  await assert.rejects(b!.restart(), new RegExp(`port ${b!.port} of backend b1 was taken by another program while the backend was down`));
});
