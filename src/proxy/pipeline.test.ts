/**
 * The pipeline's plug-in points, in-process: a real engine on a loopback port in front of real
 * backends, with filters and a chooser of the test's own. What the cache (request answer, head
 * replacement, body tee) and the ambassador (chooser with hash keys, 429 answers, outcome
 * counting) build on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { parseSites } from '../sites/parse.js';
import { UpstreamSet } from '../upstream/upstream-set.js';
import { Console } from '../observe/console.js';
import { RawEngine } from './raw/raw-engine.js';
import { FilterChain } from './filters.js';
import type { ProxyContext } from './context.js';
import type { BackendChooser, BodyTap, Outcome, ProxyFilter, RequestView } from './pipeline.js';

const quiet = new Console({ log: false, trace: undefined, errors: false, statusCodes: [], quiet: true, json: false, debug: false }, false);
const body = randomBytes(300_000);
let backends: http.Server[] = [];
let urls: string[] = [];
const seen: { backend: number; url: string; headers: http.IncomingHttpHeaders }[] = [];

before(async () => {
  backends = [0, 1].map((i) => http.createServer((req, res) => {
    req.resume();
    seen.push({ backend: i, url: req.url ?? '', headers: req.headers });
    if (req.url === '/big') {
      // Chunked, in several writes, with a trailer.
      res.writeHead(200, { 'Trailer': 'X-Sum' });
      for (let at = 0; at < body.length; at += 70_000) res.write(body.subarray(at, at + 70_000));
      res.addTrailers({ 'X-Sum': 'sum' });
      res.end();
      return;
    }
    if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304, { ETag: '"v1"' }).end();
    res.writeHead(200, { 'X-Backend': String(i) }).end(`backend ${i}`);
  }));
  urls = await Promise.all(backends.map((s) => new Promise<string>((resolve) => s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)))));
});
after(() => { for (const s of backends) s.close(); });

/** An upstream set over these backend URLs (one site), every backend marked up. */
function upstreamsOf(list: readonly string[]): UpstreamSet {
  const { sites } = parseSites([list.join(',')], { host: '127.0.0.1', port: 0 });
  const upstreams = new UpstreamSet(sites, { healthPath: '/', readHealthPath: '/', healthPort: 0, insecure: false, hostBalance: 'round-robin' });
  for (const b of upstreams.backends()) upstreams.probeResult(b, true, '', 1, 1);
  return upstreams;
}

/** An engine with these filters in front of `upstreams` (both test backends by default). */
async function engine(filters: ProxyFilter[], upstreams = upstreamsOf(urls), chooser?: BackendChooser): Promise<{ url: string; stop(): Promise<void> }> {
  const ctx: ProxyContext = {
    upstreams, chooser: chooser ?? { pick: (_req, exclude) => upstreams.pick(exclude) }, filters: new FilterChain(filters),
    console: quiet, startup: { open: true, wait: () => Promise.resolve() }, maxRetries: undefined, connectTimeoutMs: 5_000, responseTimeoutMs: 0, readTimeoutMs: 0, proto: 'http',
  };
  const e = new RawEngine(ctx, { headerTimeoutMs: 30_000, idleTimeoutMs: 60_000 });
  const { port } = await e.listen({ host: '127.0.0.1', port: 0 });
  return { url: `http://127.0.0.1:${port}`, stop: async () => { await e.drain(1_000); } };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; trailers: NodeJS.Dict<string> }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers: res.trailers }));
    }).once('error', reject);
  });
}

test('request filters: a synchronous and an asynchronous answer, edits reaching the backend, then done with the outcome', async () => {
  const outcomes: Outcome[] = [];
  const limit: ProxyFilter = { name: 'limit', request: (req) => (req.header('x-over') === 'yes' ? { status: 429, headers: { 'Retry-After': '1' }, body: 'slow down' } : null) };
  const lookup: ProxyFilter = {
    name: 'lookup',
    request: (req) => (req.target === '/stored' ? Promise.resolve({ status: 200, headers: { 'X-Cache': 'HIT' }, body: 'from store' }) : Promise.resolve(null)),
  };
  const edit: ProxyFilter = {
    name: 'edit',
    request: (req, e) => {
      if (req.query('rewrite') !== undefined) e.setTarget('/rewritten');
      e.setHeader('X-Tag', `${req.method} ${req.cookie('session') ?? '-'}`);
      return null;
    },
    done: (_req, o) => { outcomes.push(o); },
  };
  const p = await engine([limit, lookup, edit]);
  try {
    const limited = await get(`${p.url}/x`, { 'X-Over': 'yes' });
    assert.deepEqual([limited.status, limited.headers['retry-after'], limited.body.toString()], [429, '1', 'slow down']);
    const stored = await get(`${p.url}/stored`);
    assert.deepEqual([stored.status, stored.headers['x-cache'], stored.body.toString()], [200, 'HIT', 'from store']);
    const before = seen.length;
    const passed = await get(`${p.url}/orig?rewrite=1`, { Cookie: 'a=1; session=s42' });
    assert.equal(passed.status, 200);
    assert.equal(seen.length, before + 1, 'only the third request reached a backend');
    assert.equal(seen.at(-1)!.url, '/rewritten');
    assert.equal(seen.at(-1)!.headers['x-tag'], 'GET s42');
    // Phase 7 runs for every request, answered or forwarded.
    assert.deepEqual(outcomes.map((o) => [o.status, o.backend?.url ?? null, o.attempts]), [[429, null, 0], [200, null, 0], [200, seen.at(-1)!.backend === 0 ? urls[0] : urls[1], 1]]);
  } finally {
    await p.stop();
  }
});

test('the chooser sees the request: a header picks the backend', async () => {
  const upstreams = upstreamsOf(urls);
  const chooser: BackendChooser = {
    pick: (req: RequestView, exclude) => {
      const b = upstreams.backends()[req.header('x-shard') === 'one' ? 1 : 0]!;
      return exclude?.includes(b) === true ? null : b;
    },
  };
  const p = await engine([], upstreams, chooser);
  try {
    for (let i = 0; i < 4; i++) {
      assert.equal((await get(`${p.url}/s`, { 'X-Shard': 'one' })).body.toString(), 'backend 1');
      assert.equal((await get(`${p.url}/s`)).body.toString(), 'backend 0');
    }
  } finally {
    await p.stop();
  }
});

test('a response-head filter replaces a 304 with a stored response streamed from a Readable', async () => {
  const revalidate: ProxyFilter = {
    name: 'revalidate',
    request: (_req, e) => { e.setHeader('If-None-Match', '"v1"'); return null; },
    responseHead: (_req, head) => (head.status === 304
      ? { status: 200, headers: { 'Content-Type': 'text/plain', 'X-Cache': 'REVALIDATED' }, body: Readable.from([Buffer.from('stored '), Buffer.from('body')]), length: 11 }
      : null),
  };
  const p = await engine([revalidate]);
  try {
    const r = await get(`${p.url}/object`);
    assert.deepEqual([r.status, r.headers['x-cache'], r.body.toString()], [200, 'REVALIDATED', 'stored body']);
    // The connection stays usable: a second request on a fresh agent works too.
    assert.equal((await get(`${p.url}/object`)).body.toString(), 'stored body');
  } finally {
    await p.stop();
  }
});

test('a body tap sees the data without chunk framing, slows the relay down, and gets the trailers', async () => {
  const taps: { hash: ReturnType<typeof createHash>; bytes: number; pauses: number; trailers: readonly string[]; ended: boolean }[] = [];
  const tee: ProxyFilter = {
    name: 'tee',
    responseBody: (_req, head, flow): BodyTap | null => {
      if (head.status !== 200) return null;
      const t = { hash: createHash('sha256'), bytes: 0, pauses: 0, trailers: [] as readonly string[], ended: false };
      taps.push(t);
      return {
        data: (buf, start, end) => {
          t.hash.update(buf.subarray(start, end));
          t.bytes += end - start;
          // Every third span: pretend the store is slow, resume on the next turn.
          if (++t.pauses % 3 !== 0) return true;
          setImmediate(() => flow.resume());
          return false;
        },
        trailers: (fields) => { t.trailers = fields; },
        end: () => { t.ended = true; },
        abort: () => assert.fail('the body was complete'),
      };
    },
  };
  const p = await engine([tee]);
  try {
    const r = await get(`${p.url}/big`);
    assert.equal(r.body.length, body.length);
    assert.ok(r.body.equals(body), 'the client got the body byte for byte');
    assert.equal(r.trailers['x-sum'], 'sum');
    assert.equal(taps.length, 1);
    const t = taps[0]!;
    assert.equal(t.bytes, body.length, 'the tap saw data bytes only, no chunk framing');
    assert.equal(t.hash.digest('hex'), createHash('sha256').update(body).digest('hex'));
    assert.deepEqual([...t.trailers], ['X-Sum', 'sum']);
    assert.ok(t.ended);
  } finally {
    await p.stop();
  }
});

test('done reports the typed error of a failed request', async () => {
  const outcomes: Outcome[] = [];
  const p = await engine([{ name: 'count', done: (_req, o) => { outcomes.push(o); } }], upstreamsOf(['http://127.0.0.1:1']));
  try {
    const r = await get(`${p.url}/x`);
    assert.equal(r.status, 502);
    assert.equal(outcomes.length, 1);
    assert.deepEqual([outcomes[0]!.error?.code, outcomes[0]!.error?.side, outcomes[0]!.error?.retryable], ['UPSTREAM_CONNECT_FAILED', 'upstream', true]);
  } finally {
    await p.stop();
  }
});
