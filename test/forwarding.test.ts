/**
 * What reaches the backend and what reaches the client, byte for byte: request targets, Host and
 * the X-Forwarded family, hop-by-hop headers both ways, trailers, bodiless responses on a kept-alive
 * connection, pipelining and 1xx answers. Black box: a real outrigger process between real sockets.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { TestBackend } from './support/backends.js';
import { startOutrigger, type Outrigger } from './support/outrigger.js';
import { RawBackend, RawClient, all, one, type HeaderList } from './support/wire.js';
import { deferred, exchange, sha256, within } from './support/flow.js';

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
}

/** A hang fails the test that hung (by name) instead of stalling the whole run. */
const LIMIT = { timeout: 30_000 };
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => { await Promise.all(cleanup.map((f) => f())); });

/** A node:http backend (what most tests need) and a raw one (for responses node:http will not write). */
let node: TestBackend;
let raw: RawBackend;
let viaNode: Outrigger;
let viaRaw: Outrigger;
const seen: Seen[] = [];

/** Default node handler: record the request as the backend saw it and answer 200 "ok". */
function record(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.once('end', () => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) });
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
  });
}

before(async () => {
  node = await new TestBackend('node', record).listen();
  raw = await new RawBackend('raw', (_req, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')).listen();
  cleanup.push(() => node.close(), () => raw.close());
  viaNode = await startOutrigger(['--health-path', '/health', node.url]);
  cleanup.push(() => viaNode.stop());
  viaRaw = await startOutrigger(['--health-path', '/health', raw.url]);
  cleanup.push(() => viaRaw.stop());
});

function pairs(rawHeaders: string[]): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i < rawHeaders.length; i += 2) out.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return out;
}

/** Send raw request bytes on a fresh connection and read one response; returns what the backend saw. */
async function viaRawClient(request: string): Promise<{ status: number; seen: Seen }> {
  const before = seen.length;
  const c = await RawClient.connect(viaNode.port);
  try {
    c.write(request);
    const r = await c.readResponse();
    assert.equal(seen.length, before + 1, `the backend saw one request (response: ${r.status} ${r.body.toString()})`);
    return { status: r.status, seen: seen[seen.length - 1]! };
  } finally {
    c.destroy();
  }
}

test('path and query pass through byte for byte, odd but legal bytes included', LIMIT, async () => {
  node.handler = record;
  const targets = [
    '/bucket/a%2Fb%2fc;v=1//d/./e/../f~!$&\'()*+,=@:?x=%2F&y=a;b&y=2&z=%20+q&=&empty&k=?/',
    '//double/leading//slashes//',
    '/%E2%82%AC/%00%FF?%3F=%26',
    '/plain',
  ];
  for (const target of targets) {
    const { status, seen: s } = await viaRawClient(`GET ${target} HTTP/1.1\r\nHost: s3.example\r\n\r\n`);
    assert.equal(status, 200);
    assert.equal(s.url, target);
  }
});

test('Host is kept; X-Forwarded-Host, X-Forwarded-Proto and X-Real-IP are set, client copies replaced', LIMIT, async () => {
  node.handler = record;
  const { seen: s } = await viaRawClient(
    'GET /o HTTP/1.1\r\nHost: Bucket.Example.COM:9000\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Host: spoofed.example\r\n' +
    'X-Forwarded-Proto: https\r\nX-Amz-Date: 20250101T000000Z\r\n\r\n');
  const h = pairs(s.rawHeaders);
  assert.deepEqual(all(h, 'host'), ['Bucket.Example.COM:9000']);
  assert.deepEqual(all(h, 'x-forwarded-host'), ['Bucket.Example.COM:9000']);
  assert.deepEqual(all(h, 'x-forwarded-proto'), ['http']);
  assert.deepEqual(all(h, 'x-real-ip'), ['127.0.0.1']);
  assert.deepEqual(all(h, 'x-amz-date'), ['20250101T000000Z']);
});

test('X-Forwarded-For: one header, incoming values combined in order, the client appended once', LIMIT, async () => {
  node.handler = record;
  let { seen: s } = await viaRawClient('GET /a HTTP/1.1\r\nHost: h\r\n\r\n');
  assert.deepEqual(all(pairs(s.rawHeaders), 'x-forwarded-for'), ['127.0.0.1']);
  ({ seen: s } = await viaRawClient('GET /b HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n'));
  assert.deepEqual(all(pairs(s.rawHeaders), 'x-forwarded-for'), ['203.0.113.7, 127.0.0.1']);
  ({ seen: s } = await viaRawClient(
    'GET /c HTTP/1.1\r\nX-Forwarded-For: 198.51.100.1\r\nHost: h\r\nx-forwarded-for: 198.51.100.2, 198.51.100.3\r\n\r\n'));
  assert.deepEqual(all(pairs(s.rawHeaders), 'x-forwarded-for'), ['198.51.100.1, 198.51.100.2, 198.51.100.3, 127.0.0.1']);
});

test('hop-by-hop request headers and the ones Connection names are stripped; TE: trailers is kept', LIMIT, async () => {
  node.handler = record;
  const { seen: s } = await viaRawClient(
    'GET /hop HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop-Secret\r\nX-Hop-Secret: sentinel-1\r\n' +
    'Keep-Alive: timeout=5, max=1000\r\nProxy-Connection: keep-alive\r\nTE: gzip;q=0.5\r\n' +
    'Upgrade: sentinel/2\r\nProxy-Authorization: Basic c2VudGluZWw=\r\nX-End-To-End: kept\r\n\r\n');
  const h = pairs(s.rawHeaders);
  assert.deepEqual(all(h, 'x-hop-secret'), []);
  assert.deepEqual(all(h, 'proxy-connection'), []);
  assert.deepEqual(all(h, 'te'), []);
  assert.deepEqual(all(h, 'upgrade'), []);
  assert.deepEqual(all(h, 'proxy-authorization'), []);
  assert.ok(!all(h, 'keep-alive').includes('timeout=5, max=1000'), 'the client\'s Keep-Alive is not forwarded');
  assert.ok(!all(h, 'connection').some((v) => /hop-secret/i.test(v)), 'the client\'s Connection list is not forwarded');
  assert.deepEqual(all(h, 'x-end-to-end'), ['kept']);

  const { seen: t } = await viaRawClient('GET /te HTTP/1.1\r\nHost: h\r\nTE: trailers\r\nConnection: TE\r\n\r\n');
  assert.deepEqual(all(pairs(t.rawHeaders), 'te'), ['trailers']);
});

test('hop-by-hop response headers are stripped, end-to-end ones kept in order, X-Proxy: true added', LIMIT, async () => {
  raw.handler = (_req, socket) => socket.write(
    'HTTP/1.1 200 OK\r\nConnection: X-Resp-Secret\r\nX-Resp-Secret: sentinel-2\r\nKeep-Alive: timeout=99, max=7\r\n' +
    'Proxy-Connection: keep-alive\r\nUpgrade: sentinel/3\r\nTE: trailers\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n' +
    'X-Kept: yes\r\nContent-Length: 2\r\n\r\nok');
  const c = await RawClient.connect(viaRaw.port);
  cleanup.push(async () => c.destroy());
  c.write('GET /resp HTTP/1.1\r\nHost: h\r\n\r\n');
  const r = await c.readResponse();
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'ok');
  assert.deepEqual(all(r.headers, 'x-resp-secret'), []);
  assert.deepEqual(all(r.headers, 'proxy-connection'), []);
  assert.deepEqual(all(r.headers, 'upgrade'), []);
  assert.deepEqual(all(r.headers, 'te'), []);
  assert.ok(!all(r.headers, 'keep-alive').includes('timeout=99, max=7'), 'the backend\'s Keep-Alive is not forwarded');
  assert.ok(!all(r.headers, 'connection').some((v) => /resp-secret/i.test(v)), 'the backend\'s Connection list is not forwarded');
  assert.deepEqual(all(r.headers, 'set-cookie'), ['a=1', 'b=2']);
  assert.deepEqual(all(r.headers, 'x-kept'), ['yes']);
  assert.deepEqual(all(r.headers, 'x-proxy'), ['true']);
});

test('response trailers are relayed to the client', LIMIT, async () => {
  node.handler = (req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum, X-Count' });
    res.write('part one, ');
    res.addTrailers({ 'X-Checksum': 'abc123', 'X-Count': '2' });
    res.end('part two');
  };
  const r = await exchange(`${viaNode.base}/trailers`, { headers: { TE: 'trailers' } });
  assert.equal(r.error, undefined);
  assert.equal(r.status, 200);
  assert.ok(r.complete);
  assert.equal(r.body.toString(), 'part one, part two');
  assert.deepEqual(r.trailers, { 'x-checksum': 'abc123', 'x-count': '2' });
});

test('an absolute-form request target goes only to the configured backend, with its path', LIMIT, async () => {
  node.handler = record;
  const decoyHits: string[] = [];
  const decoy = http.createServer((req, res) => { decoyHits.push(req.url ?? ''); res.end('decoy'); });
  await new Promise<void>((resolve) => decoy.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => decoy.close(resolve)));
  const decoyPort = (decoy.address() as { port: number }).port;

  let r = await viaRawClient('GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n');
  assert.equal(r.status, 200);
  assert.equal(r.seen.url, '/');

  r = await viaRawClient(`GET http://127.0.0.1:${decoyPort}/secret/a%2Fb;x//y?q=%2F&r=1 HTTP/1.1\r\nHost: 127.0.0.1:${decoyPort}\r\n\r\n`);
  assert.equal(r.status, 200);
  assert.equal(r.seen.url, '/secret/a%2Fb;x//y?q=%2F&r=1');

  r = await viaRawClient('GET http://evil.example/a/./b/../c%2E%2E/ HTTP/1.1\r\nHost: evil.example\r\n\r\n');
  assert.equal(r.status, 200);
  assert.equal(r.seen.url, '/a/./b/../c%2E%2E/', 'the path is not normalised, exactly like an origin-form one');

  // RFC 9112 §3.2.2: the target's authority wins over Host (issue 13.15: it was sent with Host: x).
  r = await viaRawClient('GET http://other.example/a HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(r.status, 200);
  assert.deepEqual(all(pairs(r.seen.rawHeaders), 'host'), ['other.example']);
  assert.deepEqual(all(pairs(r.seen.rawHeaders), 'x-forwarded-host'), ['other.example']);

  r = await viaRawClient('GET http://evil.example?only=query HTTP/1.1\r\nHost: evil.example\r\n\r\n');
  assert.equal(r.status, 200);
  assert.equal(r.seen.url, '/?only=query');
  assert.deepEqual(decoyHits, [], 'nothing reached the host named in the target');
});

test('HEAD and 304 with Content-Length leave the kept-alive connection usable', LIMIT, async () => {
  raw.handler = (req, socket) => {
    if (req.method === 'HEAD') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 12345\r\nContent-Type: application/octet-stream\r\n\r\n');
    else if (req.target === '/cached') socket.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\nETag: "v1"\r\n\r\n');
    else socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${req.target.length}\r\n\r\n${req.target}`);
  };
  const c = await RawClient.connect(viaRaw.port);
  cleanup.push(async () => c.destroy());
  c.write('HEAD /object HTTP/1.1\r\nHost: h\r\n\r\n');
  const head = await c.readResponse({ method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(one(head.headers, 'content-length'), '12345');
  c.write('GET /after-head HTTP/1.1\r\nHost: h\r\n\r\n');
  const next = await c.readResponse();
  assert.equal(next.status, 200);
  assert.equal(next.body.toString(), '/after-head');

  c.write('GET /cached HTTP/1.1\r\nHost: h\r\nIf-None-Match: "v1"\r\n\r\n');
  const cached = await c.readResponse();
  assert.equal(cached.status, 304);
  assert.equal(one(cached.headers, 'etag'), '"v1"');
  c.write('GET /after-304 HTTP/1.1\r\nHost: h\r\n\r\n');
  const last = await c.readResponse();
  assert.equal(last.status, 200);
  assert.equal(last.body.toString(), '/after-304');
  assert.equal(c.received.length, c.offset, 'no stray body bytes after the bodiless responses');
  assert.equal(c.closed, false);
});

test('pipelined requests on one connection are answered in order', LIMIT, async () => {
  const arrived: string[] = [];
  const thirdArrived = deferred();
  const big = Buffer.alloc(256 * 1024, 'x');
  node.handler = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      arrived.push(req.url ?? '');
      if (req.url === '/p3') thirdArrived.resolve();
      const answer = (): void => {
        const body = req.url === '/p1' ? big : Buffer.from(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`);
        res.writeHead(200, { 'Content-Length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      // The first answer waits until a later request is in (if the proxy forwards concurrently),
      // so a proxy that answered in backend order would put p3 first; the bound only keeps a proxy
      // that serialises pipelined requests from waiting forever.
      if (req.url === '/p1') void within(thirdArrived.promise, 1_000, 'p3').catch(() => undefined).then(answer);
      else answer();
    });
  };
  const c = await RawClient.connect(viaNode.port);
  cleanup.push(async () => c.destroy());
  c.write(
    'GET /p1 HTTP/1.1\r\nHost: h\r\n\r\n' +
    'POST /p2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello' +
    'GET /p3 HTTP/1.1\r\nHost: h\r\n\r\n' +
    'HEAD /p4 HTTP/1.1\r\nHost: h\r\n\r\n' +
    'GET /p5 HTTP/1.1\r\nHost: h\r\n\r\n');
  const r1 = await c.readResponse();
  assert.equal(sha256(r1.body), sha256(big));
  assert.equal((await c.readResponse()).body.toString(), 'POST /p2 hello');
  assert.equal((await c.readResponse()).body.toString(), 'GET /p3 ');
  const r4 = await c.readResponse({ method: 'HEAD' });
  assert.equal(r4.status, 200);
  assert.equal(r4.body.length, 0);
  assert.equal((await c.readResponse()).body.toString(), 'GET /p5 ');
  assert.equal(c.received.length, c.offset);
  assert.deepEqual([...arrived].sort(), ['/p1', '/p2', '/p3', '/p4', '/p5']);
});

test('Expect: 100-continue: the client sends its body after the 100 and the upload arrives whole', { timeout: 15_000 }, async () => {
  node.handler = record;
  const body = Buffer.alloc(300_000, 'e');
  const before = seen.length;
  const result = await within(new Promise<{ continued: boolean; status: number; text: string }>((resolve, reject) => {
    let continued = false;
    const req = http.request(`${viaNode.base}/upload`, {
      method: 'PUT', agent: false, headers: { Expect: '100-continue', 'Content-Length': body.length },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => { text += s; });
      res.once('end', () => resolve({ continued, status: res.statusCode ?? 0, text }));
    });
    req.once('continue', () => { continued = true; req.end(body); });
    req.once('error', reject);
  }), 10_000, 'the 100-continue upload');
  assert.ok(result.continued, 'the client got 100 Continue');
  assert.equal(result.status, 200);
  assert.equal(seen.length, before + 1);
  assert.equal(sha256(seen[seen.length - 1]!.body), sha256(body));
});

test('Expect: 100-continue refused by the backend: its final answer reaches the client, no body sent', { timeout: 15_000 }, async () => {
  const refusing = new TestBackend('refusing');
  refusing.server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(413, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end('too large');
  });
  await refusing.listen();
  cleanup.push(() => refusing.close());
  const o = await startOutrigger(['--health-path', '/health', refusing.url]);
  cleanup.push(() => o.stop());
  const outcome = await within(new Promise<{ status: number; text: string; continued: boolean }>((resolve, reject) => {
    let continued = false;
    const req = http.request(`${o.base}/big`, {
      method: 'PUT', agent: false, headers: { Expect: '100-continue', 'Content-Length': 10_000_000 },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => { text += s; });
      res.once('end', () => { resolve({ status: res.statusCode ?? 0, text, continued }); req.destroy(); });
    });
    req.once('continue', () => { continued = true; });
    req.once('error', reject);
    req.flushHeaders();
  }), 10_000, 'the refused 100-continue upload');
  assert.equal(outcome.continued, false);
  assert.equal(outcome.status, 413);
  assert.equal(outcome.text, 'too large');
});

test('103 Early Hints from the backend reach an HTTP/1.1 client, then the final response', LIMIT, async () => {
  node.handler = (req, res) => {
    req.resume();
    res.writeEarlyHints({ link: ['</style.css>; rel=preload; as=style', '</app.js>; rel=preload; as=script'] });
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('final');
  };
  const r = await exchange(`${viaNode.base}/hints`);
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'final');
  const hints = r.informational.filter((i) => i.statusCode === 103);
  assert.equal(hints.length, 1, `informational responses: ${JSON.stringify(r.informational.map((i) => i.statusCode))}`);
  assert.equal(hints[0]!.headers['link'], '</style.css>; rel=preload; as=style, </app.js>; rel=preload; as=script');
  // The proxy survived whatever it did with the hints.
  node.handler = record;
  assert.equal((await exchange(`${viaNode.base}/still-up`)).status, 200);
});

test('103s with several Link lines, a comma-separated Link list or a malformed Link do not break the exchange', LIMIT, async () => {
  raw.handler = (_req, socket) => socket.write(
    'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nLink: <https://cdn.example/b.js>; rel="preload"; as="script"; crossorigin\r\n\r\n' +
    'HTTP/1.1 103 Early Hints\r\nLink: </c.css>; rel=preload, </d.css>; rel=preload\r\n\r\n' +
    'HTTP/1.1 103 Early Hints\r\nLink: this is not a link\r\n\r\n' +
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal');
  const r = await exchange(`${viaRaw.base}/hints`);
  assert.equal(r.error, undefined);
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'final');
  assert.ok(r.informational.length >= 2, `the valid hints arrived: ${JSON.stringify(r.informational.map((i) => i.headers))}`);
  assert.equal(r.informational[0]!.headers['link'], '</a.css>; rel=preload, <https://cdn.example/b.js>; rel="preload"; as="script"; crossorigin');
  assert.equal(r.informational[1]!.headers['link'], '</c.css>; rel=preload, </d.css>; rel=preload');
  raw.handler = (_req, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  assert.equal((await exchange(`${viaRaw.base}/still-up`)).status, 200);
});

test('an HTTP/1.0 request without Host reaches the backend with the backend\'s own authority as Host', LIMIT, async () => {
  node.handler = record;
  const c = await RawClient.connect(viaNode.port);
  cleanup.push(async () => c.destroy());
  const before = seen.length;
  c.write('GET /ancient HTTP/1.0\r\n\r\n');
  const r = await c.readResponse();
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'ok');
  assert.equal(seen.length, before + 1);
  const h = pairs(seen[seen.length - 1]!.rawHeaders);
  assert.deepEqual(all(h, 'host'), [`127.0.0.1:${node.port}`]);
  await c.waitClosed();
});

test('a close-delimited backend response (no length, HTTP/1.0) reaches the client whole', LIMIT, async () => {
  const body = 'x'.repeat(100_000) + 'end';
  raw.handler = (_req, socket) => socket.end(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n${body}`);
  const r = await exchange(`${viaRaw.base}/close-delimited`);
  assert.equal(r.error, undefined);
  assert.equal(r.status, 200);
  assert.ok(r.complete, 'a response delimited by the backend closing is complete');
  assert.equal(r.body.toString(), body);
});

test('a 40 KiB response head from the backend passes through', LIMIT, async () => {
  const cookies = Array.from({ length: 40 }, (_, i) => `c${i}=${'v'.repeat(1000)}`);
  raw.handler = (_req, socket) => socket.write(
    `HTTP/1.1 200 OK\r\n${cookies.map((c) => `Set-Cookie: ${c}\r\n`).join('')}Content-Length: 2\r\n\r\nok`);
  const r = await exchange(`${viaRaw.base}/big-head`, { maxHeaderSize: 1024 * 1024 });
  assert.equal(r.status, 200, r.body.toString());
  assert.deepEqual(r.headers['set-cookie'], cookies);
});
