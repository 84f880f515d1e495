/**
 * The ambassador features through both client protocols (HTTP/1.1 plain, HTTP/2 over TLS): the
 * sticky cookie is added to a relayed head, the mirror copies request bodies as data spans
 * (fixed length, chunked on HTTP/1.1, DATA frames without a length on HTTP/2), and a 429 carries
 * its fields.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Fixtures } from './support/fixtures.js';
import { PROTOCOLS, ProtocolClient, startFor, type Protocol } from './support/protocols.js';
import { waitFor } from './support/wait.js';
import { listenLoopback } from './support/cleanup.js';

const LIMIT = { timeout: 60_000 };
const fx = new Fixtures();

async function proxy(protocol: Protocol, args: string[]): Promise<ProtocolClient> {
  const o = await startFor(protocol, ['--health-path', '/health', ...args], (started) => fx.track(started));
  const client = ProtocolClient.open(protocol, o);
  fx.add(async () => client.close());
  return client;
}

for (const protocol of PROTOCOLS) {
  describe(`${protocol} client`, () => {
    test('--sticky-cookie: the relayed head carries Set-Cookie, and the cookie pins the backend', LIMIT, async () => {
      const backends = [await fx.backendOf('s1'), await fx.backendOf('s2'), await fx.backendOf('s3')];
      const client = await proxy(protocol, ['--sticky-cookie', 'lb', backends.map((b) => b.url).join(',')]);
      const first = await client.call({ path: '/x' });
      assert.equal(first.status, 200);
      const cookie = String(first.headers['set-cookie']).split(';')[0]!;
      assert.match(cookie, /^lb=\w+$/);
      for (let i = 0; i < 10; i++) {
        const r = await client.call({ path: '/x', headers: { cookie } });
        assert.equal(r.text, first.text);
        assert.equal(r.headers['set-cookie'], undefined);
      }
    });

    test('--mirror: the mirror receives the same bodies, however they were framed', LIMIT, async () => {
      const seen: string[] = [];
      const mirror = http.createServer((req, res) => {
        const parts: Buffer[] = [];
        req.on('data', (d: Buffer) => parts.push(d));
        req.on('end', () => { seen.push(`${req.method} ${req.url} ${Buffer.concat(parts).toString()}`); res.end(); });
      });
      const port = await listenLoopback(mirror);
      fx.add(async () => { mirror.closeAllConnections(); mirror.close(); });
      const backend = await fx.backendOf('p');
      const client = await proxy(protocol, ['--mirror', `http://127.0.0.1:${port}`, backend.url]);
      const sent = ['PUT /fixed fixed-length body', 'POST /framed a body sent with trailers', 'GET /plain '];
      assert.equal((await client.call({ method: 'PUT', path: '/fixed', body: 'fixed-length body' })).status, 200);
      assert.equal((await client.call({ method: 'POST', path: '/framed', body: 'a body sent with trailers', trailers: { 'x-sum': '1' } })).status, 200);
      assert.equal((await client.call({ path: '/plain' })).status, 200);
      await waitFor(() => seen.length === sent.length, 10_000, 'every copy at the mirror');
      assert.deepEqual([...seen].sort(), [...sent].sort(), 'copies travel on several connections: any order');
    });

    test('--rate-limit: the 429 answer carries Retry-After and the RateLimit fields', LIMIT, async () => {
      const backend = await fx.backendOf('r');
      const client = await proxy(protocol, ['--rate-limit', '1/m,burst=1', backend.url]);
      assert.equal((await client.call({ path: '/x' })).status, 200);
      const refused = await client.call({ path: '/x' });
      assert.equal(refused.status, 429);
      assert.match(String(refused.headers['retry-after']), /^\d+$/);
      assert.match(String(refused.headers['ratelimit']), /^"outrigger";r=0;t=\d+$/);
      assert.equal(refused.headers['ratelimit-policy'], '"outrigger";q=1;w=60');
    });
  });
}
