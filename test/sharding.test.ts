import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackends, TestBackend, type Handler } from './support/backends.js';
import { startOutrigger } from './support/outrigger.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Cleanup } from './support/cleanup.js';

const cleanup = new Cleanup();

async function backendOf(base: string, key: string): Promise<string> {
  const r = await request(`${base}/obj`, { headers: { 'X-Key': key } });
  assert.equal(r.status, 200);
  return r.text;
}

test('--host-balance hash: keys stick to a backend, and when 1 of 4 leaves only about 1/4 of them move', async () => {
  const backends = await startBackends(4);
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '0.1', '--log', '--host-balance', 'hash',
    '--hash-key', 'header:X-Key', backends.map((b) => b.url).join(',')]);
  cleanup.track(o, ...backends);
  const keys = Array.from({ length: 400 }, (_, i) => `key-${i}`);
  const before = new Map<string, string>();
  for (const k of keys) before.set(k, await backendOf(o.base, k));
  for (const k of keys.slice(0, 100)) assert.equal(await backendOf(o.base, k), before.get(k), `${k} moved without a change`);
  assert.equal(new Set(before.values()).size, 4, 'keys spread over every backend');

  const gone = backends[1]!;
  await gone.kill();
  await o.output(new RegExp(`${gone.url} is down`));
  let moved = 0;
  let movedFromStaying = 0;
  for (const k of keys) {
    const now = await backendOf(o.base, k);
    if (now !== before.get(k)) moved++;
    if (now !== before.get(k) && before.get(k) !== gone.name) movedFromStaying++;
    assert.notEqual(now, gone.name);
  }
  const own = [...before.values()].filter((b) => b === gone.name).length;
  assert.ok(moved >= own, 'every key of the backend that left moved');
  assert.ok(movedFromStaying <= keys.length * 0.03, `${movedFromStaying} keys of staying backends moved`);
  assert.ok(moved / keys.length > 0.15 && moved / keys.length < 0.35, `moved ${moved} of ${keys.length} (1/N = 100)`);
});

test('--hash-balance-factor: a hot key never puts more than ceil(c × average) in flight on one backend', async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  const pending = new Map<string, number>();
  const peak = new Map<string, number>();
  const hold: Handler = (req, res, b) => {
    req.resume();
    pending.set(b.name, (pending.get(b.name) ?? 0) + 1);
    peak.set(b.name, Math.max(peak.get(b.name) ?? 0, pending.get(b.name)!));
    void released.then(() => {
      pending.set(b.name, pending.get(b.name)! - 1);
      res.writeHead(200, { 'X-Backend': b.name }).end(b.name);
    });
  };
  const backends = await startBackends(4, 'h', hold);
  const o = await startOutrigger(['--health-path', '/health', '--host-balance', 'hash', '--hash-key', 'header:X-Key',
    '--hash-balance-factor', '1.25', backends.map((b) => b.url).join(',')]);
  cleanup.track(o, ...backends);
  const total = 20;
  const replies = Array.from({ length: total }, () => request(`${o.base}/hot`, { headers: { 'X-Key': 'the-hot-key' } }));
  await waitFor(() => [...pending.values()].reduce((a, b) => a + b, 0) === total, 20_000, 'every request at a backend');
  release();
  for (const r of await Promise.all(replies)) assert.equal(r.status, 200);
  const max = Math.max(...peak.values());
  assert.ok(max <= Math.ceil((1.25 * total) / 4), `one backend held ${max} at once: ${JSON.stringify([...peak])}`);
  assert.ok(peak.size >= 3, 'the hot key spilled over to other backends');
});

test('--sticky-cookie pins a client to its backend and fails over to another when that one is down', async () => {
  const backends = await startBackends(3, 's');
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '0.1', '--log', '--sticky-cookie', 'lb',
    backends.map((b) => b.url).join(',')]);
  cleanup.track(o, ...backends);
  const first = await request(`${o.base}/app`);
  const setCookie = String(first.headers['set-cookie']);
  const pin = /^lb=([^;]+); Path=\/; HttpOnly/.exec(setCookie)?.[1];
  assert.ok(pin !== undefined, `Set-Cookie: ${setCookie}`);
  for (let i = 0; i < 20; i++) {
    const r = await request(`${o.base}/app`, { headers: { Cookie: `other=1; lb=${pin}` } });
    assert.equal(r.text, first.text, 'the cookie pins the backend');
    assert.equal(r.headers['set-cookie'], undefined, 'a pinned client is not sent the cookie again');
  }
  const pinned = backends.find((b) => b.name === first.text) as TestBackend;
  await pinned.kill();
  await o.output(new RegExp(`${pinned.url} is down`));
  const moved = await request(`${o.base}/app`, { headers: { Cookie: `lb=${pin}` } });
  assert.equal(moved.status, 200);
  assert.notEqual(moved.text, first.text);
  const repin = /^lb=([^;]+);/.exec(String(moved.headers['set-cookie']))?.[1];
  assert.ok(repin !== undefined && repin !== pin, 'the client is pinned to its new backend');
  for (let i = 0; i < 10; i++) assert.equal((await request(`${o.base}/app`, { headers: { Cookie: `lb=${repin}` } })).text, moved.text);
});
