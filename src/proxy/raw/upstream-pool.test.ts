import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { Backend } from '../../upstream/backend.js';
import { UpstreamPool, type UpstreamConnection, type UpstreamOwner } from './upstream-pool.js';

/** An owner that only waits for its connection to be up. */
function connectingOwner(): { owner: UpstreamOwner; connected: Promise<void> } {
  let done!: () => void;
  const connected = new Promise<void>((resolve) => { done = resolve; });
  const owner: UpstreamOwner = {
    onUpstreamConnect: () => done(),
    onUpstreamData: () => true,
    onUpstreamDrain: () => {},
    onUpstreamClose: () => {},
  };
  return { owner, connected };
}

test('idle upstream connections close after idleMs, busy ones stay open', async () => {
  const server = net.createServer();
  const accepted: net.Socket[] = [];
  server.on('connection', (s) => accepted.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const backend = new Backend({ url: `http://127.0.0.1:${port}`, protocol: 'http:', hostname: '127.0.0.1', port, basePath: '' }, 0, {
    insecure: false, healthUrl: `http://127.0.0.1:${port}/`,
  });
  const pool = new UpstreamPool(backend, { idleMs: 100, sweepMs: 25 });
  let busy: UpstreamConnection | null = null;
  try {
    const a = connectingOwner();
    busy = pool.acquire(a.owner);
    const b = connectingOwner();
    const idle = pool.acquire(b.owner);
    await Promise.all([a.connected, b.connected]);
    const releasedAt = performance.now();
    idle.release();
    assert.equal(pool.idleCount, 1);

    // The backend sees the idle connection close, no earlier than idleMs after its release.
    let deadline: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      idle.socket.once('close', () => resolve());
      deadline = setTimeout(() => reject(new Error('idle connection still open after 10 s')), 10_000);
    }).finally(() => clearTimeout(deadline));
    assert.ok(performance.now() - releasedAt >= 100, 'closed before it was idle for idleMs');
    assert.equal(pool.idleCount, 0);
    // The sweep that closed it saw the busy one too, which is older: owned connections are not swept.
    assert.equal(busy.closed, false);
    assert.equal(busy.socket.destroyed, false);
  } finally {
    busy?.destroy();
    pool.closeIdle();
    for (const s of accepted) s.destroy();
    server.close();
    await once(server, 'close');
  }
});
