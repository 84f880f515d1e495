import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { TestDnsServer } from './support/dns-server.js';
import { startBackends, TestBackend, type Handler } from './support/backends.js';
import { startOutrigger } from './support/outrigger.js';
import { request } from './support/client.js';
import { waitFor } from './support/wait.js';
import { Cleanup, listenLoopback } from './support/cleanup.js';

const cleanup = new Cleanup();

async function backendOf(base: string, key: string): Promise<string> {
  const r = await request(`${base}/obj`, { headers: { 'X-Key': key } });
  assert.equal(r.status, 200);
  return r.text;
}

/** Which backend answers each key, asking 16 at a time. */
async function owners(base: string, keys: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const k = keys[next++]!;
      out.set(k, await backendOf(base, k));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return out;
}

test('--host-balance hash: keys stick to a backend, and when 1 of 4 leaves only its keys move (1/N, within 4 sd)', async (t) => {
  const backends = await startBackends(4);
  const o = await startOutrigger(['--health-path', '/health', '--health-duration', '0.1', '--log', '--host-balance', 'hash',
    '--hash-key', 'header:X-Key', backends.map((b) => b.url).join(',')]);
  cleanup.track(o, ...backends);
  const keys = Array.from({ length: 2000 }, (_, i) => `key-${i}`);
  const before = await owners(o.base, keys);
  const again = await owners(o.base, keys);
  for (const k of keys) assert.equal(again.get(k), before.get(k), `${k} moved without a change`);
  assert.equal(new Set(before.values()).size, 4, 'keys spread over every backend');

  const gone = backends[1]!;
  await gone.kill();
  await o.output(new RegExp(`${gone.url} is down`));
  const after = await owners(o.base, keys);
  let moved = 0;
  let movedFromStaying = 0;
  for (const k of keys) {
    const now = after.get(k)!;
    assert.notEqual(now, gone.name);
    if (now !== before.get(k)) moved++;
    if (now !== before.get(k) && before.get(k) !== gone.name) movedFromStaying++;
  }
  const own = [...before.values()].filter((b) => b === gone.name).length;
  t.diagnostic(`the leaver held ${own} keys; ${moved} of ${keys.length} moved, ${movedFromStaying} of them from staying backends`);
  // The leaver held Binomial(2000, 1/4) keys: sd 19.4, so 500 ± 80 is beyond 4 sd.
  assert.ok(Math.abs(own - 500) <= 80, `the backend that left held ${own} of 2000 keys`);
  assert.ok(moved >= own, 'every key of the backend that left moved');
  // Maglev rebalances a few keys of the staying backends (README: 25.1% moved for N = 4); 1% is 20 keys.
  assert.ok(movedFromStaying <= keys.length * 0.01, `${movedFromStaying} keys of staying backends moved`);
  assert.ok(Math.abs(moved / keys.length - 0.25) <= 0.05, `moved ${moved} of ${keys.length} (1/N = 500)`);
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

/** The README's sharding example: its outrigger command and curl lines, continuation lines joined. */
function readmeExample(): { outrigger: string[]; curls: string[][] } {
  const readme = fs.readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const block = /Sharding example:[^]*?```sh\n([^]*?)```/.exec(readme)?.[1];
  assert.ok(block !== undefined, 'README has the sharding example');
  const lines = block.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l !== '');
  const words = (line: string): string[] => [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  return { outrigger: words(lines[0]!), curls: lines.slice(1).map(words) };
}

/** A key-value shard as the README describes it: GET /health answers 200, PUT stores, GET returns. */
function kvShard(name: string): http.Server {
  const store = new Map<string, Buffer>();
  return http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const value = store.get(req.url!);
      if (req.url === '/health') res.end('ok');
      else if (req.method === 'PUT') res.writeHead(201, { 'X-Shard': name }).end(void store.set(req.url!, Buffer.concat(parts)));
      else if (value === undefined) res.writeHead(404, { 'X-Shard': name }).end('no such key');
      else res.writeHead(200, { 'X-Shard': name }).end(value);
    });
  });
}

function listenOn(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as import('node:net').AddressInfo).port);
    });
  });
}

/** Four shards on 127.0.0.2-5 (all loopback on Linux) on one port, as kv-{1...4}.internal:8080 share one. */
async function fourShards(): Promise<number> {
  for (let tries = 0; tries < 20; tries++) {
    const servers = [1, 2, 3, 4].map((i) => kvShard(`kv-${i}`));
    cleanup.add(async () => { for (const s of servers) { s.closeAllConnections(); s.close(); } });
    const port = await listenOn(servers[0]!, '127.0.0.2', 0);
    try {
      for (let i = 1; i < 4; i++) await listenOn(servers[i]!, `127.0.0.${i + 2}`, port);
      return port;
    } catch {
      // That port is taken on one of the other addresses: try another.
    }
  }
  throw new Error('no port free on 127.0.0.2 to 127.0.0.5');
}

test('the README sharding example works as written: four key-value shards behind localhost, each key on its one shard', async () => {
  const { outrigger, curls } = readmeExample();
  assert.equal(outrigger[0], 'outrigger');
  const dns = await TestDnsServer.start();
  cleanup.add(() => dns.close());
  for (let i = 1; i <= 4; i++) dns.set(`kv-${i}.internal`, [`127.0.0.${i + 1}`]);
  const port = await fourShards();
  // Only the ports change (the test's own) and the names are resolved by the test's DNS server.
  const args = outrigger.slice(1).map((a) => a.replace('127.0.0.1:6380', '127.0.0.1:0').replace(':8080', `:${port}`));
  const o = await startOutrigger([...args, '--dns-server', dns.address]);
  cleanup.track(o);
  const shardOf = new Map<string, string>();
  for (const curl of curls) {
    const url = new URL(curl.at(-1)!.replace('127.0.0.1:6380', `127.0.0.1:${o.port}`));
    const method = curl.includes('-X') ? curl[curl.indexOf('-X') + 1]! : 'GET';
    const body = curl.includes('--data') ? curl[curl.indexOf('--data') + 1]! : undefined;
    const r = await request(url.href, { method, body });
    assert.equal(r.status, method === 'PUT' ? 201 : 200, `${method} ${url.pathname}: ${r.text}`);
    if (method === 'GET') assert.equal(r.text, 'Ada', 'read back from the shard it was stored on');
    const seen = shardOf.get(url.pathname);
    assert.ok(seen === undefined || seen === r.headers['x-shard'], 'the same shard every time');
    shardOf.set(url.pathname, String(r.headers['x-shard']));
  }
  // And beyond the two lines: 200 keys stored and read back, spread over all four shards.
  for (let k = 0; k < 200; k++) assert.equal((await request(`${o.base}/k/${k}`, { method: 'PUT', body: `v${k}` })).status, 201);
  const shards = new Set<string>();
  for (let k = 0; k < 200; k++) {
    const r = await request(`${o.base}/k/${k}`);
    assert.equal(r.text, `v${k}`, `key ${k}`);
    shards.add(String(r.headers['x-shard']));
  }
  assert.equal(shards.size, 4);
});
