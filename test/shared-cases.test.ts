/**
 * One case suite, run against an HTTP/1.1 client (plain) and an HTTP/2 client (TLS + ALPN h2):
 * both go through the same forwarding core, so everything that applies to both protocols must
 * behave the same. Where the two paths used to differ (stale pooled connections retried once to
 * the same backend vs up to 3 times to any, and counted as an error in one; removed backends cut
 * in one), the case below pins the one behaviour.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';
import type net from 'node:net';
import { Fixtures } from './support/fixtures.js';
import { PROTOCOLS, ProtocolClient, startFor, type Protocol, type Reply } from './support/protocols.js';
import { deferred, heldAnswer, within } from './support/flow.js';
import { waitFor } from './support/wait.js';
import type { Outrigger } from './support/outrigger.js';
import { TestDnsServer } from './support/dns-server.js';
import { TestBackend, type Handler } from './support/backends.js';

const LIMIT = { timeout: 60_000 };
const fx = new Fixtures();

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

async function proxy(protocol: Protocol, args: string[]): Promise<{ o: Outrigger; client: ProtocolClient }> {
  const o = await startFor(protocol, ['--health-path', '/health', ...args], (started) => fx.track(started));
  const client = ProtocolClient.open(protocol, o);
  fx.add(async () => client.close());
  return { o, client };
}

/** A metric's value for one backend endpoint, read through the same client. */
async function metric(client: ProtocolClient, name: string, endpoint: string): Promise<number> {
  const r = await client.call({ path: '/.prometheus/metrics' });
  const line = r.text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`endpoint="${endpoint}"`));
  assert.ok(line !== undefined, `${name} for ${endpoint} in:\n${r.text.slice(0, 2000)}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Echoes what the backend received as JSON: method, url, headers, body hash, request trailers. */
function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  const hash = createHash('sha256');
  let length = 0;
  req.on('data', (c: Buffer) => { hash.update(c); length += c.length; });
  req.once('end', () => {
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, sha: hash.digest('hex'), length, trailers: req.trailers });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Keep-Alive': 'timeout=30', 'Connection': 'X-Hop', 'X-Hop': 'secret' });
    res.end(body);
  });
}

/** Backend A on 127.0.0.1 and B on 127.0.0.2 (both loopback on Linux), on one port. */
async function pairOnOnePort(handler: Handler): Promise<[TestBackend, TestBackend]> {
  for (let tries = 0; tries < 20; tries++) {
    const a = await fx.backendOf('A', handler);
    const b = new TestBackend('B', handler);
    const ok = await new Promise<boolean>((resolve) => {
      b.server.once('error', () => resolve(false));
      b.server.listen(a.port, '127.0.0.2', () => resolve(true));
    });
    if (ok) {
      b.port = a.port;
      fx.track(b);
      return [a, b];
    }
  }
  throw new Error('no port free on both 127.0.0.1 and 127.0.0.2');
}

function json(r: Reply): Record<string, unknown> & { headers: Record<string, string>; trailers: Record<string, string> } {
  assert.equal(r.status, 200, `${r.status} ${r.text.slice(0, 300)} ${r.error ?? ''}`);
  return JSON.parse(r.text) as ReturnType<typeof json>;
}

for (const protocol of PROTOCOLS) {
  describe(`${protocol} client`, () => {
    test('forwarding headers: X-Forwarded-*, X-Real-IP, Host; hop-by-hop fields dropped both ways', LIMIT, async () => {
      const b = await fx.backendOf('echo', echo);
      const { o, client } = await proxy(protocol, [b.url]);
      const r = await client.call({ path: '/a/b?x=1&y=%2F', headers: { 'x-forwarded-for': '203.0.113.9', 'x-real-ip': '6.6.6.6', 'x-forwarded-host': 'spoofed', 'x-app': 'kept' } });
      const seen = json(r);
      assert.equal(seen['url'], '/a/b?x=1&y=%2F');
      assert.equal(seen.headers['host'], `127.0.0.1:${o.port}`);
      assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
      assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${o.port}`);
      assert.equal(seen.headers['x-forwarded-proto'], protocol === 'h2' ? 'https' : 'http');
      assert.equal(seen.headers['x-real-ip'], '127.0.0.1');
      assert.equal(seen.headers['x-app'], 'kept');
      assert.equal(r.headers['x-proxy'], 'true');
      assert.equal(r.headers['x-hop'], undefined, 'a field the backend named in Connection is dropped');
      assert.equal(r.headers['keep-alive'], undefined);
    });

    test('bodies both ways and trailers both ways', LIMIT, async () => {
      const b = await fx.backendOf('body', (req, res) => {
        if (req.url !== '/download') return echo(req, res);
        req.resume();
        const payload = randomBytes(3 * 1024 * 1024);
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Trailer': 'X-Sum' });
        res.write(payload.subarray(0, 1024 * 1024));
        res.write(payload.subarray(1024 * 1024));
        res.addTrailers({ 'X-Sum': sha(payload) });
        res.end();
      });
      const { client } = await proxy(protocol, [b.url]);
      const upload = randomBytes(2 * 1024 * 1024 + 7);
      const up = json(await client.call({ method: 'PUT', path: '/upload', body: upload }));
      assert.equal(up['sha'], sha(upload));
      assert.equal(up['length'], upload.length);
      // A body with trailers (chunked on HTTP/1.1; DATA then trailing HEADERS on HTTP/2).
      const withTrailers = json(await client.call({ method: 'POST', path: '/t', body: 'abc', trailers: { 'x-checksum': 'c1' } }));
      assert.equal(withTrailers['sha'], sha('abc'));
      assert.equal(withTrailers.trailers['x-checksum'], 'c1');
      const down = await client.call({ path: '/download' });
      assert.equal(down.error, undefined);
      assert.equal(down.body.length, 3 * 1024 * 1024);
      assert.equal(down.trailers['x-sum'], sha(down.body));
    });

    test('retries: a GET whose backend resets goes to another; a bodiless POST is sent once and answered 502', LIMIT, async () => {
      const resetter = await fx.backendOf('resetter', (req) => req.socket.resetAndDestroy());
      const good = await fx.backendOf('good');
      // Two sites: the first attempt always goes to the resetter, a retry fails over.
      const { client } = await proxy(protocol, ['--health-duration', '1h', resetter.url, good.url]);
      const get = await client.call({ path: '/object' });
      assert.equal(get.status, 200);
      assert.equal(get.text, 'good');
      assert.deepEqual([resetter.hits, good.hits], [1, 1]);
      // That reset took the resetter out of rotation: a fresh pair for the POST.
      const r2 = await fx.backendOf('resetter-2', (req) => req.socket.resetAndDestroy());
      const good2 = await fx.backendOf('good-2');
      const second = await proxy(protocol, ['--health-duration', '1h', r2.url, good2.url]);
      const post = await second.client.call({ method: 'POST', path: '/bucket/key?uploads' });
      assert.equal(post.status, 502, post.text);
      assert.match(post.text, /<Code>BadGateway<\/Code>.*<Resource>\/bucket\/key<\/Resource>/);
      assert.deepEqual([r2.hits, good2.hits], [1, 0], 'the POST reached exactly one backend');
    });

    test('a pooled connection the backend closed is retried once on a fresh one, not counted as an error', LIMIT, async () => {
      // Every connection answers its first request, then closes as the next arrives: the
      // keep-alive race. Before the one core, HTTP/2 retried up to 3 times and counted an error.
      const perConnection = new WeakMap<net.Socket, number>();
      const b = await fx.rawBackendOf('idle-closer', (_req, socket) => {
        const n = (perConnection.get(socket) ?? 0) + 1;
        perConnection.set(socket, n);
        if (n === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else socket.end();
      });
      const { o, client } = await proxy(protocol, ['--health-duration', '1h', '--log', b.url]);
      for (let i = 0; i < 5; i++) {
        const r = await client.call({ path: `/again-${i}` });
        assert.equal(r.status, 200, `request ${i}: ${r.text}`);
      }
      assert.equal(b.hits, 9, 'one stale connection per request after the first, each retried once');
      assert.equal(await metric(client, 'sidekick_errors_total', b.url), 0);
      assert.equal(await metric(client, 'sidekick_requests_total', b.url), 9);
      assert.doesNotMatch(o.stdout, /is down/);
    });

    test('failover to the second site, and all down: XML 502 BackendDown', LIMIT, async () => {
      const first = await fx.backendOf('first');
      const second = await fx.backendOf('second');
      const { client } = await proxy(protocol, ['--health-duration', '100ms', first.url, second.url]);
      assert.equal((await client.call({ path: '/x' })).text, 'first');
      first.healthy = false;
      await waitFor(async () => (await client.call({ path: '/x' })).text === 'second', 10_000, 'the second site to serve');
      second.healthy = false;
      await waitFor(async () => (await client.call({ path: '/x' })).status === 502, 10_000, 'all down');
      const r = await client.call({ path: '/bucket/object?versionId=1' });
      assert.equal(r.status, 502);
      assert.equal(r.headers['retry-after'], '120');
      assert.equal(r.text, '<?xml version="1.0" encoding="UTF-8"?><Error><Code>BackendDown</Code><Message>The remote server returned an error (all backend servers are offline)</Message><Resource>/bucket/object</Resource></Error>');
    });

    test('metrics count requests and bytes; a client leaving a stream mid-way leaves nothing in flight', LIMIT, async () => {
      const leftAt = deferred();
      const b = await fx.backendOf('sse', (req, res) => {
        req.resume();
        if (req.url !== '/events') return void res.end('12345');
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write('data: one\n\n');
        res.once('close', () => leftAt.resolve());
      });
      const { client } = await proxy(protocol, ['--health-duration', '1h', b.url]);
      for (let i = 0; i < 3; i++) assert.equal((await client.call({ path: '/n' })).text, '12345');
      assert.equal(await metric(client, 'sidekick_requests_total', b.url), 3);
      assert.equal(await metric(client, 'sidekick_tx_bytes_total', b.url), 15);
      const stream = await client.call({ path: '/events', onResponse: (abort) => setTimeout(abort, 100) });
      assert.notEqual(stream.error, undefined, 'the stream was abandoned');
      await within(leftAt.promise, 10_000, 'the backend to see the stream abandoned');
      await waitFor(async () => (await metric(client, 'outrigger_backend_in_flight', b.url)) === 0, 10_000, 'in flight back to 0');
      assert.equal(await metric(client, 'sidekick_errors_total', b.url), 0, 'the client\'s own cancellation is not a backend error');
    });

    test('a backend removed while a slow request runs on it lets that request finish, then closes its connections', LIMIT, async () => {
      const dns = await TestDnsServer.start();
      fx.add(() => dns.close());
      const release = deferred();
      const started = deferred<string>();
      const open = new Map<string, Set<net.Socket>>();
      const handler = (req: http.IncomingMessage, res: http.ServerResponse, backend: TestBackend): void => {
        req.resume();
        if (req.url !== '/slow') return void res.end(backend.name);
        started.resolve(backend.name);
        res.write('first,');
        void release.promise.then(() => res.end('last'));
      };
      const [a, b] = await pairOnOnePort(handler);
      for (const x of [a, b]) {
        const set = new Set<net.Socket>();
        open.set(x.name, set);
        x.server.on('connection', (s: net.Socket) => { set.add(s); s.once('close', () => set.delete(s)); });
      }
      dns.set('pair.test', ['127.0.0.1', '127.0.0.2']);
      const { o, client } = await proxy(protocol, ['--dns-server', dns.address, '--dns-ttl', '200ms', '--rr-dns-mode', '--health-duration', '1h', '--log', `http://pair.test:${a.port}`]);
      await o.output(/127\.0\.0\.1:\d+ is up/);
      await o.output(/127\.0\.0\.2:\d+ is up/);
      const pending = client.call({ path: '/slow' });
      const busy = await within(started.promise, 10_000, 'the slow request to reach a backend');
      const leaving = busy === 'A' ? '127.0.0.1' : '127.0.0.2';
      dns.set('pair.test', [busy === 'A' ? '127.0.0.2' : '127.0.0.1']);
      await o.output(new RegExp(`pair\\.test now resolves to (?!${leaving.replace(/\./g, '\\.')})`));
      release.resolve();
      const r = await pending;
      assert.equal(r.error, undefined);
      assert.equal(r.text, 'first,last');
      await waitFor(() => open.get(busy)!.size === 0, 10_000, 'the removed backend\'s connections to close');
      assert.equal((await client.call({ path: '/x' })).status, 200);
    });

    test('a backend that never answers: 504 GatewayTimeout; a GET goes to another backend first, a PUT is sent once', LIMIT, async () => {
      // Accepts, reads the request, never answers: a black hole.
      const hole = await fx.rawBackendOf('hole', () => {});
      const good = await fx.backendOf('good');
      const first = await proxy(protocol, ['--response-timeout', '300ms', '--health-duration', '1h', hole.url, good.url]);
      const get = await first.client.call({ path: '/x' });
      assert.deepEqual([get.status, get.text], [200, 'good']);
      const hole2 = await fx.rawBackendOf('hole-2', () => {});
      const good2 = await fx.backendOf('good-2');
      const second = await proxy(protocol, ['--response-timeout', '300ms', '--health-duration', '1h', hole2.url, good2.url]);
      const put = await second.client.call({ method: 'PUT', path: '/bucket/key?x=1', body: 'data' });
      assert.equal(put.status, 504, put.text);
      assert.equal(put.headers['content-type'], 'application/xml');
      assert.match(put.text, /^<\?xml version="1\.0" encoding="UTF-8"\?><Error><Code>GatewayTimeout<\/Code><Message>[^<]*300 ms[^<]*<\/Message><Resource>\/bucket\/key<\/Resource><\/Error>$/);
      assert.deepEqual([hole2.hits, good2.hits], [1, 0], 'the PUT was not sent a second time');
    });

    test('a response body that stalls is cut after --read-timeout; a stream that keeps sending is not', LIMIT, async () => {
      const b = await fx.backendOf('streams', (req, res) => {
        req.resume();
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        if (req.url === '/stall') return void res.write('data: partial\n\n');
        let n = 0;
        const timer = setInterval(() => {
          res.write(`data: ${n}\n\n`);
          if (++n === 12) {
            clearInterval(timer);
            res.end();
          }
        }, 100);
        res.once('close', () => clearInterval(timer));
      });
      const { client } = await proxy(protocol, ['--read-timeout', '1500ms', '--health-duration', '1h', b.url]);
      const live = await client.call({ path: '/events' });
      assert.equal(live.error, undefined, 'a stream sending every 100 ms outlives a 1.5 s read timeout (generous: a loaded 2-core machine can pause a process for hundreds of ms)');
      assert.equal(live.text.split('\n\n').filter((e) => e !== '').length, 12);
      const stalled = await client.call({ path: '/stall' });
      assert.notEqual(stalled.error, undefined, 'the stalled body reaches the client broken, not as a whole one');
      assert.equal(stalled.text, 'data: partial\n\n');
    });

    test('SIGTERM drains: a slow request in flight finishes, then the process exits 0', LIMIT, async () => {
      const held = heldAnswer('finished');
      const b = await fx.backendOf('slow', held.handler);
      const { o, client } = await proxy(protocol, ['--shutdown-timeout', '30s', b.url]);
      const pending = client.call({ path: '/slow' });
      await within(held.started, 10_000, 'the slow request to reach the backend');
      o.signal('SIGTERM');
      await o.output(/SIGTERM: draining/);
      held.release();
      const r = await pending;
      assert.equal(r.status, 200);
      assert.equal(r.text, 'finished');
      assert.equal(await o.exit(), 0);
    });
  });
}
